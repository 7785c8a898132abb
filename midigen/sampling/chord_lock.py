"""A sampling state that writes a given chord progression into the tokens: ``compose --chords``.

The model was trained with the analysed chords of its corpus in its tokens (``Position [Chord]`` before
a position's notes), so it writes notes that fit the chord it has just read. ``ChordScheduleState``
wraps another state (``ConstrainedState`` or one of the lock states) and makes the chords the user's:

- where a change is due, the sequence must reach its position (no later position, no Bar, no EOS
  before it) and there its Chord token comes first, forced;
- the model names no chord of its own anywhere else.

The wrapped state's masks still apply to everything else.
"""
from __future__ import annotations

import numpy as np

from ..tokens.grammar import MOVE_STATES
from ..tokens.vocab import VOCAB

_OFF = VOCAB.offsets
_CHORDS = slice(_OFF["Chord"], _OFF["Chord"] + VOCAB.family_sizes["Chord"])
_POSITIONS = slice(_OFF["Position"], _OFF["Position"] + VOCAB.family_sizes["Position"])


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
