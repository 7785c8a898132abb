"""The token vocabulary: one table of token families, each a type name and its values.

Everything that turns music into ids or back (tokenizer, grammar, sampler masks) reads this table;
nothing else defines a token. The values the families name (steps, durations, velocities, tempos, meters)
are the music grid of ``music.grid``: a token names one grid value, so quantising is the grid's business.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from ..music.chord_symbols import N_CHORDS, chord_name
from ..music.grid import (
    DRUM_PROGRAM,
    DURATIONS_STEPS,
    MAX_BAR_STEPS,
    MAX_PITCH,
    MAX_TRACKS,
    METERS,
    TEMPO_MARKS_BPM,
    VELOCITY_LEVELS,
)
from ..music.keys import KEY_NAMES, N_KEYS

N_STYLE_SLOTS = 32
MAX_HOLE_BARS = 16  # longest span one infill regenerates

# The table. Order fixes the ids: never reorder without bumping TOKENIZER_FORMAT.
# Format 2 appended Chord, Hole and Fill: the ids of format 1 are its first ids, unchanged.
TOKENIZER_FORMAT = 2
FAMILIES: tuple[tuple[str, tuple], ...] = (
    ("PAD", (None,)),
    ("BOS", (None,)),
    ("EOS", (None,)),
    ("Style", tuple(range(N_STYLE_SLOTS))),
    ("Key", tuple(range(N_KEYS + 1))),  # every key, then "unknown"
    ("TimeSig", METERS),
    ("Tempo", TEMPO_MARKS_BPM),
    ("Program", tuple(range(DRUM_PROGRAM + 1))),  # 0..127 General MIDI, 128 = drums
    ("Bar", (None,)),
    ("Position", tuple(range(MAX_BAR_STEPS))),
    ("Track", tuple(range(MAX_TRACKS))),
    ("Pitch", tuple(range(MAX_PITCH + 1))),
    ("Velocity", VELOCITY_LEVELS),
    ("Duration", DURATIONS_STEPS),
    ("Chord", tuple(range(N_CHORDS))),  # chord_symbols values: 12 roots x qualities, then N.C.
    ("Hole", tuple(range(1, MAX_HOLE_BARS + 1))),  # "the next N bars are missing; they follow Fill"
    ("Fill", (None,)),
)
UNKNOWN_KEY = N_KEYS


def _format_value(family: str, value) -> str:
    if value is None:
        return family
    if family == "Key":
        name = KEY_NAMES[value] if value < N_KEYS else "unknown"
        return f"Key_{name.replace(' ', '_')}"
    if family == "TimeSig":
        return f"TimeSig_{value[0]}/{value[1]}"
    if family == "Chord":
        return f"Chord_{chord_name(value)}"
    if family == "Program" and value == DRUM_PROGRAM:
        return "Program_drums"
    return f"{family}_{value}"


@dataclass(frozen=True)
class Vocab:
    """Ids, names and per-family ranges of the token table.

    A token id is ``offset[family] + index of the value in that family``.
    """

    families: tuple[tuple[str, tuple], ...] = FAMILIES

    @cached_property
    def offsets(self) -> dict[str, int]:
        out, start = {}, 0
        for name, values in self.families:
            out[name] = start
            start += len(values)
        return out

    @cached_property
    def size(self) -> int:
        return sum(len(values) for _, values in self.families)

    @cached_property
    def family_sizes(self) -> dict[str, int]:
        return {name: len(values) for name, values in self.families}

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(_format_value(f, v) for f, values in self.families for v in values)

    @cached_property
    def ids_by_name(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    @cached_property
    def family_of_id(self) -> tuple[str, ...]:
        return tuple(f for f, values in self.families for _ in values)

    def span(self, family: str) -> slice:
        """The ids of one family, as a slice of the vocabulary (masks are sliced with it)."""
        return slice(self.offsets[family], self.offsets[family] + self.family_sizes[family])

    def id(self, family: str, index: int = 0) -> int:
        """Id of the ``index``-th value of ``family`` (index 0 for value-less tokens)."""
        if not 0 <= index < self.family_sizes[family]:
            raise ValueError(f"{family} has no value index {index}")
        return self.offsets[family] + index

    def split(self, token_id: int) -> tuple[str, int]:
        """(family, value index) of an id."""
        family = self.family_of_id[token_id]
        return family, token_id - self.offsets[family]

    def value(self, token_id: int):
        family, index = self.split(token_id)
        return dict(self.families)[family][index]

    def to_json(self) -> dict:
        """What a bundle stores to prove it was trained on this exact vocabulary."""
        return {"format": TOKENIZER_FORMAT, "size": self.size, "names_sha1": self._names_digest()}

    def extends(self, recorded: dict) -> bool:
        """True when a recorded vocabulary (``to_json``) is this one's first ids: an older format whose
        ids all kept their meaning, so its model can grow into this vocabulary (``model.grow_vocab``)."""
        size = recorded.get("size")
        return isinstance(size, int) and 0 < size <= self.size and self._names_digest(size) == recorded.get("names_sha1")

    def _names_digest(self, size: int | None = None) -> str:
        import hashlib

        return hashlib.sha1("\n".join(self.names[:size]).encode()).hexdigest()


VOCAB = Vocab()
