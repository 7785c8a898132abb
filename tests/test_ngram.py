"""The n-gram baseline's contract: proper distributions, the Witten-Bell formula, sequences kept apart."""
from __future__ import annotations

import numpy as np
import pytest

from midigen.model.ngram import NGramModel

V = 12


def corpus(seed: int = 0, n: int = 20) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, V, size=int(rng.integers(1, 40))) for _ in range(n)]


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_next_token_probs_sum_to_one(order):
    seqs = corpus()
    model = NGramModel(V, order).fit(seqs)
    contexts = [[], seqs[0][:1], seqs[0][:3], seqs[1][:7], [11, 11, 11, 11, 11]]  # seen, unseen, at the start
    for context in contexts:
        p = model.next_token_probs(context)
        assert p.shape == (V,)
        assert (p > 0).all()
        assert abs(p.sum() - 1.0) < 1e-9


@pytest.mark.parametrize("order", [1, 2, 4])
def test_per_token_scores_agree_with_next_token_probs(order):
    seqs = corpus()
    model = NGramModel(V, order).fit(seqs)
    seq = corpus(seed=1, n=1)[0]
    expected = [np.log2(model.next_token_probs(seq[:i])[seq[i]]) for i in range(1, len(seq))]
    assert np.allclose(model.log2_prob_per_token(seq), expected, rtol=0, atol=1e-12)
    assert model.total_bits([seq]) == pytest.approx(-sum(expected))


def test_order_one_is_the_witten_bell_unigram():
    seqs = [np.array([0, 1, 1, 2]), np.array([3, 1])]  # predicted: 1 1 2 | 1 (first tokens are given)
    model = NGramModel(5, order=1).fit(seqs)
    n, types = 4, 2  # four predicted tokens, of two distinct ids (1 and 2)
    counts = np.array([0, 3, 1, 0, 0])
    expected = (counts + types / 5) / (n + types)
    assert np.allclose(model.next_token_probs([4, 4]), expected, rtol=0, atol=1e-15)
    assert np.allclose(model.log2_prob_per_token(np.array([0, 1, 3])), np.log2(expected[[1, 3]]))


def test_bigram_by_hand_and_unseen_context_backs_off():
    seqs = [np.array([0, 1, 1, 2])]  # predicted with context: 0->1, 1->1, 1->2
    model = NGramModel(4, order=2).fit(seqs)
    unigram = (np.array([0, 2, 1, 0]) + 2 / 4) / (3 + 2)
    after_1 = (np.array([0, 1, 1, 0]) + 2 * unigram) / (2 + 2)  # c(1)=2, two distinct followers
    assert np.allclose(model.next_token_probs([0, 1]), after_1, rtol=0, atol=1e-15)
    assert np.allclose(model.next_token_probs([3]), unigram, rtol=0, atol=1e-15)  # 3 never was a context
    unfitted = NGramModel(4, order=2)
    assert np.allclose(unfitted.next_token_probs([0]), 0.25)


def test_contexts_do_not_cross_sequence_boundaries():
    # Joined, "5 then 6" would be seen twice; apart, 6 is never seen after 5, only after the pad.
    apart = NGramModel(8, order=2).fit([np.array([1, 5]), np.array([6, 2])])
    joined = NGramModel(8, order=2).fit([np.array([1, 5, 6, 2])])
    assert apart.next_token_probs([1, 5])[6] < joined.next_token_probs([1, 5])[6]
    assert apart.total_bits([np.array([7])]) == 0.0  # a lone first token is given, not predicted


def test_training_sequence_costs_fewer_bits_than_its_shuffle():
    rng = np.random.default_rng(3)
    seqs = corpus(seed=3, n=50)
    model = NGramModel(V, 4).fit(seqs)
    seen = seqs[np.argmax([len(s) for s in seqs])]
    assert model.total_bits([seen]) < model.total_bits([rng.permutation(seen)])


def test_fit_is_deterministic_and_replaces_counts():
    seqs = corpus()
    a = NGramModel(V, 3).fit(seqs)
    b = NGramModel(V, 3).fit(corpus(seed=9)).fit(seqs)
    probe = corpus(seed=5, n=5)
    assert a.total_bits(probe) == b.total_bits(probe)
    assert a.bits_per_token(probe) == pytest.approx(a.total_bits(probe) / sum(len(s) - 1 for s in probe))


def test_bad_input_is_an_error():
    with pytest.raises(ValueError, match="token ids must be in 0..11"):
        NGramModel(V).fit([np.array([0, 12])])
    with pytest.raises(ValueError, match="1-D array of integer ids"):
        NGramModel(V).fit([np.zeros((2, 2), dtype=int)])
    with pytest.raises(ValueError, match="does not fit int64"):
        NGramModel(1023, order=7)
    with pytest.raises(ValueError, match="no token to score"):
        NGramModel(V).bits_per_token([np.array([3])])
