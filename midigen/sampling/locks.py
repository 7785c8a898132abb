"""Lock states: sampling states that force given material into the tokens, each wrapping another state.

Every lock is a ``SamplingState`` (``constraints``) around an inner one, down to the ``ConstrainedState``
that holds the user's constraints; it narrows the inner state's masks and passes every token on:

- ``ChordScheduleState`` (``compose --chords``) writes a given progression as the Chord tokens. The model
  was trained with its corpus's analysed chords in its tokens (``Position [Chord]`` before a position's
  notes), so it writes notes that fit the chord it has just read. Where a change is due the sequence must
  reach its position (no later position, no Bar, no EOS before it) and there its Chord comes first; the
  model names no chord of its own anywhere else.
- ``KeptNotesState`` (``infill --tracks``): inside the bars written after Fill, the ``locked`` tracks play
  exactly the ``kept`` notes. Where a kept note starts the sequence may not leave that position, nor name a
  later track, before the note is written, and its Pitch, Velocity (where it changes) and Duration are
  forced; no position past the next kept note's onset, no Bar while the bar has kept notes to come, no EOS
  while any remain; a locked track takes no other note. Kept notes are written as they are, even where
  ``--range`` or ``--strict-key`` would refuse them: the constraints are for the new notes.
- ``MelodyLockedState`` (``harmonize``): track 0 is a given melody. Its notes are forced where they fall
  (before any other track's note at that position: tracks ascend within a position); no other note goes
  on track 0, and no bar or piece ends while melody notes of it remain; every other melodic note starts
  below the melody note sounding then and ends before a later melody note at or under its pitch begins,
  so the melody is the highest note whenever it sounds; a position or track is offered only where some
  note can still be placed, so sampling never dead-ends.
"""
from __future__ import annotations

import numpy as np

from ..music.grid import DURATIONS_STEPS, VELOCITY_LEVELS
from ..music.piece import DURATION, PITCH, START, TRACK, VELOCITY, sort_notes
from ..tokens.grammar import MOVE_STATES, PITCH_STATES, TRACK_STATES, GrammarState
from ..tokens.vocab import VOCAB
from .constraints import ConstrainedState, Constraints, SamplingState

_OFF = VOCAB.offsets
_CHORDS, _POSITIONS, _TRACKS, _PITCH_IDS = (VOCAB.span(f) for f in ("Chord", "Position", "Track", "Pitch"))
_DURATIONS = np.asarray(DURATIONS_STEPS)
_PITCHES = np.arange(128)
_DURATION_INDEX = {d: i for i, d in enumerate(DURATIONS_STEPS)}
_VELOCITY_INDEX = {v: i for i, v in enumerate(VELOCITY_LEVELS)}


def only(token_id: int) -> np.ndarray:
    """A mask that allows one id."""
    mask = np.zeros(VOCAB.size, dtype=bool)
    mask[token_id] = True
    return mask


def forced_note_tail(grammar: GrammarState, note: np.ndarray) -> int:
    """The id that continues a forced note after its Pitch: its Velocity where the track's velocity
    changes, else its Duration."""
    velocity = _VELOCITY_INDEX[int(note[VELOCITY])]
    if grammar.state == "pitch" and grammar.track_velocity[grammar.track] != velocity:
        return _OFF["Velocity"] + velocity
    return _OFF["Duration"] + _DURATION_INDEX[int(note[DURATION])]


class Lock:
    """A ``SamplingState`` around ``inner``: by default every call passes through; a lock overrides
    ``mask`` and ``advance`` to narrow them."""

    def __init__(self, inner: SamplingState):
        self.inner = inner
        self.grammar = inner.grammar
        self.constrained = inner.constrained

    @property
    def finished(self) -> bool:
        return self.inner.finished

    def mask(self) -> np.ndarray:
        return self.inner.mask()

    def folds(self) -> tuple[tuple[int, int], ...]:
        return self.inner.folds()

    def advance(self, token_id: int) -> None:
        self.inner.advance(token_id)

    def _step(self) -> int:
        """The current position as an absolute step."""
        return self.constrained.bar_start_steps + self.grammar.position


