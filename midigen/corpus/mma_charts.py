"""Genres and chord charts for ``midigen corpus import mma``: what the band plays over.

Every chart is written in C (C major, or C minor for ``mode="minor"``) in lead-sheet symbols that both
MMA and ``chord_symbols.parse_progression`` read (bars split by ``|``, ``%`` repeats a bar), and lists the
genres whose idiom it belongs to. ``transpose_bars`` moves it to any key with the spelling of that key
(B♭7 in F, A♯m7♭5 in G♯ minor), ``mma_bar`` writes one bar as an MMA chord line for a groove of any
number of beats. A chart is one *family* for the held-out split: its transpositions and tempos stay on
one side.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import MidigenError
from ..music.keys import KEY_NAMES

_LETTERS = "CDEFGAB"
_NATURAL_PC = (0, 2, 4, 5, 7, 9, 11)
_SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
_ROOT_RE = re.compile(r"^([A-G])([#b]?)(.*)$")
_AWKWARD = frozenset({"Cb", "Fb", "E#", "B#"})  # spelt enharmonically: not every tool reads them


@dataclass(frozen=True)
class Genre:
    name: str
    description: str
    major_keys: tuple[int, ...]  # tonic pitch classes the idiom is usually played in
    minor_keys: tuple[int, ...]
    ending: tuple[str, str] = ("C", "Cm")  # the final chord in C major and C minor (a jazz band ends on C6)

    def ending_chord(self, mode: str) -> str:
        return self.ending[mode == "minor"]


_HORN_MAJOR, _HORN_MINOR = (0, 5, 10, 3, 8, 1, 7), (0, 2, 7, 5, 10, 3, 9)  # flat keys: horns, piano
_GUITAR_MAJOR, _GUITAR_MINOR = (4, 9, 2, 7, 0, 11, 5), (4, 9, 11, 2, 6, 7, 0)  # open-string keys
_ALL_KEYS = tuple(range(12))
_SIXTH = ("C6", "Cm6")
_MAJ7 = ("Cmaj7", "Cm7")

GENRES: dict[str, Genre] = {g.name: g for g in (
    Genre("jazz", "small-group jazz: bebop, modern, cool, slow jazz, jazz waltz, 5/4", _HORN_MAJOR, _HORN_MINOR, _SIXTH),
    Genre("swing", "swing and big band, foxtrot, quickstep, gypsy jazz", _HORN_MAJOR, _HORN_MINOR, _SIXTH),
    Genre("trad-jazz", "dixieland, ragtime, charleston", _HORN_MAJOR, _HORN_MINOR, _SIXTH),
    Genre("show", "Broadway and show tunes, soft shoe", _HORN_MAJOR, _HORN_MINOR, _SIXTH),
    Genre("ballad", "pop, rock and piano ballads, 12/8 and 6/8 ballads, slow 16-beat", _ALL_KEYS, _ALL_KEYS, _MAJ7),
    Genre("latin", "bossa nova, samba, rhumba, mambo, salsa, cha-cha, bolero, beguine, tango, calypso, merengue",
          _HORN_MAJOR, _HORN_MINOR, _MAJ7),
    Genre("rock", "rock'n'roll, 60s rock, 8-beat, hard rock, metal, twist, jive", _GUITAR_MAJOR, _GUITAR_MINOR),
    Genre("pop", "pop, 16-beat, soft rock, disco pop, pop shuffle", _ALL_KEYS, _ALL_KEYS),
    Genre("funk", "funk, soul, R&B, Motown, disco soul, fusion", _ALL_KEYS, _ALL_KEYS, ("C9", "Cm9")),
    Genre("blues", "12-bar and 8-bar blues, shuffles, boogie-woogie, 12/8 and 6/8 blues", _GUITAR_MAJOR, _GUITAR_MINOR, ("C7", "Cm7")),
    Genre("country", "country, bluegrass, western swing, country waltz", _GUITAR_MAJOR, _GUITAR_MINOR),
    Genre("waltz", "waltzes: Viennese, French, slow and fast", _HORN_MAJOR, _HORN_MINOR),
    Genre("march", "marches in 2/4, 4/4 and 6/8", _HORN_MAJOR, _HORN_MINOR),
    Genre("folk", "folk, folk ballad, polka, zydeco", _GUITAR_MAJOR, _GUITAR_MINOR),
    Genre("gospel", "hymns and spirituals", _HORN_MAJOR, _HORN_MINOR),
    Genre("reggae", "reggae and ska", _ALL_KEYS, _ALL_KEYS),
    Genre("electronic", "dance, house, techno, trance, hip-hop, trip-hop, ambient", _ALL_KEYS, _ALL_KEYS),
)}


@dataclass(frozen=True)
class Chart:
    name: str  # the chart family: unique, stable (file names and the split use it)
    mode: str  # "major" or "minor": the chart is written in C major or C minor
    progression: str  # bars in C, "|"-separated, "%" repeats the bar before
    genres: tuple[str, ...]
    description: str = ""

    @property
    def bars(self) -> list[list[str]]:
        return split_bars(self.progression)

    @property
    def n_bars(self) -> int:
        return len(self.bars)

    def fits(self, beats: int) -> bool:
        """Whether every bar's chords share a bar of ``beats`` beats evenly (no 2-chord bars in 3/4)."""
        return all(beats % len(bar) == 0 for bar in self.bars)


