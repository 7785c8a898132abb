"""Encode a quantized Piece into token ids and decode ids back, exactly.

The encoder writes the canonical sequence the grammar describes (see ``grammar``): a Track token only
when the track changes, a Velocity token only when a track's velocity changes, chords top note first.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right

import numpy as np

from ..errors import MidigenError
from ..music.grid import DRUM_PROGRAM, DURATIONS_STEPS, METERS, TEMPO_MARKS_BPM, VELOCITY_LEVELS
from ..music.piece import DURATION, PITCH, START, TRACK, VELOCITY, Piece, Track, bar_starts_steps, normalise_changes, sort_notes
from .grammar import GrammarState
from .vocab import MAX_HOLE_BARS, UNKNOWN_KEY, VOCAB, Vocab

_DURATION_INDEX = np.full(DURATIONS_STEPS[-1] + 1, -1, dtype=np.int64)
_DURATION_INDEX[list(DURATIONS_STEPS)] = np.arange(len(DURATIONS_STEPS))
_VELOCITY_INDEX = {v: i for i, v in enumerate(VELOCITY_LEVELS)}
_TEMPO_INDEX = {float(v): i for i, v in enumerate(TEMPO_MARKS_BPM)}


def encode(piece: Piece, vocab: Vocab = VOCAB, *, hole: tuple[int, int] | None = None) -> np.ndarray:
    """Token ids (int16 is enough: the vocabulary has < 32k ids) of a piece already ``quantize``d.

    ``hole=(first_bar, n_bars)`` writes the infill form (see ``grammar``): those bars moved after the
    rest, behind Hole and Fill. ValueError if the hole does not fit the piece or the meter changes in it.
    """
    off = vocab.offsets
    ids: list[int] = [off["BOS"]]
    if piece.style is not None:
        ids.append(off["Style"] + piece.style)
    ids.append(off["Key"] + (UNKNOWN_KEY if piece.key is None else piece.key))
    ids.append(off["TimeSig"] + METERS.index(tuple(piece.meters[0][1:])))
    ids.append(off["Tempo"] + _TEMPO_INDEX[float(piece.tempos[0][1])])
    ids.extend(off["Program"] + t.program_token_value for t in piece.tracks)
    writer = _BarWriter(piece, vocab, ids)
    if hole is None:
        writer.bars(0, piece.n_bars)
    else:
        first, count = check_hole(piece, *hole)
        writer.bars(0, first)
        ids.append(off["Hole"] + count - 1)
        in_force = writer.new_segment()
        writer.bars(first + count, piece.n_bars)
        ids.append(off["Fill"])
        writer.new_segment(*in_force)  # the meter and tempo in force where the hole starts
        writer.bars(first, first + count)
    ids.append(off["EOS"])
    return np.asarray(ids, dtype=np.int16)


def check_hole(piece: Piece, first_bar: int, n_bars: int) -> tuple[int, int]:
    """(first_bar, n_bars) of a hole the infill form can say; ValueError otherwise."""
    if not 1 <= n_bars <= MAX_HOLE_BARS:
        raise ValueError(f"a hole is 1 to {MAX_HOLE_BARS} bars, not {n_bars}")
    if not 0 <= first_bar or first_bar + n_bars > piece.n_bars:
        raise ValueError(f"bars {first_bar + 1}-{first_bar + n_bars} are not inside the piece's {piece.n_bars} bars")
    if any(first_bar <= bar < first_bar + n_bars for bar, _, _ in piece.meters[1:]):
        raise ValueError("the meter changes inside the hole")
    return first_bar, n_bars


class _BarWriter:
    """Writes bars of a piece as tokens, keeping the state the grammar keeps (meter, tempo, chord, current
    track, velocities): a value is written where it differs from the state, so a plain piece gets its
    changes only, and a segment after Hole or Fill restates what is in force where it starts.

    Everything the loop reads is a Python list (token ids precomputed per note, changes found by
    bisection): per-element numpy access costs more than the rest of the encoder together.
    """

    def __init__(self, piece: Piece, vocab: Vocab, ids: list[int]):
        self.piece, self.off, self.ids = piece, vocab.offsets, ids
        notes = piece.notes
        self.bar_starts = bar_starts_steps(piece.meters, piece.n_bars).tolist()
        self.notes_from = np.searchsorted(notes[:, START], self.bar_starts).tolist()  # first note of each bar
        self.starts = notes[:, START].tolist()
        self.tracks = notes[:, TRACK].tolist()
        self.pitch_ids = (self.off["Pitch"] + notes[:, PITCH]).tolist()
        self.velocities = [_VELOCITY_INDEX[v] for v in notes[:, VELOCITY].tolist()]
        self.duration_ids = (self.off["Duration"] + _DURATION_INDEX[notes[:, DURATION]]).tolist()
        self.meter_bars = [bar for bar, _, _ in piece.meters]
        self.meter_index = [METERS.index((n, d)) for _, n, d in piece.meters]
        self.tempo_steps = [int(s) for s, _ in piece.tempos]
        self.tempo_index = [_TEMPO_INDEX[float(b)] for _, b in piece.tempos]
        self.chord_steps = [int(s) for s, _ in piece.chords]
        self.chord_values = [int(c) for _, c in piece.chords]
        self.meter, self.tempo, self.chord = self.meter_index[0], self.tempo_index[0], -1
        self.track, self.velocity = 0, [-1] * len(piece.tracks)

    def meter_at(self, bar: int) -> int:
        return self.meter_index[bisect_right(self.meter_bars, bar) - 1]

    def tempo_at(self, step: int) -> int:
        return self.tempo_index[max(bisect_right(self.tempo_steps, step) - 1, 0)]

    def chord_at(self, step: int) -> int:
        i = bisect_right(self.chord_steps, step) - 1
        return self.chord_values[i] if i >= 0 else -1

    def new_segment(self, meter: int | None = None, tempo: int | None = None) -> tuple[int, int]:
        """Restart the per-segment state as the grammar does at Hole and Fill (optionally setting the
        meter and tempo in force); returns the meter and tempo that were in force."""
        in_force = self.meter, self.tempo
        self.track, self.velocity, self.chord = 0, [-1] * len(self.piece.tracks), -1
        self.meter = self.meter if meter is None else meter
        self.tempo = self.tempo if tempo is None else tempo
        return in_force

    def bars(self, first: int, stop: int) -> None:
        off, ids, starts = self.off, self.ids, self.starts
        for bar in range(first, stop):
            ids.append(off["Bar"])
            meter = self.meter_at(bar)
            if meter != self.meter:
                ids.append(off["TimeSig"] + meter)
                self.meter = meter
            start, end = self.bar_starts[bar], self.bar_starts[bar + 1]
            i, hi = self.notes_from[bar], self.notes_from[bar + 1]
            # where a tempo or chord may need saying: its changes in the bar, and the bar's start
            events = {start, *starts[i:hi]}
            events.update(self.tempo_steps[bisect_left(self.tempo_steps, start):bisect_left(self.tempo_steps, end)])
            events.update(self.chord_steps[bisect_left(self.chord_steps, start):bisect_left(self.chord_steps, end)])
            for step in sorted(events):
                tempo, chord = self.tempo_at(step), self.chord_at(step)
                has_notes = i < hi and starts[i] == step
                if tempo == self.tempo and chord in (self.chord, -1) and not has_notes:
                    continue
                ids.append(off["Position"] + step - start)
                if tempo != self.tempo:
                    ids.append(off["Tempo"] + tempo)
                    self.tempo = tempo
                if chord not in (self.chord, -1):
                    ids.append(off["Chord"] + chord)
                    self.chord = chord
                while i < hi and starts[i] == step:
                    self._note(i)
                    i += 1

    def _note(self, i: int) -> None:
        off, ids = self.off, self.ids
        track = self.tracks[i]
        if track != self.track:
            ids.append(off["Track"] + track)
            self.track = track
        ids.append(self.pitch_ids[i])
        velocity = self.velocities[i]
        if velocity != self.velocity[track]:
            ids.append(off["Velocity"] + velocity)
            self.velocity[track] = velocity
        ids.append(self.duration_ids[i])


def decode(ids, vocab: Vocab = VOCAB) -> Piece:
    """The piece a valid id sequence (plain or infill form) describes; MidigenError naming the first bad
    position."""
    state = GrammarState(vocab)
    notes: list[tuple[int, int, int, int, int]] = []
    tracks: list[Track] = []
    meters: list[tuple[int, int, int]] = []
    tempos: list[tuple[int, float]] = []
    chords: list[tuple[int, int]] = []
    key = style = None
    bar_start = bar_end = hole_start = 0
    step = pitch = 0
    for token_id in np.asarray(ids).tolist():
        state.check(token_id)
        family, index = vocab.split(token_id)
        in_header = state.bar < 0 and state.hole_bars == 0
        state.advance(token_id)
        if family == "Style":
            style = index
        elif family == "Key":
            key = None if index == UNKNOWN_KEY else index
        elif family == "TimeSig":
            meters.append((max(state.bar, 0), *METERS[index]))
            if not in_header:
                bar_end = bar_start + state.bar_steps
        elif family == "Tempo":
            tempos.append((0 if in_header else step, float(TEMPO_MARKS_BPM[index])))
        elif family == "Chord":
            chords.append((step, index))
        elif family == "Program":
            tracks.append(Track(0, True) if index == DRUM_PROGRAM else Track(index, False))
        elif family == "Hole":
            hole_start = bar_end  # the end of the last bar before the hole
            bar_end = hole_start + state.hole_bars * state.bar_steps
        elif family == "Fill":
            bar_end = hole_start
        elif family == "Bar":
            bar_start = bar_end
            bar_end = bar_start + state.bar_steps
        elif family == "Position":
            step = bar_start + index
        elif family == "Pitch":
            pitch = index
        elif family == "Duration":
            velocity = VELOCITY_LEVELS[state.track_velocity[state.track]]
            notes.append((step, DURATIONS_STEPS[index], pitch, velocity, state.track))
    if not state.finished:
        raise MidigenError(f"token {state.n_tokens}: sequence ends before EOS (in state '{state.state}')")
    array = np.asarray(notes, dtype=np.int64).reshape(-1, 5)
    end = int(bar_starts_steps(meters, state.n_bars)[-1]) if meters else 0
    return Piece(
        notes=sort_notes(array) if state.hole_bars else array,
        tracks=tuple(tracks),
        meters=tuple(sorted(meters)),
        tempos=normalise_changes(tempos, max(end, 1)),
        key=key,
        n_bars=state.n_bars,
        style=style,
        chords=normalise_changes(chords, end),
    )


def token_names(ids, vocab: Vocab = VOCAB) -> list[str]:
    return [vocab.names[int(i)] for i in ids]


def note_count(ids, vocab: Vocab = VOCAB) -> int:
    """Notes in an id sequence: one Duration token per note."""
    off, size = vocab.offsets["Duration"], vocab.family_sizes["Duration"]
    arr = np.asarray(ids)
    return int(((arr >= off) & (arr < off + size)).sum())


def with_style(ids: np.ndarray, style: int | None) -> np.ndarray:
    """Insert ``Style_<style>`` after BOS (or drop a Style token when ``style`` is None)."""
    ids = np.asarray(ids, dtype=np.int64)
    off = VOCAB.offsets["Style"]
    has_style = len(ids) > 1 and off <= ids[1] < off + VOCAB.family_sizes["Style"]
    body = ids[2:] if has_style else ids[1:]
    head = [ids[0]] if style is None else [ids[0], off + style]
    return np.concatenate([np.asarray(head, dtype=np.int64), body])
