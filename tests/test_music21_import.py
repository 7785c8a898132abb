"""Importing music21's corpora: files, manifest, keys, pickups, skipping and failures."""
from __future__ import annotations

import json

import mido
import pytest

from midigen.corpus import music21_import as imp
from midigen.errors import MidigenError
from midigen.midi.files import read_midi


def test_collections_enumerate_without_parsing():
    oneills = [r.source.rpartition("#")[2] for r in imp.list_pieces("irish-oneills")]
    assert len(oneills) > 1800 and len(set(oneills)) == len(oneills)  # overlapping files: one tune per number
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
    chorale = manifest["pieces"][0]
    assert chorale["source"] == "bach/bwv10.7.mxl" and chorale["parts"] == 4
    assert (chorale["key"], chorale["key_source"], chorale["meter"]) == ("G minor", "notated", "4/4")
    assert chorale["tempo_bpm"] is None
    messages = [m for t in mido.MidiFile(tmp_path / chorale["file"]).tracks for m in t]
    assert not [m for m in messages if m.type == "set_tempo"], "no tempo marking, so no tempo event"
    assert [(m.key, m.time) for m in messages if m.type == "key_signature"][0] == ("Gm", 0)


def _onsets_ticks(path) -> tuple[list[int], int, int]:
    """(note-on ticks, ticks per bar of the first meter, ticks per beat) read back with mido."""
    midi = mido.MidiFile(path)
    onsets, meters = [], []
    for track in midi.tracks:
        now = 0
        for message in track:
            now += message.time
            if message.type == "note_on" and message.velocity:
                onsets.append(now)
            if message.type == "time_signature":
                meters.append((now, message.numerator, message.denominator))
    _, num, den = min(meters)
    return sorted(onsets), midi.ticks_per_beat * 4 * num // den, midi.ticks_per_beat


def test_pickup_onset_is_a_bar_minus_the_pickup_in_the_midi_file(tmp_path):
    entry = imp._import_one(("oneills1850/0001-0050.abc#2", "tune2.mid", str(tmp_path), "temperley"))
    onsets, bar_ticks, tpq = _onsets_ticks(tmp_path / "tune2.mid")
    assert entry["pickup_padded"] and entry["meter"] == "2/4"
    assert onsets[0] == bar_ticks - tpq // 2  # an 8th-note pickup ends exactly on the first bar line
    assert onsets[1] == bar_ticks


def test_returning_meter_survives(tmp_path):
    """music21 reuses one TimeSignature object when the ABC meter returns (4/2, 4/4, 4/2, ...)."""
    entry = imp._import_one(("essenFolksong/altdeu10.abc#16", "song.mid", str(tmp_path), "temperley"))
    assert "reason" not in entry and entry["pickup_padded"]
    meters = [(m.numerator, m.denominator) for m in mido.MidiFile(tmp_path / "song.mid").tracks[0]
              if m.type == "time_signature"]
    assert meters[:4] == [(4, 2), (4, 4), (4, 2), (4, 4)]


def test_badly_formed_repeat_is_played_once_not_failed(tmp_path):
    entry = imp._import_one(("oneills1850/0101-0200.abc#182", "t.mid", str(tmp_path), "temperley"))
    assert "reason" not in entry and entry["repeats_expanded"] is False


def test_notated_tempo_is_written(tmp_path):
    entry = imp._import_one(("ryansMammoth/CampMeetingJig.abc#1", "jig.mid", str(tmp_path), "temperley"))
    assert entry["tempo_bpm"] == 75.0
    tempos = [m.tempo for t in mido.MidiFile(tmp_path / "jig.mid").tracks for m in t if m.type == "set_tempo"]
    assert len(tempos) == 1 and mido.tempo2bpm(tempos[0]) == pytest.approx(75, rel=0.02)  # snapped to midigen's tempo table


def test_a_piece_music21_cannot_parse_is_reported_not_fatal(tmp_path, monkeypatch):
    import music21.converter

    real_parse = music21.converter.parse

    def parse(path, *args, **kwargs):
        if kwargs.get("number") == 2:
            raise ValueError("unreadable\nencoding")
        return real_parse(path, *args, **kwargs)

    monkeypatch.setattr(music21.converter, "parse", parse)
    report = imp.import_collection("irish-oneills", tmp_path, workers=1, limit=3)
    assert report.written == 2
    assert report.failed == [{"source": "oneills1850/0001-0050.abc#2", "reason": "ValueError: unreadable encoding"}]
    assert json.loads((tmp_path / "manifest.json").read_text())["failed"] == report.failed


def test_repeats_are_expanded_only_where_the_bar_grid_survives(tmp_path):
    clean = imp._import_one(("oneills1850/0001-0050.abc#2", "a.mid", str(tmp_path), "temperley"))
    # this encoding repeats its pickup after a full bar: expanded, every later bar line would be off the grid
    broken = imp._import_one(("ryansMammoth/ArkansasTravellerReel.abc#1", "b.mid", str(tmp_path), "temperley"))
    assert clean["repeats_expanded"] is True and broken["repeats_expanded"] is False


def test_worker_processes_give_the_same_manifest(tmp_path):
    imp.import_collection("irish-oneills", tmp_path / "one", workers=1, limit=3)
    imp.import_collection("irish-oneills", tmp_path / "two", workers=2, limit=3)
    one, two = (json.loads((tmp_path / d / "manifest.json").read_text()) for d in ("one", "two"))
    assert one["pieces"] == two["pieces"]
    assert (tmp_path / "one" / one["pieces"][0]["file"]).read_bytes() == (tmp_path / "two" / two["pieces"][0]["file"]).read_bytes()
