"""Compose: the hard constraints hold for every seed, files are deterministic and parse everywhere."""
from __future__ import annotations

import copy
import json

import mido
import pretty_midi
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from midigen.cli import main
from midigen.errors import MidigenError
from midigen.midi.files import read_midi
from midigen.music.grid import METERS
from midigen.music.keys import KEY_NAMES, scale_pitch_classes
from midigen.music.spelling import parse_range
from midigen.styles.bundle import Bundle
from midigen.tasks.compose import ComposeRequest, compose, request_from_strings, write_takes


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), bars=st.integers(1, 6), meter=st.sampled_from([m for m in METERS if m[0] <= 12]),
       key=st.integers(0, 23), tempo=st.floats(20, 300), strict=st.booleans(), low=st.integers(40, 70))
def test_constraints_hold_for_any_seed(bundle, seed, bars, meter, key, tempo, strict, low):
    request = ComposeRequest(bars=bars, key=key, tempo_bpm=tempo, meter=meter, seed=seed, strict_key=strict,
                             pitch_range=(low, low + 14), temperature=1.3)
    (take,) = compose(bundle, request)
    piece = take.piece
    assert piece.n_bars == bars
    assert piece.meters == ((0, *meter),)
    assert piece.tempos == ((0, tempo),)
    assert piece.key == key
    end = piece.end_steps
    assert (piece.notes[:, 0] + piece.notes[:, 1] <= end).all()  # nothing sounds past bar N
    pitches = piece.notes[:, 2]
    assert ((pitches >= low) & (pitches <= low + 14)).all()
    if strict:
        assert set((pitches % 12).tolist()) <= scale_pitch_classes(key)


def test_file_has_exact_bars_meter_tempo_and_reads_back(bundle, tmp_path):
    request = request_from_strings(5, key="D minor", time_sig="3/4", tempo_bpm=117.0, seed=3)
    (path,) = write_takes(compose(bundle, request), tmp_path / "take.mid")
    back, _ = read_midi(path)
    assert back.n_bars == 5 and back.meters == ((0, 3, 4),) and back.key == 14
    midi = mido.MidiFile(path)
    assert midi.type == 1 and midi.ticks_per_beat == 480
    conductor = {m.type: m for m in midi.tracks[0] if m.is_meta}
    assert round(mido.tempo2bpm(conductor["set_tempo"].tempo), 3) == 117.0
    assert conductor["key_signature"].key == "Dm"
    assert '"style":"tiny-bach"' in conductor["text"].text and '"seed":3' in conductor["text"].text


def test_same_seed_same_bytes_and_variations_differ(bundle, tmp_path):
    request = ComposeRequest(bars=4, seed=11, variations=3)
    a = write_takes(compose(bundle, request), tmp_path / "a.mid")
    b = write_takes(compose(bundle, request), tmp_path / "b.mid")
    assert [p.name for p in a] == ["a-1.mid", "a-2.mid", "a-3.mid"]
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert len({read_midi(p)[0].notes.tobytes() for p in a}) == 3


def test_greedy_is_deterministic_whatever_the_seed(bundle):
    one = compose(bundle, ComposeRequest(bars=3, temperature=0, seed=1))[0].piece
    two = compose(bundle, ComposeRequest(bars=3, temperature=0, seed=2))[0].piece
    assert one == two


def _mido_notes(path):
    """(start, end, pitch, channel) in quarters, pairing note_on/note_off by hand."""
    midi = mido.MidiFile(path)
    notes, open_notes = [], {}
    for track in midi.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                assert (msg.channel, msg.note) not in open_notes, "a note starts while the same pitch sounds"
                open_notes[(msg.channel, msg.note)] = tick
            elif msg.type in ("note_off", "note_on"):
                start = open_notes.pop((msg.channel, msg.note))
                notes.append((start / 480, tick / 480, msg.note, msg.channel))
    assert not open_notes, "every note has its note-off"
    return sorted(notes)


