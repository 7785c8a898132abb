"""Keys a musician would recognise: a piece's key decided from its signature and its notes, and said how."""
from __future__ import annotations

import mido
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from midigen.corpus.dataset import build_dataset
from midigen.corpus.reader import load_piece
from midigen.corpus.stats import CorpusStats
from midigen.midi.files import write_midi
from midigen.music import keys
from midigen.music.keys import (
    KEY_BY_NOTES,
    KEY_BY_SIGNATURE,
    KEY_BY_SIGNATURE_MODE_FROM_NOTES,
    KEY_SIGNATURE_CONTRADICTED,
    KEY_UNDECIDED,
    MIN_NOTES_TO_CONTRADICT,
    decide_key,
    key_scores,
    parse_key,
    pitch_class_histogram,
    relative_key,
    signature_of_key,
)

KEYS_FAST = settings(max_examples=200, deadline=None)

# A tune in scale steps above its tonic, (semitones, quarter notes): tonic, third and fifth held longest.
MAJOR_TUNE = [(0, 2), (4, 1), (7, 1), (12, 2), (11, 0.5), (9, 0.5), (7, 1), (5, 1), (4, 1), (2, 1), (0, 2),
              (7, 1), (4, 1), (5, 0.5), (2, 0.5), (-1, 1), (0, 3), (4, 1), (7, 2), (0, 4)]
# A minor tune with its raised seventh (the leading tone) at the cadences.
MINOR_TUNE = [(0, 2), (3, 1), (7, 1), (12, 2), (10, 0.5), (8, 0.5), (7, 1), (5, 1), (3, 1), (2, 1), (0, 2),
              (7, 1), (3, 1), (5, 0.5), (2, 0.5), (-1, 1), (0, 3), (3, 1), (7, 2), (0, 4)]


def _histogram(tune, tonic: int) -> np.ndarray:
    steps = np.array([s for s, _ in tune]) + tonic
    return pitch_class_histogram(steps, np.array([d for _, d in tune]))


def _midi_file(path, tune=(), tonic: int = 60, signature: str | None = None, drums: bool = False):
    """A type-1 file: a conductor track (with a key signature event when given) and one part."""
    conductor = mido.MidiTrack([mido.MetaMessage("time_signature", numerator=4, denominator=4)])
    if signature is not None:
        conductor.append(mido.MetaMessage("key_signature", key=signature))
    part, channel = mido.MidiTrack(), 9 if drums else 0
    for step, quarters in tune:
        pitch = (36 + step % 8) if drums else tonic + step
        part.append(mido.Message("note_on", note=pitch, velocity=80, channel=channel, time=0))
        part.append(mido.Message("note_off", note=pitch, velocity=0, channel=channel, time=int(quarters * 480)))
    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    midi.tracks += [conductor, part]
    midi.save(path)
    return path


def test_a_c_major_signature_over_e_flat_major_notes_is_read_as_e_flat_major(tmp_path):
    path = _midi_file(tmp_path / "default.mid", MAJOR_TUNE, tonic=63, signature="C")
    piece, _ = load_piece(path)
    assert piece.key == parse_key("Eb major")
    assert piece.meta["key_decided"] == KEY_SIGNATURE_CONTRADICTED and piece.meta["key_signature"] == parse_key("C major")


def test_a_correct_signature_is_kept(tmp_path):
    piece, _ = load_piece(_midi_file(tmp_path / "right.mid", MAJOR_TUNE, tonic=63, signature="Eb"))
    assert (piece.key, piece.meta["key_decided"]) == (parse_key("Eb major"), KEY_BY_SIGNATURE)


def test_without_a_signature_the_notes_decide(tmp_path):
    piece, _ = load_piece(_midi_file(tmp_path / "none.mid", MINOR_TUNE, tonic=62))
    assert (piece.key, piece.meta["key_decided"], piece.meta["key_signature"]) == (parse_key("D minor"), KEY_BY_NOTES, None)


def test_a_major_signature_over_its_relative_minor_takes_the_mode_from_the_notes(tmp_path):
    piece, _ = load_piece(_midi_file(tmp_path / "relative.mid", MINOR_TUNE, tonic=57, signature="C"))
    assert (piece.key, piece.meta["key_decided"]) == (parse_key("A minor"), KEY_BY_SIGNATURE_MODE_FROM_NOTES)


def test_a_minor_signature_is_kept_minor(tmp_path):
    # minor is never a sequencer's default: over its relative major's notes the stated minor stands
    piece, _ = load_piece(_midi_file(tmp_path / "stated.mid", MAJOR_TUNE, tonic=60, signature="Am"))
    assert (piece.key, piece.meta["key_decided"]) == (parse_key("A minor"), KEY_BY_SIGNATURE)


@pytest.mark.parametrize("signature, key, how", [("D", parse_key("D major"), KEY_BY_SIGNATURE), (None, None, KEY_UNDECIDED)])
def test_drums_only_keep_the_signature_or_none(tmp_path, signature, key, how):
    piece, _ = load_piece(_midi_file(tmp_path / "kit.mid", MAJOR_TUNE * 2, signature=signature, drums=True))
    assert (piece.key, piece.meta["key_decided"]) == (key, how)


def test_a_few_notes_never_contradict_a_signature():
    histogram = _histogram(MAJOR_TUNE, 3)
    assert decide_key(0, histogram, MIN_NOTES_TO_CONTRADICT - 1)[1] in (KEY_BY_SIGNATURE, KEY_BY_SIGNATURE_MODE_FROM_NOTES)
    assert decide_key(0, histogram, MIN_NOTES_TO_CONTRADICT) == (parse_key("Eb major"), KEY_SIGNATURE_CONTRADICTED)


