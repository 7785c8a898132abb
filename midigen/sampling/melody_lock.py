"""A sampling state whose track 0 is a given melody: the masks of ``harmonize``.

``MelodyLockedState`` wraps a ``ConstrainedState`` and adds four rules:

- the melody's notes are forced: where one starts, the sequence must reach its position, and there
  the tokens of that note (``Track_0`` if needed, its Pitch, Velocity if it changes, Duration) are the
  only ones allowed, before any other track's note at that position (tracks ascend within a position);
- no other note goes on track 0, and no bar or piece may end while melody notes of it remain;
- every other melodic note is below the melody note sounding when it starts, and ends before a later
  melody note at or under its pitch begins, so the melody is the highest note whenever it sounds;
- a position or track is offered only where some note can still be placed, so sampling never dead-ends.

The model only sees what comes before each token: it writes the lower voices without knowing the
melody ahead of them, the masks alone keep them under it.
"""
from __future__ import annotations

import numpy as np

from ..music.grid import DURATIONS_STEPS, VELOCITY_LEVELS
from ..music.piece import DURATION, PITCH, START, VELOCITY
from ..tokens.grammar import MOVE_STATES, PITCH_STATES, TRACK_STATES
from ..tokens.vocab import VOCAB
from .constraints import ConstrainedState, Constraints

_OFF = VOCAB.offsets
_DURATIONS = np.asarray(DURATIONS_STEPS)
_PITCHES = np.arange(128)
_DURATION_INDEX = {d: i for i, d in enumerate(DURATIONS_STEPS)}
_VELOCITY_INDEX = {v: i for i, v in enumerate(VELOCITY_LEVELS)}
_MOVE_STATES = MOVE_STATES  # where Position, Bar or EOS may come next
_NOTE_STATES = TRACK_STATES  # where a Track token or a note may come next


def _family(family: str) -> slice:
    return slice(_OFF[family], _OFF[family] + VOCAB.family_sizes[family])


class MelodyLockedState:
    """``ConstrainedState`` for a piece whose track 0 is ``melody`` (quantized, one note at a time)."""

    def __init__(self, constraints: Constraints, melody: np.ndarray):
        self.base = ConstrainedState(constraints)
        self.grammar = self.base.grammar
        self.melody = melody[np.argsort(melody[:, START], kind="stable")]
        self.written = 0  # melody notes already in the sequence
        end = constraints.end_steps
        self.ceiling = np.full(end + 1, 128, dtype=np.int64)  # other notes starting at a step stay below this
        for start, duration, pitch, _, _ in self.melody.tolist():
            self.ceiling[start:start + duration] = pitch
        self.voices = [t for t in range(1, 16) if t not in constraints.drum_tracks]

    @property
    def finished(self) -> bool:
        return self.base.finished

    def _step(self) -> int:
        return self.base.bar_start_steps + self.grammar.position

    def _next(self) -> np.ndarray | None:
        return self.melody[self.written] if self.written < len(self.melody) else None

    def _forced(self) -> int | None:
        """The one id the melody dictates here, or None."""
        g, note = self.grammar, self._next()
        if g.bar < 0:
            return None
        if note is not None and g.state in ("position", "position_chord") and self._step() == note[START]:
            return _OFF["Pitch"] + int(note[PITCH]) if g.track == 0 else _OFF["Track"]
        if note is not None and g.state == "track" and g.track == 0:  # Track_0 is only ever forced
            return _OFF["Pitch"] + int(note[PITCH])
        if g.state in ("pitch", "velocity") and g.track == 0:
            note = self.melody[self.written]
            velocity = _VELOCITY_INDEX[int(note[VELOCITY])]
            if g.state == "pitch" and g.track_velocity[0] != velocity:
                return _OFF["Velocity"] + velocity
            return _OFF["Duration"] + _DURATION_INDEX[int(note[DURATION])]
        return None

    def _playable(self, tracks: list[int], steps: np.ndarray) -> np.ndarray:
        """(len(steps),) bool: one of ``tracks`` may start a note at each step (a pitch in its range, not
        sounding on it already, under the melody)."""
        out = np.zeros(len(steps), dtype=bool)
        for t in tracks:
            ok = self.base.sounding_until[t][None, :] <= steps[:, None]
            if t in self.voices:
                ok &= self.base.melodic[t][None, :] & (_PITCHES[None, :] < self.ceiling[steps][:, None])
            out |= ok.any(axis=1)
        return out

    def mask(self) -> np.ndarray:
        forced = self._forced()
        if forced is not None:
            mask = np.zeros(VOCAB.size, dtype=bool)
            if self.grammar.state == "position":  # the chord of this position may come before the melody note
                mask[_family("Chord")] = self.base.mask()[_family("Chord")]
            mask[forced] = True
            return mask
        mask = self.base.mask()
        g = self.grammar
        if g.bar < 0:
            return mask
        tracks = list(range(1, g.n_tracks))
        if g.state in _MOVE_STATES:  # where Position, Bar or EOS may come next
            self._limit_moves(mask, tracks)
        if g.state in _NOTE_STATES:
            track_ids = mask[_family("Track")]
            track_ids[0] = False
            step = np.array([self._step()])
            for t in tracks:
                track_ids[t] &= bool(self._playable([t], step)[0])
        if g.state in PITCH_STATES:
            pitches = mask[_family("Pitch")]
            if g.track == 0:
                pitches[:] = False
            elif g.track in self.voices:
                pitches &= _PITCHES < self.ceiling[self._step()]
        if g.state in ("pitch", "velocity") and g.track in self.voices:
            step = self._step()
            later = (self.melody[:, START] > step) & (self.melody[:, PITCH] <= g.last_pitch)
            if later.any():
                mask[_family("Duration")] &= _DURATIONS <= int(self.melody[later, START].min()) - step
        return mask

    def _limit_moves(self, mask: np.ndarray, tracks: list[int]) -> None:
        """No position past the bar's next melody note, none where nothing can start; no Bar while the bar
        has melody to come, no EOS while the piece has."""
        g, note = self.grammar, self._next()
        bar_start = self.base.bar_start_steps
        onset = int(note[START]) - bar_start if note is not None and note[START] < bar_start + g.bar_steps else None
        if onset is not None:
            mask[_OFF["Bar"]] = False
        if note is not None:
            mask[_OFF["EOS"]] = False
        positions = mask[_family("Position")]
        positions[(g.bar_steps if onset is None else onset + 1):] = False
        candidates = np.flatnonzero(positions)
        blocked = ~self._playable(tracks, bar_start + candidates) & (candidates != (-1 if onset is None else onset))
        positions[candidates[blocked]] = False

    def folds(self) -> tuple[tuple[int, int], ...]:
        return self.base.folds()

    def advance(self, token_id: int) -> None:
        family, _ = VOCAB.split(token_id)
        track = self.grammar.track
        self.base.advance(token_id)
        if family == "Duration" and track == 0 and self.grammar.bar >= 0:
            self.written += 1
