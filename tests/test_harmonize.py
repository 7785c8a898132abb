"""Harmonize: the melody file is kept event for event, and the melody is the top note whenever it sounds."""
from __future__ import annotations

import json

import mido
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from midigen.cli import main
from midigen.errors import MidigenError
from midigen.midi.files import read_midi
from midigen.music.keys import KEY_NAMES
from midigen.music.piece import Piece, Track, quantize
from midigen.styles.bundle import Bundle, load_bundle
from midigen.styles.registry import find_style
from midigen.tasks.harmonize import HarmonizeRequest, harmonize_file, harmonize_piece, harmony_parts, write_harmonizations
from tests.midi_events import events, make_file, notes

TPQ = 96


@pytest.fixture
def tune(tmp_path):
    """Three bars of 4/4, a rest in bar 2, velocities off the model's levels, no key signature."""
    melody = [(0, 96, 67, 80), (96, 192, 69, 80), (192, 384, 71, 100), (384, 480, 72, 80), (576, 672, 74, 80),
              (672, 768, 72, 70), (768, 960, 71, 80), (960, 1152, 67, 80)]
    return make_file(tmp_path / "tune.mid", [("Tune", 0, 40, melody)], tpq=TPQ)


def melody_on_top(piece: Piece) -> bool:
    """Whenever a track-0 note sounds, every other melodic note sounding with it is lower."""
    n = piece.notes
    melody, others = n[n[:, 4] == 0], n[n[:, 4] > 0]
    for start, duration, pitch, _, _ in melody.tolist():
        overlapping = (others[:, 0] < start + duration) & (others[:, 0] + others[:, 1] > start)
        if (others[overlapping, 2] >= pitch).any():
            return False
    return True


def test_melody_is_kept_and_the_other_parts_sit_under_it(bundle, tune, tmp_path):
    source, takes = harmonize_file(bundle, tune, HarmonizeRequest(seed=3))
    (path,) = write_harmonizations(source, takes, tmp_path / "out.mid")
    before, after = events(tune), events(path)
    assert after[1] == before[1]  # the melody's track: not one event added, moved or lost
    assert not before[0] - after[0] and all("key_signature" in t or '"midigen"' in t for _, t in after[0] - before[0])
    assert [n for n in notes(path) if n[0] == 1] == notes(tune)  # the melody, tick for tick, velocity for velocity
    midi = mido.MidiFile(str(path))
    assert [next(m.name for m in t if m.type == "track_name") for t in midi.tracks[1:]] == ["Tune", "Alto", "Tenor", "Bass"]
    back, _ = read_midi(path)
    assert back.n_bars == 3 and back.meters == ((0, 4, 4),)
    assert melody_on_top(back)
    ranges = {p.name: (p.pitch_low, p.pitch_high) for p in harmony_parts(bundle)}  # from the corpus's statistics
    for track, name in enumerate(("alto", "tenor", "bass"), start=1):
        low, high = ranges[name]
        pitches = back.notes[back.notes[:, 4] == track, 2]
        assert ((pitches >= low) & (pitches <= high)).all()
    record = json.loads(next(m.text for m in midi.tracks[0] if m.type == "text").removeprefix("midigen "))
    assert record["command"] == "harmonize" and record["parts"] == ["soprano", "alto", "tenor", "bass"]
    assert record["key_from"] == "notes (no signature)" and record["key"] == KEY_NAMES[back.key]
    assert record["seed"] == 3 and record["bars"] == 3 and record["input"] == "tune.mid"


def test_same_seed_same_bytes_and_key_signature_added(bundle, tune, tmp_path):
    request = HarmonizeRequest(seed=5, variations=2, key=7, strict_key=True)
    first = write_harmonizations(*harmonize_file(bundle, tune, request), tmp_path / "a.mid")
    again = write_harmonizations(*harmonize_file(bundle, tune, request), tmp_path / "b.mid")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    assert first[0].read_bytes() != first[1].read_bytes()
    assert read_midi(first[0])[0].key == 7  # the melody file had no key signature: --key's is written


_step = st.sampled_from([3, 6, 12, 18, 24])


