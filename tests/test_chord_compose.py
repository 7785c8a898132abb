"""compose --chords: the given progression is what the model reads, bar by bar; --chords-track sounds it."""
from __future__ import annotations

import json

import mido
import numpy as np
import pytest
from click.testing import CliRunner

from midigen.cli import main
from midigen.errors import MidigenError
from midigen.midi.files import read_midi
from midigen.music.chord_symbols import chord_pitch_classes, parse_chord
from midigen.music.chords import chord_tone_rate
from midigen.styles.bundle import load_bundle
from midigen.styles.registry import find_style
from midigen.tasks.compose import ComposeRequest, compose, request_from_strings, write_takes


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_progression_is_in_the_tokens_exactly_and_loops(bundle, seed):
    request = request_from_strings(6, time_sig="4/4", chords="Dm7 | G7 G7sus4 | Cmaj7", seed=seed, temperature=1.4)
    (take,) = compose(bundle, request)
    dm7, g7, cmaj7 = parse_chord("Dm7"), parse_chord("G7"), parse_chord("Cmaj7")
    # bar 2's two chords are the same (7sus4 reads as 7), so no change mid-bar; then it repeats
    assert take.piece.chords == ((0, dm7), (48, g7), (96, cmaj7), (144, dm7), (192, g7), (240, cmaj7))
    assert take.piece.n_bars == 6
    assert take.provenance["chords"] == "Dm7 | G7 G7 | Cmaj7"


def test_chords_track_sounds_the_chords(bundle, tmp_path):
    request = request_from_strings(4, time_sig="3/4", chords="Am | F C | E7", chords_track=True, seed=3)
    (path,) = write_takes(compose(bundle, request), tmp_path / "c.mid")
    names = [next(m.name for m in t if m.type == "track_name") for t in mido.MidiFile(str(path)).tracks[1:]]
    assert names[-1] == "Chords"
    back, _ = read_midi(path)
    block = back.notes[back.notes[:, 4] == len(back.tracks) - 1]
    expected = [("Am", 0, 36), ("F", 36, 54), ("C", 54, 72), ("E7", 72, 108), ("Am", 108, 144)]
    for name, start, end in expected:
        sounding = block[(block[:, 0] >= start) & (block[:, 0] < end)]
        assert set((sounding[:, 2] % 12).tolist()) == chord_pitch_classes(parse_chord(name)), name
    assert back.n_bars == 4
    record = json.loads(next(m.text for m in mido.MidiFile(str(path)).tracks[0] if m.type == "text").removeprefix("midigen "))
    assert record["chords"] == "Am | F C | E7" and record["chords_track"] is True


def test_refusals():
    with pytest.raises(MidigenError, match="the progression has 3 bars, more than --bars 2"):
        request_from_strings(2, chords="C | F | G")
    with pytest.raises(MidigenError, match="--chords-track needs --chords"):
        ComposeRequest(bars=2, chords_track=True)
    with pytest.raises(MidigenError, match="bar 2: not a chord symbol: 'Hm'"):
        request_from_strings(2, chords="C | Hm")


def test_chords_that_do_not_split_the_bar_are_refused(bundle):
    with pytest.raises(MidigenError, match="bar 1: 5 chords do not split its 36 steps evenly"):
        compose(bundle, request_from_strings(2, time_sig="3/4", chords="C F G C F"))


def test_cli_chords(tiny_style, tmp_path):
    styles, _ = tiny_style
    args = ["compose", "--style", "tiny-bach", "--styles-dir", str(styles), "--bars", "4", "--chords", "Dm7 | G7 | Cmaj7 | %",
            "--chords-track", "-o", str(tmp_path / "o.mid")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "over Dm7 | G7 | Cmaj7 | Cmaj7" in result.output
    bad = CliRunner().invoke(main, args[:8] + ["Dm7 | Q7", "-o", str(tmp_path / "p.mid")])
    assert bad.exit_code == 2 and "not a chord symbol: 'Q7'" in bad.output and len(bad.output.strip().splitlines()) == 1


def test_shipped_style_follows_the_chords():
    """A trained style writes more chord tones on the beats over a progression it is given than a take
    written without it does against the same progression."""
    try:
        style = load_bundle(find_style("irish-folk"))
    except MidigenError:
        pytest.skip("the shipped irish-folk style is not in styles/")
    chords = "G | C | D7 | G | Em | C | D7 | G"
    given = compose(style, request_from_strings(8, key="G major", time_sig="4/4", chords=chords, variations=4, seed=0))
    free = compose(style, request_from_strings(8, key="G major", time_sig="4/4", variations=4, seed=0))
    changes = given[0].piece.chords

    def rate(takes):
        counts = np.array([chord_tone_rate(t.piece, changes) for t in takes])
        return counts[:, 0].sum() / counts[:, 1].sum()

    assert rate(given) > rate(free) + 0.1
