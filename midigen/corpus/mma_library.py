"""MMA's groove library as ``midigen corpus import mma`` sees it: the ``mma`` program, its groove files, a
genre and tempo range for each file, the role of each groove (intro, main, fill, ending) and the meter
it really plays in.

Behaviour lives in the tables: ``LIBRARY`` (file -> genre and tempo range), ``ROLE_PATTERNS`` (groove
name -> role) and ``METER_CONVENTIONS`` (MMA's beats per bar and time signature -> the meter to write).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import MidigenError, file_error
from ..fsutil import atomic_write_json
from .mma_charts import GENRES

INSTALL_HINT = "install it with `sudo apt-get install mma`"
COPYRIGHT_FILE = Path("/usr/share/doc/mma/copyright")
PROBE_TIMEOUT_S = 120
DEFAULT_LIBRARIES = ("stdlib", "casio", "yamaha", "kara", "pflib", "alexis")  # zoom: drum-machine patterns only


@dataclass(frozen=True)
class LibraryRow:
    genre: str
    tempo_bpm: tuple[int, int]  # quarter notes per minute as written in the MIDI file (6/8: 3 quarters a bar)
    files: str  # space-separated "library/stem" names


# Every groove file of MMA 21.09's library, by genre; a file missing here (a newer MMA) is listed as unmapped, not guessed.
LIBRARY: tuple[LibraryRow, ...] = (
    LibraryRow("jazz", (160, 260), "stdlib/bebop stdlib/gypsyjazz"),
    LibraryRow("jazz", (110, 200), "stdlib/jazzcombo stdlib/jazzguitar stdlib/modernjazz stdlib/descendingjazz stdlib/desert "
               "casio/jazzcombo casio/modernjazz yamaha/jazzGrtrio yamaha/jazztrio zoom/jazz zoom/jazz04"),
    LibraryRow("jazz", (60, 100), "stdlib/evansish stdlib/mellowjazz stdlib/nitejazz stdlib/slowjazz"),
    LibraryRow("jazz", (84, 132), "stdlib/folkyjazz"),
    LibraryRow("jazz", (132, 184), "stdlib/jazz-54"),
    LibraryRow("jazz", (120, 184), "stdlib/jazzwaltz stdlib/modernjazzwaltz casio/jazzwaltz yamaha/jazzwaltz"),
    LibraryRow("jazz", (184, 250), "stdlib/fastjazzwaltz"),
    LibraryRow("swing", (116, 184), "stdlib/swing stdlib/bigband casio/swing casio/middlebigband yamaha/jazzbasie "
               "yamaha/jazzswing yamaha/jazzbouncy"),
    LibraryRow("swing", (184, 276), "stdlib/fastswing casio/fastbigband"),
    LibraryRow("swing", (84, 126), "stdlib/easyswing casio/slowswing casio/slowbigband"),
    LibraryRow("swing", (112, 144), "stdlib/foxtrot casio/foxtrot"),
    LibraryRow("swing", (184, 216), "stdlib/quickstep casio/quickstep"),
    LibraryRow("swing", (132, 216), "stdlib/68swing"),  # 6/8: 88-144 dotted quarters
    LibraryRow("trad-jazz", (160, 232), "stdlib/dixie stdlib/charleston"),
    LibraryRow("trad-jazz", (100, 160), "stdlib/ragtime"),
    LibraryRow("show", (100, 152), "stdlib/broadway stdlib/showtune stdlib/softshoe"),
    LibraryRow("show", (66, 96), "stdlib/slowbroadway"),
    LibraryRow("show", (120, 176), "stdlib/broadwaywaltz"),
    LibraryRow("ballad", (60, 96), "stdlib/ballad stdlib/guitarballad stdlib/pianoballad stdlib/popballad stdlib/rockballad "
               "stdlib/stringballad stdlib/rb-ballad stdlib/lullaby stdlib/arpeggio44 casio/16beatballad1 casio/16beatballad2 "
               "casio/16beatballad3 casio/8beatballad1 casio/8beatballad2 casio/8beatballad3 casio/oldieballad casio/popballad "
               "casio/serenade casio/slow16beat casio/slowrock kara/kwestballad pflib/slowrock zoom/bald zoom/bald34"),
    LibraryRow("ballad", (54, 80), "stdlib/ballad128 stdlib/rock-128"),  # 12/8 written as 4/4 triplets: dotted-quarter beats
    LibraryRow("ballad", (84, 132), "stdlib/ballad68 stdlib/arpeggio68 casio/68ballad"),  # 12/8 and 6/8
    LibraryRow("latin", (112, 152), "stdlib/bossanova stdlib/beguine stdlib/jazzrhumba stdlib/rhumba stdlib/chacha stdlib/afro-cuban "
               "stdlib/cubanguitar stdlib/lfusion stdlib/calypso stdlib/son yamaha/jazzbossa kara/kbossa casio/latinfusion "
               "zoom/bossa zoom/afro zoom/latin"),
    LibraryRow("latin", (88, 126), "stdlib/samba yamaha/quando-g.s280 zoom/samba"),
    LibraryRow("latin", (160, 208), "stdlib/mambo stdlib/salsa yamaha/mambo yamaha/salsa1 yamaha/salsa2"),
    LibraryRow("latin", (120, 160), "stdlib/merengue"),
    LibraryRow("latin", (72, 100), "stdlib/bolero"),
    LibraryRow("latin", (58, 76), "stdlib/slowbolero"),
    LibraryRow("latin", (112, 132), "stdlib/tango stdlib/lighttango"),
    LibraryRow("latin", (126, 168), "stdlib/latinwaltz"),
    LibraryRow("rock", (138, 184), "stdlib/50srock stdlib/jive stdlib/twist casio/twist kara/K50s_rock kara/fasttwist kara/twi"),
    LibraryRow("rock", (100, 144), "stdlib/60srock stdlib/8beat stdlib/basicrock stdlib/bubblerock stdlib/folkrock stdlib/strut "
               "casio/60srock casio/digitalrock casio/poprock1 casio/poprock2 casio/rock1 casio/rock2 casio/shufflerock "
               "pflib/8beat1 pflib/8beat2 pflib/rock1 pflib/highfive yamaha/w-rock zoom/beat8 zoom/rock zoom/rock34 zoom/hrk"),
    LibraryRow("rock", (120, 176), "casio/heavymetal pflib/metal1 pflib/metal2 zoom/mtl zoom/punk zoom/thr"),
    LibraryRow("rock", (120, 168), "stdlib/rockwaltz"),
    LibraryRow("pop", (88, 126), "stdlib/softrock stdlib/boneym casio/16beat1 casio/16beat2 casio/16beat3 casio/16shuffle1 "
               "casio/16shuffle2 casio/60spop casio/80spop casio/8beat1 casio/8beat2 casio/8beat3 casio/8beatpop1 casio/8beatpop2 "
               "casio/8beatpop3 casio/dancepop1 casio/dancepop2 casio/dancepop3 casio/electricpop casio/pop casio/popshuffle1 "
               "casio/popshuffle2 casio/soulpop casio/worldpop kara/happyshuffle pflib/16beat1 pflib/16beat2 zoom/beat16 zoom/pop"),
    LibraryRow("pop", (120, 168), "casio/popwaltz"),
    LibraryRow("funk", (88, 120), "stdlib/bvfunk stdlib/dsoul stdlib/rb stdlib/jazzrock casio/60ssoul casio/discosoul casio/funk1 "
               "casio/funk2 casio/fusion casio/modernrb casio/r+b casio/soul kara/8beatmotown kara/Kfunk1 zoom/funk zoom/fus16 "
               "zoom/fusion zoom/rnb"),
    LibraryRow("funk", (66, 92), "casio/mellowrb"),
    LibraryRow("blues", (84, 132), "stdlib/blues casio/blues zoom/blues zoom/blues34 zoom/shuffle"),
    LibraryRow("blues", (132, 184), "stdlib/fastblues stdlib/boggiewoggie stdlib/shuffleboggie casio/shuffleboogie"),
    LibraryRow("blues", (56, 80), "stdlib/slowblues stdlib/blues128"),
    LibraryRow("blues", (84, 132), "stdlib/blues68 zoom/blues68"),  # 6/8: 56-88 dotted quarters
    LibraryRow("country", (100, 152), "stdlib/countryblues stdlib/countryswing stdlib/hillcountry yamaha/jazzcountry yamaha/western "
               "zoom/country zoom/cntry"),
    LibraryRow("country", (152, 216), "stdlib/bluegrass stdlib/westernswing"),
    LibraryRow("country", (63, 92), "stdlib/slowcountry"),
    LibraryRow("country", (112, 168), "stdlib/countrywaltz"),
    LibraryRow("waltz", (126, 184), "stdlib/waltz stdlib/frenchwaltz stdlib/arpeggiowaltz"),
    LibraryRow("waltz", (160, 216), "stdlib/vienesewaltz stdlib/fastwaltz"),
    LibraryRow("march", (104, 132), "stdlib/march stdlib/bwmarch stdlib/dixiemarch casio/germanmarch casio/march1"),
    LibraryRow("march", (144, 192), "stdlib/68march"),  # 6/8: 96-128 dotted quarters
    LibraryRow("folk", (88, 132), "stdlib/folk stdlib/bluefolk kara/2beatp"),
    LibraryRow("folk", (63, 92), "stdlib/folkballad"),
    LibraryRow("folk", (100, 138), "stdlib/polka casio/polka casio/polkafox casio/poppolka stdlib/zydeco"),
    LibraryRow("gospel", (63, 96), "stdlib/hymn stdlib/slowspiritual"),
    LibraryRow("gospel", (88, 126), "stdlib/spiritual stdlib/popspiritual"),
    LibraryRow("reggae", (66, 92), "zoom/reggae"),
    LibraryRow("reggae", (132, 184), "stdlib/ska zoom/ska"),
    LibraryRow("electronic", (112, 138), "stdlib/trance casio/8beatdance casio/dance1 casio/dance2 casio/house casio/latinhouse "
               "casio/rave casio/techno casio/trance1 casio/trance2 alexis/teamtechno zoom/dance zoom/house zoom/techno"),
    LibraryRow("electronic", (80, 100), "casio/hip-hop casio/triphop alexis/hiphop zoom/hiphop zoom/trip"),
    LibraryRow("electronic", (160, 176), "zoom/dnb"),
    LibraryRow("electronic", (66, 96), "casio/ambient1 casio/ambient2 casio/ambient3 zoom/ambient"),
)

# Groove files that are no music to learn: click tracks, a silent groove, drum-machine intros/endings/count-ins.
EXCLUDED = frozenset("stdlib/metronome stdlib/metronome3 stdlib/metronome6 stdlib/metronome68 stdlib/none "
                     "zoom/count zoom/intro zoom/ending zoom/mide".split())

# Role of a groove from its name, first match wins (MMA's libraries name variations by these conventions:
# SwingIntro, Swing1End, kbossaEndingB, JazzBasieFillAA, MamboBreakAA, pflib's rock1FA and rock1E).
ROLE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("skip", r"(?i)metronome"),
    ("intro", r"(?i)intro"),
    ("ending", r"(?i)end(ing)?(sus|plus)?[a-d]?\d*$"),
    ("ending", r"[a-z0-9]E$"),
    ("fill", r"(?i)fill|break"),
    ("fill", r"[a-z0-9]F[A-D]$"),
)
ROLE_WORDS = r"(?i:intro|ending|end|fill|break|main)|(?<=[a-z0-9])F(?=[A-D]$)|(?<=[a-z0-9])E$"

# (MMA's beats per bar, its time signature) -> (meter to write, time scale). MMA counts every bar in
# quarter-note beats; a 6/8 groove is written in 2 beats of triplets, or in 6 "quarter" beats that are
# eighths, and a few files forget their time signature. The scale stretches the file's time so that
# the written meter is true: 3/2 turns triplet quarters into dotted quarters, 1/2 quarters into eighths.
METER_CONVENTIONS: dict[tuple[int, int, int], tuple[tuple[int, int], tuple[int, int]]] = {
    (3, 4, 4): ((3, 4), (1, 1)),  # waltzes that keep MMA's default 4/4 signature
    (6, 4, 4): ((6, 8), (1, 2)),  # casio/68ballad: six eighths written as quarters, no 6/8 signature
    (6, 6, 8): ((6, 8), (1, 2)),  # six eighths written as quarters
    (2, 6, 8): ((6, 8), (3, 2)),  # two dotted-quarter beats written as quarter-note triplets
    (4, 6, 8): ((12, 8), (3, 2)),  # four dotted-quarter beats written as triplets: 12/8
}


@dataclass(frozen=True)
class Groove:
    name: str
    role: str  # intro, main, fill, ending, skip
    beats: int  # MMA's beats per bar ($_Time)
    time_sig: tuple[int, int]  # MMA's time signature ($_TimeSig)
    seq_size: int  # bars in the groove's pattern ($_SeqSize)

    @property
    def meter(self) -> tuple[int, int] | None:
        return written_meter(self.beats, *self.time_sig)[0]


@dataclass(frozen=True)
class GrooveFile:
    path: str  # "stdlib/swing"
    genre: str
    tempo_bpm: tuple[int, int]
    grooves: tuple[Groove, ...]

    def of_role(self, role: str) -> list[Groove]:
        return [g for g in self.grooves if g.role == role]


def written_meter(beats: int, num: int, den: int) -> tuple[tuple[int, int] | None, tuple[int, int]]:
    """(meter, time scale) for MMA's beats per bar and time signature; meter None where they disagree in
    a way no convention explains."""
    if num * 4 == beats * den:
        return (num, den), (1, 1)
    return METER_CONVENTIONS.get((beats, num, den), (None, (1, 1)))


def groove_role(name: str) -> str:
    return next((role for role, pattern in ROLE_PATTERNS if re.search(pattern, name)), "main")


def stem_of(name: str) -> str:
    """A groove's name without its role word, for pairing: "JazzBasieIntroC" -> "jazzbasiec"."""
    return re.sub(ROLE_WORDS, "", name).lower()