def test_independent_parsers_agree_on_the_notes(bundle, tmp_path):
    (path,) = write_takes(compose(bundle, ComposeRequest(bars=4, seed=5, tempo_bpm=120)), tmp_path / "t.mid")
    by_mido = _mido_notes(path)
    assert all(end > start for start, end, _, _ in by_mido)  # no zero-length notes
    ours = sorted((s / 12, (s + d) / 12, p) for s, d, p, _, _ in read_midi(path)[0].notes.tolist())
    assert ours == [(s, e, p) for s, e, p, _ in by_mido]
    pm = pretty_midi.PrettyMIDI(str(path))
    theirs = sorted((round(n.start * 2, 6), round(n.end * 2, 6), n.pitch) for i in pm.instruments for n in i.notes)
    assert theirs == [(round(s, 6), round(e, 6), p) for s, e, p in ours]  # 120 bpm: 2 quarters a second
    from music21 import midi as m21midi

    midi_file = m21midi.MidiFile()
    midi_file.open(str(path))
    midi_file.read()
    midi_file.close()
    m21 = []
    for track in midi_file.tracks:
        tick = 0
        for event in track.events:
            if isinstance(event, m21midi.DeltaTime):
                tick += event.time
            elif event.type == m21midi.ChannelVoiceMessages.NOTE_ON and event.velocity > 0:
                m21.append((tick / 480, event.pitch))
    assert sorted(m21) == sorted((s, p) for s, _, p in ours)


def test_contradictory_constraints_are_refused(bundle):
    with pytest.raises(MidigenError, match="contradict"):
        compose(bundle, ComposeRequest(bars=2, key=0, strict_key=True, pitch_range=(61, 61)))


