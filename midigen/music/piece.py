"""A piece of music on the step grid, and ``quantize``: the exact form the tokenizer keeps.

Notes live in one int array (one row per note) so that corpora of thousands of pieces stay cheap.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import MidigenError
from .grid import (
    DRUM_PROGRAM,
    DURATIONS_STEPS,
    MAX_PITCH,
    MAX_TRACKS,
    TEMPO_MARKS_BPM,
    VELOCITY_LEVELS,
    bar_length_steps,
    check_meter,
    nearest_index,
)

NOTE_COLUMNS = ("start_steps", "duration_steps", "pitch", "velocity", "track")
START, DURATION, PITCH, VELOCITY, TRACK = range(5)
DEFAULT_METER = (4, 4)
DEFAULT_TEMPO_BPM = 120.0
# Longest piece an input (a MIDI file read, a score imported) may hold: ~2.5 hours of 4/4 at 100 bpm. More
# means absurd note times. Far above what a task writes (``tasks``: at most 512 bars a request).
MAX_READ_BARS = 4096


@dataclass(frozen=True)
class Track:
    program: int = 0  # General MIDI program 0..127 (ignored for drums)
    is_drum: bool = False
    name: str = ""

    @property
    def program_token_value(self) -> int:
        return DRUM_PROGRAM if self.is_drum else self.program


@dataclass(frozen=True, eq=False)
class Piece:
    """Notes on a grid of ``STEPS_PER_QUARTER`` steps per quarter note.

    ``notes`` is (n, 5) int64 with columns ``NOTE_COLUMNS``; ``meters`` lists (bar index, numerator,
    denominator) from bar 0; ``tempos`` lists (start step, bpm) from step 0; ``key`` is a key int
    (see ``keys``) or None; ``n_bars`` is the length of the piece in bars; ``chords`` is the harmony
    (``chords.analyse`` or the user's progression), each chord lasting until the next.
    """

    notes: np.ndarray
    tracks: tuple[Track, ...] = (Track(),)
    meters: tuple[tuple[int, int, int], ...] = ((0, *DEFAULT_METER),)
    tempos: tuple[tuple[int, float], ...] = ((0, DEFAULT_TEMPO_BPM),)
    key: int | None = None
    n_bars: int = 1
    style: int | None = None
    chords: tuple[tuple[int, int], ...] = ()  # (start step, chord value of ``chord_symbols``): changes only
    meta: dict = field(default_factory=dict, compare=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Piece):
            return NotImplemented
        return (
            np.array_equal(self.notes, other.notes)
            and self.tracks == other.tracks
            and self.meters == other.meters
            and tuple((s, float(b)) for s, b in self.tempos) == tuple((s, float(b)) for s, b in other.tempos)
            and self.key == other.key
            and self.n_bars == other.n_bars
            and self.style == other.style
            and tuple(self.chords) == tuple(other.chords)
        )

    __hash__ = None  # mutable-array holder: not hashable

    @property
    def n_notes(self) -> int:
        return len(self.notes)

    def bar_starts_steps(self, n_bars: int | None = None) -> np.ndarray:
        """(n_bars + 1,) start step of every bar, then the end of the last bar."""
        return bar_starts_steps(self.meters, self.n_bars if n_bars is None else n_bars)

    @property
    def end_steps(self) -> int:
        return int(self.bar_starts_steps()[-1])

    def replace(self, **changes) -> Piece:
        return replace(self, **changes)


def crop_bars(piece: Piece, first_bar: int, stop_bar: int) -> Piece:
    """Bars ``first_bar`` .. ``stop_bar - 1`` as a piece of their own: the notes starting in them (moved to
    start at step 0, lengths kept), and the meter, tempo and chord in force where they start."""
    starts = piece.bar_starts_steps()
    begin, end = int(starts[first_bar]), int(starts[stop_bar])
    notes = piece.notes[(piece.notes[:, START] >= begin) & (piece.notes[:, START] < end)].copy()
    notes[:, START] -= begin

    def from_start(changes, at):
        before = [c for c in changes if at(c) <= 0]
        return ([(0, *before[-1][1:])] if before else []) + [c for c in changes if 0 < at(c)]

    meters = from_start([(b - first_bar, n, d) for b, n, d in piece.meters if b < stop_bar], lambda m: m[0])
    tempos = from_start([(s - begin, b) for s, b in piece.tempos if s < end], lambda t: t[0])
    chords = from_start([(s - begin, c) for s, c in piece.chords if s < end], lambda c: c[0])
    return piece.replace(notes=notes, meters=tuple(meters), tempos=tuple(tempos), chords=tuple(chords),
                         n_bars=stop_bar - first_bar)


def drums_first(piece: Piece) -> Piece:
    """The piece with its drum tracks first and the others after them, each group in its own order: how
    training and the corpus statistics see a band. The MMA grooves the ``base`` learnt drums from have
    them first (77 of 80 songs, one per groove file; the others second), and a small model finds a part
    by its track number as much as by the header's programs: fine-tuned on Freedoom's Phase 1 as it
    stands (drums anywhere from track 1 to 10), the style's drum pitches cost 1.73 nats on the training
    pieces whose drums come first and 3.27 on the others, and its takes put half their drum hits on
    sounds the folder hardly uses (``bench.recipe_bench``, styles/README.md)."""
    order = sorted(range(len(piece.tracks)), key=lambda t: not piece.tracks[t].is_drum)
    if order == list(range(len(piece.tracks))):
        return piece
    new_index = np.empty(len(order), dtype=np.int64)
    new_index[order] = np.arange(len(order))
    notes = piece.notes.copy()
    notes[:, TRACK] = new_index[notes[:, TRACK]]
    meta = dict(piece.meta)
    names = meta.get("track_names")
    if isinstance(names, (list, tuple)) and len(names) == len(order):
        meta["track_names"] = [names[t] for t in order]
    return piece.replace(notes=sort_notes(notes), tracks=tuple(piece.tracks[t] for t in order), meta=meta)


def bar_starts_steps(meters, n_bars: int) -> np.ndarray:
    """(n_bars + 1,) bar start steps for a meter map of (bar, numerator, denominator)."""
    lengths = np.empty(n_bars, dtype=np.int64)
    changes = list(meters) + [(n_bars, 0, 1)]
    for (bar, num, den), (next_bar, _, _) in zip(changes, changes[1:]):
        if bar < n_bars:
            lengths[bar:min(next_bar, n_bars)] = bar_length_steps(num, den)
    return np.concatenate([[0], np.cumsum(lengths)])


def bar_index_of(step: np.ndarray | int, meters, n_bars_hint: int) -> np.ndarray:
    """Bar index containing each step, extending the last meter past ``n_bars_hint`` as needed."""
    steps = np.asarray(step, dtype=np.int64)
    last_bar, last_num, last_den = meters[-1]
    n_known = max(n_bars_hint, last_bar + 1)
    starts = bar_starts_steps(meters, n_known)
    tail = bar_length_steps(last_num, last_den)
    inside = np.searchsorted(starts, steps, side="right") - 1
    beyond = n_known + (steps - starts[-1]) // tail
    return np.where(steps >= starts[-1], beyond, inside)


def check_read_bars(n_bars: int) -> None:
    """MidigenError if an input is longer than ``MAX_READ_BARS``."""
    if n_bars > MAX_READ_BARS:
        raise MidigenError(f"{n_bars} bars (at most {MAX_READ_BARS}): absurd note times?")


def snap_durations(duration_steps: np.ndarray) -> np.ndarray:
    table = np.asarray(DURATIONS_STEPS)
    clipped = np.clip(duration_steps, 1, table[-1])
    return table[nearest_index(DURATIONS_STEPS, clipped)]


def floor_durations(duration_steps: np.ndarray) -> np.ndarray:
    """Longest table duration not above each value (>= 1 step)."""
    table = np.asarray(DURATIONS_STEPS)
    index = np.searchsorted(table, np.clip(duration_steps, 1, table[-1]), side="right") - 1
    return table[index]


def snap_tempo(bpm: float) -> float:
    return float(TEMPO_MARKS_BPM[int(nearest_index(TEMPO_MARKS_BPM, np.array([bpm]), log_scale=True)[0])])


def _merge_tracks(notes: np.ndarray, tracks: tuple[Track, ...]) -> tuple[np.ndarray, tuple[Track, ...]]:
    """Drop empty tracks; past MAX_TRACKS, merge tracks that share an instrument."""
    used = np.unique(notes[:, TRACK]) if len(notes) else np.zeros(0, dtype=np.int64)
    keep = [t for t in range(len(tracks)) if t in set(used.tolist())] or [0]
    slot_of_key: dict[tuple, int] = {}
    new_tracks: list[Track] = []
    remap = np.zeros(max(len(tracks), 1), dtype=np.int64)
    merge = len(keep) > MAX_TRACKS
    for t in keep:
        track = tracks[t] if t < len(tracks) else Track()
        key = (track.program_token_value,) if merge else (t,)
        if key not in slot_of_key:
            slot_of_key[key] = len(new_tracks)
            new_tracks.append(Track(track.program if not track.is_drum else 0, track.is_drum))
        remap[t] = slot_of_key[key]
    if len(new_tracks) > MAX_TRACKS:
        raise MidigenError(f"{len(new_tracks)} tracks with distinct instruments (at most {MAX_TRACKS})")
    out = notes.copy()
    out[:, TRACK] = remap[notes[:, TRACK]] if len(notes) else out[:, TRACK]
    return out, tuple(new_tracks)


def _resolve_overlaps(notes: np.ndarray) -> np.ndarray:
    """One note per (track, pitch, onset), and a same-pitch note ends before the next one starts."""
    if len(notes) == 0:
        return notes
    order = np.lexsort((-notes[:, DURATION], notes[:, START], notes[:, PITCH], notes[:, TRACK]))
    notes = notes[order]
    same_voice = (notes[1:, TRACK] == notes[:-1, TRACK]) & (notes[1:, PITCH] == notes[:-1, PITCH])
    duplicate = same_voice & (notes[1:, START] == notes[:-1, START])
    notes = notes[np.concatenate([[True], ~duplicate])]  # keep the longest of duplicates
    same_voice = (notes[1:, TRACK] == notes[:-1, TRACK]) & (notes[1:, PITCH] == notes[:-1, PITCH])
    gap = notes[1:, START] - notes[:-1, START]
    overlap = np.concatenate([same_voice & (notes[:-1, START] + notes[:-1, DURATION] > notes[1:, START]), [False]])
    if overlap.any():
        limit = np.concatenate([gap, [0]])
        notes[overlap, DURATION] = floor_durations(limit[overlap])
    return notes


def normalise_changes(changes, end_steps: int) -> tuple[tuple[int, int], ...]:
    """(step, value) events sorted by step, inside [0, end_steps), the last one at a step winning, and
    none restating the value in force."""
    out: list[tuple[int, int]] = []
    for step, value in sorted(((int(s), v) for s, v in changes), key=lambda c: c[0]):
        if not 0 <= step < end_steps:
            continue
        if out and out[-1][0] == step:
            out.pop()
        if not out or out[-1][1] != value:
            out.append((step, value))
    return tuple(out)


def sort_notes(notes: np.ndarray) -> np.ndarray:
    """Token order: by onset, then track, then pitch from the top down."""
    order = np.lexsort((-notes[:, PITCH], notes[:, TRACK], notes[:, START]))
    return notes[order]


def quantize(piece: Piece) -> Piece:
    """The piece as the tokenizer represents it: ``decode(encode(p)) == quantize(p)`` exactly.

    Durations, velocities and tempos snap to their token tables; duplicate and overlapping
    same-pitch notes are resolved; empty tracks go; meters and tempos are normalised maps.
    """
    notes = np.asarray(piece.notes, dtype=np.int64).reshape(-1, len(NOTE_COLUMNS)).copy()
    if len(notes):
        if notes[:, START].min() < 0:
            raise MidigenError("a note starts before the beginning of the piece")
        if not ((notes[:, PITCH] >= 0) & (notes[:, PITCH] <= MAX_PITCH)).all():
            raise MidigenError(f"a pitch is outside MIDI's 0-{MAX_PITCH}")
        notes[:, DURATION] = snap_durations(notes[:, DURATION])
        notes[:, VELOCITY] = np.asarray(VELOCITY_LEVELS)[nearest_index(VELOCITY_LEVELS, np.clip(notes[:, VELOCITY], 1, 127))]
    notes, tracks = _merge_tracks(notes, piece.tracks)
    notes = sort_notes(_resolve_overlaps(notes))

    meters: list[tuple[int, int, int]] = []
    for bar, num, den in sorted(piece.meters or ((0, *DEFAULT_METER),), key=lambda m: m[0]):
        check_meter(num, den)
        bar = max(bar, 0)
        if meters and meters[-1][0] == bar:
            meters.pop()
        if not meters or meters[-1][1:] != (num, den):
            meters.append((bar, num, den))
    if meters[0][0] != 0:
        meters.insert(0, (0, *DEFAULT_METER))

    last_sounding_step = int((notes[:, START] + notes[:, DURATION]).max()) - 1 if len(notes) else 0
    n_bars = max(int(piece.n_bars), int(bar_index_of(last_sounding_step, meters, 1)) + 1, 1)
    check_read_bars(n_bars)
    meters = [m for m in meters if m[0] < n_bars]
    end = int(bar_starts_steps(meters, n_bars)[-1])

    tempos: list[tuple[int, float]] = []
    for step, bpm in sorted(piece.tempos or ((0, DEFAULT_TEMPO_BPM),), key=lambda t: t[0]):
        if not (bpm > 0 and np.isfinite(bpm)):
            raise MidigenError(f"tempo {bpm} bpm is not a positive number")
        step = max(int(step), 0)
        if step >= end:
            continue
        if tempos and tempos[-1][0] == step:
            tempos.pop()
        snapped = snap_tempo(bpm)
        if not tempos or tempos[-1][1] != snapped:
            tempos.append((step, snapped))
    if not tempos or tempos[0][0] != 0:
        tempos.insert(0, (0, snap_tempo(DEFAULT_TEMPO_BPM)))
    return Piece(
        chords=normalise_changes(piece.chords, end),
        notes=notes,
        tracks=tracks,
        meters=tuple(meters),
        tempos=tuple(tempos),
        key=piece.key,
        n_bars=n_bars,
        style=piece.style,
        meta=dict(piece.meta),
    )
