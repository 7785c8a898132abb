"""The lock states: sampling states that force given material into the tokens.

Each wraps a ``ConstrainedState`` (or another lock) and narrows its masks:

- ``ChordScheduleState`` (``compose --chords``):
The model was trained with the analysed chords of its corpus in its tokens (``Position [Chord]`` before
a position's notes), so it writes notes that fit the chord it has just read. ``ChordScheduleState``
wraps another state (``ConstrainedState`` or one of the lock states) and makes the chords the user's:

- where a change is due, the sequence must reach its position (no later position, no Bar, no EOS
  before it) and there its Chord token comes first, forced;
- the model names no chord of its own anywhere else.

The wrapped state's masks still apply to everything else.

- ``KeptNotesState`` (``infill --tracks``):
``KeptNotesState`` wraps a ``ConstrainedState``. Inside the bars being written (after Fill), the tracks
in ``locked`` play exactly the ``kept`` notes and nothing else; the other tracks are sampled freely
around them:

- where a kept note starts, the sequence may not leave that position, nor name a track after the kept
  note's, before the note is written; its Pitch, Velocity (where it changes) and Duration are forced;
- no position past the next kept note's onset, no Bar while the bar has kept notes to come, no EOS
  while any remain;
- a locked track takes no other note.

Kept notes are written as they are, even where ``--range`` or ``--strict-key`` would refuse them: the
constraints are for the new notes.

- ``MelodyLockedState`` (``harmonize``):
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
from ..music.piece import DURATION, PITCH, START, TRACK, VELOCITY, sort_notes
from ..tokens.grammar import MOVE_STATES, PITCH_STATES, TRACK_STATES
from ..tokens.vocab import VOCAB
from .constraints import ConstrainedState, Constraints

_OFF = VOCAB.offsets
_CHORDS = slice(_OFF["Chord"], _OFF["Chord"] + VOCAB.family_sizes["Chord"])
_POSITIONS = slice(_OFF["Position"], _OFF["Position"] + VOCAB.family_sizes["Position"])
_DURATIONS = np.asarray(DURATIONS_STEPS)
_PITCHES = np.arange(128)
_DURATION_INDEX = {d: i for i, d in enumerate(DURATIONS_STEPS)}
_VELOCITY_INDEX = {v: i for i, v in enumerate(VELOCITY_LEVELS)}
_MOVE_STATES = MOVE_STATES  # where Position, Bar or EOS may come next
_NOTE_STATES = TRACK_STATES  # where a Track token or a note may come next


class ChordScheduleState:
    """``inner`` with its chords taken from ``changes``: (step, chord value) from the first sampled bar."""

    def __init__(self, inner, changes: tuple[tuple[int, int], ...]):
        self.inner = inner
        self.grammar = inner.grammar
        self.changes = tuple(changes)
        self.next = 0  # changes already written

    @property
    def finished(self) -> bool:
        return self.inner.finished

    def folds(self):
        return self.inner.folds()

    def _constrained(self):
        return getattr(self.inner, "base", self.inner)  # the ConstrainedState that knows the bar's start

    def mask(self) -> np.ndarray:
        mask = self.inner.mask().copy()
        mask[_CHORDS] = False
        g = self.grammar
        if self.next >= len(self.changes) or g.bar < 0:
            return mask
        step, value = self.changes[self.next]
        onset = step - self._constrained().bar_start_steps
        if g.state == "position" and onset == g.position:
            only = np.zeros_like(mask)
            only[_OFF["Chord"] + value] = True
            return only
        if g.state in MOVE_STATES and onset < g.bar_steps:  # due in this bar: reach it before moving on
            mask[_OFF["Bar"]] = False
            mask[_OFF["EOS"]] = False
            positions = mask[_POSITIONS]
            positions[onset + 1:] = False
            if g.position < onset:
                positions[onset] = True
        return mask

    def advance(self, token_id: int) -> None:
        if _CHORDS.start <= token_id < _CHORDS.stop and self.grammar.bar >= 0:
            self.next += 1
        self.inner.advance(token_id)


def _family(family: str) -> slice:
    return slice(_OFF[family], _OFF[family] + VOCAB.family_sizes[family])


class KeptNotesState:
    """``ConstrainedState`` whose ``locked`` tracks play ``kept`` (quantized notes, absolute steps) in the
    bars sampled after Fill."""

    def __init__(self, constraints: Constraints, kept: np.ndarray, locked: frozenset[int]):
        self.base = ConstrainedState(constraints)
        self.grammar = self.base.grammar
        self.kept = sort_notes(np.asarray(kept, dtype=np.int64).reshape(-1, 5))  # token order
        self.locked = locked
        self.written = 0  # kept notes already in the sequence

    @property
    def finished(self) -> bool:
        return self.base.finished

    def folds(self) -> tuple[tuple[int, int], ...]:
        return self.base.folds()

    def _due(self) -> np.ndarray | None:
        """The next kept note if it starts at the current position."""
        g = self.grammar
        if self.written >= len(self.kept) or g.position < 0:
            return None
        note = self.kept[self.written]
        return note if note[START] == self.base.bar_start_steps + g.position else None

    def mask(self) -> np.ndarray:
        g = self.grammar
        if not g.filling or g.bar < g.hole_first_bar:
            return self.base.mask()
        if g.state in ("pitch", "velocity") and g.track in self.locked:
            return self._only(self._note_rest(self.kept[self.written - 1]))
        mask = self.base.mask()
        due = self._due() if g.state in PITCH_STATES else None
        if g.state in PITCH_STATES:
            tracks = mask[_family("Track")]
            tracks[list(self.locked)] = False
            if g.track in self.locked:
                mask[_family("Pitch")] = False
        if due is not None:
            track = int(due[TRACK])
            if g.track == track:
                chords = mask[_family("Chord")].copy() if g.state == "position" else None
                mask = self._only(_OFF["Pitch"] + int(due[PITCH]))
                if chords is not None:  # the position's chord may come before its first note
                    mask[_family("Chord")] = chords
                return mask
            mask[_family("Track")][track + 1:] = False  # tracks ascend: nothing after the kept note's yet
            if g.state != "track":
                mask[_OFF["Track"] + track] = True
            if g.track > track:
                mask[_family("Pitch")] = False
            for family in ("Position", "Bar", "EOS", "Fill"):
                mask[_family(family)] = False
        if g.state in MOVE_STATES:
            self._limit_moves(mask)
        return mask

    def _note_rest(self, note: np.ndarray) -> int:
        """Velocity where the track's changes, else the Duration, of the kept note being written."""
        g = self.grammar
        velocity = _VELOCITY_INDEX[int(note[VELOCITY])]
        if g.state == "pitch" and g.track_velocity[g.track] != velocity:
            return _OFF["Velocity"] + velocity
        return _OFF["Duration"] + _DURATION_INDEX[int(note[DURATION])]

    def _limit_moves(self, mask: np.ndarray) -> None:
        g = self.grammar
        if self.written >= len(self.kept):
            return
        onset = int(self.kept[self.written, START]) - self.base.bar_start_steps
        mask[_OFF["EOS"]] = False
        if onset < g.bar_steps:  # in this bar: reach it, and do not leave the bar before
            mask[_OFF["Bar"]] = False
            mask[_family("Position")][onset + 1:] = False
            if g.position < onset:
                mask[_OFF["Position"] + onset] = True

    @staticmethod
    def _only(token_id: int) -> np.ndarray:
        mask = np.zeros(VOCAB.size, dtype=bool)
        mask[token_id] = True
        return mask

    def advance(self, token_id: int) -> None:
        family, _ = VOCAB.split(token_id)
        g = self.grammar
        if family == "Pitch" and g.filling and g.track in self.locked:
            self.written += 1  # the kept note now being written
        self.base.advance(token_id)


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