@pytest.mark.parametrize("args, message", [
    (["--key", "H# dorian"], "not a key"),
    (["--tempo", "0"], "--tempo must be between"),
    (["--tempo", "-5"], "--tempo must be between"),
    (["--tempo", "10000"], "--tempo must be between"),
    (["--time-sig", "0/4"], "unsupported time signature"),
    (["--time-sig", "7/3"], "unsupported time signature"),
    (["--range", "C6-C3"], "upside down"),
])
def test_cli_rejects_bad_input_in_one_line(tiny_style, tmp_path, args, message):
    styles, _ = tiny_style
    result = CliRunner().invoke(main, ["compose", "--style", "tiny-bach", "--styles-dir", str(styles), "--bars", "4",
                                       "-o", str(tmp_path / "x.mid"), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("bars", ["0", "100000"])
def test_cli_rejects_bad_bar_counts(tiny_style, tmp_path, bars):
    styles, _ = tiny_style
    result = CliRunner().invoke(main, ["compose", "--style", "tiny-bach", "--styles-dir", str(styles), "--bars", bars,
                                       "-o", str(tmp_path / "x.mid")])
    assert result.exit_code == 2 and "--bars must be between" in result.output


def test_cli_writes_and_refuses_to_overwrite(tiny_style, tmp_path):
    styles, _ = tiny_style
    args = ["compose", "--style", "tiny-bach", "--styles-dir", str(styles), "--bars", "2", "-o", str(tmp_path / "x.mid")]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "2 bars of" in first.output
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2 and "exists (use --force" in again.output
    assert CliRunner().invoke(main, args + ["--force"]).exit_code == 0


def test_unknown_style_lists_what_exists(tiny_style, tmp_path):
    styles, _ = tiny_style
    result = CliRunner().invoke(main, ["compose", "--style", "nope", "--styles-dir", str(styles), "--bars", "2", "-o",
                                       str(tmp_path / "x.mid")])
    assert result.exit_code == 2 and "no style called 'nope'" in result.output and "tiny-bach" in result.output


def test_parse_range():
    assert parse_range("C3-C6") == (48, 84)
    assert parse_range("F#2 - 70") == (42, 70)
    with pytest.raises(MidigenError):
        parse_range("C3")


def test_cli_compose_with_piano_roll_and_audio(tiny_style, tmp_path):
    import shutil
    import wave

    styles, _ = tiny_style
    args = ["compose", "--style", "tiny-bach", "--styles-dir", str(styles), "--bars", "2", "--tempo", "120",
            "--time-sig", "4/4", "-o", str(tmp_path / "x.mid"), "--png", str(tmp_path / "x.png")]
    have_synth = shutil.which("fluidsynth") is not None
    if have_synth:
        args += ["--wav", str(tmp_path / "x.wav")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "x.png").stat().st_size > 1000
    if have_synth:
        with wave.open(str(tmp_path / "x.wav")) as w:
            seconds = w.getnframes() / w.getframerate()
        assert 4.0 <= seconds <= 5.5  # 2 bars of 4/4 at 120 bpm, plus the release


def _with_corpus(bundle, **stats) -> Bundle:
    """The tiny style as if its corpus had other keys and instrumentations."""
    meta = copy.deepcopy(bundle.meta)
    meta["corpus"]["stats"].update(stats)
    return Bundle(bundle.path, meta, bundle.model)


def _drawn(take) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(key, instrumentation, track names) of a take, as its provenance and piece say."""
    p = take.provenance
    return p["key"], tuple(p["instrumentation"]), tuple(take.piece.meta["track_names"])


def test_key_and_instrumentation_are_drawn_from_the_corpus_per_seed(bundle):
    style = _with_corpus(bundle, keys={"F# major": 3, "D minor": 1, "unknown": 9},
                         instrumentations={"0,0": 3, "0,0,0,0": 1, "garbage": 5})
    drawn = [_drawn(compose(style, ComposeRequest(bars=1, seed=seed, max_copy=None))[0]) for seed in range(16)]
    assert {key for key, _, _ in drawn} == {"F# major", "D minor"}  # both, never "unknown"
    assert {parts for _, parts, _ in drawn} == {("upper", "lower"), ("soprano", "alto", "tenor", "bass")}
    for _, parts, names in drawn:
        assert names == tuple(n.capitalize() for n in parts)  # without --parts every part drawn is written
    again = _drawn(compose(style, ComposeRequest(bars=1, seed=5, max_copy=None))[0])
    assert again == drawn[5]  # seeded
    greedy = _drawn(compose(style, ComposeRequest(bars=1, seed=5, temperature=0, max_copy=None))[0])
    assert greedy[:2] == ("F# major", ("upper", "lower"))  # greedy: the commonest of each
    asked = compose(style, ComposeRequest(bars=1, seed=5, key=KEY_NAMES.index("Eb minor"), max_copy=None))[0]
    assert asked.piece.key == KEY_NAMES.index("Eb minor")


def test_parts_are_kept_from_an_instrumentation_that_has_them_or_written_alone(bundle, tmp_path):
    style = _with_corpus(bundle, instrumentations={"0,0": 30, "0,0,0,0": 1})
    for seed in range(4):  # only the four-voice instrumentation has a soprano: it is drawn, the soprano kept
        (take,) = compose(style, request_from_strings(1, parts="bass,soprano", seed=seed, max_copy=None))
        assert _drawn(take)[1:] == (("soprano", "alto", "tenor", "bass"), ("Soprano", "Bass"))
    # no instrumentation has an upper voice and a soprano: the model writes exactly those two
    (take,) = compose(style, request_from_strings(1, parts="upper,soprano", seed=1, max_copy=None))
    assert _drawn(take)[1:] == (("soprano", "upper"), ("Soprano", "Upper"))
    (path,) = write_takes([take], tmp_path / "two.mid")
    record = json.loads(next(m.text for m in mido.MidiFile(str(path)).tracks[0] if m.type == "text").removeprefix("midigen "))
    assert record["parts"] == ["soprano", "upper"] and record["instrumentation"] == ["soprano", "upper"]


def test_each_part_keeps_to_its_corpus_range_inside_the_users_range(bundle):
    ranges = {"soprano": (67, 79), "alto": (60, 70), "tenor": (52, 64), "bass": (40, 55)}
    style = _with_corpus(bundle, instrumentations={"0,0,0,0": 1},
                         parts={name: {"pitch_low": lo, "pitch_high": hi} for name, (lo, hi) in ranges.items()})
    played = set()
    for seed in range(4):
        (take,) = compose(style, ComposeRequest(bars=2, seed=seed, max_copy=None))
        for track, (low, high) in enumerate(ranges.values()):
            pitches = take.piece.notes[take.piece.notes[:, 4] == track, 2]
            assert len(pitches) == 0 or low <= pitches.min() and pitches.max() <= high
            played |= {track} if len(pitches) else set()
    assert len(played) >= 3  # the tiny model leaves a part silent now and then, not most of them
    # --range 50-62 narrows the tenor to 52-62; the soprano (67-79) does not overlap it and takes all of 50-62
    (take,) = compose(style, request_from_strings(2, range_="50-62", seed=0, max_copy=None))
    notes = take.piece.notes
    assert notes[:, 2].min() >= 50 and notes[:, 2].max() <= 62
    tenor = notes[notes[:, 4] == 2, 2]
    assert len(tenor) == 0 or tenor.min() >= 52