@st.composite
def melodies(draw):
    """A one-track quantized melody of 1-4 bars of 4/4 with rests, any register."""
    notes, step = [], draw(st.sampled_from([0, 6, 12]))
    for _ in range(draw(st.integers(1, 10))):
        duration = draw(_step)
        if step + duration > 4 * 48:
            break
        notes.append((step, duration, draw(st.integers(40, 90)), 87, 0))
        step += duration + draw(st.sampled_from([0, 0, 6, 12]))
    return quantize(Piece(np.asarray(notes, dtype=np.int64), tracks=(Track(),), key=0))


@settings(max_examples=12, deadline=None)
@given(melody=melodies(), seed=st.integers(0, 1000))
def test_any_melody_is_kept_on_top_without_dead_ends(bundle, melody, seed):
    (take,) = harmonize_piece(bundle, melody, HarmonizeRequest(seed=seed, temperature=1.5))
    piece = take.piece
    assert np.array_equal(piece.notes[piece.notes[:, 4] == 0], melody.notes)
    assert piece.n_bars == melody.n_bars and melody_on_top(piece)


def test_melodies_that_cannot_be_harmonized_are_refused(bundle, tmp_path):
    chords = make_file(tmp_path / "chords.mid", [("P", 0, 0, [(0, 192, 60, 80), (96, 288, 64, 80)])], tpq=TPQ)
    with pytest.raises(MidigenError, match="chords.mid: has two notes sounding together in bar 1"):
        harmonize_file(bundle, chords, HarmonizeRequest())
    two = make_file(tmp_path / "two.mid", [("A", 0, 0, [(0, 96, 60, 80)]), ("B", 1, 0, [(0, 96, 48, 80)])], tpq=TPQ)
    with pytest.raises(MidigenError, match="two.mid: has 2 tracks"):
        harmonize_file(bundle, two, HarmonizeRequest())
    drums = make_file(tmp_path / "drums.mid", [("D", 9, 0, [(0, 96, 36, 80)])], tpq=TPQ)
    with pytest.raises(MidigenError, match="drums.mid: has a drum track"):
        harmonize_file(bundle, drums, HarmonizeRequest())
    solo = Bundle(tmp_path, {"name": "solo", "corpus": {"stats": {"instrumentations": {"73": 9}}}}, None)
    with pytest.raises(MidigenError, match="style solo has the parts melody: harmonize needs"):
        harmony_parts(solo)


def test_cli_harmonize(tiny_style, tune, tmp_path):
    styles, _ = tiny_style
    args = ["harmonize", str(tune), "--style", "tiny-bach", "--styles-dir", str(styles), "-o", str(tmp_path / "h.mid")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "tune.mid harmonized as soprano, alto, tenor, bass, 3 bars of 4/4" in result.output
    bad = CliRunner().invoke(main, args[:-2] + ["-o", str(tmp_path / "i.mid"), "--top-p", "0"])
    assert bad.exit_code == 2 and "--top-p must be in" in bad.output


def test_shipped_style_keeps_a_real_soprano_on_top(real_midi_dir, tmp_path):
    try:
        style = find_style("bach-chorales")
    except MidigenError:
        pytest.skip("the shipped bach-chorales style is not in styles/")
    chorale = mido.MidiFile(str(real_midi_dir / "bach_bwv347.mid"))
    soprano = mido.MidiFile(type=1, ticks_per_beat=chorale.ticks_per_beat)
    soprano.tracks += [chorale.tracks[0], next(t for t in chorale.tracks if any(m.type == "note_on" for m in t))]
    soprano.save(str(tmp_path / "soprano.mid"))
    source, takes = harmonize_file(load_bundle(style), tmp_path / "soprano.mid", HarmonizeRequest(seed=0))
    (path,) = write_harmonizations(source, takes, tmp_path / "out.mid")
    assert [n for n in notes(path) if n[0] == 1] == notes(tmp_path / "soprano.mid")
    back, _ = read_midi(path)
    assert len(back.tracks) == 4 and back.n_bars == source.piece.n_bars and melody_on_top(back)
    assert np.array_equal(back.notes[back.notes[:, 4] == 0], source.piece.notes)
