"""Infill: only the chosen bars (and tracks) change; every other note keeps its bytes, the bar count holds."""
from __future__ import annotations

import json

import mido
import numpy as np
import pytest
from click.testing import CliRunner

from midigen.cli import main
from midigen.errors import MidigenError
from midigen.midi.files import read_midi
from midigen.music.keys import scale_pitch_classes
from midigen.styles.bundle import load_bundle
from midigen.styles.registry import find_style
from midigen.tasks.infill import InfillRequest, infill_file, parse_bars, parse_tracks, write_infills
from midigen.tokens.tokenizer import encode
from tests.midi_events import make_file, notes

TPQ = 96  # 8 ticks a grid step
BAR_TICKS = 3 * TPQ  # 3/4


@pytest.fixture
def sketch(tmp_path):
    """Six bars of 3/4 on two parts, some notes off the grid and off the velocity levels."""
    upper = [(b * BAR_TICKS + i * TPQ + (3 if i == 1 else 0), b * BAR_TICKS + (i + 1) * TPQ - 6, 72 + (b + i) % 5, 80 + b)
             for b in range(6) for i in range(3)]
    lower = [(b * BAR_TICKS + 1, (b + 1) * BAR_TICKS - 2, 48 + b, 90) for b in range(6)]
    meta = [(0, mido.MetaMessage("time_signature", numerator=3, denominator=4)), (0, mido.MetaMessage("set_tempo", tempo=631579))]
    return make_file(tmp_path / "sketch.mid", [("Flute", 0, 73, upper), ("Cello", 1, 42, lower)], tpq=TPQ, meta=meta)


def _split(path, first_bar, n_bars):
    """Notes of a file (chunk, channel, on, off, pitch, velocity) inside / outside the bars by onset."""
    lo, hi = first_bar * BAR_TICKS, (first_bar + n_bars) * BAR_TICKS
    inside = [n for n in notes(path) if lo - 4 <= n[2] < hi - 4]  # onsets within half a step snap into the span
    outside = [n for n in notes(path) if n not in inside]
    return inside, outside


def test_only_the_chosen_bars_change(bundle, sketch, tmp_path):
    request = InfillRequest(first_bar=2, n_bars=2, seed=3, key=9)
    source, takes = infill_file(bundle, sketch, request)
    (path,) = write_infills(source, takes, request, tmp_path / "out.mid")
    old_inside, old_outside = _split(sketch, 2, 2)
    new_inside, new_outside = _split(path, 2, 2)
    assert new_outside == old_outside  # ticks, velocities, channels: byte for byte the same notes
    assert new_inside and new_inside != old_inside
    back, _ = read_midi(path)
    assert back.n_bars == 6 and back.meters == ((0, 3, 4),)
    assert (back.notes[:, 0] + back.notes[:, 1] <= back.end_steps).all()
    midi = mido.MidiFile(str(path))
    assert midi.ticks_per_beat == TPQ and len(midi.tracks) == 3
    record = json.loads(next(m.text for m in midi.tracks[0] if m.type == "text").removeprefix("midigen "))
    assert record["command"] == "infill" and record["bars"] == "3-4" and record["tracks"] is None
    assert record["input"] == "sketch.mid" and record["seed"] == 3 and record["key"] == "A major"
    # the new notes end inside the gap: nothing of the gap sounds into bar 5
    for *_, off, _, _ in new_inside:
        assert off <= 4 * BAR_TICKS


def test_only_the_chosen_tracks_change_and_the_kept_track_is_heard(bundle, sketch, tmp_path):
    request = InfillRequest(first_bar=1, n_bars=3, tracks=(0,), seed=5)
    source, takes = infill_file(bundle, sketch, request)
    (path,) = write_infills(source, takes, request, tmp_path / "out.mid")
    before, after = notes(sketch), notes(path)
    cello = [n for n in before if n[1] == 1]
    assert [n for n in after if n[1] == 1] == cello  # the other track, in the gap too, untouched
    _, outside = _split(sketch, 1, 3)
    _, outside_now = _split(path, 1, 3)
    assert [n for n in outside_now if n[1] == 0] == [n for n in outside if n[1] == 0]
    # the sampled sequence wrote the kept cello notes in the gap as they are
    take = takes[0].piece
    gap = (take.notes[:, 0] >= 36) & (take.notes[:, 0] < 4 * 36)
    assert np.array_equal(take.notes[gap & (take.notes[:, 4] == 1)], source.piece.notes[
        (source.piece.notes[:, 0] >= 36) & (source.piece.notes[:, 0] < 144) & (source.piece.notes[:, 4] == 1)])


