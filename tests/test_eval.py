"""``midigen eval``: each measurement on data whose answer is known, then the command end to end."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from midigen.cli import main
from midigen.errors import MidigenError
from midigen.evalsuite import realset
from midigen.evalsuite.classifier import cross_validated_correct
from midigen.evalsuite.compliance import check_sample
from midigen.evalsuite.features import piece_features
from midigen.evalsuite.generate import Sample, allocate
from midigen.evalsuite.originality import lines_of, originality
from midigen.evalsuite.overlap import feature_overlaps, mean_overlap, overlap_area
from midigen.midi.files import midi_bytes, write_midi
from midigen.music.piece import Piece, Track


def voices_piece(lines: list[tuple[list[int], list[int]]], meter=(4, 4)) -> Piece:
    """A piece with one track per (pitches, durations) line, notes back to back from step 0."""
    rows = []
    for track, (pitches, durations) in enumerate(lines):
        starts = np.concatenate([[0], np.cumsum(durations)[:-1]])
        rows += [(s, d, p, 80, track) for s, d, p in zip(starts, durations, pitches)]
    notes = np.array(rows, dtype=np.int64)
    bar = meter[0] * 48 // meter[1]
    n_bars = int(np.ceil((notes[:, 0] + notes[:, 1]).max() / bar))
    return Piece(notes=notes, tracks=tuple(Track() for _ in lines), meters=((0, *meter),), n_bars=n_bars)


def random_line(rng, n: int, low: int = 55, high: int = 79) -> tuple[list[int], list[int]]:
    pitches = np.clip(60 + np.cumsum(rng.integers(-4, 5, n)), low, high)
    return pitches.tolist(), rng.choice([6, 12, 12, 24], n).tolist()


# --- features ---------------------------------------------------------------------------------------

def test_features_of_a_scale_in_quarter_notes():
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    f = piece_features(voices_piece([(scale, [12] * 8)]), key=0)
    assert f["pitch_count"] == 8 and f["pitch_range"] == 12
    assert f["mean_interval"] == pytest.approx(12 / 7)
    assert f["inter_onset_beats"] == pytest.approx(1.0)
    assert f["polyphony"] == 1.0 and f["empty_beat_rate"] == 0.0 and f["groove_consistency"] == 1.0
    assert f["pitch_class_histogram"][[0, 2, 4, 5, 7, 9, 11]].sum() == pytest.approx(1.0)
    assert f["pitch_class_histogram"][0] == pytest.approx(2 / 8)
    assert f["note_length_histogram"].argmax() == 5  # every note is a quarter (12 steps)
    # relative to the key: the same scale read in G puts C on degree 5 (index 5), not 0
    assert piece_features(voices_piece([(scale, [12] * 8)]), key=7)["pitch_class_histogram"][5] == pytest.approx(2 / 8)


def test_empty_beats_and_half_notes():
    f = piece_features(voices_piece([([60, 62], [24, 24])]), key=0)
    assert f["empty_beat_rate"] == pytest.approx(0.5) and f["inter_onset_beats"] == pytest.approx(2.0)


# --- overlap ----------------------------------------------------------------------------------------

def _table(rng, n: int, shift: float = 0.0) -> dict[str, np.ndarray]:
    return {"scalar": rng.normal(shift, 1.0, (n, 1)), "vector": rng.normal(shift, 1.0, (n, 4))}


def test_overlap_area_of_equal_and_disjoint_lists():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, 500)
    assert overlap_area(x, x) == pytest.approx(1.0, abs=1e-6)
    assert overlap_area(x, x + 20) < 0.01
    assert 0.4 < overlap_area(x, x + 1.0) < 0.8  # two unit normals one apart overlap by ~0.62


def test_overlap_drops_when_the_compared_set_is_shifted():
    rng = np.random.default_rng(1)
    reference = _table(rng, 60)
    same = feature_overlaps(reference, _table(rng, 60), rng, reps=50)
    shifted = feature_overlaps(reference, _table(rng, 60, shift=3.0), rng, reps=50)
    assert mean_overlap(same).value > 0.8
    assert mean_overlap(shifted).value < 0.3
    low, high = mean_overlap(same).low, mean_overlap(same).high
    assert low <= mean_overlap(same).value <= high
    assert feature_overlaps({"scalar": np.zeros((1, 1))}, {"scalar": np.zeros((3, 1))}, rng) is None


# --- originality ------------------------------------------------------------------------------------

def test_originality_finds_a_planted_and_a_transposed_copy():
    rng = np.random.default_rng(2)
    training = [voices_piece([random_line(rng, 60), random_line(rng, 60, 40, 60)]) for _ in range(6)]
    train = lines_of(training)
    copy = training[2]
    transposed = training[4].replace(notes=training[4].notes + np.array([0, 0, 5, 0, 0]))
    head = training[1].notes[training[1].notes[:, 4] == 0][:20]  # 20 notes of a training melody, then new ones
    fresh_pitches, fresh_durations = random_line(np.random.default_rng(99), 30)
    tail_start = int(head[-1, 0] + head[-1, 1])
    tail = np.array([(tail_start + 12 * i, 12, p + 1, 80, 0) for i, p in enumerate(fresh_pitches)], dtype=np.int64)
    partial = Piece(notes=np.concatenate([head, tail]), n_bars=20)
    new = voices_piece([random_line(np.random.default_rng(7), 60)])
    results = originality(lines_of([copy, transposed, partial, new]), train)
    assert results[0].whole_copy and results[0].longest_run_notes == 60
    assert results[1].whole_copy and results[1].longest_run_notes == 60
    assert not results[2].whole_copy and 20 <= results[2].longest_run_notes < 25
    assert results[2].shares(16) and not results[2].shares(32)
    assert not results[3].whole_copy and results[3].longest_run_notes < 16


# --- classifier -------------------------------------------------------------------------------------

def test_classifier_separates_different_sets_and_not_identical_ones():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, (60, 5)), rng.normal(0, 1, (60, 5))
    b_far = b + np.array([5.0, 0, 0, 0, 0])  # Bayes accuracy 0.994
    y = np.r_[np.zeros(60, int), np.ones(60, int)]
    assert cross_validated_correct(np.r_[a, b_far], y, 2, rng).mean() > 0.95
    assert 0.3 < cross_validated_correct(np.r_[a, b], y, 2, rng).mean() < 0.7


# --- samples, compliance, corpus --------------------------------------------------------------------

def test_keys_are_allocated_in_proportion():
    assert allocate(10, {0: 6, 9: 3, 14: 1}) == {0: 6, 9: 3, 14: 1}
    assert allocate(3, {0: 6, 9: 3, 14: 1}) == {0: 2, 9: 1}
    assert sum(allocate(7, {k: k + 1 for k in range(24)}).values()) == 7


def test_compliance_reads_bars_tempo_and_meter_back_from_the_midi():
    piece = voices_piece([([60, 62, 64, 65], [48, 48, 48, 48])]).replace(tempos=((0, 96.0),))
    good = Sample(piece, midi_bytes(piece), bars=4, key=0, tempo_bpm=96.0, meter=(4, 4), seed=0)
    assert check_sample(good) == {"bars": True, "tempo": True, "meter": True}
    wrong = Sample(piece, midi_bytes(piece), bars=5, key=0, tempo_bpm=100.0, meter=(3, 4), seed=0)
    assert check_sample(wrong) == {"bars": False, "tempo": False, "meter": False}


def test_missing_corpus_names_the_folder_and_the_option(tmp_path):
    meta = {"name": "gone", "corpus": {"root": str(tmp_path / "nowhere")}}
    with pytest.raises(MidigenError, match=r"nowhere is missing.*--corpus DIR"):
        realset.corpus_root(meta, tmp_path / "styles" / "gone")


# --- the command ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def distractor_dir(tmp_path_factory):
    """A corpus unlike chorales: one fast line of eighth notes in 6/8, high up."""
    out = tmp_path_factory.mktemp("jigs")
    rng = np.random.default_rng(5)
    for i in range(8):
        pitches = np.clip(76 + np.cumsum(rng.integers(-2, 3, 48)), 70, 90).tolist()
        write_midi(voices_piece([(pitches, [6] * 48)], meter=(6, 8)).replace(key=7), out / f"jig{i}.mid")
    return out


@pytest.mark.slow
def test_eval_command_json(tiny_style, distractor_dir, tmp_path):
    styles, _ = tiny_style
    plots = tmp_path / "plots"
    args = ["eval", "--style", "tiny-bach", "--styles-dir", str(styles), "--samples", "4", "--bars", "2,3", "--seed", "1",
            "--against", str(distractor_dir), "--plots", str(plots), "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["settings"]["samples"] == 4 and report["settings"]["bars"] == [2, 3]
    for name in ("model", "model_grammar_masked", "ngram4", "unigram"):
        bits = report["likelihood"][name]["bits_per_note"]
        assert bits["value"] > 0 and bits["ci95"][0] <= bits["value"] <= bits["ci95"][1]
    assert report["likelihood"]["unigram"]["bits_per_note"]["value"] > report["likelihood"]["ngram4"]["bits_per_note"]["value"]
    assert all(report["compliance"]["exact"][k]["value"] == 1.0 for k in ("bars", "tempo", "meter"))
    assert 0.0 <= report["compliance"]["in_key_rate"]["value"] <= 1.0
    assert report["originality"]["generated"]["pieces"] == 4 and report["originality"]["generated"]["whole_copies"] >= 0
    intended = report["style_match"]["intended"]
    assert set(intended["corpora"]) == {realset.corpus_label(realset.Path(report["corpus"]["root"])), distractor_dir.name}
    assert 0.0 <= intended["share"]["value"] <= 1.0 and sum(intended["assigned"].values()) == 4
    assert 0.0 <= report["style_match"]["real_vs_generated"]["accuracy"]["value"] <= 1.0
    assert report["goals"]["exact_bars_tempo_meter"]["met"] is True
    assert any("distribution match needs" in n for n in report["notes"])  # 2 held-out pieces: too few to compare
    assert sorted(p.name for p in plots.iterdir()) == ["features.png", "sample-1.png", "sample-2.png", "sample-3.png"]
    again = json.loads(CliRunner().invoke(main, args).stdout)
    assert {k: v for k, v in again.items() if k != "timings_s"} == {k: v for k, v in report.items() if k != "timings_s"}


def test_eval_bad_style_is_one_line():
    result = CliRunner().invoke(main, ["eval", "--style", "no-such-style"])
    assert result.exit_code == 2
    assert result.output.startswith("Error: no style called 'no-such-style'") and len(result.output.strip().splitlines()) == 1
    result = CliRunner().invoke(main, ["eval", "--style", "x", "--bars", "8,,x"])
    assert result.exit_code == 2 and result.output.startswith("Error: --bars takes whole numbers")


def test_bootstrap_intervals():
    from midigen.evalsuite import bootstrap

    rng = np.random.default_rng(4)
    est = bootstrap.ratio_of_sums([10, 30], [10, 10], rng)
    assert est.value == pytest.approx(2.0) and 1.0 <= est.low <= est.value <= est.high <= 3.0
    assert bootstrap.mean([1, 1, 1], rng).to_json() == {"value": 1.0, "ci95": [1.0, 1.0]}
    assert bootstrap.mean([], rng) is None
    spread = bootstrap.normal_interval(0.9, np.array([0.7, 0.8, 0.9]), 0.0, 1.0)
    assert spread.low == pytest.approx(0.9 - 1.959964 * 0.1) and spread.high == 1.0
