"""``midigen corpus import wad``: WADs built byte by byte here (and Debian's Freedoom, where installed)."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from midigen.cli import main
from midigen.corpus.wad_import import KNOWN_WADS, import_wads, read_lumps
from midigen.errors import MidigenError

from .midi_events import make_file

FREEDOOM1 = Path("/usr/share/games/doom/freedoom1.wad")


def _song(tmp_path, name, pitches) -> bytes:
    drums = [(i * 96, i * 96 + 24, 36 if i % 2 == 0 else 38, 100) for i in range(16)]
    bass = [(i * 192, i * 192 + 180, p, 90) for i, p in enumerate(pitches)]
    return make_file(tmp_path / f"{name}.mid", [("Drums", 9, 0, drums), ("Bass", 0, 33, bass)]).read_bytes()


def _wad(path, lumps, kind=b"IWAD") -> Path:
    """A WAD: the header, the lumps' bytes, then the directory."""
    body, directory = b"", b""
    for name, data in lumps:
        directory += struct.pack("<ii8s", 12 + len(body), len(data), name.encode())
        body += data
    path.write_bytes(struct.pack("<4sii", kind, len(lumps), 12 + len(body)) + body + directory)
    return path


def test_music_lumps_become_files_with_provenance(tmp_path):
    a, b = _song(tmp_path, "a", [40, 43, 45, 47]), _song(tmp_path, "b", [50, 52])
    mus = b"MUS\x1a" + b"\0" * 20
    wad1 = _wad(tmp_path / "game1.wad", [("MAP01", b"\0" * 40), ("D_RUNNIN", a), ("PLAYPAL", b"\1" * 30), ("D_OLD", mus)])
    wad2 = _wad(tmp_path / "game2.wad", [("D_STALKS", b), ("D_AGAIN", a)], kind=b"PWAD")
    out = tmp_path / "out"
    report = import_wads([wad1, wad2], out)
    assert (report.written, report.skipped_existing) == (2, 0)
    assert sorted(p.name for p in out.glob("*.mid")) == ["game1-D_RUNNIN.mid", "game2-D_STALKS.mid"]
    assert (out / "game1-D_RUNNIN.mid").read_bytes() == a  # byte for byte as the WAD holds it
    manifest = json.loads((out / "manifest.json").read_text())
    first = manifest["pieces"][0]
    assert (first["wad"], first["lump"], first["tracks"], first["drums"], first["notes"]) == ("game1.wad", "D_RUNNIN", 2, True, 20)
    assert "check the WAD's own licence" in first["licence"]
    assert manifest["duplicates"] == [{"source": "game2.wad:D_AGAIN", "same_as": "game1-D_RUNNIN.mid"}]
    assert [f["source"] for f in manifest["failed"]] == ["game1.wad:D_OLD"] and "MUS" in manifest["failed"][0]["reason"]
    assert "Pieces: 2 (2 with drums)" in (out / "SOURCE.md").read_text()
    again = import_wads([wad1, wad2], out)  # a rerun rewrites nothing
    assert (again.written, again.skipped_existing) == (0, 2)


def test_a_lump_the_reader_refuses_is_listed_not_written(tmp_path):
    broken = b"MThd" + struct.pack(">IHHH", 6, 1, 1, 96) + b"MTrk" + struct.pack(">I", 400) + b"\0\x90"
    wad = _wad(tmp_path / "g.wad", [("D_GOOD", _song(tmp_path, "a", [40])), ("D_BAD", broken)])
    report = import_wads([wad], tmp_path / "out")
    assert report.written == 1 and [f["source"] for f in report.failed] == ["g.wad:D_BAD"]
    assert not (tmp_path / "out" / "g-D_BAD.mid").exists()


@pytest.mark.parametrize("data, problem", [
    (b"IWA", "too short for a WAD header"),
    (b"RIFF" + b"\0" * 20, "is not a WAD"),
    (struct.pack("<4sii", b"IWAD", 3, 12), "broken directory"),
    (struct.pack("<4sii", b"PWAD", 1, 12) + struct.pack("<ii8s", 12, 9999, b"D_X"), "lies outside the file"),
])
def test_a_file_that_is_not_a_wad_is_one_line_naming_it(tmp_path, data, problem):
    path = tmp_path / "bad.wad"
    path.write_bytes(data)
    with pytest.raises(MidigenError, match=problem) as e:
        read_lumps(path)
    assert str(e.value).startswith(str(path)) and "\n" not in str(e.value)


def test_cli_errors_name_the_file_and_write_nothing(tmp_path):
    no_music = _wad(tmp_path / "maps.wad", [("MAP01", b"\0" * 40)])
    result = CliRunner().invoke(main, ["corpus", "import", "wad", str(no_music), str(tmp_path / "out")])
    assert result.exit_code == 2 and "maps.wad: no MIDI music lumps" in result.output
    assert not (tmp_path / "out" / "manifest.json").exists()
    wad = _wad(tmp_path / "g.wad", [("D_A", _song(tmp_path, "a", [40, 41]))])
    result = CliRunner().invoke(main, ["corpus", "import", "wad", str(wad), str(tmp_path / "ok")])
    assert result.exit_code == 0 and "1 written" in result.output


@pytest.mark.skipif(not FREEDOOM1.exists(), reason="Debian's freedoom package is not installed")
def test_freedoom_phase_1_is_band_music_with_its_licence(tmp_path):
    report = import_wads([FREEDOOM1], tmp_path / "fd1")
    manifest = json.loads(report.manifest_path.read_text())
    pieces = manifest["pieces"]
    assert len(pieces) == 31 and len(manifest["duplicates"]) == 1 and not manifest["failed"]
    assert sum(p["drums"] for p in pieces) >= 29 and sum(p["tracks"] >= 5 for p in pieces) >= 25
    assert manifest["licence"] == KNOWN_WADS["freedoom1.wad"].licence and manifest["packages"] == ["freedoom"]
