"""Importing music21's corpora: files, manifest, keys, pickups, skipping and failures."""
from __future__ import annotations

import json

import mido
import pytest

from midigen.corpus import music21_import as imp
from midigen.errors import MidigenError
from midigen.midi_io import read_midi


def test_collections_enumerate_without_parsing():
    assert len(imp.list_pieces("irish-oneills")) > 1800
    chinese = imp.list_pieces("essen-chinese")
    german = imp.list_pieces("essen-german")
    assert chinese and all("/han" in r.source for r in chinese)
    assert german and not any("/han" in r.source for r in german)
    assert len({r.file_name for r in german}) == len(german)  # unique, safe file names


def test_unknown_collection():
    with pytest.raises(MidigenError, match="unknown music21 collection 'jazz'"):
        imp.import_collection("jazz", "/tmp/nowhere")


def test_import_writes_midi_manifest_and_source(tmp_path):
    report = imp.import_collection("irish-oneills", tmp_path, workers=1, limit=4)
    assert report.written == 4 and not report.failed
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["collection"] == "irish-oneills" and manifest["music21_version"]
    assert "commercial" in manifest["licence"] and (tmp_path / "SOURCE.md").read_text().startswith("# irish-oneills")
    first = manifest["pieces"][0]
    assert first["source"] == "oneills1850/0001-0050.abc#1" and first["key"] == "G minor"
    assert first["key_source"] == "notated" and first["meter"] == "2/4"
    for entry in manifest["pieces"]:
        piece, _ = read_midi(tmp_path / entry["file"])
        assert piece.n_notes > 10
        keys = [m for t in mido.MidiFile(tmp_path / entry["file"]).tracks for m in t if m.type == "key_signature"]
        assert keys, "the decided key is written into the file"


def test_pickup_is_padded_to_a_full_bar(tmp_path):
    imp.import_collection("irish-oneills", tmp_path, workers=1, limit=2)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    tune = next(e for e in manifest["pieces"] if e["source"].endswith("#2"))
    assert tune["pickup_padded"]
    piece, _ = read_midi(tmp_path / tune["file"])
    assert piece.notes[0, 0] == 24 - 6  # an 8th-note pickup in 2/4: last 8th of the first bar
    assert piece.notes[1, 0] == 24  # the first full bar starts on a bar line


def test_rerun_skips_existing_and_failures_do_not_abort(tmp_path, monkeypatch):
    imp.import_collection("irish-oneills", tmp_path, workers=1, limit=3)
    original = imp._import_one

    def flaky(job):
        if job[0].endswith("#4"):
            return {"source": job[0], "reason": "ValueError: broken encoding"}
        return original(job)

    monkeypatch.setattr(imp, "_import_one", flaky)
    report = imp.import_collection("irish-oneills", tmp_path, workers=1, limit=5)
    assert report.skipped_existing == 3 and report.written == 1
    assert report.failed == [{"source": "oneills1850/0001-0050.abc#4", "reason": "ValueError: broken encoding"}]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert len(manifest["pieces"]) == 4 and manifest["failed"] == report.failed


def test_bach_keeps_only_four_part_chorales(tmp_path):
    report = imp.import_collection("bach-chorales", tmp_path, workers=1, limit=2)
    assert report.failed == [{"source": "bach/bwv1.6.mxl", "reason": "has 5 parts, not 4"}]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["pieces"][0]["parts"] == 4
