"""The tokenizer's contract: decode(encode(quantize(p))) == quantize(p), for every piece."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from midigen.corpus.reader import load_piece
from midigen.errors import MidigenError
from midigen.midi.files import midi_bytes, read_midi
from midigen.music.piece import Piece, Track, quantize
from midigen.tokens.grammar import GrammarState, validate
from midigen.tokens.tokenizer import decode, encode, note_count, token_names
from midigen.tokens.vocab import MAX_HOLE_BARS, VOCAB

from .strategies import pieces

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(pieces())
def test_round_trip_is_exact_at_the_grid(piece):
    q = quantize(piece)
    ids = encode(q)
    validate(ids)  # the encoder only writes what the grammar allows
    assert decode(ids) == q
    assert note_count(ids) == q.n_notes


@FAST
@given(pieces(), st.data())
def test_infill_form_round_trips_and_puts_the_hole_last(piece, data):
    """Any hole the meter allows: the infill form decodes to the same piece, and its tokens after Fill are
    the hole's bars (with the tempo, chord and velocities in force restated)."""
    q = quantize(piece)
    first = data.draw(st.integers(0, q.n_bars - 1))
    count = data.draw(st.integers(1, min(MAX_HOLE_BARS, q.n_bars - first)))
    if any(first <= bar < first + count for bar, _, _ in q.meters[1:]):
        with pytest.raises(ValueError):
            encode(q, hole=(first, count))
        return
    ids = encode(q, hole=(first, count))
    validate(ids)
    assert decode(ids) == q
    state = GrammarState()
    for token_id in ids.tolist():  # the sampler's mask allows every id the encoder writes
        assert state.allowed_mask()[token_id], VOCAB.names[token_id]
        state.step(token_id)
    fill = int(np.flatnonzero(ids == VOCAB.offsets["Fill"])[0])
    assert (ids[fill + 1:] == VOCAB.offsets["Bar"]).sum() == count
    hole = q.bar_starts_steps()[[first, first + count]]
    inside = (q.notes[:, 0] >= hole[0]) & (q.notes[:, 0] < hole[1])
    assert note_count(ids[fill:]) == inside.sum()


def test_infill_grammar_refuses_a_second_hole_an_early_end_and_a_short_fill():
    piece = quantize(Piece(notes=np.array([[0, 12, 60, 80, 0], [48, 12, 62, 80, 0], [96, 12, 64, 80, 0]]), n_bars=3))
    ids = encode(piece, hole=(1, 1)).tolist()
    off = VOCAB.offsets
    fill = ids.index(off["Fill"])
    for bad, message in ((ids[:fill] + [off["EOS"]], "EOS cannot follow"),
                         (ids[:fill] + [off["Hole"]], "Hole cannot follow"),
                         (ids[:fill + 1] + [off["Bar"], off["EOS"]][:1] + [off["Bar"]], "Bar cannot follow"),
                         (ids[:fill + 2] + [off["TimeSig"] + 3], "value not allowed")):
        with pytest.raises(MidigenError, match=message):
            validate(bad + [off["EOS"]])


@FAST
@given(pieces())
def test_quantize_is_idempotent(piece):
    q = quantize(piece)
    assert quantize(q) == q


@settings(max_examples=80, deadline=None)
@given(pieces(max_notes=30))
def test_midi_file_round_trip(piece):
    q = quantize(piece.replace(n_bars=1, style=None, chords=()))  # a file has no style or chord analysis; its length is its notes
    back, n_in = read_midi("x.mid", data=midi_bytes(q))
    assert n_in == q.n_notes
    assert back == q


@FAST
@given(pieces())
def test_sampler_mask_agrees_with_check(piece):
    """Every id the encoder writes is inside the mask the sampler would use at that point."""
    state = GrammarState()
    for token_id in encode(quantize(piece)).tolist():
        mask = state.allowed_mask()
        assert mask[token_id], VOCAB.names[token_id]
        state.step(token_id)


def test_mask_and_check_agree_on_every_id():
    piece = quantize(Piece(notes=np.array([[0, 12, 60, 80, 0], [0, 12, 64, 80, 1], [12, 6, 62, 90, 0]]),
                           tracks=(Track(0), Track(33))))
    state = GrammarState()
    for token_id in encode(piece).tolist():
        mask = state.allowed_mask()
        for candidate in range(VOCAB.size):
            try:
                state.check(candidate)
                ok = True
            except MidigenError:
                ok = False
            assert ok == mask[candidate], (VOCAB.names[candidate], state.state)
        state.step(token_id)