def library_table() -> dict[str, tuple[str, tuple[int, int]]]:
    """{"stdlib/swing": (genre, tempo range)} from ``LIBRARY``."""
    table: dict[str, tuple[str, tuple[int, int]]] = {}
    for row in LIBRARY:
        if row.genre not in GENRES:
            raise MidigenError(f"mma library table: unknown genre {row.genre!r}")
        for path in row.files.split():
            if path in table:
                raise MidigenError(f"mma library table: {path} is listed twice")
            table[path] = (row.genre, row.tempo_bpm)
    return table


# --- the program ------------------------------------------------------------------------------------

def mma_executable() -> str:
    """Path of ``mma``; one-line MidigenError when it is not installed."""
    path = shutil.which("mma")
    if path is None:
        raise MidigenError(f"`mma` (Musical MIDI Accompaniment) is not installed or not on PATH: {INSTALL_HINT}")
    return path


def run_mma(args: list[str], cwd: Path, timeout_s: float) -> subprocess.CompletedProcess:
    """Run ``mma ARGS`` in ``cwd``; MidigenError when it cannot start or runs past ``timeout_s``."""
    try:
        return subprocess.run([mma_executable(), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout_s,
                              errors="replace", check=False)
    except subprocess.TimeoutExpired as e:
        raise MidigenError(f"mma took longer than {timeout_s:.0f} s") from e
    except OSError as e:
        raise MidigenError(f"cannot run mma: {e}; {INSTALL_HINT}") from e


def mma_errors(result: subprocess.CompletedProcess) -> str:
    """MMA's error lines, joined into one line ("" when none)."""
    text = (result.stdout or "") + "\n" + (result.stderr or "")
    lines = [line.strip() for line in text.splitlines()]
    errors = [line for i, line in enumerate(lines) if line.startswith("Error") or (i and lines[i - 1].startswith("Error") and line)]
    return " ".join(" ".join(errors).split())[:300]


@dataclass(frozen=True)
class MmaInstall:
    executable: str
    version: str
    lib_dir: Path
    licence: str


def find_mma() -> MmaInstall:
    """The installed MMA: executable, version, groove library folder, licence; MidigenError when missing."""
    executable = mma_executable()
    with tempfile.TemporaryDirectory(prefix="midigen-mma-") as tmp:
        version_run = run_mma(["-v"], Path(tmp), 60)
        version = next((w for w in reversed((version_run.stdout or "").split()) if re.fullmatch(r"\d+(\.\d+)+\w*", w)), "unknown")
        probe = Path(tmp) / "libpath.mma"
        probe.write_text("Print @@ $_LibPath\n")
        result = run_mma(["-n", "-w", probe.name], Path(tmp), 60)
    lib = next((line.split(None, 1)[1].split()[0] for line in result.stdout.splitlines() if line.startswith("@@ ")), None)
    if lib is None or not Path(lib).is_dir():
        raise MidigenError(f"mma {version} does not say where its groove library is ({mma_errors(result) or 'no $_LibPath'})")
    return MmaInstall(executable, version, Path(lib), licence_summary())


def licence_summary(copyright_file: Path = COPYRIGHT_FILE) -> str:
    """"GPL-2+ (Copyright 2003–2021 Bob van der Poel …)" from the Debian copyright file's ``Files: *`` stanza."""
    try:
        text = copyright_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "GPL-2+ (MMA is distributed under the GNU General Public License; no copyright file found at " \
               f"{copyright_file})"
    stanza = text.split("\n\n")[1] if "\n\n" in text else text
    holder = re.search(r"^Copyright:\s*(.+)$", stanza, flags=re.M)
    licence = re.search(r"^License:\s*(\S+)$", stanza, flags=re.M)
    return (f"{licence.group(1) if licence else 'GPL-2+'} (Copyright {holder.group(1).strip() if holder else 'Bob van der Poel'}; "
            f"{copyright_file})")


# --- the library ------------------------------------------------------------------------------------

def groove_names(path: Path) -> list[str]:
    """The grooves a library file defines (its ``DefGroove NAME`` lines), in file order, once each."""
    text = path.read_text(encoding="latin-1")
    return list(dict.fromkeys(re.findall(r"(?im)^[ \t]*defgroove[ \t]+(\S+)", text)))


def library_files(lib_dir: Path) -> list[str]:
    """"library/stem" of every groove file under MMA's library folder, sorted."""
    return sorted(f"{p.parent.name}/{p.stem}" for p in lib_dir.glob("*/*.mma") if not p.name.startswith("."))


PROBE_FORMAT = 1


def probe_file(install: MmaInstall, path: str) -> tuple[Groove, ...]:
    """Every groove of one library file with the beats per bar, time signature and pattern length MMA
    itself reports for it (one ``mma -n`` run that loads the file and prints them)."""
    names = groove_names(install.lib_dir / f"{path}.mma")
    lines = [f"Use {path}"] + [f"Groove {n}\nPrint @@ {n} $_Time $_TimeSig $_SeqSize" for n in names]
    with tempfile.TemporaryDirectory(prefix="midigen-mma-") as tmp:
        song = Path(tmp) / "probe.mma"
        song.write_text("\n".join(lines) + "\n", encoding="latin-1")
        result = run_mma(["-n", "-w", song.name], Path(tmp), PROBE_TIMEOUT_S)
    reported = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] == "@@":
            reported[parts[1]] = parts[2:]
    grooves = []
    for name in names:
        if name not in reported:
            continue
        time, sig, size = reported[name]
        num, _, den = sig.partition("/")
        beats = float(time)
        if beats != int(beats) or not (num.isdigit() and den.isdigit()):
            continue
        grooves.append(Groove(name, groove_role(name), int(beats), (int(num), int(den)), max(1, int(size))))
    if names and not grooves:
        raise file_error(install.lib_dir / f"{path}.mma", f"mma reports none of its grooves ({mma_errors(result) or 'no output'})")
    return tuple(grooves)


def probe_cache_key(install: MmaInstall, path: str) -> str:
    stat = (install.lib_dir / f"{path}.mma").stat()
    return f"{PROBE_FORMAT}:{install.version}:{stat.st_size}:{stat.st_mtime_ns}"


def save_probe_cache(cache_path: Path, cache: dict) -> None:
    atomic_write_json(cache_path, cache)


def grooves_from_cache(entry: dict) -> tuple[Groove, ...]:
    return tuple(Groove(g["name"], g["role"], g["beats"], tuple(g["time_sig"]), g["seq_size"]) for g in entry["grooves"])


def grooves_to_cache(key: str, grooves: tuple[Groove, ...]) -> dict:
    return {"key": key, "grooves": [asdict(g) for g in grooves]}
