"""Held-out scoring: a piece's windows run as one batch and give the plain and masked NLL of one pass."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from midigen.model.transformer import MusicTransformer, config_for_size
from midigen.music.piece import quantize
from midigen.tokens.tokenizer import encode
from midigen.tokens.vocab import VOCAB
from midigen.training.likelihood import evaluate, evaluate_both, grammar_masks, piece_nats_both, windows
from tests.test_eval import random_line, voices_piece

SEQ = 64


@pytest.fixture(scope="module")
def model() -> MusicTransformer:
    torch.manual_seed(0)
    return MusicTransformer(config_for_size("tiny", VOCAB.size, SEQ, dropout=0.0)).eval()


@pytest.fixture(scope="module")
def piece_ids() -> np.ndarray:
    rng = np.random.default_rng(3)
    ids = encode(quantize(voices_piece([random_line(rng, 40), random_line(rng, 40, 40, 60)])))
    assert len(ids) > 4 * SEQ  # long enough for several overlapping windows
    return ids


@pytest.mark.parametrize("n_tokens", [2, 3, SEQ - 1, SEQ, SEQ + 1, 3 * SEQ + 7])
def test_every_token_is_scored_once_with_half_a_window_of_context(n_tokens):
    spans = windows(n_tokens, SEQ)
    scored = [t for _, end, first in spans for t in range(first, end)]
    assert scored == list(range(1, n_tokens))
    for start, end, first in spans:
        assert end - start <= SEQ and start < first <= end
        if start > 0:
            assert first - start >= SEQ // 2


def reference_nats(model, ids: np.ndarray, masked: bool) -> float:
    """The unbatched definition: each window through the model alone, its scored tokens summed."""
    x = torch.as_tensor(ids).long()
    masks = torch.as_tensor(grammar_masks(ids))
    total = 0.0
    for start, end, first in windows(len(ids), SEQ):
        logits = model(x[start:end - 1].unsqueeze(0))[0][0]
        chunk = logits[first - start - 1:]
        if masked:
            chunk = chunk.masked_fill(~masks[first - 1:end - 1], -math.inf)
        total += torch.nn.functional.cross_entropy(chunk, x[first:end], reduction="sum").item()
    return total


def test_batched_windows_equal_one_window_at_a_time(model, piece_ids):
    plain, masked = piece_nats_both(model, piece_ids, torch.device("cpu"))
    assert plain == pytest.approx(reference_nats(model, piece_ids, False), rel=1e-5)
    assert masked == pytest.approx(reference_nats(model, piece_ids, True), rel=1e-5)
    assert masked < plain  # renormalising over the grammar's tokens can only raise each probability


def test_evaluate_both_matches_evaluate_and_skips_the_grammar_when_asked(model, piece_ids):
    pieces, notes, quarters = [piece_ids, piece_ids[:SEQ // 2]], [80, 5], [40.0, 2.5]
    plain, masked = evaluate_both(model, pieces, notes, quarters)
    assert plain == evaluate(model, pieces, notes, quarters)
    assert masked == evaluate(model, pieces, notes, quarters, masked=True)
    only_plain, none = evaluate_both(model, pieces, notes, quarters, masked=False)
    assert none is None and only_plain == plain
    assert plain.tokens == len(piece_ids) - 1 + SEQ // 2 - 1 and plain.notes == 85
