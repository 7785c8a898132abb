"""Likelihood on held-out pieces, in units comparable across tokenizers.

*Bits per note* is the total negative log-likelihood of a piece (all tokens after BOS) divided by its
number of notes; *bits per quarter note* divides by its length in quarter notes. With ``masked=True`` the
model's distribution is renormalised over the tokens the grammar allows at each point, which is the
distribution the sampler actually draws from (see ``grammar``), so it is the model's true likelihood.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..tokens.grammar import GrammarState

LN2 = math.log(2.0)


@dataclass(frozen=True)
class Likelihood:
    bits_per_note: float
    bits_per_quarter: float
    nats_per_token: float
    pieces: int
    notes: int
    tokens: int

    def to_json(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def grammar_masks(ids: np.ndarray) -> np.ndarray:
    """(T-1, V) bool: the ids allowed at positions 1..T-1 given the prefix."""
    state = GrammarState()
    masks = np.zeros((len(ids) - 1, state.vocab.size), dtype=bool)
    for t, token_id in enumerate(ids[:-1].tolist()):
        state.advance(token_id)
        masks[t] = state.allowed_mask()
    return masks


@torch.no_grad()
def piece_nats(model, ids: np.ndarray, device: torch.device, masked: bool = False) -> float:
    """Total NLL (nats) of ids[1:] given the prefix; long pieces are scored in overlapping windows."""
    window = model.cfg.max_seq_len
    stride = window // 2
    x_all = torch.as_tensor(np.asarray(ids, dtype=np.int64), device=device)
    masks = torch.as_tensor(grammar_masks(np.asarray(ids)), device=device) if masked else None
    total, scored_to = 0.0, 1  # positions < scored_to already have their NLL counted
    start = 0
    while scored_to < len(ids):
        end = min(start + window, len(ids))
        logits, _ = model(x_all[start:end - 1].unsqueeze(0) if end - 1 > start else x_all[start:start + 1].unsqueeze(0))
        logits = logits[0].float()  # (L, V): logits[j] predicts token start + j + 1
        first = scored_to - start - 1
        chunk = logits[first:]
        targets = x_all[scored_to:end]
        if masks is not None:
            chunk = chunk.masked_fill(~masks[scored_to - 1:end - 1], float("-inf"))
        total += torch.nn.functional.cross_entropy(chunk, targets, reduction="sum").item()
        scored_to = end
        start = max(start + stride, end - window) if end < len(ids) else end
    return total


def evaluate(model, pieces: list[np.ndarray], notes: list[int], quarters: list[float],
             device: torch.device | str = "cpu", masked: bool = False) -> Likelihood:
    """Likelihood of the model on whole pieces (model put in eval mode for the call)."""
    device = torch.device(device)
    was_training = model.training
    model.eval()
    try:
        nats = sum(piece_nats(model, p, device, masked) for p in pieces)
    finally:
        model.train(was_training)
    return likelihood_of(nats, pieces, notes, quarters)


def likelihood_of(nats: float, pieces, notes, quarters) -> Likelihood:
    tokens = sum(len(p) - 1 for p in pieces)
    bits = nats / LN2
    return Likelihood(
        bits_per_note=bits / max(sum(notes), 1),
        bits_per_quarter=bits / max(sum(quarters), 1e-9),
        nats_per_token=nats / max(tokens, 1),
        pieces=len(pieces),
        notes=int(sum(notes)),
        tokens=int(tokens),
    )


def pool(parts: list[Likelihood]) -> Likelihood:
    """One likelihood over the union of the pieces the parts were measured on."""
    bits = sum(p.bits_per_note * p.notes for p in parts)
    quarters = sum(p.bits_per_note * p.notes / p.bits_per_quarter for p in parts if p.bits_per_quarter > 0)
    nats = sum(p.nats_per_token * p.tokens for p in parts)
    notes, tokens = sum(p.notes for p in parts), sum(p.tokens for p in parts)
    return Likelihood(bits_per_note=bits / max(notes, 1), bits_per_quarter=bits / max(quarters, 1e-9),
                      nats_per_token=nats / max(tokens, 1), pieces=sum(p.pieces for p in parts), notes=notes, tokens=tokens)


def ngram_likelihood(ngram, pieces: list[np.ndarray], notes: list[int], quarters: list[float]) -> Likelihood:
    bits = ngram.total_bits([np.asarray(p, dtype=np.int64) for p in pieces])
    return likelihood_of(bits * LN2, pieces, notes, quarters)
