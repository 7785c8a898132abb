"""Training batches: pieces transposed at random, packed into fixed-length rows.

Each row is filled with whole pieces (each starting with BOS, so the model learns where one ends);
a piece longer than a row is cropped at a random bar line with its header kept in front. A batch is
a pure function of (seed, rank, step), so a resumed run sees exactly the batches it would have seen.
"""
from __future__ import annotations

import numpy as np
import torch

from .augment import melodic_pitch_mask, pitch_range
from .vocab import VOCAB

PAD_TARGET = -100  # ignored by the loss


def with_style(ids: np.ndarray, style: int | None) -> np.ndarray:
    """Insert ``Style_<style>`` after BOS (or drop a Style token when ``style`` is None)."""
    ids = np.asarray(ids, dtype=np.int64)
    off = VOCAB.offsets["Style"]
    has_style = len(ids) > 1 and off <= ids[1] < off + VOCAB.family_sizes["Style"]
    body = ids[2:] if has_style else ids[1:]
    head = [ids[0]] if style is None else [ids[0], off + style]
    return np.concatenate([np.asarray(head, dtype=np.int64), body])


class PieceBank:
    """Pieces with what augmentation needs precomputed: pitch masks, allowed shifts, bar lines."""

    def __init__(self, pieces: list[np.ndarray], transpose: bool = True):
        self.ids = [np.asarray(p, dtype=np.int64) for p in pieces]
        self.masks = [melodic_pitch_mask(p) for p in self.ids]
        self.shifts = []
        for ids, mask in zip(self.ids, self.masks):
            low, high = pitch_range(ids, mask)
            self.shifts.append(np.array([s for s in range(-6, 6) if low + s >= 0 and high + s <= 127] if transpose else [0]))
        bar = VOCAB.offsets["Bar"]
        self.bars = [np.flatnonzero(p == bar) for p in self.ids]
        self.lengths = np.array([len(p) for p in self.ids])
        self.key_offset, self.n_keys = VOCAB.offsets["Key"], 24

    def __len__(self) -> int:
        return len(self.ids)

    def transposed(self, i: int, shift: int) -> np.ndarray:
        ids = self.ids[i].copy()
        if shift:
            ids[self.masks[i]] += shift
            is_key = (ids >= self.key_offset) & (ids < self.key_offset + self.n_keys)
            k = ids[is_key] - self.key_offset
            ids[is_key] = self.key_offset + (k % 12 + shift) % 12 + (k >= 12) * 12
        return ids

    def crop(self, i: int, ids: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
        """At most ``length`` tokens: the header, then the piece from a random bar line."""
        if len(ids) <= length:
            return ids
        bars = self.bars[i]
        header = ids[: bars[0]]
        fits = bars[bars + length - len(header) <= len(ids)]
        start = int(rng.choice(fits)) if len(fits) else int(bars[0])
        return np.concatenate([header, ids[start: start + length - len(header)]])


class BatchSampler:
    """(x, y) LongTensors (B, T) of packed, transposed pieces; deterministic per step."""

    def __init__(self, bank: PieceBank, batch_size: int, seq_len: int, seed: int = 0, rank: int = 0,
                 weights: np.ndarray | None = None):
        if len(bank) == 0:
            raise ValueError("no pieces to train on")
        self.bank, self.batch_size, self.seq_len = bank, batch_size, seq_len
        self.seed, self.rank = seed, rank
        # how often each piece is drawn: by default long pieces are seen in proportion to their length
        self.weights = bank.lengths / bank.lengths.sum() if weights is None else np.asarray(weights, dtype=np.float64)
        if len(self.weights) != len(bank):
            raise ValueError("one sampling weight per piece is needed")

    def row(self, rng: np.random.Generator) -> np.ndarray:
        need = self.seq_len + 1
        parts, filled = [], 0
        while filled < need:
            i = int(rng.choice(len(self.bank), p=self.weights))
            ids = self.bank.transposed(i, int(rng.choice(self.bank.shifts[i])))
            ids = self.bank.crop(i, ids, need - filled if not parts else len(ids), rng)
            parts.append(ids)
            filled += len(ids)
        return np.concatenate(parts)[:need]

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.rank, step])
        rows = torch.from_numpy(np.stack([self.row(rng) for _ in range(self.batch_size)]))
        return rows[:, :-1].contiguous(), rows[:, 1:].contiguous()
