"""Hard constraints on sampling, as masks over the vocabulary layered on the grammar's mask.

The grammar (``grammar.GrammarState``) guarantees a sequence decodes; ``Constraints`` adds what the
user asked for: exactly ``bars`` bars, no meter or tempo changes, pitches inside a key and a range (one
for all melodic tracks, narrowed per track by ``track_ranges``), and no note sounding past the end of
the last bar, which must hold sound on a track the file keeps (``written_tracks``). When the prompt
already holds bars (``continue``), ``kept_bars`` and ``kept_steps`` say how many and how long they are:
only the bars after them are sampled, in ``meter``. Every mask keeps at least one id allowed, so
sampling never dead-ends; requests that could not be met are refused up front in ``check``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..errors import MidigenError
from ..music.grid import DURATIONS_STEPS, MAX_TRACKS, bar_length_steps
from ..music.keys import KEY_NAMES, scale_pitch_classes
from ..tokens.grammar import PITCH_STATES, GrammarState
from ..tokens.vocab import VOCAB

_OFF = VOCAB.offsets
_DURATIONS = np.asarray(DURATIONS_STEPS)


@dataclass(frozen=True)
class Constraints:
    bars: int
    meter: tuple[int, int]
    key: int | None = None
    strict_key: bool = False
    pitch_low: int = 0
    pitch_high: int = 127
    drum_tracks: frozenset[int] = frozenset()
    track_ranges: tuple[tuple[int, int], ...] = ()  # (low, high) of tracks 0, 1, ...; later tracks: no narrowing
    kept_bars: int = 0  # bars the prompt holds, sampled around, never into
    kept_steps: int = 0  # their length in steps
    written_tracks: frozenset[int] | None = None  # the tracks the file keeps: one must sound in the last bar (None: all)
    end_with_sound: bool = True  # False for an infill: the bars after it are the user's, the gap may end in a rest

    def check(self) -> None:
        """Refuse contradictory constraints with a clear message (instead of sampling forever)."""
        if self.pitch_low > self.pitch_high:
            raise MidigenError(f"empty pitch range {self.pitch_low}-{self.pitch_high}")
        if not 0 <= self.kept_bars < self.bars:
            raise MidigenError(f"{self.bars} bars in all cannot follow the {self.kept_bars} bars kept")
        if self.strict_key and self.key is None:
            raise MidigenError("--strict-key needs a key")
        if self.strict_key and not self.melodic_pitches().any():
            raise MidigenError(f"no pitch of {KEY_NAMES[self.key]} lies inside the range "
                               f"{self.pitch_low}-{self.pitch_high}: --strict-key and --range contradict")
        for track, (low, high) in enumerate(self.track_ranges):
            if track not in self.drum_tracks and not self.melodic_pitches(track).any():
                raise MidigenError(f"track {track + 1} may play {low}-{high}, which leaves no pitch inside "
                                   f"{self.pitch_low}-{self.pitch_high}{' in ' + KEY_NAMES[self.key] if self.strict_key else ''}")

    def melodic_pitches(self, track: int | None = None) -> np.ndarray:
        """(128,) bool: pitches allowed on a melodic track (None: the range every melodic track shares)."""
        allowed = np.zeros(128, dtype=bool)
        allowed[self.pitch_low:self.pitch_high + 1] = True
        if track is not None and track < len(self.track_ranges):
            low, high = self.track_ranges[track]
            allowed[:low] = False
            allowed[high + 1:] = False
        if self.strict_key and self.key is not None:
            in_key = np.isin(np.arange(128) % 12, list(scale_pitch_classes(self.key)))
            allowed &= in_key
        return allowed

    @property
    def end_steps(self) -> int:
        return self.kept_steps + (self.bars - self.kept_bars) * bar_length_steps(*self.meter)


class SamplingState(Protocol):
    """What the sampler drives, one per row: ``ConstrainedState``, or a lock (``locks``) wrapping one.

    ``constrained`` is the ``ConstrainedState`` at the bottom of the stack: the one that knows where the
    current bar starts and what sounds, so a lock reads it there instead of guessing through its wrapper.
    """

    grammar: GrammarState
    constrained: ConstrainedState

    @property
    def finished(self) -> bool: ...

    def mask(self) -> np.ndarray:
        """(V,) bool: the ids allowed next; at least one is."""

    def folds(self) -> tuple[tuple[int, int], ...]:
        """(masked id, id) pairs whose probability the sampler moves from the first to the second."""

    def advance(self, token_id: int) -> None: ...


class ConstrainedState:
    """A GrammarState plus the constraints and what the sampled notes imply (the latest note end)."""

    def __init__(self, constraints: Constraints, state: GrammarState | None = None):
        self.c = constraints
        self.grammar = state or GrammarState()
        self.melodic = np.stack([constraints.melodic_pitches(t) for t in range(MAX_TRACKS)])  # (tracks, 128)
        self.bar_start_steps = 0
        self.latest_end_steps = 0
        self.sounding_until = np.zeros((MAX_TRACKS, 128), dtype=np.int64)  # end step of each track's pitches
        self._pitch = 0
        self._next_bar_start: int | None = None  # set by Hole and Fill: where the next Bar starts
        self._at_hole: tuple[int, np.ndarray] = (0, self.sounding_until)  # hole start step, what sounded there

    @property
    def constrained(self) -> ConstrainedState:
        return self

    @property
    def finished(self) -> bool:
        return self.grammar.finished

    def mask(self) -> np.ndarray:
        g = self.grammar
        mask = g.allowed_mask()
        mask[VOCAB.span("Hole")] = False  # holes are the prompt's (``infill``), never sampled
        if g.bar >= 0:  # body: no meter or tempo changes
            mask[VOCAB.span("TimeSig")] = False
            mask[VOCAB.span("Tempo")] = False
        bar = _OFF["Bar"]
        last_bar = g.bar + 1 >= self.c.bars
        if last_bar:
            mask[bar] = False
        if not last_bar or (self.c.end_with_sound and self.latest_end_steps <= self.bar_start_steps):
            mask[_OFF["EOS"]] = False  # the last bar must hold sound (so files read back with N bars)
        if g.state in PITCH_STATES:
            pitches = mask[VOCAB.span("Pitch")]
            if self._next_track_is_melodic():
                pitches &= self.melodic[g.track]
            # no note may start while the same pitch still sounds on the same track
            pitches &= self.sounding_until[g.track] <= self.bar_start_steps + g.position
        if g.state in ("pitch", "velocity"):
            step = self.bar_start_steps + g.position
            too_long = _DURATIONS > self.c.end_steps - step
            mask[VOCAB.span("Duration")] &= ~too_long
        if not mask.any():  # cannot happen with checked constraints; fail loudly rather than hang
            raise MidigenError(f"constraints leave nothing to sample in state '{g.state}' (bar {g.bar + 1})")
        return mask

    def folds(self) -> tuple[tuple[int, int], ...]:
        """(masked id, id) pairs whose probability the sampler moves from the first to the second: in the
        last bar, where the model would open another bar, the piece ends instead (so it ends where the
        model hears an ending, not on notes squeezed into the bar's last steps)."""
        g = self.grammar
        return ((_OFF["Bar"], _OFF["EOS"]),) if 0 <= g.bar and g.bar + 1 >= self.c.bars else ()

    def _next_track_is_melodic(self) -> bool:
        # A Pitch token right now belongs to the current track; after a Track token the state is "track".
        return self.grammar.track not in self.c.drum_tracks

    def advance(self, token_id: int) -> None:
        g = self.grammar
        family, index = VOCAB.split(token_id)
        if family == "Bar":
            if self._next_bar_start is not None:
                self.bar_start_steps, self._next_bar_start = self._next_bar_start, None
            elif g.bar >= 0:
                self.bar_start_steps += g.bar_steps
        elif family == "Hole":  # the bars after the hole come first, then (after Fill) the hole's own
            start = self.bar_start_steps + g.bar_steps if g.bar >= 0 else 0
            self._at_hole = (start, self.sounding_until.copy())
            self._next_bar_start = start + (index + 1) * g.bar_steps
        elif family == "Fill":
            self._next_bar_start, saved = self._at_hole
            self.sounding_until = saved.copy()
        g.advance(token_id)
        if family == "Pitch":
            self._pitch = index
        elif family == "Duration":
            end = self.bar_start_steps + g.position + DURATIONS_STEPS[index]
            if self.c.written_tracks is None or g.track in self.c.written_tracks:
                self.latest_end_steps = max(self.latest_end_steps, end)
            self.sounding_until[g.track, self._pitch] = end
