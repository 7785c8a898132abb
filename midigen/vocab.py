"""The token vocabulary: one table of token families, each a type name and its values.

Everything that turns music into ids or back (tokenizer, grammar, sampler masks) reads this table;
nothing else defines a token. Times are on a grid of ``STEPS_PER_QUARTER`` steps per quarter note:
12 represents 16ths (3 steps) and triplet 8ths (4 steps) exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .chord_symbols import N_CHORDS, chord_name
from .keys import KEY_NAMES

STEPS_PER_QUARTER = 12
MAX_BAR_STEPS = 8 * STEPS_PER_QUARTER  # longest bar: 8 quarter notes (4/2, 8/4, 16/8)
MAX_TRACKS = 16
N_STYLE_SLOTS = 32
DRUM_PROGRAM = 128  # value of the Program token that declares a drum track
MAX_HOLE_BARS = 16  # longest span one infill regenerates


def _duration_table() -> tuple[int, ...]:
    """Durations in steps: every step up to a quarter, then coarser multiples up to 4 bars of 4/4.

    Each band keeps the musically common lengths (dotted and triplet values) so that quantisation
    error stays below ~6 % of the note's length while the family stays small.
    """
    bands = (  # (longest duration in the band, divisors any one of which a duration must be a multiple of)
        (12, (1,)),
        (24, (2, 3)),
        (48, (3, 4)),
        (96, (6, 8)),
        (192, (12,)),
    )
    values, low = [], 1
    for high, divisors in bands:
        values += [d for d in range(low, high + 1) if any(d % k == 0 for k in divisors)]
        low = high + 1
    return tuple(values)


DURATIONS_STEPS = _duration_table()
MAX_DURATION_STEPS = DURATIONS_STEPS[-1]  # 192 steps = 16 quarters, 2 bars of the longest meter
VELOCITY_LEVELS = tuple(range(7, 128, 8))  # 16 levels, 7 .. 127
# Maelzel metronome marks, widened at both ends: tempo tokens name these exactly.
TEMPO_MARKS_BPM = (
    20, 24, 28, 32, 36, 40, 42, 44, 46, 48, 50, 52, 54, 56, 58, 60, 63, 66, 69, 72, 76, 80, 84, 88,
    92, 96, 100, 104, 108, 112, 116, 120, 126, 132, 138, 144, 152, 160, 168, 176, 184, 192, 200, 208,
    216, 232, 250, 276, 300,
)
METER_DENOMINATORS = (2, 4, 8, 16)


def bar_length_steps(numerator: int, denominator: int) -> int:
    """Length of one bar of ``numerator/denominator`` in grid steps."""
    return numerator * 4 * STEPS_PER_QUARTER // denominator


METERS = tuple(
    (num, den)
    for den in METER_DENOMINATORS
    for num in range(1, 17)
    if bar_length_steps(num, den) <= MAX_BAR_STEPS
)

# The table. Order fixes the ids: never reorder without bumping TOKENIZER_FORMAT.
# Format 2 appended Chord, Hole and Fill: the ids of format 1 are its first ids, unchanged.
TOKENIZER_FORMAT = 2
FAMILIES: tuple[tuple[str, tuple], ...] = (
    ("PAD", (None,)),
    ("BOS", (None,)),
    ("EOS", (None,)),
    ("Style", tuple(range(N_STYLE_SLOTS))),
    ("Key", tuple(range(len(KEY_NAMES) + 1))),  # 24 keys, then "unknown"
    ("TimeSig", METERS),
    ("Tempo", TEMPO_MARKS_BPM),
    ("Program", tuple(range(DRUM_PROGRAM + 1))),  # 0..127 General MIDI, 128 = drums
    ("Bar", (None,)),
    ("Position", tuple(range(MAX_BAR_STEPS))),
    ("Track", tuple(range(MAX_TRACKS))),
    ("Pitch", tuple(range(128))),
    ("Velocity", VELOCITY_LEVELS),
    ("Duration", DURATIONS_STEPS),
    ("Chord", tuple(range(N_CHORDS))),  # chord_symbols values: 12 roots x qualities, then N.C.
    ("Hole", tuple(range(1, MAX_HOLE_BARS + 1))),  # "the next N bars are missing; they follow Fill"
    ("Fill", (None,)),
)
UNKNOWN_KEY = len(KEY_NAMES)


def _format_value(family: str, value) -> str:
    if value is None:
        return family
    if family == "Key":
        name = KEY_NAMES[value] if value < len(KEY_NAMES) else "unknown"
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

    @cached_property
    def family_index_of_id(self) -> np.ndarray:
        """(V,) index into ``families`` for each id: vectorised family lookups."""
        return np.repeat(np.arange(len(self.families)), [len(v) for _, v in self.families])

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


def nearest_index(table: tuple[int, ...], values: np.ndarray, *, log_scale: bool = False) -> np.ndarray:
    """Index of the nearest table entry for each value (ties go to the smaller entry)."""
    grid = np.asarray(table, dtype=np.float64)
    x = np.asarray(values, dtype=np.float64)
    if log_scale:
        grid, x = np.log(grid), np.log(np.maximum(x, 1e-9))
    right = np.clip(np.searchsorted(grid, x), 1, len(grid) - 1)
    left = right - 1
    return np.where(x - grid[left] <= grid[right] - x, left, right)
