"""The grid every piece lives on: steps per quarter, note lengths, velocity levels, tempo marks, meters.

Notes start and last a whole number of steps of ``STEPS_PER_QUARTER`` per quarter note: 12 represents
16ths (3 steps) and triplet 8ths (4 steps) exactly. ``music.piece.quantize`` rounds a piece onto these
tables; the token vocabulary (``tokens.vocab``) names their values one token each.
"""
from __future__ import annotations

import re

import numpy as np

from ..errors import MidigenError

STEPS_PER_QUARTER = 12
MAX_BAR_QUARTERS = 8  # longest bar the tokens can say: 8 quarter notes (4/2, 8/4, 16/8)
MAX_BAR_STEPS = MAX_BAR_QUARTERS * STEPS_PER_QUARTER
MAX_READ_BAR_QUARTERS = 16  # longest bar a file may have (6/2, 10/4, 32/8): longer than 8 quarters is split (split_bar)
MAX_TRACKS = 16
MAX_PITCH = 127  # MIDI note numbers are 0..127
DRUM_PROGRAM = 128  # value of the Program token that declares a drum track


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


DURATIONS_STEPS = _duration_table()  # up to 192 steps = 16 quarters, 2 bars of the longest meter
VELOCITY_LEVELS = tuple(range(7, 128, 8))  # 16 levels, 7 .. 127
# Maelzel metronome marks, widened at both ends: tempo tokens name these exactly.
TEMPO_MARKS_BPM = (
    20, 24, 28, 32, 36, 40, 42, 44, 46, 48, 50, 52, 54, 56, 58, 60, 63, 66, 69, 72, 76, 80, 84, 88,
    92, 96, 100, 104, 108, 112, 116, 120, 126, 132, 138, 144, 152, 160, 168, 176, 184, 192, 200, 208,
    216, 232, 250, 276, 300,
)
METER_DENOMINATORS = (2, 4, 8, 16)
MAX_METER_NUMERATOR = 16


def bar_length_steps(numerator: int, denominator: int) -> int:
    """Length of one bar of ``numerator/denominator`` in grid steps."""
    return numerator * 4 * STEPS_PER_QUARTER // denominator


METERS = tuple(
    (num, den)
    for den in METER_DENOMINATORS
    for num in range(1, MAX_METER_NUMERATOR + 1)
    if bar_length_steps(num, den) <= MAX_BAR_STEPS
)
_METER_RULE = (f"denominator {', '.join(map(str, METER_DENOMINATORS[:-1]))} or {METER_DENOMINATORS[-1]}, "
               f"numerator 1-{MAX_METER_NUMERATOR}, bars of at most {MAX_BAR_QUARTERS} quarter notes")


def check_meter(numerator: int, denominator: int) -> int:
    """Index of a supported meter in METERS; MidigenError naming the limits otherwise."""
    try:
        return METERS.index((numerator, denominator))
    except ValueError:
        raise MidigenError(f"unsupported time signature {numerator}/{denominator} ({_METER_RULE})") from None


def check_read_meter(numerator: int, denominator: int) -> None:
    """MidigenError naming the limits unless a file's meter can be read (as is, or split by ``split_bar``)."""
    if denominator in METER_DENOMINATORS and numerator >= 1:
        quarters = numerator * 4 / denominator
        if quarters <= MAX_READ_BAR_QUARTERS:
            return
        problem = f"a bar of {quarters:g} quarter notes; "
    else:
        problem = ""
    raise MidigenError(f"unsupported time signature {numerator}/{denominator} ({problem}a file's meter needs numerator 1 or "
                       f"more, denominator 1, 2, 4, 8 or 16, and bars of at most {MAX_READ_BAR_QUARTERS} quarter notes)")


def split_bar(numerator: int, denominator: int) -> tuple[tuple[int, int], ...]:
    """The meters of METERS that one bar of a file's meter is written as: the meter itself where the tokens
    can say it, else as few near-equal bars as fit, the longer first (10/4 -> 5/4 5/4, 9/4 -> 5/4 4/4,
    6/2 -> 3/2 3/2). The notes keep their times; only bar lines are added. MidigenError beyond
    ``MAX_READ_BAR_QUARTERS``."""
    if (numerator, denominator) in METERS:
        return ((numerator, denominator),)
    check_read_meter(numerator, denominator)
    parts = max(-(-bar_length_steps(numerator, denominator) // MAX_BAR_STEPS), -(-numerator // MAX_METER_NUMERATOR))
    size, longer = divmod(numerator, parts)
    return tuple((size + (i < longer), denominator) for i in range(parts))


def parse_meter(text: str) -> tuple[int, int]:
    """"6/8" -> (6, 8), for a meter in METERS; MidigenError otherwise."""
    match = re.match(r"^\s*(\d+)\s*/\s*(\d+)\s*$", text or "")
    if not match:
        raise MidigenError(f"not a time signature: {text!r} (use e.g. 4/4, 3/4, 6/8)")
    meter = int(match.group(1)), int(match.group(2))
    check_meter(*meter)
    return meter


def nearest_index(table: tuple[int, ...], values: np.ndarray, *, log_scale: bool = False) -> np.ndarray:
    """Index of the nearest table entry for each value (ties go to the smaller entry)."""
    grid = np.asarray(table, dtype=np.float64)
    x = np.asarray(values, dtype=np.float64)
    if log_scale:
        grid, x = np.log(grid), np.log(np.maximum(x, 1e-9))
    right = np.clip(np.searchsorted(grid, x), 1, len(grid) - 1)
    left = right - 1
    return np.where(x - grid[left] <= grid[right] - x, left, right)
