"""Constrained sampling: the batched sampler, the constraint masks, and the lock states that force given notes."""
