"""Note spelling: every spelling of every pitch class means the same pitch class in keys, pitches, ranges and
chords, and what is not a note name is one clear MidigenError line.

The expected values come from this file's own letter and accidental tables, not from ``music.spelling``,
so a wrong entry there is caught here rather than agreed with.
"""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from midigen.cli import main
from midigen.errors import MidigenError
from midigen.midi.files import read_midi
from midigen.music.chord_symbols import QUALITIES, chord_name, parse_chord
from midigen.music.grid import parse_meter
from midigen.music.keys import parse_key
from midigen.music.spelling import parse_pitch, parse_range

LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
# Spellings every parser accepts, and those only some accept (see music.spelling for why).
EVERYWHERE = {"": 0, "#": 1, "♯": 1, "-sharp": 1, "b": -1, "♭": -1, "-flat": -1}
SPACED = {" sharp": 1, " flat": -1}  # keys and pitches (spaces separate chords)
DOUBLED = {"##": 2, "♯♯": 2, "bb": -2, "♭♭": -2}  # keys and pitches
MUSIC21_FLAT = {"-": -1}  # keys only ("-" is the octave's sign in pitches, minor in chords)
KEY_SPELLINGS = {**EVERYWHERE, **SPACED, **DOUBLED, **MUSIC21_FLAT}
PITCH_SPELLINGS = {**EVERYWHERE, **SPACED, **DOUBLED}

ALL_KEY_SPELLINGS = [(letter + acc, (pc + shift) % 12) for letter, pc in LETTERS.items()
                     for acc, shift in KEY_SPELLINGS.items()]


@pytest.mark.parametrize("tonic, pc", ALL_KEY_SPELLINGS)
def test_every_key_spelling(tonic, pc):
    assert parse_key(f"{tonic} major") == parse_key(tonic) == parse_key(f"{tonic}maj") == pc
    assert parse_key(f"{tonic} minor") == parse_key(f"{tonic}m") == parse_key(f"{tonic.lower()} min") == 12 + pc


@settings(max_examples=300, deadline=None)
@given(letter=st.sampled_from(sorted(LETTERS)), accidental=st.sampled_from(sorted(EVERYWHERE)),
       octave=st.integers(0, 7), quality=st.integers(0, len(QUALITIES) - 1), lower=st.booleans())
def test_a_spelling_is_one_pitch_class_in_keys_pitches_ranges_and_chords(letter, accidental, octave, quality, lower):
    name = letter + accidental
    pc = (LETTERS[letter] + EVERYWHERE[accidental]) % 12
    pitch = 12 * (octave + 1) + LETTERS[letter] + EVERYWHERE[accidental]
    typed = name.lower() if lower else name  # keys and pitches take either case; chord roots are capitals
    assert parse_key(f"{typed} minor") == 12 + pc
    assert parse_pitch(f"{typed}{octave}") == pitch
    assert parse_range(f"{typed}{octave}-{typed}{octave + 1}") == (pitch, pitch + 12)
    assert parse_range(f"{octave}-{typed}{octave}") == (octave, pitch)
    value = parse_chord(name + QUALITIES[quality][0])
    assert divmod(value, len(QUALITIES)) == (pc, quality)
    assert parse_chord(f"{name}{QUALITIES[quality][0]}/{name}") == value


@pytest.mark.parametrize("accidental, shift", sorted(PITCH_SPELLINGS.items()))
def test_every_pitch_spelling(accidental, shift):
    for letter, pc in LETTERS.items():
        assert parse_pitch(f"{letter}{accidental}4") == 60 + pc + shift
        assert parse_range(f"{letter}{accidental}3 - {letter}{accidental}5") == (48 + pc + shift, 72 + pc + shift)


@pytest.mark.parametrize("text, key", [
    ("B-flat major", 10), ("Bb major", 10), ("B♭ major", 10), ("B flat major", 10), ("B- major", 10), ("Bb", 10),
    ("F sharp minor", 18), ("F-sharp minor", 18), ("F#m", 18), ("F♯ minor", 18), ("C# minor", 13),
    ("eb minor", 15), ("Bbm", 22), ("C## minor", 14), ("Cb major", 11), ("E#", 5), (" D minor ", 14),
])
def test_key_names(text, key):
    assert parse_key(text) == key