_JAZZ = ("jazz", "swing")
CHARTS: tuple[Chart, ...] = (
    # --- jazz and swing -------------------------------------------------------------------------
    Chart("ii-v-i-major", "major", "Dm7 | G7 | Cmaj7 | Cmaj7 | Dm7 | G7 | Cmaj7 | G7", (*_JAZZ, "latin", "show"),
          "major ii-V-I, twice"),
    Chart("ii-v-i-minor", "minor", "Dm7b5 | G7b9 | Cm6 | Cm6 | Dm7b5 | G7b9 | Cm6 | G7", (*_JAZZ, "latin"),
          "minor ii-V-i, twice"),
    Chart("autumn-cycle", "minor", "Fm7 | Bb7 | Ebmaj7 | Abmaj7 | Dm7b5 | G7b9 | Cm6 | Cm6 | "
          "Dm7b5 | G7b9 | Cm6 | Cm6 | Fm7 | Bb7 | Ebmaj7 | Ebmaj7 | Dm7b5 | G7b9 | Cm7 | C7 | Fm7 | Bb7 | Ebmaj7 | Abmaj7 | "
          "Dm7b5 | G7b9 | Cm6 | %", (*_JAZZ, "latin", "ballad"), "cycle of fifths in the relative major and minor, 28 bars"),
    Chart("standard-aaba", "major", "Cmaj7 | A7 | Dm7 | G7 | Em7 | A7 | Dm7 | G7 | Cmaj7 | A7 | Dm7 | G7 | Dm7 | G7 | C6 | C6 | "
          "Gm7 | C7 | Fmaj7 | Fmaj7 | Am7 | D7 | Dm7 | G7 | Cmaj7 | A7 | Dm7 | G7 | Dm7 | G7 | C6 | C6",
          (*_JAZZ, "show", "latin", "ballad", "waltz"), "32-bar AABA song form, bridge in the subdominant"),
    Chart("rhythm-changes", "major", "C6 A7 | Dm7 G7 | Em7 A7 | Dm7 G7 | C6 C7 | F6 F#dim7 | Em7 A7 | Dm7 G7 | "
          "C6 A7 | Dm7 G7 | Em7 A7 | Dm7 G7 | C6 C7 | F6 F#dim7 | Dm7 G7 | C6 | "
          "E7 | % | A7 | % | D7 | % | G7 | % | C6 A7 | Dm7 G7 | Em7 A7 | Dm7 G7 | C6 C7 | F6 F#dim7 | Dm7 G7 | C6",
          _JAZZ, "rhythm changes, 32 bars AABA"),
    Chart("jazz-blues", "major", "C7 | F7 | C7 | Gm7 C7 | F7 | F#dim7 | C7 | Em7 A7 | Dm7 | G7 | C7 A7 | Dm7 G7",
          (*_JAZZ, "blues", "trad-jazz"), "12-bar jazz blues with the IV in bar 2 and a ii-V turnaround"),
    Chart("minor-blues", "minor", "Cm7 | Fm7 | Cm7 | Cm7 | Fm7 | Fm7 | Cm7 | Cm7 | Ab7 | G7 | Cm7 | G7",
          (*_JAZZ, "blues", "funk"), "12-bar minor blues"),
    Chart("dominant-cycle", "major", "A7 | % | D7 | % | G7 | % | C6 | % | A7 | % | D7 | % | Dm7 | G7 | C6 | G7",
          (*_JAZZ, "trad-jazz", "show"), "dominant chain VI7-II7-V7-I, 16 bars"),
    Chart("turnaround-vamp", "major", "Cmaj7 Am7 | Dm7 G7 | Em7 A7 | Dm7 G7 | Cmaj7 Am7 | Dm7 G7 | Cmaj7 | Cmaj7",
          (*_JAZZ, "show", "latin"), "I-vi-ii-V turnarounds"),
    Chart("modal-vamp", "minor", "Cm7 | % | % | % | % | % | % | % | Dbm7 | % | % | % | Cm7 | % | % | %",
          ("jazz", "funk"), "dorian vamp with a half-step-up middle section"),
    Chart("line-cliche", "minor", "Cm | CmM7 | Cm7 | Cm6 | Fm7 | Bb7 | Ebmaj7 | Abmaj7 | Dm7b5 | G7b9 | Cm | CmM7 | Cm7 | Cm6 | "
          "Dm7b5 | G7", ("jazz", "latin", "ballad", "show"), "minor line cliche into the relative major"),
    Chart("ballad-changes", "major", "Cmaj7 | Am7 | Dm7 | G7 | Em7 | Ebdim7 | Dm7 | G7 | Fmaj7 | Fm6 | Em7 | A7 | Dm7 | G7 | C6 | G7",
          ("jazz", "ballad", "show", "swing"), "slow-standard changes with a passing diminished and minor iv"),
    # --- trad jazz, show, march, gospel ---------------------------------------------------------
    Chart("ragtime-16", "major", "C | % | A7 | % | D7 | % | G7 | % | C | % | A7 | % | D7 | G7 | C | G7",
          ("trad-jazz", "show", "swing", "country"), "ragtime secondary dominants, 16 bars"),
    Chart("dixie-16", "major", "C | % | G7 | % | G7 | % | C | C7 | F | Fm | C | A7 | D7 | G7 | C | G7",
          ("trad-jazz", "march", "gospel"), "dixieland strain with the minor iv"),
    Chart("march-16", "major", "C | % | G7 | C | C | A7 | D7 | G7 | C | % | F | D7 | C | G7 | C | %",
          ("march", "trad-jazz", "folk"), "march strain, 16 bars"),
    Chart("march-trio", "major", "C | % | G7 | C | C | % | D7 | G7 | C | % | F | Fm | C | G7 | C | %",
          ("march",), "march trio with the minor subdominant"),
    Chart("march-strain-b", "major", "G7 | % | C | % | G7 | % | C | C7 | F | % | C | A7 | D7 | G7 | C | %",
          ("march", "trad-jazz"), "second strain opening on the dominant"),
    Chart("trad-strain", "major", "C | % | G7 | % | G7 | % | C | % | C | C7 | F | F#dim7 | C | G7 | C | %",
          ("trad-jazz", "march", "show"), "16-bar strain with a passing diminished"),
    Chart("march-minor", "minor", "Cm | % | G7 | Cm | Cm | % | D7 | G7 | Cm | C7 | Fm | Ab | Cm | G7 | Cm | %",
          ("march", "waltz", "folk"), "minor-key strain"),
    Chart("spiritual-16", "major", "C | % | F | C | C | % | G7 | % | C | C7 | F | Fm | C | G7 | C | %",
          ("gospel", "folk", "country"), "16-bar spiritual with the plagal minor iv"),
    Chart("hymn-8", "major", "C | F | C | G | C | F | G7 | C", ("gospel", "folk", "waltz"), "hymn phrase I-IV-V"),
    Chart("gospel-minor", "minor", "Cm | Fm | Cm | G7 | Cm | Fm | Cm G7 | Cm", ("gospel", "folk", "blues"), "minor spiritual"),
    Chart("gospel-turnaround", "major", "C | C7 | F | Fm | C | A7 | D7 | G7", ("gospel", "ballad", "funk"),
          "I-I7-IV-iv with a VI7-II7-V7 turnaround"),
    # --- blues ----------------------------------------------------------------------------------
    Chart("blues-12", "major", "C7 | C7 | C7 | C7 | F7 | F7 | C7 | C7 | G7 | F7 | C7 | G7",
          ("blues", "rock", "country", "funk", "swing"), "12-bar blues"),
    Chart("blues-quick-change", "major", "C7 | F7 | C7 | C7 | F7 | F7 | C7 | C7 | G7 | F7 | C7 | G7",
          ("blues", "rock", "swing", "trad-jazz"), "12-bar blues with the quick change to IV"),
    Chart("blues-8", "major", "C7 | G7 | F7 | F7 | C7 | G7 | C7 | G7", ("blues", "country", "folk", "gospel"), "8-bar blues"),
    Chart("rock-blues", "major", "C | C | C | C | F | F | C | C | G | F | C | G", ("rock", "blues", "country"),
          "12-bar blues in triads"),
    # --- rock, pop, ballad -----------------------------------------------------------------------
    Chart("rock-mixolydian", "major", "C | Bb | F | C | C | Bb | F | G", ("rock", "pop", "reggae"), "I-bVII-IV-I"),
    Chart("rock-three-chord", "major", "C | F | G | F | C | F | G | C", ("rock", "country", "folk", "reggae"), "I-IV-V-IV"),
    Chart("aeolian-rock", "minor", "Cm | Ab | Bb | Cm | Cm | Ab | Bb | Bb", ("rock", "pop", "electronic", "ballad"),
          "i-bVI-bVII"),
    Chart("andalusian", "minor", "Cm | Bb | Ab | G | Cm | Bb | Ab | G", ("rock", "latin", "pop", "folk"),
          "Andalusian cadence i-bVII-bVI-V"),
    Chart("minor-riff", "minor", "Cm | % | Eb | F | Cm | % | Ab | G", ("rock", "funk"), "minor riff changes"),
    Chart("pop-axis", "major", "C | G | Am | F | C | G | Am | F", ("pop", "rock", "ballad", "reggae", "electronic"), "I-V-vi-IV"),
    Chart("pop-axis-minor-start", "major", "Am | F | C | G | Am | F | C | G", ("pop", "rock", "electronic", "ballad"),
          "vi-IV-I-V"),
    Chart("doo-wop", "major", "C | Am | F | G | C | Am | F | G", ("pop", "rock", "ballad", "reggae", "waltz"),
          "50s progression I-vi-IV-V"),
    Chart("canon", "major", "C | G | Am | Em | F | C | F | G", ("pop", "ballad", "folk", "waltz"), "Pachelbel bass line"),
    Chart("pop-i-iv-vi-v", "major", "C | F | Am | G | C | F | Am | G", ("pop", "rock", "country", "electronic"), "I-IV-vi-V"),
    Chart("verse-chorus", "major", "Am | F | C | G | Am | F | C | G | C | G | Am | F | C | G | F | G",
          ("pop", "rock", "ballad", "electronic"), "16 bars: minor-centred verse, major chorus"),
    Chart("pop-minor", "minor", "Cm | Ab | Eb | Bb | Cm | Ab | Eb | Bb", ("pop", "electronic", "ballad"), "i-bVI-bIII-bVII"),
    Chart("pop-ballad", "major", "C | Em | Am | F | Dm7 | G7 | C | G7 | C | Em | Am | F | Dm7 | G7 | C | C",
          ("ballad", "pop", "gospel"), "16-bar ballad with a ii-V cadence"),
    Chart("power-ballad", "major", "C | Csus4 | F | C | Am | F | Dsus4 | G | C | Csus4 | F | C | Am | F | G | C",
          ("ballad", "rock"), "sus chords and I-vi-IV-V, 16 bars"),
    # --- funk, soul, R&B --------------------------------------------------------------------------
    Chart("funk-i7", "minor", "Cm7 | % | % | % | F7 | % | Cm7 | %", ("funk", "electronic", "jazz"), "dorian i7-IV7 vamp"),
    Chart("funk-dominant", "major", "C9 | % | % | % | F9 | % | C9 | G9", ("funk", "blues"), "one-chord dominant funk with a IV"),
    Chart("soul-ii-v", "major", "Dm7 | G7 | Dm7 | G7 | Em7 | Am7 | Dm7 | G7", ("funk", "pop", "latin"), "ii-V soul vamp"),
    Chart("neo-soul", "major", "Fmaj7 | Em7 | Dm7 | Cmaj7 | Fmaj7 | Em7 | Dm7 G7 | Cmaj7", ("funk", "ballad", "pop", "electronic"),
          "descending IV-iii-ii-I"),
    Chart("minor-soul", "minor", "Cm9 | Fm9 | Cm9 | Fm9 | Abmaj7 | G7 | Cm9 | G7", ("funk", "electronic", "ballad"),
          "i-iv minor soul with bVI-V"),
    # --- latin ------------------------------------------------------------------------------------
    Chart("bossa-a", "major", "Cmaj7 | % | D7 | % | Dm7 | Db7 | Cmaj7 | Db7", ("latin", "jazz"), "bossa A strain with tritone subs"),
    Chart("minor-bossa", "minor", "Cm6 | % | Fm7 | Bb7 | Ebmaj7 | Abmaj7 | Dm7b5 | G7b9 | Cm6 | % | Fm7 | Bb7 | Ebmaj7 | "
          "Abmaj7 | Dm7b5 | G7b9", ("latin", "jazz"), "16-bar minor bossa"),
    Chart("samba-16", "major", "C6 | % | A7 | % | Dm7 | G7 | C6 | G7 | C6 | % | C7 | F6 | Fm6 | C6 | Dm7 | G7",
          ("latin",), "samba changes"),
    Chart("montuno-major", "major", "C F | G7 F | C F | G7 C | C F | G7 F | C F | G7 C", ("latin", "reggae"),
          "I-IV-V-IV montuno"),
    Chart("montuno-minor", "minor", "Cm Fm | G7 Cm | Cm Fm | G7 Cm | Cm Fm | G7 Cm | Fm G7 | Cm", ("latin", "electronic"),
          "i-iv-V minor montuno"),
    Chart("latin-minor", "minor", "Cm7 | Fm7 | Cm7 | G7 | Cm7 | Fm7 | Dm7b5 | G7", ("latin", "funk", "waltz"), "minor latin vamp"),
    Chart("tango-minor", "minor", "Cm | % | G7 | % | G7 | % | Cm | % | C7 | Fm | Cm | Ab7 | G7 | % | Cm | %",
          ("latin", "waltz"), "tango strain"),
    Chart("bolero", "major", "C | Am | Dm7 | G7 | C | C7 | F | Fm | C | Am | Dm7 | G7 | Em7 | A7 | Dm7 | G7",
          ("latin", "ballad"), "bolero changes with the minor iv"),
    Chart("calypso", "major", "C | F | G7 | C | C | F | G7 | C", ("latin", "reggae", "folk"), "I-IV-V7-I"),
    # --- country, folk, waltz ---------------------------------------------------------------------
    Chart("country-16", "major", "C | C | F | F | C | C | G7 | G7 | C | C | F | F | C | G7 | C | C",
          ("country", "folk", "waltz"), "16-bar I-IV-V"),
    Chart("country-ii7-v7", "major", "C | % | D7 | % | G7 | % | C | % | C | C7 | F | % | D7 | G7 | C | %",
          ("country", "swing", "waltz", "folk"), "secondary dominant II7-V7-I"),
    Chart("honky-tonk", "major", "C | C7 | F | F | G7 | G7 | C | G7", ("country", "rock", "blues"), "I-I7-IV-V7"),
    Chart("folk-i-v", "major", "C | G7 | G7 | C | C | G7 | G7 | C", ("folk", "waltz", "march", "country"), "tonic and dominant"),
    Chart("folk-minor", "minor", "Cm | Fm | G7 | Cm | Cm | Fm | G7 | Cm", ("folk", "waltz", "latin"), "i-iv-V7-i"),
    Chart("waltz-16", "major", "C | % | G7 | % | G7 | % | C | % | C | C7 | F | % | C | G7 | C | %", ("waltz", "folk", "country"),
          "16-bar waltz strain"),
    Chart("waltz-minor", "minor", "Cm | % | G7 | % | G7 | % | Cm | % | Cm | C7 | Fm | % | Cm | G7 | Cm | %", ("waltz", "folk"),
          "16-bar minor waltz strain"),
    # --- reggae, electronic ---------------------------------------------------------------------
    Chart("reggae-i-iv", "major", "C | F | C | F | C | F | G | G", ("reggae", "pop"), "I-IV skank"),
    Chart("reggae-minor", "minor", "Cm7 | Fm7 | Cm7 | Fm7 | Cm7 | Fm7 | Ab | G7", ("reggae", "electronic"), "minor i-iv skank"),
    Chart("minor-loop", "minor", "Cm | Ab | Eb | Bb | Cm | Ab | Bb | Bb", ("electronic", "pop"), "minor four-chord loop"),
    Chart("house-minor", "minor", "Cm7 | Fm7 | Cm7 | Fm7 | Abmaj7 | Bb | Cm7 | Cm7", ("electronic", "funk"), "minor 7th house changes"),
)

