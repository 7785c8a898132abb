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


WINDOWS_PER_BATCH = 16  # a piece's windows go through the model together: (16, 511, V) float logits ~24 MB


def windows(n_tokens: int, window: int) -> list[tuple[int, int, int]]:
    """(start, end, scored_from) per window: the model reads ids[start:end-1] and scores ids[scored_from:end].

    Windows overlap by half, so every token after the first window is scored with at least half a window
    of context; each token is scored exactly once.
    """
    stride, spans = window // 2, []
    start, scored_to = 0, 1
    while scored_to < n_tokens:
        end = min(start + window, n_tokens)
        spans.append((start, end, scored_to))
        scored_to = end
        start = max(start + stride, end - window)
    return spans


@torch.no_grad()
def piece_nats_both(model, ids: np.ndarray, device: torch.device, masked: bool = True) -> tuple[float, float]:
    """(plain, grammar-masked) total NLL in nats of ids[1:] given the prefix, from one pass of the model.

    The windows of a long piece are right-padded to one length and run as a batch: the model is causal,
    so padding after a window's last token changes none of its logits. With ``masked=False`` the second
    figure is NaN and the Python grammar walk is skipped.
    """
    ids = np.asarray(ids, dtype=np.int64)
    spans = windows(len(ids), model.cfg.max_seq_len)
    x_all = torch.as_tensor(ids, device=device)
    masks = torch.as_tensor(grammar_masks(ids), device=device) if masked else None
    plain, masked_total = 0.0, 0.0
    for b in range(0, len(spans), WINDOWS_PER_BATCH):
        batch = spans[b:b + WINDOWS_PER_BATCH]
        width = max(max(end - 1 - start, 1) for start, end, _ in batch)
        x = torch.zeros((len(batch), width), dtype=torch.long, device=device)
        for row, (start, end, _) in enumerate(batch):
            x[row, :max(end - 1 - start, 1)] = x_all[start:max(end - 1, start + 1)]
        logits, _ = model(x)  # (B, width, V): logits[row, j] predicts token start + j + 1
        for row, (start, end, scored_from) in enumerate(batch):
            chunk = logits[row, scored_from - start - 1:end - start - 1].float()
            targets = x_all[scored_from:end]
            plain += torch.nn.functional.cross_entropy(chunk, targets, reduction="sum").item()
            if masks is not None:
                chunk = chunk.masked_fill(~masks[scored_from - 1:end - 1], float("-inf"))
                masked_total += torch.nn.functional.cross_entropy(chunk, targets, reduction="sum").item()
    return plain, (masked_total if masks is not None else float("nan"))


def piece_nats(model, ids: np.ndarray, device: torch.device, masked: bool = False) -> float:
    """Total NLL (nats) of ids[1:] given the prefix; long pieces are scored in overlapping windows."""
    plain, masked_nats = piece_nats_both(model, ids, device, masked=masked)
    return masked_nats if masked else plain


def evaluate(model, pieces: list[np.ndarray], notes: list[int], quarters: list[float],
             device: torch.device | str = "cpu", masked: bool = False) -> Likelihood:
    """Likelihood of the model on whole pieces (model put in eval mode for the call)."""
    return evaluate_both(model, pieces, notes, quarters, device, masked=masked)[1 if masked else 0]


def evaluate_both(model, pieces: list[np.ndarray], notes: list[int], quarters: list[float],
                  device: torch.device | str = "cpu", masked: bool = True) -> tuple[Likelihood, Likelihood | None]:
    """(plain, grammar-masked or None) likelihood from one pass of the model over the pieces."""
    device = torch.device(device)
    was_training = model.training
    model.eval()
    try:
        both = [piece_nats_both(model, p, device, masked) for p in pieces]
    finally:
        model.train(was_training)
    plain = likelihood_of(sum(b[0] for b in both), pieces, notes, quarters)
    return plain, (likelihood_of(sum(b[1] for b in both), pieces, notes, quarters) if masked else None)


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
