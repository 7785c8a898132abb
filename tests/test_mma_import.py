"""``midigen corpus import mma``: charts, groove roles, meters, a real small import, reruns, failures, the split."""
from __future__ import annotations

import json
import shutil
import subprocess

import mido
import numpy as np
import pytest
from click.testing import CliRunner

from midigen.cli import main
from midigen.corpus import mma, mma_plan
from midigen.corpus import mma_library as lib
from midigen.corpus.mma_charts import CHARTS, GENRES, charts_for, split_bars, transpose_symbol
from midigen.corpus.reader import load_piece
from midigen.errors import MidigenError
from midigen.midi.files import read_midi
from midigen.music.chord_symbols import parse_chord, parse_progression, transpose_chord
from midigen.music.piece import PITCH, TRACK, Piece, Track

HAVE_MMA = shutil.which("mma") is not None
needs_mma = pytest.mark.skipif(not HAVE_MMA, reason="mma (Musical MIDI Accompaniment) is not installed: sudo apt-get install mma")
SMALL = "stdlib/bossanova,stdlib/jazzwaltz,stdlib/68march"  # 4/4, a 3/4 waltz, a 6/8 march MMA counts in 2


def _keys(chart):
    return range(12, 24) if chart.mode == "minor" else range(12)


def test_charts_are_valid_harmony_in_every_key():
    assert len({c.name for c in CHARTS}) == len(CHARTS)
    for chart in CHARTS:
        assert set(chart.genres) <= set(GENRES), chart.name
        bars = parse_progression(chart.progression)  # midigen's own chord-symbol parser reads every chart
        assert len(bars) == chart.n_bars == len(split_bars(chart.progression))
        for key in _keys(chart):
            for bar in chart.bars:
                for symbol in bar:
                    moved = transpose_symbol(symbol, key)
                    assert parse_chord(moved) == transpose_chord(parse_chord(symbol), key % 12), (chart.name, key, moved)
                    assert not any(bad in moved for bad in ("Cb", "Fb", "E#", "B#", "##", "bb"))


def test_spelling_follows_the_key():
    assert transpose_symbol("Bb7", 5) == "Eb7"  # bVII of F major
    assert transpose_symbol("Ab7", 12 + 8) == "E7"  # bVI of G# minor
    assert transpose_symbol("Dm7b5", 12 + 8) == "A#m7b5"
    assert transpose_symbol("F#dim7", 10) == "Edim7"  # #IV of Bb major


def test_every_genre_has_charts_for_its_meters():
    table = lib.library_table()
    assert set(g for g, _ in table.values()) == set(GENRES)
    for genre in GENRES:
        assert len(charts_for(genre, 4)) >= 3, genre  # enough to hold charts out for valid and test
    for genre in ("jazz", "latin", "rock", "pop", "country", "show", "waltz"):  # genres with 3/4 grooves
        assert charts_for(genre, 3), genre
    assert all(c.fits(3) and c.fits(5) for c in charts_for("waltz", 3))


def test_groove_roles_and_meter_conventions():
    roles = {"SwingIntro": "intro", "Swing1End": "ending", "kbossaEndingB": "ending", "JazzBasieFillAA": "fill",
             "MamboBreakAA": "fill", "rock1FA": "fill", "rock1E": "ending", "DescendingJazz": "main",
             "CubanGuitarEndSus": "ending", "JazzBasieMainC": "main", "Swing1WalkPlusSus": "main", "68MarchMetronome": "skip"}
    assert {name: lib.groove_role(name) for name in roles} == roles
    assert lib.stem_of("JazzBasieIntroC") == lib.stem_of("JazzBasieMainC")
    assert lib.written_meter(4, 4, 4) == ((4, 4), (1, 1))
    assert lib.written_meter(3, 4, 4) == ((3, 4), (1, 1))  # a waltz that forgot its signature
    assert lib.written_meter(2, 6, 8) == ((6, 8), (3, 2))  # 6/8 counted in two triplet beats
    assert lib.written_meter(6, 6, 8) == ((6, 8), (1, 2))  # 6/8 counted in six "quarters"
    assert lib.written_meter(4, 6, 8) == ((12, 8), (3, 2))
    assert lib.written_meter(7, 6, 8)[0] is None


def _entry(file, genre, chart):
    return {"file": file, "genre": genre, "chart": chart}


