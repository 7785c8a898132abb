"""Integration: composed files import into MuseScore 3 with the right key, meter, tempo and bar count.

Runs where ``mscore3`` is installed (CI installs Debian's musescore3). MuseScore exits 0 even when it
falls back to an empty default score, so the test reads the MusicXML it writes, never the exit code.
MuseScore 3 infers the key from the notes (it ignores MIDI key-signature events), so the takes use
``--strict-key``: the key it finds is then the key we asked for.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from midigen.errors import MidigenError
from midigen.music.keys import parse_key, signature_of_key
from midigen.styles.registry import find_style
from midigen.tasks.compose import compose, request_from_strings, write_takes

pytestmark = pytest.mark.skipif(shutil.which("mscore3") is None, reason="MuseScore 3 (mscore3) is not installed")


def _shipped_style() -> str:
    try:
        find_style("bach-chorales")
    except MidigenError:
        pytest.skip("the shipped bach-chorales style is not in styles/")
    return "bach-chorales"


def _musescore(midi_path, tmp_path) -> ET.Element:
    out = tmp_path / "score.musicxml"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    subprocess.run(["mscore3", "-o", str(out), str(midi_path)], env=env, capture_output=True, timeout=120, check=False)
    assert out.is_file() and out.stat().st_size > 0, "MuseScore wrote no MusicXML"
    return ET.parse(out).getroot()


@pytest.mark.parametrize("key, meter, tempo, bars", [("D minor", "3/4", 100, 8), ("G major", "4/4", 72, 6)])
def test_musescore_reads_key_meter_tempo_and_bars(tmp_path, key, meter, tempo, bars):
    style = _shipped_style()
    request = request_from_strings(bars, key=key, time_sig=meter, tempo_bpm=float(tempo), strict_key=True, seed=7)
    (path,) = write_takes(compose(style, request), tmp_path / "take.mid")
    root = _musescore(path, tmp_path)
    parts = root.findall("part")
    assert parts, "empty score: MuseScore could not read the file"
    for part in parts:
        assert len(part.findall("measure")) == bars
    first = parts[0].find("measure")
    assert int(first.find("attributes/key/fifths").text) == signature_of_key(parse_key(key))
    assert f"{first.find('attributes/time/beats').text}/{first.find('attributes/time/beat-type').text}" == meter
    tempos = [float(s.get("tempo")) for s in root.iter("sound") if s.get("tempo")]
    assert tempos and round(tempos[0]) == tempo
    notes = [n for n in root.iter("note") if n.find("rest") is None]
    assert len(notes) > bars  # the music is there, not a default empty score
