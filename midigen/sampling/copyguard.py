"""``--max-copy N``: while sampling, no part copies a run of more than N notes from the training pieces.

A run is what ``eval``'s originality measure compares (``evalsuite.originality``): a *voice* is one
melodic track reduced to its top note at each onset, read as (interval to the next note, duration)
pairs, so a run of ``k`` notes is ``k - 1`` consecutive pairs, in any key. ``RunIndex`` holds every
window of ``N`` pairs inside the training voices as the key of its first ``N - 1`` pairs (two 31-bit
polynomial hashes in one int64, as originality uses) and its last pair, sorted by key: one binary search
finds what followed a voice's latest ``N - 1`` pairs in training, if anything did. Drum tracks are not
voices and are never guarded.

``CopyGuardState`` wraps any sampling state (the outermost layer, so it sees what locks force): it
follows each track's voice as tokens arrive (a Pitch after a Position or Track token is the top note of
its onset: the grammar writes chords top note first) and, where the next token may be a voice's next
top note, removes the pitches that would complete an N-pair window found in the index, i.e. a copied
run of N + 1 notes. A note a lock forces (the user's own) is left alone; where every pitch the other
constraints allow would be a copy, it gives way and counts it (``gave_way``), so sampling never
dead-ends. In an infill the voices continue from the bars before the hole, not from the bars after it.
"""
from __future__ import annotations

import numpy as np

from ..music.grid import DURATIONS_STEPS, MAX_TRACKS
from ..tokens.grammar import PITCH_STATES
from ..tokens.vocab import VOCAB
from .constraints import SamplingState
from .locks import Lock

_MOD = (2_147_483_647, 2_147_483_629)  # primes below 2**31: the two hashes of a window fit one int64
_BASE = (1_000_003, 998_244_353)
MAX_DURATION_CODE = (1 << 12) - 1
_PITCHES = VOCAB.span("Pitch")
_NO_PITCH = 128  # ``GrammarState.last_pitch`` before the first note of a track at a position


def pair_codes(intervals: np.ndarray, durations: np.ndarray) -> np.ndarray:
    """One nonzero int64 code per (interval to the next note, duration in steps) pair: the same codes as
    ``evalsuite.originality.line_codes``."""
    intervals = np.clip(np.asarray(intervals, dtype=np.int64), -127, 127) + 128
    durations = np.minimum(np.asarray(durations, dtype=np.int64), MAX_DURATION_CODE)
    return (intervals << 12 | durations) + 1


def _window_hashes(codes: np.ndarray, n: int, mod: int, base: int) -> np.ndarray:
    """(len(codes) - n + 1,) polynomial hash of every window of ``n`` codes, by doubling (log n passes)."""
    result, result_len = None, 0
    power, power_len = codes % mod, 1  # hashes of the windows of power_len codes
    k = n
    while k:
        if k & 1:
            if result is None:
                result, result_len = power.copy(), power_len
            else:
                m = len(codes) - (result_len + power_len) + 1
                result = (result[:m] * pow(base, power_len, mod) + power[result_len:result_len + m]) % mod
                result_len += power_len
        k >>= 1
        if k:
            m = len(power) - power_len
            power = (power[:m] * pow(base, power_len, mod) + power[power_len:power_len + m]) % mod
            power_len *= 2
    return result


def _window_starts(voice_lengths: np.ndarray, total: int, n: int) -> np.ndarray:
    """Start of every window of ``n`` codes that lies inside one voice."""
    lengths = np.asarray(voice_lengths, dtype=np.int64)
    if n < 1 or total < n:
        return np.zeros(0, dtype=np.int64)
    ends = np.repeat(np.cumsum(lengths), lengths)  # exclusive end of the voice of each position
    return np.flatnonzero(np.arange(total - n + 1) + n <= ends[: total - n + 1])


def _keys(codes: np.ndarray, n: int, starts: np.ndarray) -> np.ndarray:
    """The int64 key of the window of ``n`` codes at each of ``starts`` (0 for the empty window)."""
    if n == 0:
        return np.zeros(len(starts), dtype=np.int64)
    h0, h1 = (_window_hashes(codes, n, m, b)[starts] for m, b in zip(_MOD, _BASE))
    return h0 << 31 | h1


def window_keys(codes: np.ndarray, voice_lengths: np.ndarray, n: int) -> np.ndarray:
    """Sorted unique int64 keys of every window of ``n`` codes that lies inside one voice (``codes`` are
    the voices' codes end to end, ``voice_lengths`` how many each has)."""
    codes = np.asarray(codes, dtype=np.int64)
    return np.unique(_keys(codes, n, _window_starts(voice_lengths, len(codes), n)))


