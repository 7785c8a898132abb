"""Chord symbols, progressions, chord analysis and block chords."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from midigen.errors import MidigenError
from midigen.music.chord_symbols import (
    NO_CHORD,
    chord_name,
    chord_pitch_classes,
    parse_chord,
    parse_progression,
    progression_changes,
    transpose_chord,
)
from midigen.music.chords import analyse, block_chord_notes, chord_tone_rate, chords_at, strong_beat_steps
from midigen.music.grid import DURATIONS_STEPS, METERS
from midigen.music.piece import DURATION, PITCH, START, Piece, Track, bar_starts_steps, quantize

C, DM, G7 = parse_chord("C"), parse_chord("Dm"), parse_chord("G7")


def piece(rows, meter=(4, 4), n_bars=1, tracks=None) -> Piece:
    notes = np.array(rows, dtype=np.int64).reshape(-1, 5)
    return Piece(notes=notes, tracks=tracks or (Track(),), meters=((0, *meter),), n_bars=n_bars)


def held(start, duration, *pitches, track=0):
    return [(start, duration, p, 80, track) for p in pitches]


def names(changes):
    return [(step, chord_name(value)) for step, value in changes]


@pytest.mark.parametrize("text, name", [
    ("C", "C"), ("Cm", "Cm"), ("Cmin", "Cm"), ("C-", "Cm"), ("C7", "C7"), ("Cmaj7", "Cmaj7"), ("CM7", "Cmaj7"),
    ("CΔ7", "Cmaj7"), ("Cm7", "Cm7"), ("Cmin7", "Cm7"), ("C-7", "Cm7"), ("Cdim", "Cdim"), ("C°", "Cdim"),
    ("Cm7b5", "Cm7b5"), ("Cø", "Cm7b5"), ("Cø7", "Cm7b5"), ("Cdim7", "Cdim7"), ("C°7", "Cdim7"), ("Caug", "Caug"),
    ("C+", "Caug"), ("Csus4", "Csus4"), ("Csus", "Csus4"), ("F#m", "F#m"), ("F♯m", "F#m"), ("Bb7", "Bb7"),
    ("B♭7", "Bb7"), ("Ebmaj7", "Ebmaj7"), ("C#", "Db"), ("Cb", "B"), ("C/E", "C"), ("Am7/G", "Am7"),
    ("N.C.", "N.C."), ("NC", "N.C."), ("N", "N.C."), (" G7 ", "G7"),
    # richer symbols: the nearest quality in the table
    ("C6", "C"), ("Cm6", "Cm"), ("C9", "C7"), ("C13", "C7"), ("C7sus4", "C7"), ("C7(b9)", "C7"), ("Cmaj9", "Cmaj7"),
    ("Cm9", "Cm7"), ("Cm11", "Cm7"), ("Cadd9", "C"), ("Csus2", "C"),
])
def test_parse_chord(text, name):
    assert chord_name(parse_chord(text)) == name


@pytest.mark.parametrize("text", ["", "H7", "Cxyz", "c", "C/X", "Dm7 G7", "%"])
def test_parse_chord_rejects(text):
    with pytest.raises(MidigenError, match="not a chord symbol.*e.g. Dm7"):
        parse_chord(text)


def test_parse_progression():
    assert parse_progression("Dm7 | G7 | Cmaj7 Am7 | Cmaj7") == [[parse_chord("Dm7")], [G7], [parse_chord("Cmaj7"), parse_chord("Am7")],
                                                              [parse_chord("Cmaj7")]]
    assert parse_progression("| C, G7 | % |") == [[C, G7], [C, G7]]


@pytest.mark.parametrize("text, message", [
    ("", "empty"), ("C | | G", "bar 2 .*empty"), ("% | C", "bar 1: '%'"), ("C | G7 | Xm", "bar 3: not a chord symbol"),
])
def test_parse_progression_rejects(text, message):
    with pytest.raises(MidigenError, match=message):
        parse_progression(text)


def test_progression_changes_split_bars_and_repeat():
    starts = bar_starts_steps(((0, 4, 4),), 4)
    changes = progression_changes([[DM, G7], [C]], starts, 4)
    assert changes == ((0, DM), (24, G7), (48, C), (96, DM), (120, G7), (144, C))
    assert progression_changes([[C], [C, C]], starts, 2) == ((0, C),)  # no restated chord


def test_progression_changes_errors():
    starts = bar_starts_steps(((0, 7, 8),), 2)  # 42 steps a bar
    with pytest.raises(MidigenError, match="bar 2: 4 chords do not split its 42 steps"):
        progression_changes([[C], [C, G7, C, G7]], starts, 2)
    with pytest.raises(MidigenError, match="3 bars, the piece 2"):
        progression_changes([[C], [G7], [C]], starts, 2)


def test_analyse_held_chords():
    assert analyse(piece(held(0, 48, 60, 64, 67))) == ((0, C),)
    assert analyse(piece(held(0, 48, 60, 64, 67, 70))) == ((0, parse_chord("C7")),)
    assert analyse(piece([])) == ((0, NO_CHORD),)


def test_analyse_arpeggios_bar_by_bar():
    dm = [(i * 12, 12, p, 80, 0) for i, p in enumerate((62, 65, 69, 74))]
    g7 = [(48 + i * 12, 12, p, 80, 0) for i, p in enumerate((67, 71, 74, 77))]
    assert analyse(piece(dm + g7, n_bars=2)) == ((0, DM), (48, G7))


def test_analyse_half_bars_and_silence():
    rows = held(0, 24, 48, 60, 64, 67) + held(24, 24, 43, 59, 62, 67) + held(96, 48, 53, 57, 60)
    assert names(analyse(piece(rows, n_bars=3))) == [(0, "C"), (24, "G"), (48, "N.C."), (96, "F")]


def test_analyse_three_four_and_six_eight():
    three = held(0, 36, 53, 57, 60) + held(36, 36, 55, 59, 62)
    assert analyse(piece(three, meter=(3, 4), n_bars=2)) == ((0, parse_chord("F")), (36, parse_chord("G")))
    six = [(i * 6, 6, p, 80, 0) for i, p in enumerate((60, 64, 67, 64, 67, 72, 62, 67, 71, 67, 71, 74))]
    assert analyse(piece(six, meter=(6, 8), n_bars=2)) == ((0, C), (36, parse_chord("G")))
    assert strong_beat_steps(piece(six, meter=(6, 8), n_bars=2)).tolist() == [0, 18, 36, 54]
    assert strong_beat_steps(piece([], meter=(3, 4), n_bars=2)).tolist() == [0, 12, 24, 36, 48, 60]


def test_analyse_ignores_drums():
    rows = held(0, 48, 60, 64, 67) + [(s, 3, p, 100, 1) for s in range(0, 48, 6) for p in (37, 42, 46)]
    assert analyse(piece(rows, tracks=(Track(), Track(is_drum=True)))) == ((0, C),)


@st.composite
def melodic_pieces(draw):
    meter = draw(st.sampled_from(METERS))
    rows = draw(st.lists(st.tuples(st.integers(0, 300), st.integers(1, 96), st.integers(24, 100), st.just(80),
                                   st.integers(0, 1)), min_size=0, max_size=40))
    return piece(rows, meter=meter, n_bars=draw(st.integers(1, 3)), tracks=(Track(), Track(40)))


@settings(max_examples=60, deadline=None)
@given(melodic_pieces(), st.integers(-12, 12))
def test_analyse_is_transposition_equivariant(p, semitones):
    moved = p.notes.copy()
    moved[:, PITCH] += semitones
    expected = tuple((step, transpose_chord(value, semitones)) for step, value in analyse(p))
    assert analyse(p.replace(notes=moved)) == expected


def test_chord_tone_rate():
    melody = [(0, 12, 60, 80, 0), (6, 6, 62, 80, 0), (12, 12, 64, 80, 0), (24, 12, 65, 80, 0), (36, 12, 67, 80, 0),
              (48, 12, 69, 80, 1), (60, 12, 60, 80, 0)]
    p = piece(melody, n_bars=2, tracks=(Track(), Track())).replace(chords=((0, C), (48, NO_CHORD), (60, C)))
    assert chord_tone_rate(p) == (4, 5)  # C E (F) G on beats, then C; D off the beat, A under N.C.
    assert chord_tone_rate(p, ((0, DM),), tracks=[1]) == (1, 1)
    assert chord_tone_rate(p.replace(chords=())) == (0, 0)
    assert chords_at(((0, C), (48, G7)), np.array([0, 47, 48, 500])).tolist() == [C, C, G7, G7]


def test_block_chord_notes():
    changes = ((0, C), (48, parse_chord("Am7")), (96, NO_CHORD), (120, G7), (150, parse_chord("F#dim")))
    notes = block_chord_notes(changes, 400, velocity=70)
    assert set(notes[:, DURATION].tolist()) <= set(DURATIONS_STEPS)
    first = notes[notes[:, START] == 0]
    assert sorted(first[:, PITCH].tolist()) == [48, 52, 55]  # root position, root in C3..B3
    ends = [s for s, _ in changes[1:]] + [400]
    for (start, value), end in zip(changes, ends):
        span = notes[(notes[:, START] >= start) & (notes[:, START] < end)]
        assert {p % 12 for p in span[:, PITCH].tolist()} == set(chord_pitch_classes(value))
        for pitch in set(span[:, PITCH].tolist()):  # each voice covers the span exactly, without gaps
            voice = span[span[:, PITCH] == pitch]
            assert voice[0, START] == start and (voice[:-1, START] + voice[:-1, DURATION] == voice[1:, START]).all()
            assert voice[-1, START] + voice[-1, DURATION] == end
    p = Piece(notes=notes, n_bars=9)
    assert np.array_equal(quantize(p).notes, notes)


def test_block_chords_lead_smoothly():
    notes = block_chord_notes(((0, C), (48, parse_chord("F")), (96, G7), (144, C)), 192)
    voicings = [sorted(notes[notes[:, START] == s][:, PITCH].tolist()) for s in (0, 48, 96, 144)]
    assert voicings[1] == [48, 53, 57]  # C-E-G to C-F-A: the second inversion, two voices move a step
    for before, after in zip(voicings, voicings[1:]):  # every note a step or less from one of the chord before
        assert all(min(abs(x - y) for y in before) <= 2 for x in after)


def test_bach_chorale_analysis():
    """bwv66.6 (F# minor) through the importer's own path: chord tones on the beats, the tonic on bar 1."""
    from music21 import corpus

    from midigen.corpus.music21_score import pickup_padding_quarters, score_midi_bytes, shift_midi_bytes
    from midigen.midi.files import read_midi

    score = corpus.parse("bach/bwv66.6")
    padding = pickup_padding_quarters(score)
    data, _ = score_midi_bytes(score, padding)
    chorale, _ = read_midi(Path("bwv66.6.mid"), data=shift_midi_bytes(data, padding) if padding else data)
    changes = analyse(chorale)
    tones, total = chord_tone_rate(chorale, changes)
    assert total > 100 and tones / total > 0.8
    first_bar = int(chorale.bar_starts_steps()[1])  # the pickup bar is padded: bar 1 is the first full bar
    assert chord_name(int(chords_at(changes, np.array([first_bar]))[0])) == "F#m"
