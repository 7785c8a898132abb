"""Chord symbols: the table of chord qualities, and chord values as the Chord tokens name them.

A chord value is ``root_pc * len(QUALITIES) + quality index`` for the 12 x len(QUALITIES) chords, then
``NO_CHORD`` ("N.C."). This module imports nothing of midigen but ``errors`` and ``spelling`` (leaves) so
the vocabulary can read the table. It also parses what users type: chord symbols and bar-by-bar
progressions, with roots spelled as every other note name is (``spelling``).
"""
from __future__ import annotations

import re

from ..errors import MidigenError
from .spelling import CHORD_ACCIDENTALS, PC_NAMES, alternation, pitch_class

# (suffix written in a chord symbol, semitones above the root). Order fixes the token ids.
QUALITIES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("", (0, 4, 7)),
    ("m", (0, 3, 7)),
    ("7", (0, 4, 7, 10)),
    ("maj7", (0, 4, 7, 11)),
    ("m7", (0, 3, 7, 10)),
    ("dim", (0, 3, 6)),
    ("m7b5", (0, 3, 6, 10)),
    ("dim7", (0, 3, 6, 9)),
    ("aug", (0, 4, 8)),
    ("sus4", (0, 5, 7)),
)
N_CHORDS = 12 * len(QUALITIES) + 1  # every root and quality, then "no chord"
NO_CHORD = N_CHORDS - 1


def chord_value(root_pc: int, quality: int) -> int:
    return (root_pc % 12) * len(QUALITIES) + quality


def chord_pitch_classes(value: int) -> frozenset[int]:
    """Pitch classes of a chord value (empty for NO_CHORD)."""
    if value == NO_CHORD:
        return frozenset()
    root, quality = divmod(value, len(QUALITIES))
    return frozenset((root + i) % 12 for i in QUALITIES[quality][1])


def chord_name(value: int) -> str:
    """"Dm7", "Bb", "F#dim", "N.C."."""
    if value == NO_CHORD:
        return "N.C."
    root, quality = divmod(value, len(QUALITIES))
    return PC_NAMES[root] + QUALITIES[quality][0]


def transpose_chord(value: int, semitones: int) -> int:
    if value == NO_CHORD:
        return value
    root, quality = divmod(value, len(QUALITIES))
    return chord_value(root + semitones, quality)


# Parsing ------------------------------------------------------------------------------------------
# What musicians type after the root, mapped to the table's suffix. Richer chords than the table holds
# map to the nearest quality: extensions (6, 9, 11, 13, add9) drop to the triad or seventh they extend,
# sus2 and power chords to the major triad (a sus2 has no third; major is the safer guess for a
# lead sheet), altered dominants (7b9, 7#5 ...) and 7sus4 to "7" (they still resolve as dominants).
SUFFIX_ALIASES: dict[str, tuple[str, ...]] = {
    "": ("", "maj", "M", "major", "5", "6", "add9", "add2", "sus2", "69", "M6", "maj6"),
    "m": ("m", "min", "mi", "-", "minor", "m6", "min6", "-6", "madd9", "m(add9)", "mM7", "m(maj7)", "minmaj7", "-Δ7"),
    "7": ("7", "dom7", "9", "11", "13", "7sus4", "7sus", "9sus4", "7b9", "7#9", "7#11", "7b13", "7alt", "7b5", "7#5",
          "aug7", "+7", "7+", "9#11", "13b9"),
    "maj7": ("maj7", "M7", "Δ7", "Δ", "ma7", "maj9", "M9", "Δ9", "maj13", "maj7#11", "Δ7#11"),
    "m7": ("m7", "min7", "mi7", "-7", "m9", "min9", "-9", "m11", "min11", "-11", "m13", "m7add11"),
    "dim": ("dim", "°", "o"),
    "m7b5": ("m7b5", "ø", "ø7", "-7b5", "min7b5", "m7-5", "mi7b5"),
    "dim7": ("dim7", "°7", "o7"),
    "aug": ("aug", "+", "+5", "#5", "(#5)"),
    "sus4": ("sus4", "sus", "4"),
}
_QUALITY_OF_ALIAS = {alias: [s for s, _ in QUALITIES].index(suffix)
                     for suffix, aliases in SUFFIX_ALIASES.items() for alias in aliases}
