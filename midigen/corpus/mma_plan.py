"""Songs for ``corpus import mma``: what each groove file plays, over which chart, in which key and tempo.

``plan_songs`` draws every choice from the seed: for each groove file its main grooves (each used at least
once) and a variation for the second half, the intro, fill and ending grooves where the file has them,
a chart of the genre's idiom (``mma_charts``) transposed into a key the genre is played in, and a tempo
from the file's usual range. ``chart_split`` holds out whole charts, so no held-out piece shares its
harmony with a training piece.
"""
from __future__ import annotations

import hashlib
import math
import random
import re
from collections import Counter
from dataclasses import dataclass, field, replace

from ..music.grid import TEMPO_MARKS_BPM
from ..music.keys import KEY_NAMES
from . import mma_library as lib
from .mma_charts import GENRES, Chart, charts_for, mma_bar, transpose_bars, transpose_symbol

TARGET_BODY_BARS = 24  # the chart is played as many times as it takes to fill this many bars
PHRASE_BARS = 8  # a fill ends every phrase of this many bars (a 12-bar chart: every chorus)
MAX_INTRO_BARS = 8
MAX_ENDING_BARS = 4
DEFAULT_SONGS_PER_FILE = 12


@dataclass(frozen=True)
class Song:
    """One planned piece: everything its MMA file and manifest entry are made from."""

    file_name: str
    groove_file: str  # "stdlib/swing"
    genre: str
    main: str
    variation: str
    intro: str | None
    fill: str | None
    ending: str | None
    intro_bars: int
    ending_bars: int
    chart: str
    choruses: int
    key: int
    tempo_bpm: int  # quarter notes per minute in the written file
    mma_tempo: int  # MMA's Tempo (its own beats per minute)
    beats: int  # MMA's beats per bar
    time_sig: tuple[int, int]  # MMA's time signature
    meter: tuple[int, int]  # the meter written
    scale: tuple[int, int]  # time stretch from MMA's counting to the written meter
    rnd_seed: int
    bar_plan: tuple[tuple[str, str, tuple[str, ...]], ...] = field(default=(), repr=False)  # (groove, role, chords) per bar

    @property
    def n_bars(self) -> int:
        return len(self.bar_plan)

    def mma_text(self, mma_version: str) -> str:
        lines = [f"// {self.file_name}: written by midigen corpus import mma for MMA {mma_version}",
                 f"RndSeed {self.rnd_seed}", f"Use {self.groove_file}", f"Tempo {self.mma_tempo}",
                 f"KeySig {KEY_NAMES[self.key]}"]
        current = None
        for number, (groove, _, chords) in enumerate(self.bar_plan, start=1):
            if groove != current:
                lines.append(f"Groove {groove}")
                current = groove
            lines.append(f"{number} {mma_bar(list(chords), self.beats)}")
        return "\n".join(lines) + "\n"

    def sections(self) -> list[dict]:
        """Runs of bars that share a groove: [{"bars": [first, last], "groove", "role"}], bars from 1."""
        out: list[dict] = []
        for number, (groove, role, _) in enumerate(self.bar_plan, start=1):
            if out and out[-1]["groove"] == groove and out[-1]["role"] == role:
                out[-1]["bars"][1] = number
            else:
                out.append({"bars": [number, number], "groove": groove, "role": role})
        return out


# --- planning ---------------------------------------------------------------------------------------

def _rank(*parts) -> str:
    return hashlib.sha1(":".join(str(p) for p in parts).encode()).hexdigest()


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _partner(main: lib.Groove, candidates: list[lib.Groove]) -> lib.Groove | None:
    """The intro, fill or ending made for ``main``: the longest shared name stem, then file order."""
    if not candidates:
        return None
    stem = lib.stem_of(main.name)
    return max(candidates, key=lambda g: (_common_prefix(stem, lib.stem_of(g.name)), -candidates.index(g)))