def test_split_keeps_chart_families_together_and_holds_out_every_genre():
    rng = np.random.default_rng(0)
    entries = []
    for genre in ("jazz", "latin", "rock", "reggae"):
        charts = [c.name for c in charts_for(genre, 4)]
        for i in range(40):
            entries.append(_entry(f"{genre}-{i:02d}.mid", genre, charts[int(rng.integers(len(charts)))]))
    split = mma_plan.chart_split(entries, seed=3)
    assert split == mma_plan.chart_split(list(reversed(entries)), seed=3)  # order of the entries does not matter
    side_of = {f: s for s in mma_plan.SPLIT_SIDES for f in split[s]}
    assert sorted(side_of) == sorted(e["file"] for e in entries)
    sides_of_chart = {}
    for e in entries:
        sides_of_chart.setdefault(e["chart"], set()).add(side_of[e["file"]])
    assert all(len(s) == 1 for s in sides_of_chart.values())  # a chart and its keys and tempos: one side
    for genre, sizes in split["by_genre"].items():
        assert sizes["train"] and sizes["valid"] and sizes["test"], genre
    assert split["sizes"]["train"] > split["sizes"]["valid"] + split["sizes"]["test"]
    assert split != mma_plan.chart_split(entries, seed=4)


def test_parts_out_of_any_instruments_range_move_by_octaves():
    notes = np.array([[0, 12, 18, 80, 0], [12, 12, 30, 80, 0], [0, 12, 60, 80, 1], [0, 12, 115, 80, 2], [0, 12, 20, 80, 3]])
    piece = Piece(notes=notes, tracks=(Track(33), Track(0), Track(73), Track(0, True)), n_bars=1)
    moved_piece, moved = mma._into_register(piece)
    assert moved == {0: 12, 2: -12}  # a bass line down to F#0 goes up an octave, whole; a flute above C8 down one
    assert moved_piece.notes[:, PITCH].tolist() == [30, 42, 60, 103, 20]  # the kit is left alone