@KEYS_FAST
@given(st.integers(0, 11), st.booleans())
def test_a_default_c_major_signature_gives_way_to_any_key_two_or_more_accidentals_away(tonic, minor):
    key = tonic + 12 * minor
    histogram = _histogram(MINOR_TUNE if minor else MAJOR_TUNE, tonic)
    decided, how = decide_key(parse_key("C major"), histogram, len(MAJOR_TUNE))
    if signature_of_key(key) == 0:
        assert (decided, how) == (key, KEY_BY_SIGNATURE if key == 0 else KEY_BY_SIGNATURE_MODE_FROM_NOTES)
    elif abs(signature_of_key(key)) >= 2:
        assert (decided, how) == (key, KEY_SIGNATURE_CONTRADICTED)
    assert decide_key(key, histogram, len(MAJOR_TUNE)) == (key, KEY_BY_SIGNATURE)  # its own signature is kept
    assert decide_key(None, histogram, len(MAJOR_TUNE)) == (key, KEY_BY_NOTES)


@KEYS_FAST
@given(st.lists(st.floats(0, 10), min_size=12, max_size=12), st.none() | st.integers(0, 23), st.integers(0, 64))
def test_a_decided_key_written_back_as_the_signature_is_read_back_as_it_is(weights, signature, n_notes):
    """What ``corpus import`` and ``compose`` write is read back unchanged: deciding is idempotent."""
    histogram = np.asarray(weights)
    key, how = decide_key(signature, histogram, n_notes)
    assert how in keys.KEY_WAYS and (key is None) == (how == KEY_UNDECIDED)
    if how in (KEY_BY_SIGNATURE, KEY_BY_SIGNATURE_MODE_FROM_NOTES):
        assert key in (signature, relative_key(signature))
    again = decide_key(key, histogram, n_notes)
    assert again == (key, KEY_BY_SIGNATURE if key is not None else KEY_UNDECIDED)


@KEYS_FAST
@given(st.lists(st.floats(0, 10), min_size=12, max_size=12), st.sampled_from(sorted(keys.PROFILES)))
def test_key_scores_are_the_profiles_correlations(weights, profile):
    histogram = np.asarray(weights)
    scores = key_scores(histogram, profile)
    if histogram.sum() <= 0 or np.allclose(histogram, histogram[0]):
        assert not np.isfinite(scores).any()
        return
    for mode, profile_weights in enumerate(keys.PROFILES[profile]):
        for pc in range(12):
            expected = np.corrcoef(histogram, np.roll(np.asarray(profile_weights, dtype=float), pc))[0, 1]
            assert scores[12 * mode + pc] == pytest.approx(expected, abs=1e-9)


def test_corpus_stats_say_how_each_key_was_decided(tmp_path):
    folder = tmp_path / "songs"
    folder.mkdir()
    _midi_file(folder / "a-default.mid", MAJOR_TUNE, tonic=63, signature="C")
    _midi_file(folder / "b-right.mid", MAJOR_TUNE, tonic=63, signature="Eb")
    _midi_file(folder / "c-none.mid", MINOR_TUNE, tonic=62)
    _midi_file(folder / "d-relative.mid", MINOR_TUNE, tonic=57, signature="C")
    _midi_file(folder / "e-kit.mid", MAJOR_TUNE * 2, drums=True)
    for run in range(2):  # the second run comes from the token cache and must say the same
        dataset = build_dataset(folder, cache_dir=tmp_path / "cache", workers=1)
        by_path = {r.path: r for r in dataset.records}
        assert (by_path["a-default.mid"].key, by_path["a-default.mid"].key_signature) == (parse_key("Eb major"), 0), run
        stats = CorpusStats.of(dataset.records, dataset.skipped)
        assert dict(stats.key_decided) == {KEY_SIGNATURE_CONTRADICTED: 1, KEY_BY_SIGNATURE: 1, KEY_BY_NOTES: 1,
                                           KEY_BY_SIGNATURE_MODE_FROM_NOTES: 1, KEY_UNDECIDED: 1}, run
        lines = stats.summary_lines()
        decided = next(line for line in lines if line.startswith("keys decided by: "))
        for way in keys.KEY_WAYS:
            assert f"{way} (1)" in decided
        assert "key signatures the notes contradict: 1" in lines
        assert "  a-default.mid: signature C major, notes Eb major" in lines
        assert stats.to_json()["key_decided"][KEY_SIGNATURE_CONTRADICTED] == 1


def test_the_contradicted_list_is_bounded(tmp_path):
    from midigen.corpus.dataset import PieceRecord
    from midigen.corpus.stats import MAX_LISTED_KEY_CHANGES

    record = PieceRecord(path="x.mid", sha1="", offset=0, length=0, melody_offset=0, melody_length=0, n_notes=20,
                         n_in=20, n_bars=4, key=3, meter="4/4", tempo_bpm=120.0, programs=(0,), quarters=16.0,
                         pitch_low=60, pitch_high=72, key_decided=KEY_SIGNATURE_CONTRADICTED, key_signature=0)
    stats = CorpusStats.of([record] * (MAX_LISTED_KEY_CHANGES + 5))
    assert len(stats.keys_contradicted) == MAX_LISTED_KEY_CHANGES
    assert stats.summary_lines().count("  ... and 5 more") == 1


def test_a_written_piece_keeps_its_decided_key(tmp_path):
    """A piece written with its decided key (as ``corpus import`` writes) is read back the same way."""
    piece, _ = load_piece(_midi_file(tmp_path / "default.mid", MAJOR_TUNE, tonic=63, signature="C"))
    write_midi(piece, tmp_path / "written.mid")
    again, _ = load_piece(tmp_path / "written.mid")
    assert (again.key, again.meta["key_decided"]) == (parse_key("Eb major"), KEY_BY_SIGNATURE)
