"""Hard constraints on sampling, as masks over the vocabulary layered on the grammar's mask.

The grammar (``grammar.GrammarState``) guarantees a sequence decodes; ``Constraints`` adds what the
user asked for: exactly ``bars`` bars, no meter or tempo changes, pitches inside a key and a range,
and no note sounding past the end of the last bar. Every mask keeps at least one id allowed, so
sampling never dead-ends; requests that could not be met are refused up front in ``check``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import MidigenError
from .grammar import GrammarState
from .keys import KEY_NAMES, scale_pitch_classes
from .vocab import DURATIONS_STEPS, MAX_TRACKS, VOCAB, bar_length_steps

_OFF = VOCAB.offsets
_DURATIONS = np.asarray(DURATIONS_STEPS)


def _family_slice(family: str) -> slice:
    return slice(_OFF[family], _OFF[family] + VOCAB.family_sizes[family])


@dataclass(frozen=True)
class Constraints:
    bars: int
    meter: tuple[int, int]
    key: int | None = None
    strict_key: bool = False
    pitch_low: int = 0
    pitch_high: int = 127
    drum_tracks: frozenset[int] = frozenset()

    def check(self) -> None:
        """Refuse contradictory constraints with a clear message (instead of sampling forever)."""
        if self.pitch_low > self.pitch_high:
            raise MidigenError(f"empty pitch range {self.pitch_low}-{self.pitch_high}")
        if self.strict_key:
            if self.key is None:
                raise MidigenError("--strict-key needs a key")
            if not self.melodic_pitches().any():
                raise MidigenError(f"no pitch of {KEY_NAMES[self.key]} lies inside the range "
                                   f"{self.pitch_low}-{self.pitch_high}: --strict-key and --range contradict")

    def melodic_pitches(self) -> np.ndarray:
        """(128,) bool: pitches allowed on melodic tracks."""
        allowed = np.zeros(128, dtype=bool)
        allowed[self.pitch_low:self.pitch_high + 1] = True
        if self.strict_key and self.key is not None:
            in_key = np.isin(np.arange(128) % 12, list(scale_pitch_classes(self.key)))
            allowed &= in_key
        return allowed

    @property
    def end_steps(self) -> int:
        return self.bars * bar_length_steps(*self.meter)


class ConstrainedState:
    """A GrammarState plus the constraints and what the sampled notes imply (the latest note end)."""

    def __init__(self, constraints: Constraints, state: GrammarState | None = None):
        self.c = constraints
        self.grammar = state or GrammarState()
        self.melodic = constraints.melodic_pitches()
        self.bar_start_steps = 0
        self.latest_end_steps = 0
        self.sounding_until = np.zeros((MAX_TRACKS, 128), dtype=np.int64)  # end step of each track's pitches
        self._pitch = 0

    @property
    def finished(self) -> bool:
        return self.grammar.finished

    def mask(self) -> np.ndarray:
        g = self.grammar
        mask = g.allowed_mask()
        if g.bar >= 0:  # body: no meter or tempo changes
            mask[_family_slice("TimeSig")] = False
            mask[_family_slice("Tempo")] = False
        bar = _OFF["Bar"]
        last_bar = g.bar + 1 >= self.c.bars
        if last_bar:
            mask[bar] = False
        if not last_bar or self.latest_end_steps <= self.bar_start_steps:
            mask[_OFF["EOS"]] = False  # the last bar must hold sound (so files read back with N bars)
        if g.state in ("position", "track", "note", "position_tempo"):
            pitches = mask[_family_slice("Pitch")]
            if self._next_track_is_melodic():
                pitches &= self.melodic
            # no note may start while the same pitch still sounds on the same track
            pitches &= self.sounding_until[g.track] <= self.bar_start_steps + g.position
        if g.state in ("pitch", "velocity"):
            step = self.bar_start_steps + g.position
            too_long = _DURATIONS > self.c.end_steps - step
            mask[_family_slice("Duration")] &= ~too_long
        if not mask.any():  # cannot happen with checked constraints; fail loudly rather than hang
            raise MidigenError(f"constraints leave nothing to sample in state '{g.state}' (bar {g.bar + 1})")
        return mask

    def _next_track_is_melodic(self) -> bool:
        # A Pitch token right now belongs to the current track; after a Track token the state is "track".
        return self.grammar.track not in self.c.drum_tracks

    def advance(self, token_id: int) -> None:
        g = self.grammar
        family, index = VOCAB.split(token_id)
        if family == "Bar":
            self.bar_start_steps += g.bar_steps if g.bar >= 0 else 0
        g.advance(token_id)
        if family == "Pitch":
            self._pitch = index
        elif family == "Duration":
            end = self.bar_start_steps + g.position + DURATIONS_STEPS[index]
            self.latest_end_steps = max(self.latest_end_steps, end)
            self.sounding_until[g.track, self._pitch] = end
