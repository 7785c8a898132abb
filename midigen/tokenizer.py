"""Encode a quantized Piece into token ids and decode ids back, exactly.

The encoder writes the canonical sequence the grammar describes (see ``grammar``): a Track token only
when the track changes, a Velocity token only when a track's velocity changes, chords top note first.
"""
from __future__ import annotations

import numpy as np

from .errors import MidigenError
from .grammar import GrammarState
from .piece import DURATION, PITCH, START, TRACK, VELOCITY, Piece, Track, bar_starts_steps
from .vocab import (
    DRUM_PROGRAM,
    DURATIONS_STEPS,
    METERS,
    TEMPO_MARKS_BPM,
    UNKNOWN_KEY,
    VELOCITY_LEVELS,
    VOCAB,
    Vocab,
)

_DURATION_INDEX = np.full(DURATIONS_STEPS[-1] + 1, -1, dtype=np.int64)
_DURATION_INDEX[list(DURATIONS_STEPS)] = np.arange(len(DURATIONS_STEPS))
_VELOCITY_INDEX = {v: i for i, v in enumerate(VELOCITY_LEVELS)}
_TEMPO_INDEX = {float(v): i for i, v in enumerate(TEMPO_MARKS_BPM)}


def encode(piece: Piece, vocab: Vocab = VOCAB) -> np.ndarray:
    """Token ids (int16 is enough: the vocabulary has < 32k ids) of a piece already ``quantize``d."""
    off = vocab.offsets
    ids: list[int] = [off["BOS"]]
    if piece.style is not None:
        ids.append(off["Style"] + piece.style)
    ids.append(off["Key"] + (UNKNOWN_KEY if piece.key is None else piece.key))
    ids.append(off["TimeSig"] + METERS.index(tuple(piece.meters[0][1:])))
    ids.append(off["Tempo"] + _TEMPO_INDEX[float(piece.tempos[0][1])])
    ids.extend(off["Program"] + t.program_token_value for t in piece.tracks)

    notes = piece.notes
    bar_starts = bar_starts_steps(piece.meters, piece.n_bars)
    note_bar = np.searchsorted(bar_starts, notes[:, START], side="right") - 1
    pitch_ids = off["Pitch"] + notes[:, PITCH]
    duration_ids = off["Duration"] + _DURATION_INDEX[notes[:, DURATION]]
    tempo_steps = [s for s, _ in piece.tempos[1:]]
    tempo_ids = [off["Tempo"] + _TEMPO_INDEX[float(b)] for _, b in piece.tempos[1:]]
    meter_at_bar = {bar: off["TimeSig"] + METERS.index((n, d)) for bar, n, d in piece.meters[1:]}

    bar_id, pos0, track0, vel0 = off["Bar"], off["Position"], off["Track"], off["Velocity"]
    track_velocity = [-1] * len(piece.tracks)
    current_track = 0
    n_notes, i, t = len(notes), 0, 0
    for bar in range(piece.n_bars):
        ids.append(bar_id)
        if bar in meter_at_bar:
            ids.append(meter_at_bar[bar])
        bar_end = bar_starts[bar + 1]
        while (i < n_notes and note_bar[i] == bar) or (t < len(tempo_steps) and tempo_steps[t] < bar_end):
            # the next position with a note or a tempo change
            step = min(
                notes[i, START] if i < n_notes and note_bar[i] == bar else bar_end,
                tempo_steps[t] if t < len(tempo_steps) else bar_end,
            )
            ids.append(pos0 + int(step - bar_starts[bar]))
            if t < len(tempo_steps) and tempo_steps[t] == step:
                ids.append(tempo_ids[t])
                t += 1
            while i < n_notes and notes[i, START] == step:
                track = int(notes[i, TRACK])
                if track != current_track:
                    ids.append(track0 + track)
                    current_track = track
                ids.append(int(pitch_ids[i]))
                velocity = _VELOCITY_INDEX[int(notes[i, VELOCITY])]
                if velocity != track_velocity[track]:
                    ids.append(vel0 + velocity)
                    track_velocity[track] = velocity
                ids.append(int(duration_ids[i]))
                i += 1
    ids.append(off["EOS"])
    return np.asarray(ids, dtype=np.int16)


def decode(ids, vocab: Vocab = VOCAB) -> Piece:
    """The piece a valid id sequence describes; MidigenError naming the first bad position."""
    state = GrammarState(vocab)
    notes: list[tuple[int, int, int, int, int]] = []
    tracks: list[Track] = []
    meters: list[tuple[int, int, int]] = []
    tempos: list[tuple[int, float]] = []
    key = style = None
    bar_start = bar_end = 0
    step = pitch = 0
    for token_id in np.asarray(ids).tolist():
        state.check(token_id)
        family, index = vocab.split(token_id)
        in_header = state.bar < 0
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
        elif family == "Program":
            tracks.append(Track(0, True) if index == DRUM_PROGRAM else Track(index, False))
        elif family == "Bar":
            bar_start = bar_end if state.bar > 0 else 0
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
    return Piece(
        notes=array,
        tracks=tuple(tracks),
        meters=tuple(meters),
        tempos=tuple(tempos),
        key=key,
        n_bars=state.bar + 1,
        style=style,
    )


def token_names(ids, vocab: Vocab = VOCAB) -> list[str]:
    return [vocab.names[int(i)] for i in ids]


def note_count(ids, vocab: Vocab = VOCAB) -> int:
    """Notes in an id sequence: one Duration token per note."""
    off, size = vocab.offsets["Duration"], vocab.family_sizes["Duration"]
    arr = np.asarray(ids)
    return int(((arr >= off) & (arr < off + size)).sum())