def _variation(main: lib.Groove, mains: list[lib.Groove], rng: random.Random) -> lib.Groove:
    """Another main groove of the file for the later choruses: the closest relative of ``main`` (Swing ->
    SwingPlus or SwingSus; JazzBasieA -> JazzBasieB), drawn among equals."""
    others = [g for g in mains if g.name != main.name]
    if not others:
        return main
    stem = lib.stem_of(main.name)
    best = max(_common_prefix(stem, lib.stem_of(g.name)) for g in others)
    return rng.choice([g for g in others if _common_prefix(stem, lib.stem_of(g.name)) == best])


def _tempo(rng: random.Random, low: int, high: int, scale: tuple[int, int]) -> tuple[int, int]:
    """(written bpm, MMA tempo): a tempo mark midigen's tempo table names exactly, inside the range, whose
    MMA tempo is a whole number (MMA rounds its Tempo)."""
    num, den = scale
    whole = [m for m in TEMPO_MARKS_BPM if (m * den) % num == 0]
    inside = [m for m in whole if low <= m <= high] or [min(whole, key=lambda m: abs(math.log(m / math.sqrt(low * high))))]
    bpm = rng.choice(inside)
    return bpm, bpm * den // num


def songs_of_file(gfile: lib.GrooveFile, seed: int, songs_per_file: int) -> tuple[list[Song], str | None]:
    """The songs planned for one groove file (every main groove at least once), or ([], why not)."""
    mains = [g for g in gfile.of_role("main") if g.meter is not None]
    if not mains:
        odd = [g for g in gfile.of_role("main") if g.meter is None]
        if odd:
            g = odd[0]
            return [], f"MMA counts {g.beats} beats a bar under a {g.time_sig[0]}/{g.time_sig[1]} signature (no meter convention)"
        return [], "defines no main groove"
    genre = GENRES[gfile.genre]
    songs = []
    for j in range(max(songs_per_file, len(mains))):
        rng = random.Random(_rank(seed, gfile.path, j))
        main = mains[j % len(mains)]
        same = [g for g in gfile.grooves if (g.beats, g.time_sig) == (main.beats, main.time_sig)]
        pool = sorted(charts_for(gfile.genre, main.beats), key=lambda c: _rank(seed, gfile.path, c.name))
        if not pool:
            return [], f"no {gfile.genre} chart fits {main.beats} beats a bar"
        chart = pool[j % len(pool)]
        tonic = rng.choice(genre.minor_keys if chart.mode == "minor" else genre.major_keys)
        key = tonic + (12 if chart.mode == "minor" else 0)
        meter, scale = lib.written_meter(main.beats, *main.time_sig)
        bpm, mma_tempo = _tempo(rng, *gfile.tempo_bpm, scale)
        variation = _variation(main, [g for g in mains if g in same], rng)
        intro = _partner(main, [g for g in same if g.role == "intro"])
        fill = _partner(main, [g for g in same if g.role == "fill"])
        ending = _partner(main, [g for g in same if g.role == "ending"])
        name = f"{gfile.genre}-{_safe(gfile.path.replace('/', '-'))}-{j:02d}.mid"
        song = Song(name, gfile.path, gfile.genre, main.name, variation.name, intro.name if intro else None,
                    fill.name if fill else None, ending.name if ending else None,
                    min(intro.seq_size, MAX_INTRO_BARS) if intro else 0, min(ending.seq_size, MAX_ENDING_BARS) if ending else 1,
                    chart.name, max(1, math.ceil(TARGET_BODY_BARS / chart.n_bars)), key, bpm, mma_tempo, main.beats, main.time_sig,
                    meter, scale, int(_rank(seed, name)[:6], 16))
        songs.append(_with_bar_plan(song, chart))
    return songs, None