class RunIndex:
    """The windows of ``n_pairs`` codes of the training voices, as (key of the first ``n_pairs - 1``, last
    code) sorted by key: where a voice's latest codes are a training prefix, the codes that followed it
    there are the continuations to forbid (usually one or two), found by one binary search."""

    def __init__(self, prefix_keys: np.ndarray, next_codes: np.ndarray, n_pairs: int):
        if n_pairs < 1:
            raise ValueError("a run index needs windows of at least one pair")
        self.prefix_keys = np.asarray(prefix_keys, dtype=np.int64)
        self.next_codes = np.asarray(next_codes, dtype=np.int64)
        self.n_pairs = n_pairs

    @classmethod
    def from_codes(cls, codes: np.ndarray, voice_lengths: np.ndarray, max_copy_notes: int) -> RunIndex:
        """The index that forbids runs of ``max_copy_notes + 1`` notes (``max_copy_notes`` pairs)."""
        codes = np.asarray(codes, dtype=np.int64)
        n = max_copy_notes
        starts = _window_starts(voice_lengths, len(codes), n)
        keys, nexts = _keys(codes, n - 1, starts), codes[starts + n - 1]
        order = np.argsort(keys)  # a prefix's continuations side by side (repeats do no harm)
        return cls(keys[order], nexts[order], n)

    @property
    def max_copy_notes(self) -> int:
        return self.n_pairs  # N pairs make a run of N + 1 notes: the first one not allowed

    def continuations(self, key: int) -> np.ndarray:
        """The codes that follow the prefix with this key (``prefix_key``) somewhere in the training voices."""
        lo, hi = np.searchsorted(self.prefix_keys, [key, key + 1])
        return self.next_codes[lo:hi]

    def contains(self, window: np.ndarray) -> bool:
        """Whether the codes ``window`` (exactly ``n_pairs`` of them) occur in the training voices."""
        return bool(np.isin(window[-1], self.continuations(prefix_key(window[:-1]))))


def prefix_key(codes) -> int:
    """The key of a window of codes, as ``_keys`` gives it (Horner's rule, both moduli)."""
    h = [0, 0]
    for code in (int(c) for c in codes):
        h = [(x * b + code) % m for x, b, m in zip(h, _BASE, _MOD)]
    return h[0] << 31 | h[1]


class CopyGuardState(Lock):
    """``inner`` with every voice kept from completing a run of ``index.max_copy_notes + 1`` training notes."""

    def __init__(self, inner: SamplingState, index: RunIndex):
        super().__init__(inner)
        self.index = index
        self.drums = self.constrained.c.drum_tracks
        self.history: list[list[int]] = [[] for _ in range(MAX_TRACKS)]  # the latest pair codes of each voice
        self.last: list[tuple[int, int] | None] = [None] * MAX_TRACKS  # (pitch, duration) of its latest top note
        self._top_track: int | None = None  # the track whose top note is being written
        self._saved: tuple | None = None  # the voices where a hole starts (``infill``)
        self.blocked = 0  # steps at which a copying pitch was removed
        self.gave_way = 0  # steps at which every allowed pitch copied, so none was removed

    def _voice_tail(self, track: int) -> tuple[list[int], tuple[int, int]] | None:
        """(the last n_pairs - 1 codes, latest top note) of a voice long enough to complete a window."""
        last, need = self.last[track], self.index.n_pairs - 1
        if last is None or track in self.drums or len(self.history[track]) < need:
            return None
        return self.history[track][len(self.history[track]) - need:], last

    def mask(self) -> np.ndarray:
        return self.narrow(self.inner.mask())

    def narrow(self, mask: np.ndarray) -> np.ndarray:
        """``mask`` without the pitches that would complete a copied run (the guard's own work)."""
        g = self.grammar
        if g.bar < 0 or g.state not in PITCH_STATES or g.last_pitch != _NO_PITCH:
            return mask
        tail = self._voice_tail(g.track)
        if tail is None or np.count_nonzero(mask) == 1:  # nothing to choose: a note a lock forces is the user's
            return mask
        prefix, (last_pitch, last_duration) = tail
        nexts = self.index.continuations(prefix_key(prefix))  # usually none: one binary search
        if not len(nexts):
            return mask
        pitches = np.flatnonzero(mask[_PITCHES])
        copied = np.isin(pair_codes(pitches - last_pitch, np.full(len(pitches), last_duration)), nexts)
        if not copied.any():
            return mask
        narrowed = mask.copy()
        narrowed[_PITCHES.start + pitches[copied]] = False
        if not narrowed.any():
            self.gave_way += 1
            return mask
        self.blocked += 1
        return narrowed

    def advance(self, token_id: int) -> None:
        self.follow(token_id)
        self.inner.advance(token_id)

    def follow(self, token_id: int) -> None:
        """Extend the voices by ``token_id`` (before the inner state moves past it)."""
        g = self.grammar
        family, index = VOCAB.split(token_id)
        if family == "Pitch" and g.bar >= 0:
            track = g.track
            self._top_track = track if g.last_pitch == _NO_PITCH and track not in self.drums else None
            if self._top_track is not None:
                if self.last[track] is not None:
                    last_pitch, last_duration = self.last[track]
                    self.history[track].append(int(pair_codes(index - last_pitch, last_duration)))
                    del self.history[track][: max(0, len(self.history[track]) - self.index.n_pairs)]
                self.last[track] = (index, 0)
        elif family == "Duration" and self._top_track is not None:
            self.last[self._top_track] = (self.last[self._top_track][0], DURATIONS_STEPS[index])
            self._top_track = None
        elif family == "Hole":
            self._saved = ([list(h) for h in self.history], list(self.last))
        elif family == "Fill" and self._saved is not None:
            self.history, self.last = [list(h) for h in self._saved[0]], list(self._saved[1])
