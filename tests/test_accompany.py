"""``accompany``: the style's parts added under the user's clip; every event of the clip stays as it was."""
from __future__ import annotations

import json

import mido
import numpy as np
import pytest
from click.testing import CliRunner

from midigen.cli import main
from midigen.errors import MidigenError
from midigen.midi.files import read_midi
from midigen.tasks.accompany import AccompanyRequest, accompany_file, chunk_bars, request_from_strings, write_accompaniments
from tests.midi_events import events, make_file, notes

TPQ = 96
BAR = 4 * TPQ


@pytest.fixture
def clip(tmp_path):
    """Five bars of 4/4: a melody with notes off the grid and the velocity levels, and a drum part (channel 10)."""
    melody = [(b * BAR + i * TPQ + (5 if i == 2 else 0), b * BAR + (i + 1) * TPQ - 7, 72 + (b + i) % 5, 77 + b)
              for b in range(5) for i in range(4)]
    drums = [(b * BAR + i * 2 * TPQ, b * BAR + i * 2 * TPQ + 20, 36 + 2 * i, 100) for b in range(5) for i in range(2)]
    meta = [(0, mido.MetaMessage("time_signature", numerator=4, denominator=4)), (0, mido.MetaMessage("set_tempo", tempo=500000))]
    return make_file(tmp_path / "clip.mid", [("Flute", 0, 73, melody), ("Kit", 9, 0, drums)], tpq=TPQ, meta=meta)


def _record(path) -> dict:
    text = next(m.text for m in mido.MidiFile(str(path)).tracks[0] if m.type == "text")
    return json.loads(text.removeprefix("midigen "))


def test_every_input_event_is_kept_and_the_parts_are_added(bundle, clip, tmp_path):
    source, takes = accompany_file(bundle, clip, request_from_strings("bass,tenor", seed=3, max_copy=None))
    (path,) = write_accompaniments(source, takes, tmp_path / "out.mid")
    before, after = events(clip), events(path)
    assert after[1:3] == before[1:3]  # the melody's and the drums' chunks: not one event added, moved or lost
    assert not before[0] - after[0] and all("key_signature" in t or '"midigen"' in t for _, t in after[0] - before[0])
    assert [n for n in notes(path) if n[0] in (1, 2)] == notes(clip)  # tick for tick, velocity for velocity
    midi = mido.MidiFile(str(path))
    assert [next(m.name for m in t if m.type == "track_name") for t in midi.tracks[3:]] == ["Tenor", "Bass"]  # the style's order
    new = [n for n in notes(path) if n[0] >= 3]
    assert new and {n[0] for n in new} <= {3, 4}
    assert max(n[3] for n in new) <= 5 * BAR  # nothing sounds past the clip
    back, _ = read_midi(path)
    assert back.n_bars == 5 and back.meters == ((0, 4, 4),) and back.tempos[0][1] == 120
    record = _record(path)
    assert record["command"] == "accompany" and record["parts"] == ["tenor", "bass"] and record["add"] == ["bass", "tenor"]
    assert record["bars"] == "1-5" and record["input"] == "clip.mid" and record["seed"] == 3 and record["max_copy"] is None


def test_the_new_parts_hear_the_input_written_into_the_sequence(bundle, clip):
    source, takes = accompany_file(bundle, clip, AccompanyRequest(parts=("alto",), variations=2, seed=1))
    piece = takes[0].piece
    assert len(piece.tracks) == 3 and piece.meta["input_tracks"] == 2
    kept = piece.notes[piece.notes[:, 4] < 2]
    assert np.array_equal(kept, source.piece.notes)  # the input's notes, on the grid, each where it was
    # the bars are written a chunk at a time, as many as half the (tiny) context holds
    assert takes[0].provenance["chunk_bars"] == chunk_bars(bundle.meta, source.piece, 0, 5, 1, 4, bundle.model.cfg.max_seq_len) < 5
    assert takes[0].provenance["variation"] == 1 and takes[1].provenance["variation"] == 2


def test_only_the_chosen_bars_get_new_notes_and_the_same_seed_the_same_bytes(bundle, clip, tmp_path):
    request = request_from_strings("bass", bars="2-3", seed=4, variations=2)
    first = write_accompaniments(*accompany_file(bundle, clip, request), tmp_path / "a.mid")
    again = write_accompaniments(*accompany_file(bundle, clip, request), tmp_path / "b.mid")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    for path in first:
        new = [n for n in notes(path) if n[0] == 3]
        assert all(BAR <= n[2] and n[3] <= 3 * BAR for n in new)
        assert _record(path)["bars"] == "2-3"


def test_what_it_cannot_do_is_refused_in_one_line(bundle, clip, tmp_path):
    with pytest.raises(MidigenError, match=r"style tiny-bach has no part 'guitar' \(its parts: soprano, alto, tenor, bass\)"):
        accompany_file(bundle, clip, request_from_strings("bass,guitar"))
    with pytest.raises(MidigenError, match="--add names a part twice"):
        accompany_file(bundle, clip, request_from_strings("bass,bass"))
    with pytest.raises(MidigenError, match="bars 4-7 are not all inside the input's 5 bars"):
        accompany_file(bundle, clip, request_from_strings("bass", bars="4-7"))
    changing = make_file(tmp_path / "change.mid", [("Tune", 0, 0, [(i * TPQ, (i + 1) * TPQ, 60 + i, 80) for i in range(14)])], tpq=TPQ,
                         meta=[(0, mido.MetaMessage("time_signature", numerator=4, denominator=4)),
                               (2 * BAR, mido.MetaMessage("time_signature", numerator=3, denominator=4))])
    with pytest.raises(MidigenError, match="change.mid: the meter changes at bar 3, inside bars 1-4: accompany the bars"):
        accompany_file(bundle, changing, request_from_strings("bass"))
    accompany_file(bundle, changing, request_from_strings("bass", bars="3-4"))  # the bars after the change are fine
    with pytest.raises(MidigenError, match="--add needs the names"):
        request_from_strings(" ,")


def test_cli_accompany(tiny_style, clip, tmp_path):
    styles, _ = tiny_style
    args = ["accompany", str(clip), "--style", "tiny-bach", "--styles-dir", str(styles), "--add", "bass", "--max-copy", "off"]
    result = CliRunner().invoke(main, args + ["-o", str(tmp_path / "a.mid")])
    assert result.exit_code == 0, result.output
    assert "clip.mid kept, bass added over bars 1-5 of 4/4" in result.output
    bad = CliRunner().invoke(main, args + ["--add", "drums", "-o", str(tmp_path / "b.mid")])
    assert bad.exit_code == 2 and bad.output.startswith("Error: style tiny-bach has no part 'drums'")
