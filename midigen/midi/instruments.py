"""Part names from General MIDI programs, as a musician names the parts of a piece.

A track is named by what plays it (``PART_NAMES``: ``piano``, ``guitar``, ``bass``, ``strings``, ``lead``,
``pad``, ``drums`` …); the second and later tracks of one kind in a piece are numbered (``guitar``,
``guitar-2``). An ensemble of one instrument that sings in voices (``VOICE_KINDS``: a chorale written for
piano or choir, a string or sax quartet) takes voice names instead (``VOICE_NAMES``: soprano, alto, tenor,
bass). A name depends on the programs of the piece's tracks only, so corpus statistics, style bundles old
and new, and a take's header all name the same tracks the same way.
"""
from __future__ import annotations

from ..music.grid import DRUM_PROGRAM

# (first program, last program, part name): General MIDI's families, as musicians name the players.
PART_NAMES = (
    (0, 7, "piano"), (8, 15, "mallets"), (16, 20, "organ"), (21, 23, "accordion"), (24, 31, "guitar"),
    (32, 39, "bass"), (40, 51, "strings"), (52, 54, "choir"), (55, 55, "strings"), (56, 63, "brass"),
    (64, 67, "sax"), (68, 79, "winds"), (80, 87, "lead"), (88, 95, "pad"), (96, 103, "synth-fx"),
    (104, 111, "folk"), (112, 119, "percussion"), (120, 127, "effects"), (DRUM_PROGRAM, DRUM_PROGRAM, "drums"),
)
# Kinds whose one-instrument ensembles of 1-4 tracks are voices, top voice first.
VOICE_KINDS = frozenset({"piano", "organ", "strings", "choir", "brass", "sax", "winds"})
VOICE_NAMES = {
    1: ("melody",),
    2: ("upper", "lower"),
    3: ("upper", "middle", "lower"),
    4: ("soprano", "alto", "tenor", "bass"),
}

_KIND_OF_PROGRAM = tuple(next(name for first, last, name in PART_NAMES if first <= p <= last) for p in range(DRUM_PROGRAM + 1))


def kind_name(program: int) -> str:
    """What plays a program, as a part name: ``piano``, ``guitar``, ``drums`` … (``DRUM_PROGRAM``: drums)."""
    return _KIND_OF_PROGRAM[program]


def voice_names(programs) -> tuple[str, ...] | None:
    """The voice names of an ensemble of one instrument that sings in voices, else None."""
    programs = list(programs)
    one_kind = len(set(programs)) == 1 and kind_name(programs[0]) in VOICE_KINDS
    return VOICE_NAMES.get(len(programs)) if one_kind else None


def part_names(programs) -> list[str]:
    """Names of the tracks of a piece whose tracks have these programs (see the module's docstring)."""
    programs = list(programs)
    voices = voice_names(programs) if programs else None
    if voices:
        return list(voices)
    kinds = [kind_name(p) for p in programs]
    return [kind if kinds[:i].count(kind) == 0 else f"{kind}-{kinds[:i + 1].count(kind)}" for i, kind in enumerate(kinds)]


def kind_of_part(name: str) -> str:
    """``guitar-2`` -> ``guitar``: a part's name without its number."""
    base, _, number = name.rpartition("-")
    return base if base and number.isdigit() else name


def part_number(name: str) -> int:
    """``guitar-2`` -> 2, ``guitar`` -> 1: which of its kind a part is in its piece."""
    _, _, number = name.rpartition("-")
    return int(number) if name != kind_of_part(name) else 1
