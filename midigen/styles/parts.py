"""The parts a style can write: names, programs, pitch ranges and density, all from its corpus statistics.

A part is named from the programs of its piece's tracks (``midi.instruments``: ``soprano`` … ``bass`` in a
chorale; ``drums``, ``bass``, ``piano``, ``guitar-2`` in a band). A style *knows* every part that some
piece of its corpus has (``style_parts``), in the order its pieces have them (each part's mean place among
its piece's tracks, top voice first), with how many pieces have it, its commonest program, and its pitch
range (the ``corpus.part_stats.RANGE_PERCENTILES`` of its notes) and notes per bar from the corpus's
per-part statistics. A bundle made before those statistics existed gives every part the style's whole
range (``bench.restat`` refreshes a bundle's statistics from its corpus).

A take is written in one instrumentation the corpus really has (``take_parts``): drawn from the corpus's
instrumentations by how many pieces have each, from the take's seed (the commonest when sampling is
greedy), among those the tokenizer can say. ``--parts`` keeps the parts it names: the instrumentation is
drawn among the smallest of those that have them all (the model writes all of an instrumentation's parts,
and in a big one the parts kept play little), or, where none has them all, is exactly those parts, in the
style's order.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace

import numpy as np

from ..errors import MidigenError
from ..midi.instruments import kind_name, kind_of_part, part_names, part_number
from ..music.grid import DRUM_PROGRAM, MAX_TRACKS
from ..music.piece import Track

# What a seed draws from the corpus's counts, each from a stream of its own (``draw``).
DRAW_STREAMS = {"key": 1, "instrumentation": 2}


@dataclass(frozen=True)
class Part:
    name: str  # lower-case, no spaces: what --parts takes
    program: int  # General MIDI program 0..127, DRUM_PROGRAM for drums
    pitch_low: int
    pitch_high: int
    pieces: int = 0  # pieces of the corpus that have the part
    notes_per_bar: float | None = None  # None: the bundle's statistics predate per-part figures

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
        """The track name written to MIDI files: ``Soprano``, ``Guitar 2``."""
        return self.name.replace("-", " ").capitalize()

    def track(self, program: int | None = None) -> Track:
        """The part as a track; ``program`` replaces a melodic part's instrument."""
        if self.is_drum:
            return Track(0, True, self.title)
        return Track(self.program if program is None else program, False, self.title)


def instrumentation_programs(text: str) -> tuple[int, ...] | None:
    """"0,0,drums" -> (0, 0, DRUM_PROGRAM), as corpus statistics write an instrumentation; None unless the
    tokenizer can say it (1 to MAX_TRACKS tracks of known programs)."""
    try:
        programs = tuple(DRUM_PROGRAM if p == "drums" else int(p) for p in str(text).split(","))
    except ValueError:
        return None
    return programs if 1 <= len(programs) <= MAX_TRACKS and all(0 <= p <= DRUM_PROGRAM for p in programs) else None


def _stats(meta: dict) -> dict:
    return (meta.get("corpus") or {}).get("stats") or {}


def corpus_instrumentations(meta: dict) -> list[tuple[tuple[int, ...], int]]:
    """(programs, pieces) of each instrumentation of the style's corpus the tokenizer can say, commonest first
    (older statistics without instrumentations: the commonest program, as one track)."""
    stats = _stats(meta)
    counts = stats.get("instrumentations") or {}
    if not counts:
        programs = stats.get("programs") or {}
        counts = {max(programs, key=programs.get) if programs else "0": 1}
    rows = [(instrumentation_programs(text), n) for text, n in counts.items() if isinstance(n, int) and n > 0]
    rows = sorted(((p, n) for p, n in rows if p is not None), key=lambda row: (-row[1], row[0]))
    return rows or [((0,), 1)]


def _whole_range(stats: dict) -> tuple[int, int]:
    low, high = stats.get("pitch_min", 0), stats.get("pitch_max", 127)
    ok = isinstance(low, int) and isinstance(high, int) and 0 <= low <= high <= 127
    return (low, high) if ok else (0, 127)


def _part(stats: dict, name: str, program: int, pieces: int) -> Part:
    """A part with its figures from the per-part statistics where the bundle has them."""
    figures = (stats.get("parts") or {}).get(name) or {}
    low, high = figures.get("pitch_low"), figures.get("pitch_high")
    if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high <= 127):
        low, high = _whole_range(stats)
    density = figures.get("notes_per_bar")
    return Part(name, program, low, high, pieces, float(density) if isinstance(density, (int, float)) else None)