_NO_CHORD_WORDS = frozenset({"N.C.", "N.C", "NC", "N"})
_ROOT = rf"([A-G])({alternation(CHORD_ACCIDENTALS)})?"
_CHORD_RE = re.compile(rf"^{_ROOT}(.*?)(?:/{_ROOT})?$")
REPEAT_BAR = "%"  # a bar of just "%" repeats the previous bar's chords


def parse_chord(text: str) -> int:
    """Chord value of a typed symbol: "Dm7", "F#dim", "Bb7", "B-flat7", "CΔ7", "Cø", "C/E", "N.C.".

    Roots are capital letters (a lower-case letter would be ambiguous: some charts write minor that
    way). A slash chord's bass is checked but dropped: the table has no inversions. Qualities richer
    than the table map to the nearest one (``SUFFIX_ALIASES``); parentheses are ignored ("C7(b9)").
    """
    symbol = (text or "").strip()
    if symbol.upper() in _NO_CHORD_WORDS:
        return NO_CHORD
    match = _CHORD_RE.match(symbol)
    quality = _QUALITY_OF_ALIAS.get(match.group(3)) if match else None
    if quality is None and match:
        quality = _QUALITY_OF_ALIAS.get(match.group(3).replace("(", "").replace(")", ""))
    if quality is None:
        raise MidigenError(f"not a chord symbol: {text!r} (e.g. Dm7, G7, Cmaj7, F#dim, N.C.)")
    return chord_value(pitch_class(match.group(1), match.group(2)), quality)


def parse_progression(text: str) -> list[list[int]]:
    """Chord values bar by bar from "Dm7 | G7 | Cmaj7 Am7 | %".

    Bars are separated by "|" (one "|" at either end is allowed, as charts draw them); the chords of a
    bar by spaces or commas; a bar of just "%" repeats the previous bar. MidigenError names the bar.
    """
    body = (text or "").strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") else body
    if not body.strip():
        raise MidigenError("empty chord progression (e.g. 'Dm7 | G7 | Cmaj7')")
    bars: list[list[int]] = []
    for number, cell in enumerate(body.split("|"), start=1):
        symbols = cell.replace(",", " ").split()
        if not symbols:
            raise MidigenError(f"bar {number} of the progression is empty")
        if symbols == [REPEAT_BAR]:
            if not bars:
                raise MidigenError(f"bar {number}: '%' repeats the previous bar, and there is none")
            bars.append(list(bars[-1]))
            continue
        try:
            bars.append([parse_chord(s) for s in symbols])
        except MidigenError as e:
            raise MidigenError(f"bar {number}: {e}") from None
    return bars


def progression_changes(bars: list[list[int]], bar_starts_steps, n_bars: int) -> tuple[tuple[int, int], ...]:
    """(step, chord value) changes that lay ``bars`` on the first ``n_bars`` bars of a piece.

    ``bar_starts_steps`` is the piece's (n_bars + 1,) bar start steps. The k chords of a bar split it
    evenly (chord i at start + i * length // k; MidigenError if k does not divide the bar's steps). A
    progression shorter than the piece repeats from its start, as a chorus does; a longer one is an
    error rather than silently cut. A chord equal to the one in force is not a change.
    """
    if not bars:
        raise MidigenError("empty chord progression")
    if len(bars) > n_bars:
        raise MidigenError(f"the progression has {len(bars)} bars, the piece {n_bars}")
    changes: list[tuple[int, int]] = []
    for bar in range(n_bars):
        chords = bars[bar % len(bars)]
        start, length = int(bar_starts_steps[bar]), int(bar_starts_steps[bar + 1] - bar_starts_steps[bar])
        if length % len(chords):
            raise MidigenError(f"bar {bar + 1}: {len(chords)} chords do not split its {length} steps evenly")
        for i, value in enumerate(chords):
            if not changes or changes[-1][1] != value:
                changes.append((start + i * length // len(chords), int(value)))
    return tuple(changes)
