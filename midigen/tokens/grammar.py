"""The token grammar: which token family may follow which, as one table, plus the value rules.

``TRANSITIONS`` is a finite-state machine over token families. ``GrammarState`` walks it and adds the
rules that depend on values (positions rise within a bar and stay inside it, tracks exist, chords are
written top note first, repeated values are not restated). The decoder checks ids with it, the
encoder's output is tested against it, and the sampler builds its masks from the same object, so a
sampled sequence always decodes.

A piece is::

    BOS [Style] Key TimeSig Tempo Program+            header: one Program per track
    ( Bar [TimeSig] ( Position [Tempo] [Chord] ( [Track] Pitch [Velocity] Duration )* )* )*
    EOS

An *infill* sequence (MMM-style: the model sees both sides of a gap before it writes the gap) cuts the
bars a .. a+k-1 out and moves them to the end::

    header  bars 0..a-1  Hole_k  bars a+k..n-1  Fill  bars a..a+k-1  EOS

At Hole and at Fill the per-segment state restarts: every track restates its velocity and the chord in
force is restated, so a segment reads the same wherever it stands. The meter cannot change inside the
hole (its bars all have the meter in force where it starts); EOS comes after exactly k filled bars.
"""
from __future__ import annotations

import numpy as np

from ..errors import MidigenError
from ..music.grid import MAX_TRACKS, METERS, bar_length_steps
from .vocab import VOCAB, Vocab

# where one bar may end: the next bar, a hole, the filled bars, or the end
_BETWEEN_BARS = {"Bar": "bar", "Hole": "hole", "Fill": "fill", "EOS": "end"}

# state -> {family: next state}
TRANSITIONS: dict[str, dict[str, str]] = {
    "start": {"BOS": "bos"},
    "bos": {"Style": "style", "Key": "key"},
    "style": {"Key": "key"},
    "key": {"TimeSig": "meter"},
    "meter": {"Tempo": "tempo"},
    "tempo": {"Program": "programs"},
    "programs": {"Program": "programs", "Bar": "bar", "Hole": "hole"},
    "bar": {"TimeSig": "bar_meter", "Position": "position", **_BETWEEN_BARS},
    "bar_meter": {"Position": "position", **_BETWEEN_BARS},
    "position": {"Tempo": "position_tempo", "Chord": "position_chord", "Track": "track", "Pitch": "pitch"},
    "position_tempo": {"Chord": "position_chord", "Track": "track", "Pitch": "pitch", "Position": "position", **_BETWEEN_BARS},
    "position_chord": {"Track": "track", "Pitch": "pitch", "Position": "position", **_BETWEEN_BARS},
    "track": {"Pitch": "pitch"},
    "pitch": {"Velocity": "velocity", "Duration": "note"},
    "velocity": {"Duration": "note"},
    "note": {"Pitch": "pitch", "Track": "track", "Position": "position", **_BETWEEN_BARS},
    "hole": {"Bar": "bar", "Fill": "fill"},
    "fill": {"Bar": "bar"},
    "end": {},
}
HEADER_STATES = frozenset({"start", "bos", "style", "key", "meter", "tempo"})
PITCH_STATES = frozenset(s for s, families in TRANSITIONS.items() if "Pitch" in families)  # a note may start
TRACK_STATES = frozenset(s for s, families in TRANSITIONS.items() if "Track" in families)  # a track may be named
MOVE_STATES = frozenset(s for s, families in TRANSITIONS.items() if "Position" in families and "Bar" in families)


