"""An interpolated Witten-Bell n-gram model over token ids: the baseline reported beside the Transformer.

Each prediction P(w | h) mixes the counts seen after the context h with the prediction from the
context one token shorter, down to a uniform distribution over the vocabulary, so that every
token keeps a nonzero probability::

    P(w | h) = (c(h, w) + N1+(h .) * P(w | h')) / (c(h) + N1+(h .))

where c(h) counts h as a context, c(h, w) counts w after it, N1+(h .) is the number of distinct
tokens seen after h and h' is h without its oldest token. A context never seen defers entirely
to h'.

Sequences are independent and their first token is given, as in a Transformer's next-token loss:
a sequence of T tokens predicts tokens 1..T-1, each from the tokens before it in that sequence
only. Positions before a sequence's start read as a padding symbol, so "the second token of a
piece" is a context of its own.

Counting is done with numpy over all positions at once: a context of k tokens over a vocabulary
of V ids (plus padding) is one int64, its digits in base V+1, so that counting is ``np.unique``
and lookup is ``np.searchsorted`` rather than a dict access per token.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

_MAX_KEY = 2**63 - 1


@dataclass(frozen=True)
class _Table:
    """Counts for contexts of one length k; every array is sorted by its key."""

    contexts: np.ndarray  # (n_ctx,) int64 context keys
    context_counts: np.ndarray  # (n_ctx,) c(h)
    context_types: np.ndarray  # (n_ctx,) N1+(h .)
    pairs: np.ndarray  # (n_pairs,) int64 keys of (context, token)
    pair_counts: np.ndarray  # (n_pairs,) c(h, w)


def _empty_table() -> _Table:
    empty = np.zeros(0, dtype=np.int64)
    return _Table(empty, empty, empty, empty, empty)


def _find(keys: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each query, an index into the sorted, non-empty ``keys`` and whether the key there is the query."""
    i = np.minimum(np.searchsorted(keys, queries), keys.size - 1)
    return i, keys[i] == queries


class NGramModel:
    """Order-N interpolated Witten-Bell language model over ids 0..vocab_size-1.

    ``order`` counts the predicted token: order 4 conditions on up to 3 previous tokens, order 1
    is a unigram model. Before :meth:`fit` every token has probability 1/vocab_size.
    """

    def __init__(self, vocab_size: int, order: int = 4) -> None:
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be positive, got {vocab_size}")
        if order < 1:
            raise ValueError(f"order must be at least 1, got {order}")
        if (vocab_size + 1) ** order > _MAX_KEY:
            raise ValueError(f"order {order} over {vocab_size} ids does not fit int64 keys; lower the order")
        self.vocab_size = vocab_size
        self.order = order
        self._base = vocab_size + 1  # ids, then the padding symbol before a sequence's start
        self._pad = vocab_size
        self._tables = [_empty_table() for _ in range(order)]  # index k: contexts of k tokens

    def _positions(self, sequences: Iterable[Sequence[int] | np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """All sequences, each after order-1 pads, in one array; and the indices of predicted tokens."""
        pad = np.full(self.order - 1, self._pad, dtype=np.int64)
        parts, targets, offset = [], [], 0
        for seq in sequences:
            arr = np.asarray(seq)
            if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
                raise ValueError(f"each sequence must be a 1-D array of integer ids, got shape {arr.shape} "
                                 f"of {arr.dtype}")
            if arr.size and (arr.min() < 0 or arr.max() >= self.vocab_size):
                raise ValueError(f"token ids must be in 0..{self.vocab_size - 1}, got {arr.min()}..{arr.max()}")
            start = offset + pad.size  # index of the sequence's first token
            parts += [pad, arr.astype(np.int64, copy=False)]
            targets.append(np.arange(start + 1, start + arr.size, dtype=np.int64))
            offset = start + arr.size
        if not parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(parts), np.concatenate(targets)

    def _context_keys(self, tokens: np.ndarray, targets: np.ndarray) -> list[np.ndarray]:
        """For k = 0..order-1, the key of the k tokens before each target (digits newest first)."""
        keys = [np.zeros(targets.shape, dtype=np.int64)]
        scale = 1
        for k in range(1, self.order):
            keys.append(keys[-1] + tokens[targets - k] * scale)
            scale *= self._base
        return keys

    def fit(self, sequences: Iterable[Sequence[int] | np.ndarray]) -> NGramModel:
        """Count every order over ``sequences``, replacing earlier counts; returns self."""
        tokens, targets = self._positions(sequences)
        words = tokens[targets]
        tables = []
        for ctx in self._context_keys(tokens, targets):
            pairs, pair_counts = np.unique(ctx * self._base + words, return_counts=True)
            # pairs sorted by key are sorted by context, so each context's pairs form one run
            contexts, first, types = np.unique(pairs // self._base, return_index=True, return_counts=True)
            totals = np.add.reduceat(pair_counts, first) if pairs.size else np.zeros(0, dtype=np.int64)
            tables.append(_Table(contexts, totals.astype(np.int64), types.astype(np.int64),
                                 pairs, pair_counts.astype(np.int64)))
        self._tables = tables
        return self

    def _probs(self, contexts: list[np.ndarray], words: np.ndarray) -> np.ndarray:
        """P(word | context) for broadcastable per-order context keys and words, lowest order up."""
        p = np.full(np.broadcast_shapes(contexts[0].shape, words.shape), 1.0 / self.vocab_size)
        for table, ctx in zip(self._tables, contexts):
            if table.contexts.size == 0:
                continue  # nothing of this order was counted: every context defers to the order below
            i, seen = _find(table.contexts, ctx)
            j, pair_seen = _find(table.pairs, ctx * self._base + words)
            c_h, n1 = table.context_counts[i], table.context_types[i]
            c_hw = np.where(pair_seen, table.pair_counts[j], 0)
            p = np.where(seen, (c_hw + n1 * p) / np.where(seen, c_h + n1, 1), p)
        return p

    def next_token_probs(self, context: Sequence[int] | np.ndarray) -> np.ndarray:
        """P(w | context) for every id w, (vocab_size,) summing to 1.

        ``context`` is the sequence so far from its start; a context shorter than order-1
        tokens is at the start of a sequence, as in training.
        """
        tokens, _ = self._positions([np.asarray(context, dtype=np.int64)])
        target = np.array([tokens.size], dtype=np.int64)  # the position just after the context
        keys = self._context_keys(tokens, target)
        return self._probs(keys, np.arange(self.vocab_size, dtype=np.int64))

    def log2_prob_per_token(self, seq: Sequence[int] | np.ndarray) -> np.ndarray:
        """log2 P(seq[i] | seq[:i]) for i = 1..len(seq)-1 (values <= 0; bits = minus these)."""
        tokens, targets = self._positions([seq])
        return np.log2(self._probs(self._context_keys(tokens, targets), tokens[targets]))

    def total_bits(self, sequences: Iterable[Sequence[int] | np.ndarray]) -> float:
        """Bits to encode every token after the first of each sequence: -sum log2 P."""
        tokens, targets = self._positions(sequences)
        return float(-np.log2(self._probs(self._context_keys(tokens, targets), tokens[targets])).sum())

    def bits_per_token(self, sequences: Iterable[Sequence[int] | np.ndarray]) -> float:
        """Mean bits per predicted token (the number comparable with a Transformer's loss / ln 2)."""
        tokens, targets = self._positions(sequences)
        if targets.size == 0:
            raise ValueError("no token to score: every sequence is shorter than 2 tokens")
        return float(-np.log2(self._probs(self._context_keys(tokens, targets), tokens[targets])).mean())