def _with_bar_plan(song: Song, chart: Chart) -> Song:
    """The song's bars: intro over the chart's last bars, the choruses (main groove, then its variation;
    a fill closing each phrase), the ending on the tonic."""
    bars = transpose_bars(chart.bars, song.key)
    n = len(bars)
    plan: list[tuple[str, str, tuple[str, ...]]] = []
    if song.intro:
        lead_in = (bars * (1 + song.intro_bars // n))[-song.intro_bars:]
        plan += [(song.intro, "intro", tuple(b)) for b in lead_in]
    phrase = PHRASE_BARS if n % PHRASE_BARS == 0 else n
    body = song.choruses * n
    for b in range(body):
        chorus, i = divmod(b, n)
        second = chorus % 2 == 1 if song.choruses > 1 else i >= n // 2
        groove, role = (song.variation, "variation") if second else (song.main, "main")
        if song.fill and (i + 1) % phrase == 0 and b != body - 1:
            groove, role = song.fill, "fill"
        plan.append((groove, role, tuple(bars[i])))
    tonic = transpose_symbol(GENRES[song.genre].ending_chord(chart.mode), song.key)
    plan += [(song.ending or song.main, "ending" if song.ending else "main", (tonic,))] * song.ending_bars
    return replace(song, bar_plan=tuple(plan))


def plan_songs(files: list[lib.GrooveFile], seed: int, songs_per_file: int, limit: int | None = None
               ) -> tuple[list[Song], list[dict]]:
    """Songs of every file, round-robin (song 0 of every file, then song 1 …) so that ``limit`` takes a
    spread of grooves; and the files that give none, with why."""
    per_file, not_used = [], []
    for gfile in files:
        songs, reason = songs_of_file(gfile, seed, songs_per_file)
        if reason:
            not_used.append({"source": f"{gfile.path}.mma", "reason": reason})
        per_file.append(songs)
    ordered = [songs[j] for j in range(max((len(s) for s in per_file), default=0)) for songs in per_file if j < len(songs)]
    return (ordered[:limit] if limit else ordered), not_used


# --- the held-out split ---------------------------------------------------------------------------

SPLIT_SIDES = ("train", "valid", "test")


MAX_HELD_OUT_SHARE = 0.35  # no genre loses more than this share of its pieces to valid + test


def chart_split(entries: list[dict], seed: int) -> dict:
    """Train/valid/test by chart family, in ``midigen corpus split``'s format (file lists per side).

    A chart goes to one side with every key, tempo and groove it was rendered in. Each genre gets a chart
    on the test side and one on the valid side, chosen greedily: the chart that serves the most genres
    still lacking one, then the one that leaves the most of every genre for training, then an order fixed
    by ``seed``; a chart is not held out where that would take more than ``MAX_HELD_OUT_SHARE`` of a
    genre's pieces (or its last training chart)."""
    count: Counter = Counter((e["genre"], e["chart"]) for e in entries)
    charts_of: dict[str, set[str]] = {}
    for genre, chart_name in count:
        charts_of.setdefault(genre, set()).add(chart_name)
    total = Counter(e["genre"] for e in entries)
    pieces_of = Counter(e["chart"] for e in entries)
    side: dict[str, str] = {}

    def share_after(chart_name: str) -> float:
        """The largest share of a genre's pieces held out once ``chart_name`` is (1.0: its last training chart)."""
        worst = 0.0
        for genre, charts in charts_of.items():
            if chart_name in charts:
                if all(c in side or c == chart_name for c in charts):
                    return 1.0
                worst = max(worst, sum(count[genre, c] for c in charts if c in side or c == chart_name) / total[genre])
        return worst

    for target in ("test", "valid"):
        while True:
            lacking = {g for g, cs in charts_of.items() if not any(side.get(c) == target for c in cs)}
            candidates = [c for c in sorted({c for g in lacking for c in charts_of[g] if c not in side})
                          if share_after(c) <= MAX_HELD_OUT_SHARE]
            if not candidates:
                break
            best = min(candidates, key=lambda c: (-sum(1 for g in lacking if c in charts_of[g]), round(share_after(c), 2),
                                                  _rank(seed, c)))
            side[best] = target
    files = {s: sorted(e["file"] for e in entries if side.get(e["chart"], "train") == s) for s in SPLIT_SIDES}
    by_genre = {g: {s: sum(n for (genre, c), n in count.items() if genre == g and side.get(c, "train") == s) for s in SPLIT_SIDES}
                for g in sorted(charts_of)}
    held_out = {s: sorted(c for c, v in side.items() if v == s) for s in ("valid", "test")}
    return {"seed": seed, "method": "chart family", "families": held_out,
            "sizes": {s: len(files[s]) for s in SPLIT_SIDES}, "n_families": len(pieces_of),
            "n_grouped": sum(n for n in pieces_of.values() if n > 1), "by_genre": by_genre, **files}