class GrammarState:
    """Where a token sequence stands in the grammar, and what may come next.

    ``value_bounds(family)`` is the single source of the value rules: it gives the half-open range of
    allowed value indices and one excluded index (or -1). ``check`` and ``allowed_mask`` both use it.
    """

    def __init__(self, vocab: Vocab = VOCAB):
        self.vocab = vocab
        self.state = "start"
        self.meter_index = 0  # index into METERS of the current meter
        self.tempo_index = -1
        self.chord = -1  # chord value in force, -1 = not said in this segment
        self.n_tracks = 0
        self.bar = -1  # index of the current bar
        self.n_bars = 0  # bars of the whole piece read so far (with an infill's hole)
        self.position = -1  # last Position value in this bar, -1 before the first
        self.track = 0  # current track
        self.track_velocity = [-1] * MAX_TRACKS  # velocity index per track, -1 = not yet set
        self.notes_at_position = False
        self.last_pitch = 128  # pitch of the previous note of this track at this position
        self.last_duration = 0
        self.hole_bars = 0  # k of Hole_k, 0 before a hole
        self.hole_first_bar = -1  # index of the hole's first bar
        self.hole_meter_index = self.hole_tempo_index = -1  # meter and tempo in force where the hole starts
        self.filling = False  # after Fill
        self.n_tokens = 0

    @property
    def bar_steps(self) -> int:
        return bar_length_steps(*METERS[self.meter_index])

    @property
    def finished(self) -> bool:
        return self.state == "end"

    @property
    def fill_bars_left(self) -> int:
        """Bars the infill still has to write (0 outside one)."""
        return self.hole_first_bar + self.hole_bars - 1 - self.bar if self.filling else 0

    def allowed_families(self) -> dict[str, str]:
        families = TRANSITIONS[self.state]
        if self.state == "programs" and self.n_tracks >= MAX_TRACKS:
            families = {f: s for f, s in families.items() if f != "Program"}
        if self.state == "pitch" and self.track_velocity[self.track] < 0:
            return {"Velocity": "velocity"}  # a track's first note (in a segment) states its velocity
        if "Hole" in families or "EOS" in families:
            families = {f: s for f, s in families.items() if self._between_bars_allows(f)}
        return families

    def _between_bars_allows(self, family: str) -> bool:
        """The infill rules: one hole, a Fill only after it, EOS only after the hole is filled, and the
        filled bars exactly as many as the hole's."""
        if family == "Hole":
            return self.hole_bars == 0
        if family == "Fill":
            return self.hole_bars > 0 and not self.filling
        if family == "EOS":
            return self.hole_bars == 0 or (self.filling and self.fill_bars_left == 0)
        if family == "Bar":
            return not self.filling or self.fill_bars_left > 0
        return True

    def value_bounds(self, family: str) -> tuple[int, int, int]:
        """(low, high, excluded) value indices allowed for ``family`` here; high is exclusive."""
        size = self.vocab.family_sizes[family]
        if family == "Position":
            return self.position + 1, self.bar_steps, -1
        if family == "Track":
            low = self.track + 1 if self.notes_at_position else 0  # tracks ascend within a position
            return low, self.n_tracks, self.track
        if family == "Pitch":
            return 0, self.last_pitch, -1  # chords are written top note first
        if family == "Velocity":
            return 0, size, self.track_velocity[self.track]
        if family == "Tempo":
            return 0, size, self.tempo_index if self.state not in HEADER_STATES else -1
        if family == "TimeSig":
            if self.state == "bar" and (self.bar == 0 or self.filling):
                return 0, 0, -1  # the header states the first meter; a hole keeps its meter
            return 0, size, self.meter_index if self.state == "bar" else -1
        if family == "Chord":
            return 0, size, self.chord
        return 0, size, -1

    def check(self, token_id: int) -> None:
        """Raise MidigenError unless ``token_id`` may come next."""
        if not 0 <= token_id < self.vocab.size:
            raise MidigenError(f"token {self.n_tokens}: id {token_id} is outside the vocabulary")
        family, index = self.vocab.split(token_id)
        families = self.allowed_families()
        if family not in families:
            raise MidigenError(
                f"token {self.n_tokens} ({self.vocab.names[token_id]}): {family} cannot follow state "
                f"'{self.state}' here (expected {', '.join(families) or 'nothing after EOS'})"
            )
        low, high, excluded = self.value_bounds(family)
        if not low <= index < high or index == excluded:
            raise MidigenError(
                f"token {self.n_tokens} ({self.vocab.names[token_id]}): value not allowed here "
                f"(allowed indices {low}..{high - 1}{'' if excluded < 0 else f' except {excluded}'})"
            )

    def advance(self, token_id: int) -> None:
        """Move past ``token_id`` (already checked or known to be valid)."""
        family, index = self.vocab.split(token_id)
        self.state = self.allowed_families()[family]
        self.n_tokens += 1
        if family == "TimeSig":
            self.meter_index = index
        elif family == "Tempo":
            self.tempo_index = index
        elif family == "Chord":
            self.chord = index
        elif family == "Program":
            self.n_tracks += 1
        elif family == "Bar":
            self.bar += 1
            self.n_bars = max(self.n_bars, self.bar + 1)
            self.position = -1
        elif family == "Hole":
            self.hole_bars = index + 1
            self.hole_first_bar = self.bar + 1
            self.hole_meter_index, self.hole_tempo_index = self.meter_index, self.tempo_index
            self.bar += self.hole_bars  # the next Bar opens the first bar after the hole
            self.n_bars = max(self.n_bars, self.bar + 1)
            self._new_segment()
        elif family == "Fill":
            self.filling = True
            self.bar = self.hole_first_bar - 1
            self.meter_index, self.tempo_index = self.hole_meter_index, self.hole_tempo_index
            self._new_segment()
        elif family == "Position":
            self.position = index
            self.notes_at_position = False
            self.last_pitch = 128
        elif family == "Track":
            self.track = index
            self.last_pitch = 128
        elif family == "Pitch":
            self.last_pitch = index
        elif family == "Velocity":
            self.track_velocity[self.track] = index
        elif family == "Duration":
            self.notes_at_position = True
            self.last_duration = index

    def _new_segment(self) -> None:
        self.track = 0
        self.track_velocity = [-1] * MAX_TRACKS
        self.chord = -1

    def step(self, token_id: int) -> None:
        self.check(token_id)
        self.advance(token_id)

    def allowed_mask(self) -> np.ndarray:
        """(V,) bool: the ids that may come next."""
        mask = np.zeros(self.vocab.size, dtype=bool)
        for family in self.allowed_families():
            low, high, excluded = self.value_bounds(family)
            offset = self.vocab.offsets[family]
            mask[offset + low: offset + max(low, high)] = True
            if excluded >= low and excluded < high:
                mask[offset + excluded] = False
        return mask


def validate(ids) -> GrammarState:
    """Walk a whole id sequence; MidigenError naming the position of the first violation."""
    state = GrammarState()
    for token_id in ids:
        state.step(int(token_id))
    if not state.finished:
        raise MidigenError(f"token {state.n_tokens}: sequence ends before EOS (in state '{state.state}')")
    return state
