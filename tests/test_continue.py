"""Continue: the input file is kept event for event, exactly N bars follow in its meter, tempo and key."""
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
from midigen.tasks.continuation import ContinueRequest, continue_file, write_continuations
from midigen.tokens.tokenizer import encode
from tests.midi_events import events, make_file, notes

TPQ = 96  # 8 ticks a grid step


@pytest.fixture
def sketch(tmp_path):
    """Two bars of 3/4 on two parts, off the grid (ticks 3 and 101) and off the velocity levels (80, 90)."""
    upper = [(0, 96, 72, 80), (101, 190, 74, 80), (192, 288, 76, 90), (288, 480, 77, 90), (480, 576, 76, 80)]
    lower = [(3, 288, 48, 90), (288, 576, 53, 90)]
    meta = [(0, mido.MetaMessage("time_signature", numerator=3, denominator=4)), (0, mido.MetaMessage("set_tempo", tempo=631579))]
    return make_file(tmp_path / "sketch.mid", [("Flute", 0, 73, upper), ("Cello", 1, 42, lower)], tpq=TPQ, meta=meta)


def _only_additions(src, out, end_tick):
    """Every event of ``src`` is in ``out`` at its tick; what ``out`` adds is the provenance, a key
    signature, and notes from ``end_tick`` on. Returns the added notes' events."""
    before, after = events(src), events(out)
    assert len(after) == len(before)
    added = []
    for kept, now in zip(before, after):
        assert not kept - now, "an event of the input is missing or moved"
        for (tick, text), count in (now - kept).items():
            if '"midigen"' in text or "key_signature" in text:
                continue
            assert text.startswith(("note_on", "note_off")) and tick >= end_tick, (tick, text)
            added += [(tick, text)] * count
    return added


def test_input_is_kept_and_exact_bars_follow(bundle, sketch, tmp_path):
    request = ContinueRequest(bars=3, seed=4, key=9)
    source, takes = continue_file(bundle, sketch, request)
    (path,) = write_continuations(source, takes, tmp_path / "out.mid")
    end_tick = 2 * 3 * TPQ  # two bars of 3/4
    added = _only_additions(sketch, path, end_tick)
    assert added, "no new notes"
    back, _ = read_midi(path)
    assert back.n_bars == 5 and back.meters == ((0, 3, 4),) and back.key == 9
    assert [t.program for t in back.tracks] == [73, 42]  # the input's own parts carry on
    assert mido.MidiFile(str(path)).ticks_per_beat == TPQ
    kept = [n for n in notes(path) if n[2] < end_tick]
    assert kept == notes(sketch)  # off-grid times and velocities as they were
    text = next(m.text for m in mido.MidiFile(str(path)).tracks[0] if m.type == "text")
    record = json.loads(text.removeprefix("midigen "))
    assert record["command"] == "continue" and record["input"] == "sketch.mid" and record["input_bars"] == 2
    assert record["bars"] == 3 and record["seed"] == 4 and record["key"] == "A major" and record["key_from"] == "--key"
    assert record["time_sig"] == "3/4" and record["tempo_bpm"] == 96.0  # 95 bpm in the file, 96 on the model's marks


def test_same_seed_same_bytes_variations_differ(bundle, sketch, tmp_path):
    request = ContinueRequest(bars=2, seed=9, variations=3)
    first = write_continuations(*continue_file(bundle, sketch, request), tmp_path / "a.mid")
    again = write_continuations(*continue_file(bundle, sketch, request), tmp_path / "b.mid")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    assert len({p.read_bytes() for p in first}) == 3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_new_notes_keep_the_constraints(bundle, sketch, tmp_path, seed):
    request = ContinueRequest(bars=2, seed=seed, strict_key=True, key=5, pitch_range=(50, 70), temperature=1.5)
    source, takes = continue_file(bundle, sketch, request)
    (path,) = write_continuations(source, takes, tmp_path / "out.mid")
    back, _ = read_midi(path)
    assert back.n_bars == 4
    new = back.notes[back.notes[:, 0] >= source.piece.end_steps]
    assert ((new[:, 2] >= 50) & (new[:, 2] <= 70)).all()
    assert set((new[:, 2] % 12).tolist()) <= scale_pitch_classes(5)
    assert (back.notes[:, 0] + back.notes[:, 1] <= back.end_steps).all()