def test_grammar_violation_names_the_position():
    ids = encode(quantize(Piece(notes=np.array([[0, 12, 60, 80, 0]]))))
    names = token_names(ids)
    bad = list(ids)
    bad.insert(names.index("Pitch_60"), VOCAB.ids_by_name["Bar"])  # Bar right after Position
    with pytest.raises(MidigenError, match=rf"token {names.index('Pitch_60')} \(Bar\)"):
        decode(bad)
    with pytest.raises(MidigenError, match="ends before EOS"):
        decode(ids[:-1])
    with pytest.raises(MidigenError, match="outside the vocabulary"):
        decode([VOCAB.size + 3])


def test_chord_notes_are_written_top_down_and_restated_values_are_refused():
    ids = token_names(encode(quantize(Piece(notes=np.array([[0, 12, 60, 80, 0], [0, 12, 67, 80, 0]])))))
    assert ids.index("Pitch_67") < ids.index("Pitch_60")
    state = GrammarState()
    for name in ["BOS", "Key_C_major", "TimeSig_4/4", "Tempo_120", "Program_0", "Bar", "Position_0", "Pitch_60",
                 "Velocity_79", "Duration_12"]:
        state.step(VOCAB.ids_by_name[name])
    with pytest.raises(MidigenError):
        state.check(VOCAB.ids_by_name["Pitch_64"])  # above the previous note of the chord
    with pytest.raises(MidigenError):
        state.check(VOCAB.ids_by_name["Track_0"])  # already the current track
    with pytest.raises(MidigenError):
        state.check(VOCAB.ids_by_name["Position_0"])  # positions rise within a bar


def test_grid_holds_sixteenths_and_triplets_exactly():
    sixteenths = [[3 * i, 3, 60 + i, 80, 0] for i in range(4)]
    triplets = [[12 + 4 * i, 4, 70 + i, 80, 0] for i in range(3)]
    q = quantize(Piece(notes=np.array(sixteenths + triplets)))
    assert np.array_equal(q.notes[:, 0], [0, 3, 6, 9, 12, 16, 20])
    assert decode(encode(q)) == q


def test_tempo_and_meter_changes_survive():
    piece = quantize(Piece(notes=np.array([[0, 12, 60, 80, 0], [100, 12, 62, 80, 0]]),
                           meters=((0, 4, 4), (1, 3, 4), (2, 6, 8)), tempos=((0, 120.0), (30, 90.0)), n_bars=4))
    back = decode(encode(piece))
    assert back.meters == ((0, 4, 4), (1, 3, 4), (2, 6, 8))
    assert back.tempos == ((0, 120.0), (30, 92.0))  # nearest mark on a log scale


def test_unsupported_meter_is_a_domain_error():
    with pytest.raises(MidigenError, match="unsupported time signature 7/3"):
        quantize(Piece(notes=np.array([[0, 12, 60, 80, 0]]), meters=((0, 7, 3),)))


def test_tokens_per_note_is_lean_on_real_chorales(real_midi_dir):
    for path in sorted(real_midi_dir.glob("bach*.mid")):
        piece, n_in = read_midi(path)
        ids = encode(piece)
        assert piece.n_notes == n_in
        assert decode(ids) == piece
        assert len(ids) / piece.n_notes < 3.7  # MidiTok REMI: ~4.4 on the same chorales


@pytest.mark.parametrize("name", ["scale_in_c", "triplets_tempo_meter_change", "band_with_drums"])
def test_golden_files_give_their_reviewed_tokens(golden_dir, name):
    path = golden_dir / f"{name}.mid"
    assert path.stat().st_size < 2048
    piece, _ = load_piece(path)  # as training reads it: with its key and analysed chords
    expected = (golden_dir / f"{name}.tokens.txt").read_text().split()
    assert token_names(encode(piece)) == expected
    assert decode(encode(piece)) == piece


@FAST
@given(pieces(), st.data())
def test_transposing_tokens_moves_notes_key_and_chords_in_either_form(piece, data):
    """Token-level transposition (training's augmentation) equals transposing the piece, in the plain and
    the infill form: drum notes stay, melodic notes, the key and every chord root move."""
    from midigen.music.chord_symbols import transpose_chord
    from midigen.music.keys import transpose_key
    from midigen.tokens.augment import transpose_ids, transpositions

    q = quantize(piece)
    first = data.draw(st.integers(0, q.n_bars - 1))
    count = data.draw(st.integers(1, min(MAX_HOLE_BARS, q.n_bars - first)))
    hole = None if any(first <= bar < first + count for bar, _, _ in q.meters[1:]) else (first, count)
    ids = encode(q, hole=hole)
    shift = data.draw(st.sampled_from(transpositions(ids)))
    drums = np.array([t.is_drum for t in q.tracks])
    notes = q.notes.copy()
    notes[~drums[notes[:, 4]], 2] += shift
    expected = q.replace(notes=notes, key=None if q.key is None else transpose_key(q.key, shift),
                         chords=tuple((s, transpose_chord(c, shift)) for s, c in q.chords))
    assert decode(transpose_ids(ids, shift)) == quantize(expected)