class ChordScheduleState(Lock):
    """``inner`` with its chords taken from ``changes``: (step, chord value) from the first sampled bar."""

    def __init__(self, inner: SamplingState, changes: tuple[tuple[int, int], ...]):
        super().__init__(inner)
        self.changes = tuple(changes)
        self.next = 0  # changes already written

    def mask(self) -> np.ndarray:
        mask = self.inner.mask().copy()
        mask[_CHORDS] = False
        g = self.grammar
        if self.next >= len(self.changes) or g.bar < 0:
            return mask
        step, value = self.changes[self.next]
        onset = step - self.constrained.bar_start_steps
        if g.state == "position" and onset == g.position:
            return only(_OFF["Chord"] + value)
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


class KeptNotesState(Lock):
    """``ConstrainedState`` whose ``locked`` tracks play ``kept`` (quantized notes, absolute steps) in the
    bars sampled after Fill."""

    def __init__(self, constraints: Constraints, kept: np.ndarray, locked: frozenset[int]):
        super().__init__(ConstrainedState(constraints))
        self.kept = sort_notes(np.asarray(kept, dtype=np.int64).reshape(-1, 5))  # token order
        self.locked = locked
        self.written = 0  # kept notes already in the sequence

    def _due(self) -> np.ndarray | None:
        """The next kept note if it starts at the current position."""
        g = self.grammar
        if self.written >= len(self.kept) or g.position < 0:
            return None
        note = self.kept[self.written]
        return note if note[START] == self._step() else None

    def mask(self) -> np.ndarray:
        g = self.grammar
        if not g.filling or g.bar < g.hole_first_bar:
            return self.inner.mask()
        if g.state in ("pitch", "velocity") and g.track in self.locked:
            return only(forced_note_tail(g, self.kept[self.written - 1]))
        mask = self.inner.mask()
        due = self._due() if g.state in PITCH_STATES else None
        if g.state in PITCH_STATES:
            tracks = mask[_TRACKS]
            tracks[list(self.locked)] = False
            if g.track in self.locked:
                mask[_PITCH_IDS] = False
        if due is not None:
            track = int(due[TRACK])
            if g.track == track:
                chords = mask[_CHORDS].copy() if g.state == "position" else None
                mask = only(_OFF["Pitch"] + int(due[PITCH]))
                if chords is not None:  # the position's chord may come before its first note
                    mask[_CHORDS] = chords
                return mask
            mask[_TRACKS][track + 1:] = False  # tracks ascend: nothing after the kept note's yet
            if g.state != "track":
                mask[_OFF["Track"] + track] = True
            if g.track > track:
                mask[_PITCH_IDS] = False
            for family in ("Position", "Bar", "EOS", "Fill"):
                mask[VOCAB.span(family)] = False
        if g.state in MOVE_STATES:
            self._limit_moves(mask)
        return mask

    def _limit_moves(self, mask: np.ndarray) -> None:
        g = self.grammar
        if self.written >= len(self.kept):
            return
        onset = int(self.kept[self.written, START]) - self.constrained.bar_start_steps
        mask[_OFF["EOS"]] = False
        if onset < g.bar_steps:  # in this bar: reach it, and do not leave the bar before
            mask[_OFF["Bar"]] = False
            mask[_POSITIONS][onset + 1:] = False
            if g.position < onset:
                mask[_OFF["Position"] + onset] = True

    def advance(self, token_id: int) -> None:
        family, _ = VOCAB.split(token_id)
        g = self.grammar
        if family == "Pitch" and g.filling and g.track in self.locked:
            self.written += 1  # the kept note now being written
        self.inner.advance(token_id)


