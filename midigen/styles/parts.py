"""The parts a style can write: names, programs and pitch ranges, from its corpus statistics.

A style's parts are the tracks of its corpus's most common instrumentation, in the tokenizer's track
order (the order the corpus files list them, top voice first in vocal scores). They are named from two
tables: an ensemble of one melodic instrument takes the names of its voices (four voices: soprano,
alto, tenor, bass); otherwise a part is named by its General MIDI family (``piano``, ``bass``,
``drums`` …), numbered when a family occurs twice. Each voice of such an ensemble has its range from
``VOICE_RANGES_PITCH`` where the table has one; every other part, the style's whole range.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import MidigenError
from ..midi.general_midi import GM_NAMES_SHORT
from ..music.grid import DRUM_PROGRAM
from ..music.piece import Track

# Voices of an ensemble of one melodic instrument, top voice first.
VOICE_NAMES = {
    1: ("melody",),
    2: ("upper", "lower"),
    3: ("upper", "middle", "lower"),
    4: ("soprano", "alto", "tenor", "bass"),
}
# Lowest and highest pitch of each voice of the Bach chorales (corpora/bach-chorales, 364 pieces):
# the usual choral ranges, a little wider at the edges where Bach goes.
VOICE_RANGES_PITCH = {"soprano": (57, 81), "alto": (53, 74), "tenor": (48, 69), "bass": (36, 64)}


@dataclass(frozen=True)
class Part:
    name: str  # lower-case, no spaces: what --parts takes
    program: int  # General MIDI program 0..127, DRUM_PROGRAM for drums
    pitch_low: int
    pitch_high: int

    def __post_init__(self) -> None:
        if not (self.name and " " not in self.name and self.name == self.name.lower()):
            raise ValueError(f"bad part name {self.name!r}")
        if not 0 <= self.program <= DRUM_PROGRAM or not 0 <= self.pitch_low <= self.pitch_high <= 127:
            raise ValueError(f"bad part {self}")

    @property
    def is_drum(self) -> bool:
        return self.program == DRUM_PROGRAM

    @property
    def title(self) -> str:
        """The track name written to MIDI files: ``Soprano``, ``Bass 2``."""
        return self.name.replace("-", " ").capitalize()

    def track(self, program: int | None = None) -> Track:
        """The part as a track; ``program`` replaces a melodic part's instrument."""
        if self.is_drum:
            return Track(0, True, self.title)
        return Track(self.program if program is None else program, False, self.title)


def family_name(program: int) -> str:
    """The General MIDI family a program belongs to, as a part name: ``piano``, ``bass``, ``drums`` …"""
    if program == DRUM_PROGRAM:
        return "drums"
    return GM_NAMES_SHORT[program // 8].lower().rstrip(".").replace(" ", "-")


def _voices(programs: list[int]) -> tuple[str, ...] | None:
    """The voice names of an ensemble of one melodic instrument, else None."""
    melodic_once = len(set(programs)) == 1 and programs[0] != DRUM_PROGRAM
    return VOICE_NAMES.get(len(programs)) if melodic_once else None


def part_names(programs: list[int]) -> list[str]:
    """Names of the tracks of an instrumentation (see the module's docstring)."""
    voices = _voices(programs)
    if voices:
        return list(voices)
    families = [family_name(p) for p in programs]
    names = []
    for i, family in enumerate(families):
        repeats = families.count(family) > 1
        names.append(f"{family}-{families[:i + 1].count(family)}" if repeats else family)
    return names


def instrumentation_programs(text: str) -> list[int]:
    """"0,0,drums" -> [0, 0, DRUM_PROGRAM] (how corpus statistics write an instrumentation)."""
    return [DRUM_PROGRAM if p == "drums" else int(p) for p in str(text).split(",") if p != ""] or [0]


def style_parts(meta: dict) -> tuple[Part, ...]:
    """The parts of a style: its corpus's most common instrumentation, named, with pitch ranges."""
    stats = meta.get("corpus", {}).get("stats", {})
    instrumentations = stats.get("instrumentations") or {}
    programs_seen = stats.get("programs") or {}
    if instrumentations:
        programs = instrumentation_programs(max(instrumentations, key=instrumentations.get))
    else:  # older statistics: the most common program, as one track
        programs = instrumentation_programs(max(programs_seen, key=programs_seen.get) if programs_seen else "0")
    low, high = int(stats.get("pitch_min", 0)), int(stats.get("pitch_max", 127))
    if low > high:
        low, high = 0, 127
    ranges = VOICE_RANGES_PITCH if _voices(programs) else {}  # a "bass" guitar is no choir's bass
    parts = []
    for name, program in zip(part_names(programs), programs):
        part_low, part_high = ranges.get(name, (low, high))
        parts.append(Part(name, program, part_low, part_high))
    return tuple(parts)


def choose_parts(parts: tuple[Part, ...], names: tuple[str, ...], style: str, option: str = "--parts") -> tuple[Part, ...]:
    """The named parts, in the style's order; MidigenError listing the choices for an unknown name
    (``option``: the option that named them, for the message)."""
    known = {p.name: p for p in parts}
    choices = ", ".join(known)
    wanted = [n.strip().lower() for n in names]
    if not wanted or any(not n for n in wanted):
        raise MidigenError(f"{option} needs part names separated by commas (style {style} has: {choices})")
    for name in wanted:
        if name not in known:
            raise MidigenError(f"style {style} has no part {name!r} (its parts: {choices})")
    if len(set(wanted)) != len(wanted):
        raise MidigenError(f"{option} names a part twice ({', '.join(wanted)})")
    return tuple(p for p in parts if p.name in wanted)


def describe_parts(parts: tuple[Part, ...]) -> str:
    """One line for ``styles show``: ``soprano (program 0, 57-81), alto (…)``."""
    def program(p: Part) -> str:
        return "drums" if p.is_drum else f"program {p.program}"

    return ", ".join(f"{p.name} ({program(p)}, pitches {p.pitch_low}-{p.pitch_high})" for p in parts)


def usual_places(parts: tuple[Part, ...], programs: list[int]) -> list[float]:
    """Where each track of the instrumentation ``programs`` usually stands among the style's parts: the index
    of the style's first part of the same General MIDI family, else the middle. Sorting tracks by it puts
    them in the order the style's pieces have them (a band's drums first and its bass last)."""
    families = [p.name.rsplit("-", 1)[0] if p.name[-1].isdigit() else p.name for p in parts]
    middle = (len(parts) - 1) / 2
    return [float(families.index(family_name(p))) if family_name(p) in families else middle for p in programs]
