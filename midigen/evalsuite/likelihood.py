"""Likelihood on the style's test split: the model beside an order-4 Witten-Bell n-gram and a unigram.

Both baselines are fitted on the train side in every key that keeps it in range, as the model saw it.
Each figure is a ratio of sums over test pieces (bits over notes, bits over quarter notes, nats over
tokens), so its bootstrap resamples test pieces.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..model.ngram import NGramModel
from ..tokens.augment import all_transpositions
from ..tokens.vocab import VOCAB
from ..training.likelihood import piece_nats_both
from . import bootstrap
from .realset import RealCorpus

NGRAM_ORDER = 4


def _figures(nats: np.ndarray, notes: np.ndarray, quarters: np.ndarray, tokens: np.ndarray, rng) -> dict:
    bits = nats / math.log(2)
    return {"bits_per_note": bootstrap.ratio_of_sums(bits, notes, rng),
            "bits_per_quarter": bootstrap.ratio_of_sums(bits, quarters, rng),
            "nats_per_token": bootstrap.ratio_of_sums(nats, tokens, rng)}


@torch.no_grad()
def test_likelihood(model, corpus: RealCorpus, rng: np.random.Generator, device="cpu", transpose: bool = True) -> dict | None:
    """{"model", "model_grammar_masked", "ngram4", "unigram": {figure: Estimate}, "pieces": n}; None
    when the split has no test piece."""
    pieces, notes, quarters = corpus.side(corpus.test)
    if not pieces:
        return None
    train = all_transpositions(corpus.side(corpus.train)[0], transpose)
    notes_a, quarters_a = np.asarray(notes, dtype=np.float64), np.asarray(quarters, dtype=np.float64)
    tokens = np.array([len(p) - 1 for p in pieces], dtype=np.float64)
    device = torch.device(device)
    model.eval()
    both = np.array([piece_nats_both(model, p, device) for p in pieces])  # (pieces, 2): plain, masked
    nats = {"model": both[:, 0], "model_grammar_masked": both[:, 1]}
    for name, order in (("ngram4", NGRAM_ORDER), ("unigram", 1)):
        ngram = NGramModel(VOCAB.size, order=order).fit(train)
        nats[name] = np.array([ngram.total_bits([p]) * math.log(2) for p in pieces])
    out = {name: _figures(values, notes_a, quarters_a, tokens, rng) for name, values in nats.items()}
    out["pieces"] = len(pieces)
    out["notes"] = int(notes_a.sum())
    return out