def test_meter_and_tempo_changes_survive_and_the_last_ones_carry_on(bundle, tmp_path):
    meta = [(0, mido.MetaMessage("time_signature", numerator=4, denominator=4)),
            (384, mido.MetaMessage("time_signature", numerator=3, denominator=4)),
            (0, mido.MetaMessage("set_tempo", tempo=500000)), (200, mido.MetaMessage("set_tempo", tempo=750000))]
    melody = [(i * 96, i * 96 + 90, 60 + i, 64) for i in range(7)]
    src = make_file(tmp_path / "changes.mid", [("Piano", 0, 0, melody)], tpq=TPQ, meta=meta, type_=0)
    source, takes = continue_file(bundle, src, ContinueRequest(bars=2, seed=1))
    (path,) = write_continuations(source, takes, tmp_path / "out.mid")
    _only_additions(src, path, 384 + 288)
    back, _ = read_midi(path)
    assert back.meters == ((0, 4, 4), (1, 3, 4)) and back.n_bars == 4
    assert [round(b) for _, b in back.tempos] == [120, 80]
    assert mido.MidiFile(str(path)).type == 0


def test_a_long_input_past_the_context_is_continued(bundle, real_midi_dir, tmp_path):
    src = real_midi_dir / "bach_bwv269.mid"
    source, takes = continue_file(bundle, src, ContinueRequest(bars=2, seed=2))
    assert len(encode(source.piece)) > 2 * bundle.model.cfg.max_seq_len
    (path,) = write_continuations(source, takes, tmp_path / "out.mid")
    end_tick = int(source.piece.end_steps * mido.MidiFile(str(src)).ticks_per_beat / 12)
    _only_additions(src, path, end_tick)
    assert read_midi(path)[0].n_bars == source.piece.n_bars + 2


def test_cli_continue_and_its_errors(tiny_style, sketch, tmp_path):
    styles, _ = tiny_style
    args = ["continue", str(sketch), "--style", "tiny-bach", "--styles-dir", str(styles), "--bars", "2", "-o", str(tmp_path / "o.mid")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "2 bars of sketch.mid kept, 2 new bars of 3/4" in result.output
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2 and "exists (use --force" in again.output
    for bad, message in ((["--bars", "0"], "--bars must be between"), (["--key", "H minor"], "not a key"),
                         (["--range", "C6-C3"], "upside down")):
        result = CliRunner().invoke(main, args[:-2] + ["-o", str(tmp_path / "p.mid")] + bad)
        assert result.exit_code == 2 and message in result.output and len(result.output.strip().splitlines()) == 1
    missing = CliRunner().invoke(main, ["continue", str(tmp_path / "nope.mid")] + args[2:-2] + ["-o", str(tmp_path / "q.mid")])
    assert missing.exit_code == 2 and "nope.mid" in missing.output and len(missing.output.strip().splitlines()) == 1


def test_refused_requests():
    with pytest.raises(MidigenError, match="--bars must be between"):
        ContinueRequest(bars=0)
    with pytest.raises(MidigenError, match="--variations"):
        ContinueRequest(bars=2, variations=0)


def test_shipped_style_keeps_a_real_chorale_untouched(real_midi_dir, tmp_path):
    try:
        style = find_style("bach-chorales")
    except MidigenError:
        pytest.skip("the shipped bach-chorales style is not in styles/")
    src = real_midi_dir / "bach_bwv347.mid"
    source, takes = continue_file(load_bundle(style), src, ContinueRequest(bars=4, seed=0))
    (path,) = write_continuations(source, takes, tmp_path / "out.mid")
    end_tick = int(source.piece.end_steps * mido.MidiFile(str(src)).ticks_per_beat / 12)
    added = _only_additions(src, path, end_tick)
    assert len(added) >= 8
    assert [n for n in notes(path) if n[2] < end_tick] == notes(src)
    back, _ = read_midi(path)
    assert back.n_bars == source.piece.n_bars + 4 and back.meters == source.piece.meters
    assert np.array_equal(back.notes[back.notes[:, 0] < source.piece.end_steps], source.piece.notes)