_CHART_BY_NAME = {c.name: c for c in CHARTS}


def chart(name: str) -> Chart:
    if name not in _CHART_BY_NAME:
        raise MidigenError(f"unknown chart {name!r}")
    return _CHART_BY_NAME[name]


def charts_for(genre: str, beats: int) -> list[Chart]:
    """The charts of a genre that fit a bar of ``beats`` beats, in table order."""
    return [c for c in CHARTS if genre in c.genres and c.fits(beats)]


def split_bars(progression: str) -> list[list[str]]:
    """[[symbols of bar 1], …] from "Dm7 | G7 | Cmaj7 Am7 | %" (``%`` copies the bar before)."""
    bars: list[list[str]] = []
    for cell in progression.strip().strip("|").split("|"):
        symbols = cell.split()
        if symbols == ["%"]:
            if not bars:
                raise MidigenError(f"chart {progression[:30]!r}…: '%' in the first bar")
            symbols = list(bars[-1])
        if not symbols:
            raise MidigenError(f"chart {progression[:30]!r}…: an empty bar")
        bars.append(symbols)
    return bars


def key_tonic_name(key: int) -> str:
    """"Bb" for B♭ major, "G#" for G♯ minor: the tonic as midigen's KEY_NAMES spell it."""
    return KEY_NAMES[key].split()[0]


