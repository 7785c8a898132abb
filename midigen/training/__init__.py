"""Training a style: corpora to batches, the optimisation loop, checkpoints, DDP, and held-out likelihood."""