def test_missing_mma_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(MidigenError, match=r"install it with `sudo apt-get install mma`"):
        mma.import_mma(tmp_path / "out")
    result = CliRunner().invoke(main, ["corpus", "import", "mma", str(tmp_path / "out")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: `mma`") and "sudo apt-get install mma" in lines[0]
    assert "Traceback" not in result.output


@needs_mma
def test_chart_symbols_are_chords_mma_knows(tmp_path):
    endings = {g.ending_chord(c.mode) for g in GENRES.values() for c in CHARTS}
    symbols = sorted({transpose_symbol(s, key) for c in CHARTS for key in _keys(c) for s in [*endings, *sum(c.bars, [])]})
    lines = ["Groove Swing"] + [f"{i} {s}" for i, s in enumerate(symbols, start=1)]
    (tmp_path / "all.mma").write_text("\n".join(lines) + "\n")
    result = subprocess.run(["mma", "-n", "-w", "all.mma"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "Error" not in result.stdout, result.stdout[-500:]


@pytest.fixture(scope="module")
def small_import(tmp_path_factory):
    if not HAVE_MMA:
        pytest.skip("mma (Musical MIDI Accompaniment) is not installed: sudo apt-get install mma")
    out = tmp_path_factory.mktemp("mma")
    result = CliRunner().invoke(main, ["corpus", "import", "mma", str(out), "--files", SMALL, "--songs-per-file", "1",
                                       "--limit", "3", "--seed", "1"])
    assert result.exit_code == 0, result.output
    return out, result.stdout


@needs_mma
def test_small_import_reads_back_as_a_band(small_import):
    out, output = small_import
    assert output.startswith("3 written, 0 already there, 0 failed")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["collection"] == "mma" and manifest["mma_version"] and "GPL-2+" in manifest["licence"]
    assert (out / "SOURCE.md").read_text().startswith("# mma")
    pieces = {e["groove_file"]: e for e in manifest["pieces"]}
    assert sorted(pieces) == ["stdlib/68march.mma", "stdlib/bossanova.mma", "stdlib/jazzwaltz.mma"]
    expected_meter = {"stdlib/68march.mma": "6/8", "stdlib/bossanova.mma": "4/4", "stdlib/jazzwaltz.mma": "3/4"}
    for groove_file, entry in pieces.items():
        path = out / entry["file"]
        assert entry["source"] == f"{groove_file}#{entry['groove']}" and "GPL-2+" in entry["licence"]
        assert entry["genre"] in GENRES and entry["mma_version"] == manifest["mma_version"] and entry["chart"]
        piece, _ = load_piece(path)  # what training reads
        assert f"{piece.meters[0][1]}/{piece.meters[0][2]}" == entry["meter"] == expected_meter[groove_file]
        assert piece.tempos[0][1] == entry["tempo_bpm"]
        assert piece.key is not None and entry["key"].split()[1] in ("major", "minor")
        intro = sum(s["bars"][1] - s["bars"][0] + 1 for s in entry["sections"] if s["role"] == "intro")
        ending = sum(s["bars"][1] - s["bars"][0] + 1 for s in entry["sections"] if s["role"] in ("ending",))
        assert piece.n_bars == entry["bars"] == intro + entry["choruses"] * entry["chart_bars"] + ending
        drums = [t for t, track in enumerate(piece.tracks) if track.is_drum]
        assert len(drums) == 1 and piece.tracks[drums[0]].program_token_value == 128
        drum_bars = np.searchsorted(piece.bar_starts_steps(), piece.notes[piece.notes[:, TRACK] == drums[0], 0], side="right") - 1
        assert len(set(drum_bars.tolist())) >= 0.9 * piece.n_bars  # a steady kit, (nearly) every bar
        medians = {t: np.median(piece.notes[piece.notes[:, TRACK] == t, PITCH]) for t, track in enumerate(piece.tracks)
                   if not track.is_drum}
        lowest = min(medians, key=medians.get)  # the bass line: MMA's Bass or Walk track (a tuba in a march)
        name = piece.meta["track_names"][lowest]
        assert 28 <= medians[lowest] <= 55 and (name.startswith(("Bass", "Walk")) or 32 <= piece.tracks[lowest].program <= 39), name
        assert len(piece.tracks) >= 3 and all(p["name"] for p in entry["parts"])
        midi = mido.MidiFile(path)
        for track in midi.tracks[1:]:
            channels = {m.channel for m in track if m.type == "note_on"}
            programs = [m for m in track if m.type == "program_change"]
            assert channels == {9} or (len(channels) == 1 and programs)  # drums on channel 10, others with a program
        assert read_midi(path)[0].n_bars == entry["bars"]


@needs_mma
def test_march_in_6_8_keeps_mma_timing(small_import):
    """MMA counts this 6/8 march in two quarter-note beats of triplets: written as true 6/8 at 1.5x the tempo."""
    out, _ = small_import
    entry = next(e for e in json.loads((out / "manifest.json").read_text())["pieces"] if "68march" in e["file"])
    assert entry["mma_time"] == [2, "6/8"] and entry["tempo_bpm"] == entry["mma_tempo"] * 3 // 2
    piece, _ = read_midi(out / entry["file"])
    starts = piece.notes[:, 0] % 6  # every onset on the 8th-note grid of 6/8 (6 steps), as the triplets were
    assert (starts == 0).mean() > 0.95


@needs_mma
def test_rerun_skips_existing_and_split_is_recorded(small_import):
    out, _ = small_import
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.mid")}
    result = CliRunner().invoke(main, ["corpus", "import", "mma", str(out), "--files", SMALL, "--songs-per-file", "1",
                                       "--limit", "3", "--seed", "1"])
    assert result.exit_code == 0 and result.stdout.startswith("0 written, 3 already there"), result.output
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.mid")} == before
    manifest = json.loads((out / "manifest.json").read_text())
    split = manifest["split"]
    assert split["method"] == "chart family" and sum(split["sizes"].values()) == 3
    assert sorted(split["train"] + split["valid"] + split["test"]) == sorted(before)


@needs_mma
def test_a_song_mma_refuses_is_listed_not_fatal(tmp_path, monkeypatch):
    real_text = mma_plan.Song.mma_text

    def broken(self, version):
        text = real_text(self, version)
        return text.replace("\n5 ", "\n5 Qmaj7 ") if self.file_name.endswith("-00.mid") and "jazzwaltz" in self.file_name else text

    monkeypatch.setattr(mma_plan.Song, "mma_text", broken)
    report = mma.import_mma(tmp_path, files=("stdlib/jazzwaltz", "stdlib/bossanova"), songs_per_file=1, limit=2, workers=1)
    assert report.written == 1 and len(report.failed) == 1
    failure = report.failed[0]
    assert failure["file"].startswith("jazz-stdlib-jazzwaltz-00") and "mma failed" in failure["reason"]
    assert "\n" not in failure["reason"]
    assert json.loads((tmp_path / "manifest.json").read_text())["failed"] == report.failed


def test_unknown_genre_and_file(tmp_path):
    if not HAVE_MMA:
        pytest.skip("mma (Musical MIDI Accompaniment) is not installed: sudo apt-get install mma")
    with pytest.raises(MidigenError, match="unknown genre 'polka'"):
        mma.import_mma(tmp_path, genres=("polka",))
    with pytest.raises(MidigenError, match="no groove file 'stdlib/nothing'"):
        mma.import_mma(tmp_path, files=("stdlib/nothing",))