def test_constraints_and_determinism(bundle, sketch, tmp_path):
    request = InfillRequest(first_bar=0, n_bars=2, seed=8, strict_key=True, key=5, pitch_range=(50, 70), temperature=1.5,
                            variations=2)
    first = write_infills(*infill_file(bundle, sketch, request)[:2], request, tmp_path / "a.mid")
    again = write_infills(*infill_file(bundle, sketch, request)[:2], request, tmp_path / "b.mid")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    for path in first:
        inside, _ = _split(path, 0, 2)
        pitches = [n[4] for n in inside]
        assert all(50 <= p <= 70 for p in pitches) and {p % 12 for p in pitches} <= scale_pitch_classes(5)


def test_the_last_bars_and_a_long_input_past_the_context(bundle, real_midi_dir, tmp_path):
    src = real_midi_dir / "bach_bwv269.mid"
    piece, _ = read_midi(src)
    assert len(encode(piece)) > 2 * bundle.model.cfg.max_seq_len
    request = InfillRequest(first_bar=piece.n_bars - 2, n_bars=2, seed=1)  # the gap at the end: a continuation
    source, takes = infill_file(bundle, src, request)
    context = takes[0].provenance["context_bars"]
    assert context != f"1-{piece.n_bars}" and context.endswith(str(piece.n_bars))
    (path,) = write_infills(source, takes, request, tmp_path / "out.mid")
    back, _ = read_midi(path)
    assert back.n_bars == piece.n_bars
    start = piece.bar_starts_steps()[piece.n_bars - 2]
    assert np.array_equal(back.notes[back.notes[:, 0] < start], piece.notes[piece.notes[:, 0] < start])


def test_bars_and_tracks_parsing_and_refusals(bundle, sketch):
    assert parse_bars("5-8") == (4, 4) and parse_bars(" 3 ") == (2, 1) and parse_tracks("1,3") == (0, 2)
    for text in ("0-2", "5-3", "x", ""):
        with pytest.raises(MidigenError, match="bar"):
            parse_bars(text)
    with pytest.raises(MidigenError, match="1 to 16 bars"):
        InfillRequest(first_bar=0, n_bars=17)
    with pytest.raises(MidigenError, match="each track once"):
        InfillRequest(first_bar=0, n_bars=1, tracks=(1, 1))
    with pytest.raises(MidigenError, match="sketch.mid: bars 5-8 are not all inside the input's 6 bars"):
        infill_file(bundle, sketch, InfillRequest(first_bar=4, n_bars=4))
    with pytest.raises(MidigenError, match="--tracks 3: the input has 2 tracks"):
        infill_file(bundle, sketch, InfillRequest(first_bar=0, n_bars=1, tracks=(2,)))


def test_a_meter_change_inside_the_gap_is_refused(bundle, tmp_path):
    meta = [(0, mido.MetaMessage("time_signature", numerator=4, denominator=4)),
            (384, mido.MetaMessage("time_signature", numerator=3, denominator=4))]
    src = make_file(tmp_path / "m.mid", [("Piano", 0, 0, [(i * 96, i * 96 + 90, 60 + i, 64) for i in range(10)])], tpq=TPQ, meta=meta)
    with pytest.raises(MidigenError, match="the meter changes at bar 2, inside bars 1-2"):
        infill_file(bundle, src, InfillRequest(first_bar=0, n_bars=2))


def test_cli_infill(tiny_style, sketch, tmp_path):
    styles, _ = tiny_style
    args = ["infill", str(sketch), "--style", "tiny-bach", "--styles-dir", str(styles), "--bars", "2-3", "--tracks", "1",
            "-o", str(tmp_path / "o.mid")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "bars 2-3 of sketch.mid rewritten on tracks 1, the rest kept" in result.output
    bad = CliRunner().invoke(main, args[:-2] + ["--bars", "9-12", "-o", str(tmp_path / "p.mid")])
    assert bad.exit_code == 2 and "sketch.mid: bars 9-12" in bad.output and len(bad.output.strip().splitlines()) == 1


def test_shipped_style_rewrites_a_real_chorale_middle_only(real_midi_dir, tmp_path):
    try:
        style = find_style("bach-chorales")
    except MidigenError:
        pytest.skip("the shipped bach-chorales style is not in styles/")
    src = real_midi_dir / "bach_bwv347.mid"
    request = InfillRequest(first_bar=3, n_bars=2, seed=0)
    source, takes = infill_file(load_bundle(style), src, request)
    (path,) = write_infills(source, takes, request, tmp_path / "out.mid")
    piece = source.piece
    lo, hi = piece.bar_starts_steps()[[3, 5]]
    back, _ = read_midi(path)
    outside = (piece.notes[:, 0] < lo) | (piece.notes[:, 0] >= hi)
    assert np.array_equal(back.notes[(back.notes[:, 0] < lo) | (back.notes[:, 0] >= hi)], piece.notes[outside])
    new = back.notes[(back.notes[:, 0] >= lo) & (back.notes[:, 0] < hi)]
    assert len(new) >= 8 and len(np.unique(new[:, 4])) >= 3  # a chorale texture, not a single line