def style_parts(meta: dict) -> tuple[Part, ...]:
    """Every part the style's corpus has, in the order its pieces have them (see the module's docstring)."""
    pieces: Counter = Counter()
    places: defaultdict = defaultdict(float)
    programs: defaultdict = defaultdict(Counter)
    for instrumentation, n in corpus_instrumentations(meta):
        last = max(len(instrumentation) - 1, 1)
        for place, (name, program) in enumerate(zip(part_names(instrumentation), instrumentation)):
            pieces[name] += n
            places[name] += n * place / last
            programs[name][program] += n
    def place(name: str) -> float:  # a numbered part stands after the first of its kind (``guitar-2`` after ``guitar``)
        kind = kind_of_part(name) if kind_of_part(name) in pieces else name
        return places[kind] / pieces[kind]

    order = sorted(pieces, key=lambda name: (place(name), kind_of_part(name), part_number(name), name))
    stats = _stats(meta)
    return tuple(_part(stats, name, programs[name].most_common(1)[0][0], pieces[name]) for name in order)


def instrumentation_parts(meta: dict, programs: tuple[int, ...]) -> tuple[Part, ...]:
    """The parts of one instrumentation, named from its programs, each with the program it has there."""
    known = {p.name: p for p in style_parts(meta)}
    return tuple(replace(known[name], program=program) if name in known else _part(_stats(meta), name, program, 0)
                 for name, program in zip(part_names(programs), programs))


def common_parts(meta: dict) -> tuple[Part, ...]:
    """The parts of the corpus's commonest instrumentation."""
    return instrumentation_parts(meta, corpus_instrumentations(meta)[0][0])


def draw(counts: list[tuple[object, int]], seed: int, stream: str, greedy: bool = False):
    """One item of ``counts`` ((item, weight) pairs, commonest first), drawn by weight from ``seed`` on its
    own ``DRAW_STREAMS`` stream; the first when ``greedy``."""
    if greedy or len(counts) == 1:
        return counts[0][0]
    cumulative = np.cumsum(np.asarray([n for _, n in counts], dtype=np.float64))
    rng = np.random.default_rng([DRAW_STREAMS[stream], int(seed) & 0xFFFF_FFFF_FFFF_FFFF])
    return counts[int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))][0]


def take_parts(meta: dict, seed: int, names: tuple[str, ...] | None = None, greedy: bool = False) -> tuple[Part, ...]:
    """The parts a take is written with, its header's instrumentation (see the module's docstring)."""
    rows = corpus_instrumentations(meta)
    if names is not None:
        rows = [(programs, n) for programs, n in rows if set(names) <= set(part_names(programs))]
        if not rows:
            return tuple(p for p in style_parts(meta) if p.name in names)
        fewest = min(len(programs) for programs, _ in rows)  # the parts asked for carry the texture, not a big band
        rows = [(programs, n) for programs, n in rows if len(programs) == fewest]
    return instrumentation_parts(meta, draw(rows, seed, "instrumentation", greedy))


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


def describe_parts(parts: tuple[Part, ...], pieces: int | None = None) -> str:
    """One line for ``styles show``: ``soprano (program 0, pitches 62-79, 3.5 notes a bar, 364 of 364 pieces), …``."""
    def one(p: Part) -> str:
        figures = ["drums" if p.is_drum else f"program {p.program}, pitches {p.pitch_low}-{p.pitch_high}"]
        figures += [f"{p.notes_per_bar:g} notes a bar"] if p.notes_per_bar is not None else []
        figures += [f"{p.pieces} of {pieces} pieces" if pieces else f"{p.pieces} pieces"] if p.pieces else []
        return f"{p.name} ({', '.join(figures)})"

    return ", ".join(one(p) for p in parts)


def describe_instrumentations(meta: dict, n: int = 4) -> str:
    """The commonest instrumentations, named: ``drums+piano+bass (40), …`` (those named alike counted together)."""
    named: Counter = Counter()
    for programs, count in corpus_instrumentations(meta):
        named["+".join(part_names(programs))] += count
    shown = ", ".join(f"{names} ({count})" for names, count in named.most_common(n))
    return shown + (f" and {len(named) - n} more" if len(named) > n else "")


def usual_places(parts: tuple[Part, ...], programs: list[int]) -> list[float]:
    """Where each track of the instrumentation ``programs`` usually stands among the style's parts: the index
    of the style's first part of the same kind (``guitar`` for ``guitar-2``), else the middle. Sorting tracks by
    it puts them in the order the style's pieces have them (a band's drums first and its bass last)."""
    kinds = [kind_of_part(p.name) for p in parts]
    middle = (len(parts) - 1) / 2
    return [float(kinds.index(kind_name(p))) if kind_name(p) in kinds else middle for p in programs]