def transpose_symbol(symbol: str, key: int) -> str:
    """A chord of a chart in C (major or minor) moved to ``key``, spelt by letter: the chart's B♭ becomes
    E♭ in F, its A♭7 becomes E7 in G♯ minor; spellings no tool likes (C♭, E♯, double accidentals) go
    enharmonic, with the key's own accidental."""
    match = _ROOT_RE.match(symbol)
    if not match:
        raise MidigenError(f"not a chord symbol: {symbol!r}")
    letter, accidental, rest = match.groups()
    tonic = key_tonic_name(key)
    shift_letters = _LETTERS.index(tonic[0])
    shift_semitones = key % 12
    pc = (_NATURAL_PC[_LETTERS.index(letter)] + {"": 0, "#": 1, "b": -1}[accidental] + shift_semitones) % 12
    new_letter = _LETTERS[(_LETTERS.index(letter) + shift_letters) % 7]
    offset = (pc - _NATURAL_PC[_LETTERS.index(new_letter)] + 6) % 12 - 6
    root = new_letter + {0: "", 1: "#", -1: "b"}.get(offset, "?")
    if "?" in root or root in _AWKWARD:
        flat_key = "b" in tonic or tonic == "F" or (key >= 12 and tonic in ("C", "D", "G"))
        root = (_FLAT_NAMES if flat_key else _SHARP_NAMES)[pc]
    return root + rest


def transpose_bars(bars: list[list[str]], key: int) -> list[list[str]]:
    return [[transpose_symbol(s, key) for s in bar] for bar in bars]


def progression_text(bars: list[list[str]]) -> str:
    """Bars back in lead-sheet form: "Dm7 | G7 | Cmaj7 Am7"."""
    return " | ".join(" ".join(bar) for bar in bars)


def mma_bar(chords: list[str], beats: int) -> str:
    """One bar of an MMA chord line: the chords share the bar's beats evenly ("C / G /" in 4/4)."""
    if beats % len(chords):
        raise MidigenError(f"{len(chords)} chords cannot share a bar of {beats} beats evenly")
    if len(chords) == 1:
        return chords[0]
    per = beats // len(chords)
    return " ".join(" ".join([c] + ["/"] * (per - 1)) for c in chords)
