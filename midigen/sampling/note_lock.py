"""A sampling state that writes given notes on some tracks exactly: ``infill --tracks``.

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
"""
from __future__ import annotations

import numpy as np

from ..music.grid import DURATIONS_STEPS, VELOCITY_LEVELS
from ..music.piece import DURATION, PITCH, START, TRACK, VELOCITY, sort_notes
from ..tokens.grammar import MOVE_STATES, PITCH_STATES
from ..tokens.vocab import VOCAB
from .constraints import ConstrainedState, Constraints

_OFF = VOCAB.offsets
_DURATION_INDEX = {d: i for i, d in enumerate(DURATIONS_STEPS)}
_VELOCITY_INDEX = {v: i for i, v in enumerate(VELOCITY_LEVELS)}


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