@pytest.mark.parametrize("text, pitch", [
    ("C4", 60), ("C#3", 49), ("Bb5", 82), ("B-flat3", 58), ("B flat 3", 58), ("F-sharp2", 42), ("c#3", 49),
    ("C-1", 0), ("G9", 127), ("B-1", 11), ("Cb4", 59), ("B#3", 60), ("60", 60), (" 0 ", 0), ("127", 127),
])
def test_pitches(text, pitch):
    assert parse_pitch(text) == pitch


@pytest.mark.parametrize("text, low_high", [
    ("C3-C6", (48, 84)), ("C#3-F5", (49, 77)), ("B-flat3-C5", (58, 72)), ("Bb2-B-flat3", (46, 58)),
    ("C-1-G9", (0, 127)), ("B-1-B0", (11, 23)), ("Bb-1-C4", (10, 60)), ("F#2 - 70", (42, 70)), ("40-72", (40, 72)),
    ("C3..C6", (48, 84)), ("C3:C6", (48, 84)), ("F sharp3 - B flat4", (54, 70)), ("C4-C4", (60, 60)),
])
def test_ranges(text, low_high):
    assert parse_range(text) == low_high


@pytest.mark.parametrize("text, name", [
    ("B-flat7", "Bb7"), ("E-flatmaj7", "Ebmaj7"), ("F-sharpm7", "F#m7"), ("Am7/E-flat", "Am7"),
    ("C-7", "Cm7"),  # in a chord, "-" is minor, never a flat
    ("C##5", "Dbaug"),  # C# with the "#5" suffix, as it always read (no double accidentals in chord roots)
])
def test_chord_roots(text, name):
    assert chord_name(parse_chord(text)) == name


@pytest.mark.parametrize("parse, text, message", [
    (parse_key, "H minor", "not a key"), (parse_key, "B-flat dorian", "not a key"), (parse_key, "", "not a key"),
    (parse_key, "Cx major", "not a key"), (parse_key, "B - flat", "not a key"),
    (parse_pitch, "H3", "not a pitch"), (parse_pitch, "C", "not a pitch"), (parse_pitch, "C#", "not a pitch"),
    (parse_pitch, "B-3", "outside MIDI's 0-127"), (parse_pitch, "C10", "outside MIDI's 0-127"),
    (parse_pitch, "128", "outside MIDI's 0-127"), (parse_pitch, "-5", "not a pitch"),
    (parse_range, "C3", "not a range"), (parse_range, "C3-", "not a range"), (parse_range, "C3-H5", "not a range"),
    (parse_range, "C3~C5", "not a range"), (parse_range, "C6-C3", "upside down"), (parse_range, "C3-C11", "outside"),
    (parse_chord, "B flat7", "not a chord symbol"), (parse_chord, "Bbb7", "not a chord symbol"),
    (parse_meter, "4-4", "not a time signature"), (parse_meter, "7/3", "unsupported time signature 7/3"),
])
def test_garbage_is_one_clear_line(parse, text, message):
    with pytest.raises(MidigenError, match=message) as error:
        parse(text)
    assert "\n" not in str(error.value)


def test_parse_meter():
    assert parse_meter("6/8") == (6, 8) and parse_meter(" 3 / 4 ") == (3, 4)
    with pytest.raises(MidigenError, match=r"denominator 2, 4, 8 or 16, numerator 1-16, bars of at most 8 quarter"):
        parse_meter("9/4")


def _compose(tiny_style, tmp_path, *args):
    styles, _ = tiny_style
    return CliRunner().invoke(main, ["compose", "--style", "tiny-bach", "--styles-dir", str(styles), "--bars", "2",
                                     "-o", str(tmp_path / "x.mid"), *args])


def test_cli_takes_sharps_and_spelled_flats(tiny_style, tmp_path):
    result = _compose(tiny_style, tmp_path, "--range", "C#3-F5", "--key", "B-flat major")
    assert result.exit_code == 0, result.output
    piece, _ = read_midi(tmp_path / "x.mid")
    assert piece.key == 10
    assert 49 <= piece.notes[:, 2].min() and piece.notes[:, 2].max() <= 77


@pytest.mark.parametrize("args, message", [
    (["--range", "C#3-H5"], "not a range"), (["--key", "B-flat dorian"], "not a key"),
    (["--range", "C#3-F5-G5"], "not a range"),
])
def test_cli_refuses_garbage_in_one_line(tiny_style, tmp_path, args, message):
    result = _compose(tiny_style, tmp_path, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
