"""Training batches: pieces transposed at random, packed into fixed-length rows.

Each row is filled with whole pieces (each starting with BOS, so the model learns where one ends);
a piece longer than a row is cropped at a random bar line with its header kept in front. A share of
the pieces (``infill_share``) is written in the infill form instead (``grammar``): a random span of
1 to 16 bars moved behind Hole/Fill, with as many bars on both sides as the row has room for, so the
model learns to write bars that join what comes before *and* after them. A batch is a pure function
of (seed, rank, step), so a resumed run sees exactly the batches it would have seen.
"""
from __future__ import annotations

import numpy as np
import torch

from ..music.piece import crop_bars
from ..tokens.augment import melodic_pitch_mask, transpose_ids, transpositions
from ..tokens.tokenizer import decode, encode
from ..tokens.vocab import MAX_HOLE_BARS, VOCAB

PAD_TARGET = -100  # ignored by the loss
MIN_INFILL_TOKENS = 96  # room a row must have left for an infill example


class PieceBank:
    """Pieces with what augmentation needs precomputed: pitch masks, allowed shifts, bar lines."""

    def __init__(self, pieces: list[np.ndarray], transpose: bool = True):
        self.ids = [np.asarray(p, dtype=np.int64) for p in pieces]
        self.masks = [melodic_pitch_mask(p) for p in self.ids]
        self.shifts = [np.array(transpositions(ids) if transpose else [0], dtype=np.int64) for ids in self.ids]
        bar = VOCAB.offsets["Bar"]
        self.bars = [np.flatnonzero(p == bar) for p in self.ids]
        self.lengths = np.array([len(p) for p in self.ids])
        self.pieces: dict[int, object] = {}  # decoded on first use, for the infill form

    def __len__(self) -> int:
        return len(self.ids)

    def transposed(self, i: int, shift: int) -> np.ndarray:
        return transpose_ids(self.ids[i], shift, self.masks[i]) if shift else self.ids[i].copy()

    def crop(self, i: int, ids: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
        """At most ``length`` tokens: the header, then the piece from a random bar line."""
        if len(ids) <= length:
            return ids
        bars = self.bars[i]
        header = ids[: bars[0]]
        fits = bars[bars + length - len(header) <= len(ids)]
        start = int(rng.choice(fits)) if len(fits) else int(bars[0])
        return np.concatenate([header, ids[start: start + length - len(header)]])

    def infill(self, i: int, shift: int, length: int, rng: np.random.Generator) -> np.ndarray | None:
        """Piece ``i`` in the infill form, transposed, in at most ``length`` tokens: a random hole and the
        bars around it that fit, split at random between the two sides. None when no hole fits."""
        bars, ids = self.bars[i], self.ids[i]
        n_bars = len(bars)
        ends = np.append(bars, len(ids) - 1)  # token index where each bar starts, then EOS
        room = length - int(bars[0]) - 24  # the header, and the Hole/Fill tokens and restated values
        count = int(rng.integers(1, min(MAX_HOLE_BARS, n_bars) + 1))
        first = int(rng.integers(0, n_bars - count + 1))
        hole_tokens = int(ends[first + count] - ends[first])
        if hole_tokens > room:
            return None
        piece = self._piece(i)
        if any(first <= bar < first + count for bar, _, _ in piece.meters[1:]):
            return None
        before_room = int(rng.integers(0, room - hole_tokens + 1))
        left = first  # first bar kept before the hole: as far back as before_room allows
        while left > 0 and ends[first] - ends[left - 1] <= before_room:
            left -= 1
        right = first + count  # bars kept after the hole: what is left of the room
        while right < n_bars and (ends[first] - ends[left]) + hole_tokens + (ends[right + 1] - ends[first + count]) <= room:
            right += 1
        out = encode(crop_bars(piece, left, right), hole=(first - left, count)).astype(np.int64)
        return transpose_ids(out, shift) if shift else out

    def _piece(self, i: int):
        if i not in self.pieces:
            self.pieces[i] = decode(self.ids[i])
        return self.pieces[i]


class BatchSampler:
    """(x, y) LongTensors (B, T) of packed, transposed pieces; deterministic per step."""

    def __init__(self, bank: PieceBank, batch_size: int, seq_len: int, seed: int = 0, rank: int = 0,
                 weights: np.ndarray | None = None, infill_share: float = 0.0):
        if len(bank) == 0:
            raise ValueError("no pieces to train on")
        self.bank, self.batch_size, self.seq_len = bank, batch_size, seq_len
        self.seed, self.rank, self.infill_share = seed, rank, infill_share
        # how often each piece is drawn: by default long pieces are seen in proportion to their length
        self.weights = bank.lengths / bank.lengths.sum() if weights is None else np.asarray(weights, dtype=np.float64)
        if len(self.weights) != len(bank):
            raise ValueError("one sampling weight per piece is needed")

    def row(self, rng: np.random.Generator) -> np.ndarray:
        need = self.seq_len + 1
        parts, filled = [], 0
        while filled < need:
            i = int(rng.choice(len(self.bank), p=self.weights))
            shift = int(rng.choice(self.bank.shifts[i]))
            ids = None
            if rng.random() < self.infill_share and need - filled >= MIN_INFILL_TOKENS:
                ids = self.bank.infill(i, shift, need - filled, rng)  # whole: its filled bars come last
            if ids is None:
                ids = self.bank.transposed(i, shift)
                ids = self.bank.crop(i, ids, need - filled if not parts else len(ids), rng)
            parts.append(ids)
            filled += len(ids)
        return np.concatenate(parts)[:need]

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.rank, step])
        rows = torch.from_numpy(np.stack([self.row(rng) for _ in range(self.batch_size)]))
        return rows[:, :-1].contiguous(), rows[:, 1:].contiguous()
