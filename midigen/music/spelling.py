"""Note spelling: the one table of letters and accidentals behind every note name a user types.

Keys ("B-flat major"), chord roots ("Bb7"), pitches ("B-flat3") and ranges ("C#3-F5") all spell a pitch
class as a letter and an accidental. They read this one table, so a spelling that works in one place
means the same pitch class in all of them. Each kind of text admits the accidentals that cannot be
mistaken for its own syntax (``KEY_ACCIDENTALS``, ``PITCH_ACCIDENTALS``, ``CHORD_ACCIDENTALS``).
"""
from __future__ import annotations

import re

from ..errors import MidigenError
from .grid import MAX_PITCH

LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
# Written accidental -> semitones. Words are lower case and carry their separator ("B-flat", "F sharp").
ACCIDENTALS = {
    "": 0,
    "#": 1, "♯": 1, "-sharp": 1, " sharp": 1,
    "b": -1, "♭": -1, "-flat": -1, " flat": -1,
    "##": 2, "♯♯": 2,
    "bb": -2, "♭♭": -2,
    "-": -1,  # music21's flat ("B-"), long accepted in key names
}
# What each kind of text leaves out of the table, and why: there it would read as the text's own syntax.
NOT_IN_PITCHES = {"-": 'the octave\'s minus sign: "B-1" is B in octave -1, MIDI 11'}
NOT_IN_CHORDS = {
    "-": '"C-7" is C minor seventh',
    " sharp": "spaces separate the chords of a bar", " flat": "spaces separate the chords of a bar",
    "##": '"C##5" has always been C# with the "#5" suffix', "♯♯": "as ##",
    "bb": "as ##", "♭♭": "as ##",
}
KEY_ACCIDENTALS = tuple(ACCIDENTALS)
PITCH_ACCIDENTALS = tuple(a for a in ACCIDENTALS if a not in NOT_IN_PITCHES)
CHORD_ACCIDENTALS = tuple(a for a in ACCIDENTALS if a not in NOT_IN_CHORDS)
# How midigen writes each pitch class (chord names, major keys): flats, but F# (as common as Gb).
PC_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
RANGE_SEPARATORS = ("-", "..", ":")  # "C3-C6", "C3..C6", "C3:C6"


def alternation(words) -> str:
    """Regex alternation of the non-empty words, longest first so that "bb" is tried before "b"."""
    return "|".join(re.escape(a) for a in sorted(filter(None, words), key=len, reverse=True))


def semitones_above_c(letter: str, accidental: str | None) -> int:
    """Semitones from C of the same octave (may be -2..13: "Cb" is -1, "B#" 12), either letter case."""
    return LETTER_PC[letter.upper()] + ACCIDENTALS[accidental or ""]


def pitch_class(letter: str, accidental: str | None) -> int:
    return semitones_above_c(letter, accidental) % 12


# A pitch: a note name with its octave (C4 = 60, octaves from -1) or a MIDI number.
_PITCH = rf"[A-Ga-g](?:{alternation(PITCH_ACCIDENTALS)})?\s*-?\d+|\d+"
_PITCH_RE = re.compile(rf"^\s*(?:([A-Ga-g])({alternation(PITCH_ACCIDENTALS)})?\s*(-?\d+)|(\d+))\s*$")
# Two pitches and a separator: a regex, not a split at the first "-", so "B-flat3-C5" and "C-1-G9" parse.
_RANGE_RE = re.compile(rf"^\s*({_PITCH})\s*(?:{'|'.join(map(re.escape, RANGE_SEPARATORS))})\s*({_PITCH})\s*$")


def parse_pitch(text: str) -> int:
    """MIDI pitch of a note name with octave ("C4" = 60, "F#3", "Bb5", "B-flat3") or of a number."""
    match = _PITCH_RE.match(text or "")
    if not match:
        raise MidigenError(f"not a pitch: {text!r} (use a note name like C3, F#5 or B-flat2, or a MIDI number)")
    letter, accidental, octave, number = match.groups()
    value = int(number) if number is not None else 12 * (int(octave) + 1) + semitones_above_c(letter, accidental)
    if not 0 <= value <= MAX_PITCH:
        raise MidigenError(f"pitch {text.strip()!r} is outside MIDI's 0-{MAX_PITCH}")
    return value


def parse_range(text: str) -> tuple[int, int]:
    """"C3-C6" -> (48, 84); also "F#2 - 70", "B-flat3-C5", "C3..C6"; low may equal high."""
    match = _RANGE_RE.match(text or "")
    if not match:
        raise MidigenError(f"not a range: {text!r} (use LOW-HIGH, e.g. C3-C6, C#3-F5 or 40-72)")
    low, high = parse_pitch(match.group(1)), parse_pitch(match.group(2))
    if low > high:
        raise MidigenError(f"range {text!r} is upside down (low note above high note)")
    return low, high
