"""Originality: the longest run of notes a piece shares with the training set, in any key.

A voice (one track, top note per onset) is read as a sequence of (interval to the next note, duration)
pairs, so a run is the same melody and rhythm whatever its transposition; a run of ``k`` notes is
``k - 1`` consecutive pairs. For every position of every query voice, the longest run starting there
that occurs anywhere in the training voices is found by growing all windows one pair at a time: each
window carries a rolling hash (two 31-bit moduli, one int64 key), and a query window (or a training
window) stays alive only while its key is among the other side's keys of the same length. A match of
length L implies one of length L - 1 at the same two starts, so this is exact up to hash collisions,
and both sides shrink to the few windows that still match after a handful of steps.

A piece is a *whole copy* when every one of its voices occurs entire in the training set and its
longest run is at least ``MIN_COPY_NOTES`` notes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..music.piece import DURATION, PITCH, Piece
from .features import voices

RUN_NOTES = (16, 32)
MIN_COPY_NOTES = 16
_MOD = (2_147_483_647, 2_147_483_629)  # primes below 2**31: keys of two hashes fit one int64
_BASE = (1_000_003, 998_244_353)
_MAX_DURATION_CODE = (1 << 12) - 1


@dataclass(frozen=True)
class Lines:
    """The voices of a set of pieces, concatenated: one code per (interval, duration) pair."""

    codes: np.ndarray  # (N,) int64, nonzero
    ends: np.ndarray  # (N,) exclusive end, in ``codes``, of the voice each position belongs to
    voice_starts: np.ndarray  # (V,)
    voice_lengths: np.ndarray  # (V,) pairs in each voice
    voice_piece: np.ndarray  # (V,) piece index of each voice
    n_pieces: int


def line_codes(line: np.ndarray) -> np.ndarray:
    """(len(line) - 1,) codes of a voice's notes: interval to the next note and the note's duration."""
    if len(line) < 2:
        return np.zeros(0, dtype=np.int64)
    intervals = np.clip(np.diff(line[:, PITCH]), -127, 127) + 128
    durations = np.minimum(line[:-1, DURATION], _MAX_DURATION_CODE)
    return (intervals.astype(np.int64) << 12 | durations) + 1


def lines_of(pieces: list[Piece]) -> Lines:
    parts, starts, lengths, owners, offset = [], [], [], [], 0
    for i, piece in enumerate(pieces):
        for line in voices(piece):
            codes = line_codes(line)
            if codes.size == 0:
                continue
            parts.append(codes)
            starts.append(offset)
            lengths.append(codes.size)
            owners.append(i)
            offset += codes.size
    codes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    starts_a, lengths_a = np.asarray(starts, dtype=np.int64), np.asarray(lengths, dtype=np.int64)
    ends = np.repeat(starts_a + lengths_a, lengths_a)
    return Lines(codes, ends, starts_a, lengths_a, np.asarray(owners, dtype=np.int64), len(pieces))


class _Windows:
    """Windows starting at ``starts`` of a Lines, grown together; each with its rolling hash key."""

    def __init__(self, lines: Lines):
        self.lines = lines
        self.starts = np.arange(lines.codes.size, dtype=np.int64)
        self.hashes = [np.zeros(lines.codes.size, dtype=np.int64) for _ in _MOD]

    def grow(self, length: int) -> np.ndarray:
        """Drop windows that would cross their voice's end, extend the rest to ``length``; their keys."""
        fits = self.starts + length - 1 < self.lines.ends[self.starts]
        self.keep(fits)
        code = self.lines.codes[self.starts + length - 1]
        self.hashes = [(h * b + code) % m for h, b, m in zip(self.hashes, _BASE, _MOD)]
        return self.hashes[0] << 31 | self.hashes[1]

    def keep(self, mask: np.ndarray) -> None:
        self.starts = self.starts[mask]
        self.hashes = [h[mask] for h in self.hashes]


def match_lengths(query: Lines, train: Lines) -> np.ndarray:
    """(N_query,) for each query position, the most pairs from there found anywhere in ``train``."""
    best = np.zeros(query.codes.size, dtype=np.int64)
    q, t = _Windows(query), _Windows(train)
    length = 0
    while q.starts.size and t.starts.size:
        length += 1
        q_keys, t_keys = q.grow(length), t.grow(length)
        q_hit, t_hit = np.isin(q_keys, t_keys), np.isin(t_keys, q_keys)
        q.keep(q_hit)
        t.keep(t_hit)
        best[q.starts] = length
    return best


@dataclass(frozen=True)
class PieceOriginality:
    longest_run_notes: int  # 0 when not even one interval + duration pair is shared
    whole_copy: bool

    def shares(self, notes: int) -> bool:
        return self.longest_run_notes >= notes


def originality(query: Lines, train: Lines) -> list[PieceOriginality]:
    """Per query piece: its longest run shared with ``train`` and whether it is a whole copy."""
    best = match_lengths(query, train)
    longest = np.zeros(query.n_pieces, dtype=np.int64)
    whole = np.ones(query.n_pieces, dtype=bool)
    has_voice = np.zeros(query.n_pieces, dtype=bool)
    for start, length, piece in zip(query.voice_starts, query.voice_lengths, query.voice_piece):
        run = best[start: start + length].max()
        longest[piece] = max(longest[piece], run + 1 if run else 0)
        whole[piece] &= bool(best[start] == length)
        has_voice[piece] = True
    return [PieceOriginality(int(n), bool(w and v and n >= MIN_COPY_NOTES)) for n, w, v in zip(longest, whole, has_voice)]
