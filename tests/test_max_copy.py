"""``--max-copy``: the guard forbids the note that completes a copied run, as eval's originality counts runs."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from midigen.cli import main
from midigen.errors import MidigenError
from midigen.evalsuite.copyindex import build_copy_index, default_max_copy, prepare_copy_index
from midigen.evalsuite.originality import line_codes, lines_of, originality
from midigen.music.piece import Piece, Track, quantize
from midigen.sampling.constraints import ConstrainedState, Constraints
from midigen.sampling.copyguard import CopyGuardState, RunIndex, pair_codes, window_keys
from midigen.styles.bundle import load_bundle
from midigen.styles.sidecar import COPY_INDEX, COPY_INDEX_ARRAYS, cache_path, pack_copy_index, read_sidecar, write_sidecar
from midigen.tasks.compose import ComposeRequest, compose
from midigen.tasks.guard import copy_guard, find_copy_index, parse_max_copy
from midigen.tokens.tokenizer import encode
from midigen.tokens.vocab import VOCAB

PITCH = VOCAB.offsets["Pitch"]


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """A cache of this test's own: an index built here must not guard other tests' takes."""
    monkeypatch.setenv("MIDIGEN_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_codes_and_window_keys_are_eval_s():
    rng = np.random.default_rng(0)
    line = np.stack([np.arange(40) * 6, rng.choice([3, 6, 12], 40), rng.integers(40, 80, 40), np.full(40, 80),
                     np.zeros(40, dtype=int)], axis=1)
    codes = line_codes(line)
    assert np.array_equal(pair_codes(np.diff(line[:, 2]), line[:-1, 1]), codes)
    lengths = np.array([10, 1, 28])  # three voices: no window may straddle two
    keys = window_keys(codes, lengths, 3)
    starts = [0, 10, 11]
    naive = {tuple(codes[s + i: s + i + 3]) for s, n in zip(starts, lengths) for i in range(n - 2)}
    assert len(keys) == len(naive)
    index = RunIndex.from_codes(codes, lengths, 3)
    assert len(index.prefix_keys) == sum(n - 2 for n in lengths if n >= 3)
    for window in naive:
        assert index.contains(np.array(window))
    assert not index.contains(np.array([codes[9], codes[10], codes[11]]))  # across the voice boundaries


def test_default_n_is_what_held_out_pieces_rarely_exceed():
    assert default_max_copy([]) == 16
    assert default_max_copy([9] * 19 + [30]) == 9  # one in twenty above: rare enough
    assert default_max_copy([9] * 18 + [30, 31]) == 30
    assert default_max_copy([3, 4]) == 8  # never below the floor
    assert default_max_copy([13, 10, 30, 16, 32, 12]) == 31  # six pieces cannot show 32-note runs to be a habit
    assert default_max_copy([9] * 19 + [40]) == 9 and default_max_copy([40] * 20) == 40  # twenty can


def _voice_piece(pitches: list[int], drum: bool = False, bass: bool = False) -> Piece:
    """Quarter notes from step 0 on one track, each with a lower note under it (not part of the voice);
    ``bass``: the voice on track 1, over a bass on track 0 at every onset."""
    voice = int(bass)
    notes = [[i * 12, 12, p, 80, voice] for i, p in enumerate(pitches)]
    notes += [[i * 12, 12, p - 20, 80, 0] for i, p in enumerate(pitches)]
    notes.sort(key=lambda n: (n[0], n[4], -n[2]))
    tracks = ((Track(32),) if bass else ()) + (Track(0, drum),)
    return quantize(Piece(np.array(notes, dtype=np.int64), tracks=tracks, n_bars=2))


def _state_before_last_note(piece: Piece, index: RunIndex, **constraints) -> CopyGuardState:
    """A guard walked through the piece's tokens up to the Pitch of its voice's last note (at bar 2's start)."""
    ids = encode(piece).tolist()
    last = int(piece.notes[np.argmax(piece.notes[:, 0] * 128 + piece.notes[:, 2]), 2])
    cut = max(i for i, t in enumerate(ids) if t == PITCH + last)
    drums = frozenset(t for t, track in enumerate(piece.tracks) if track.is_drum)
    state = CopyGuardState(ConstrainedState(Constraints(bars=2, meter=(4, 4), drum_tracks=drums, **constraints)), index)
    for token in ids[:cut]:
        state.grammar.check(token)
        state.advance(token)
    return state


def test_the_note_that_completes_a_copied_run_is_forbidden():
    lines = lines_of([_voice_piece([60, 62, 64, 65, 67, 69, 71, 72]), _voice_piece([40, 42, 44, 45, 48])])
    index = RunIndex.from_codes(lines.codes, lines.voice_lengths, 4)  # runs of 5 notes may not be copied
    # the same intervals and rhythm a minor seventh lower: 4 notes copied; the 5th (+2 semitones) would make 5
    state = _state_before_last_note(_voice_piece([50, 52, 54, 55, 57]), index)
    mask = state.mask()
    assert not mask[PITCH + 57] and not mask[PITCH + 58] and mask[PITCH + 59] and mask[PITCH + 56]
    assert state.blocked == 1 and state.gave_way == 0
    # a voice that copies no run of 4 notes has nothing forbidden
    other = _state_before_last_note(_voice_piece([50, 53, 55, 57, 58]), index)
    assert np.array_equal(other.mask(), other.inner.mask()) and other.blocked == 0
    # after a Track token only a pitch may come: where the range leaves only copying ones, the guard gives way
    narrow = _state_before_last_note(_voice_piece([50, 52, 54, 55, 57], bass=True), index, pitch_low=57, pitch_high=58)
    narrowed = narrow.mask()
    assert narrow.grammar.state == "track" and narrowed[PITCH + 57] and narrowed[PITCH + 58] and narrow.gave_way == 1
    # and a note a lock forces (one id allowed) is the user's: left alone, not counted
    forced = _state_before_last_note(_voice_piece([50, 52, 54, 55, 57], bass=True), index, pitch_low=57, pitch_high=57)
    assert forced.mask()[PITCH + 57] and forced.gave_way == 0 and forced.blocked == 0
    assert not _state_before_last_note(_voice_piece([50, 52, 54, 55, 57], bass=True), index).mask()[PITCH + 57]
    # drums are not voices
    assert _state_before_last_note(_voice_piece([50, 52, 54, 55, 57], drum=True), index).mask()[PITCH + 57]
    # and eval agrees: the forbidden continuation is a 5-note copy, the allowed one a 4-note one
    copy, free = (_voice_piece([50, 52, 54, 55, p]) for p in (57, 59))
    assert [r.longest_run_notes for r in originality(lines_of([copy, free]), lines)] == [5, 4]


def test_sidecar_round_trip_stale_and_corrupt(tmp_path):
    codes = np.array([5, 9, 5, 7, 1_000_000], dtype=np.int64)
    path = write_sidecar(tmp_path / COPY_INDEX, pack_copy_index(codes, [2, 3]), {"bundle_sha256": "ab" * 32, "default_max_copy": 9})
    found = read_sidecar(path, "ab" * 32, COPY_INDEX_ARRAYS)
    assert found.info["default_max_copy"] == 9 and found.arrays["codes"].dtype == np.uint16
    assert read_sidecar(path, "cd" * 32, COPY_INDEX_ARRAYS) is None  # made for other weights: ignored
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(MidigenError, match="unreadable side file"):
        read_sidecar(path, "ab" * 32, COPY_INDEX_ARRAYS)


def test_parse_max_copy():
    assert parse_max_copy(None) == "auto" and parse_max_copy("AUTO") == "auto" and parse_max_copy("off") is None
    assert parse_max_copy("12") == 12
    for bad in ("1", "x", "5000"):
        with pytest.raises(MidigenError, match="--max-copy"):
            parse_max_copy(bad)
    with pytest.raises(MidigenError, match="--max-copy"):
        ComposeRequest(bars=2, max_copy=0)


def test_without_an_index_auto_says_so_and_an_explicit_n_is_refused(bundle, own_cache):
    take = compose(bundle, ComposeRequest(bars=2, seed=1))[0]
    assert take.provenance["max_copy"] is None and "no copy index" in take.provenance["max_copy_note"]
    with pytest.raises(MidigenError, match="--max-copy 6: style tiny-bach has no copy index"):
        compose(bundle, ComposeRequest(bars=2, max_copy=6))
    assert "max_copy_note" not in compose(bundle, ComposeRequest(bars=2, max_copy=None))[0].provenance


def test_guarded_takes_copy_no_longer_run_than_asked(bundle, own_cache):
    assert prepare_copy_index("tiny-bach", bundle.path.parent) is None  # built into the cache at first use
    found = find_copy_index(bundle.path, bundle.meta)
    assert found.where == "cache" and found.path == cache_path(COPY_INDEX, bundle.weights_sha256)
    assert copy_guard(bundle, "auto").index.max_copy_notes == found.info["default_max_copy"]
    # The tiny model copies little of its chorales, so it is given "training pieces" it would copy whole:
    # its own unguarded takes, as the index. With the same seeds, the guarded takes must leave them.
    request = dict(bars=8, variations=4, seed=2)
    free = compose(bundle, ComposeRequest(**request, max_copy=None))
    copied = lines_of([t.piece for t in free])
    write_sidecar(found.path, pack_copy_index(copied.codes, copied.voice_lengths), {**found.info, "default_max_copy": 5})
    n = 4
    guarded = compose(bundle, ComposeRequest(**request, max_copy=n))
    assert min(r.longest_run_notes for r in originality(copied, copied)) > n  # each free take copies itself
    assert all(t.provenance["max_copy"] == n and "max_copy_gave_way" not in t.provenance for t in guarded)
    assert max(r.longest_run_notes for r in originality(lines_of([t.piece for t in guarded]), copied)) <= n
    assert all(g.piece.n_bars == 8 for g in guarded)
    assert compose(bundle, ComposeRequest(**request))[0].provenance["max_copy"] == 5  # auto: the index's own N


def test_an_infill_gap_continues_the_voices_of_the_bars_before_the_hole():
    lines = lines_of([_voice_piece([60, 62, 64, 65, 67, 69, 71, 72])])
    index = RunIndex.from_codes(lines.codes, lines.voice_lengths, 4)
    # bar 1: the copied start; bar 2: the hole, its first note would complete the copy; bar 3: other music,
    # read before the hole is filled (the infill form), which must not stand in for the bars before it
    pitches = [50, 52, 54, 55, 57, 59, 60, 62, 80, 70, 81, 71]
    notes = np.array([[i * 12, 12, p, 80, 0] for i, p in enumerate(pitches)], dtype=np.int64)
    piece = quantize(Piece(notes, tracks=(Track(0),), n_bars=3))
    ids = encode(piece, hole=(1, 1)).tolist()
    cut = ids.index(PITCH + 57, ids.index(VOCAB.offsets["Fill"]))
    constraints = Constraints(bars=3, meter=(4, 4), end_with_sound=False)
    state = CopyGuardState(ConstrainedState(constraints), index)
    for token in ids[:cut]:
        state.advance(token)
    assert state.grammar.filling and not state.mask()[PITCH + 57] and state.mask()[PITCH + 58]


def test_cli_builds_the_index_once_and_records_n(tiny_style, own_cache, tmp_path):
    styles, _ = tiny_style
    args = ["compose", "--style", "tiny-bach", "--styles-dir", str(styles), "--bars", "2"]
    result = CliRunner().invoke(main, args + ["-o", str(tmp_path / "a.mid")])
    assert result.exit_code == 0, result.output
    assert "building the copy index of tiny-bach" in result.output
    assert (own_cache / "sidecars").is_dir()
    again = CliRunner().invoke(main, args + ["--max-copy", "5", "-o", str(tmp_path / "b.mid")])
    assert again.exit_code == 0 and "building" not in again.output
    import mido

    text = next(m.text for m in mido.MidiFile(str(tmp_path / "b.mid")).tracks[0] if m.type == "text")
    assert json.loads(text.removeprefix("midigen "))["max_copy"] == 5
    bad = CliRunner().invoke(main, args + ["--max-copy", "many", "-o", str(tmp_path / "c.mid")])
    assert bad.exit_code == 2 and bad.output.startswith("Error: --max-copy takes a number of notes")


def test_a_bundle_may_ship_its_index(tiny_style, own_cache, tmp_path):
    import shutil

    styles, _ = tiny_style
    copy = tmp_path / "styles" / "tiny-bach"
    shutil.copytree(styles / "tiny-bach", copy)
    meta = load_bundle(copy).meta
    build_copy_index(copy, meta, out=copy / COPY_INDEX)
    bundle = load_bundle(copy)  # the side file is one of a bundle's allowed files
    assert find_copy_index(copy, meta).where == "bundle"
    assert copy_guard(bundle, 7).record == {"max_copy": 7}
    from midigen.styles.archive import export_style, import_style  # and it travels with the bundle

    archive = export_style("tiny-bach", tmp_path / "tiny.tar.gz", styles_dir=copy.parent)
    installed = import_style(archive, name="tiny-copy", styles_dir=tmp_path / "elsewhere")
    assert (installed / COPY_INDEX).read_bytes() == (copy / COPY_INDEX).read_bytes()