class MelodyLockedState(Lock):
    """``ConstrainedState`` for a piece whose track 0 is ``melody`` (quantized, one note at a time)."""

    def __init__(self, constraints: Constraints, melody: np.ndarray):
        super().__init__(ConstrainedState(constraints))
        self.melody = melody[np.argsort(melody[:, START], kind="stable")]
        self.written = 0  # melody notes already in the sequence
        end = constraints.end_steps
        self.ceiling = np.full(end + 1, 128, dtype=np.int64)  # other notes starting at a step stay below this
        for start, duration, pitch, _, _ in self.melody.tolist():
            self.ceiling[start:start + duration] = pitch
        self.voices = [t for t in range(1, 16) if t not in constraints.drum_tracks]

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
            return forced_note_tail(g, self.melody[self.written])
        return None

    def _playable(self, tracks: list[int], steps: np.ndarray) -> np.ndarray:
        """(len(steps),) bool: one of ``tracks`` may start a note at each step (a pitch in its range, not
        sounding on it already, under the melody)."""
        out = np.zeros(len(steps), dtype=bool)
        for t in tracks:
            ok = self.constrained.sounding_until[t][None, :] <= steps[:, None]
            if t in self.voices:
                ok &= self.constrained.melodic[t][None, :] & (_PITCHES[None, :] < self.ceiling[steps][:, None])
            out |= ok.any(axis=1)
        return out

    def mask(self) -> np.ndarray:
        forced = self._forced()
        if forced is not None:
            mask = only(forced)
            if self.grammar.state == "position":  # the chord of this position may come before the melody note
                mask[_CHORDS] = self.inner.mask()[_CHORDS]
            return mask
        mask = self.inner.mask()
        g = self.grammar
        if g.bar < 0:
            return mask
        tracks = list(range(1, g.n_tracks))
        if g.state in MOVE_STATES:  # where Position, Bar or EOS may come next
            self._limit_moves(mask, tracks)
        if g.state in TRACK_STATES:  # where a Track token or a note may come next
            track_ids = mask[_TRACKS]
            track_ids[0] = False
            step = np.array([self._step()])
            for t in tracks:
                track_ids[t] &= bool(self._playable([t], step)[0])
        if g.state in PITCH_STATES:
            pitches = mask[_PITCH_IDS]
            if g.track == 0:
                pitches[:] = False
            elif g.track in self.voices:
                pitches &= _PITCHES < self.ceiling[self._step()]
        if g.state in ("pitch", "velocity") and g.track in self.voices:
            step = self._step()
            later = (self.melody[:, START] > step) & (self.melody[:, PITCH] <= g.last_pitch)
            if later.any():
                mask[VOCAB.span("Duration")] &= _DURATIONS <= int(self.melody[later, START].min()) - step
        return mask

    def _limit_moves(self, mask: np.ndarray, tracks: list[int]) -> None:
        """No position past the bar's next melody note, none where nothing can start; no Bar while the bar
        has melody to come, no EOS while the piece has."""
        g, note = self.grammar, self._next()
        bar_start = self.constrained.bar_start_steps
        onset = int(note[START]) - bar_start if note is not None and note[START] < bar_start + g.bar_steps else None
        if onset is not None:
            mask[_OFF["Bar"]] = False
        if note is not None:
            mask[_OFF["EOS"]] = False
        positions = mask[_POSITIONS]
        positions[(g.bar_steps if onset is None else onset + 1):] = False
        candidates = np.flatnonzero(positions)
        blocked = ~self._playable(tracks, bar_start + candidates) & (candidates != (-1 if onset is None else onset))
        positions[candidates[blocked]] = False

    def advance(self, token_id: int) -> None:
        family, _ = VOCAB.split(token_id)
        track = self.grammar.track
        self.inner.advance(token_id)
        if family == "Duration" and track == 0 and self.grammar.bar >= 0:
            self.written += 1
