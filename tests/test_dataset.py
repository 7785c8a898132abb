"""The token cache, the family split and transposition augmentation."""
from __future__ import annotations

import shutil

import numpy as np

from midigen.corpus import dataset as dataset_module
from midigen.corpus.dataset import build_dataset
from midigen.corpus.split import families, family_split, split_dataset
from midigen.music.piece import Piece, Track, quantize
from midigen.tokens.augment import melodic_pitch_mask, transpose_ids, transpositions
from midigen.tokens.tokenizer import decode, encode


def test_cache_reuses_tokens_and_lists_skipped_files(real_midi_dir, tmp_path, monkeypatch):
    folder = tmp_path / "corpus"
    shutil.copytree(real_midi_dir, folder)
    (folder / "garbage.mid").write_bytes(b"not midi")
    first = build_dataset(folder, cache_dir=tmp_path / "cache", workers=1)
    assert len(first) == 3
    assert [s.reason for s in first.skipped] == ["not a Standard MIDI File (no MThd header)"]

    calls = []
    original = dataset_module._tokenize_file
    monkeypatch.setattr(dataset_module, "_tokenize_file", lambda job: calls.append(job) or original(job))
    second = build_dataset(folder, cache_dir=tmp_path / "cache", workers=1)
    assert calls == []  # nothing re-tokenized, the garbage file's reason came from the cache too
    assert len(second.skipped) == 1
    for i in range(3):
        assert np.array_equal(first.ids(i), second.ids(i))
        decode(second.ids(i))  # memory-mapped ids still decode

    (folder / "bach_bwv269.mid").write_bytes((folder / "bach_bwv347.mid").read_bytes())
    third = build_dataset(folder, cache_dir=tmp_path / "cache", workers=1)
    assert calls == []  # the changed file's content is already cached under its hash
    assert third.records[1].sha1 == third.records[2].sha1  # sorted: bwv153.1, bwv269, bwv347


def test_files_with_the_same_bytes_stay_one_piece_each_over_rebuilds(real_midi_dir, tmp_path):
    """A collection holding a tune twice (Ryan's Mammoth: 12 files share their bytes with another) reads as
    those two pieces at every build: the cache once gave each copy all the records of its hash, so the
    copies doubled at each rebuild (1,058 pieces, then 1,086, then 4,628 after a few commands)."""
    folder = tmp_path / "corpus"
    shutil.copytree(real_midi_dir, folder)
    (folder / "bach_bwv269.mid").write_bytes((folder / "bach_bwv347.mid").read_bytes())
    builds = [build_dataset(folder, cache_dir=tmp_path / "cache", workers=1) for _ in range(4)]
    assert [len(b) for b in builds] == [3, 3, 3, 3]
    assert [r.path for r in builds[-1].records] == [r.path for r in builds[0].records]
    for i in range(3):
        assert np.array_equal(builds[0].ids(i), builds[-1].ids(i))


def test_cache_survives_a_torn_write(real_midi_dir, tmp_path):
    build_dataset(real_midi_dir, cache_dir=tmp_path / "cache", workers=1)
    store = next((tmp_path / "cache").glob("tokens-*/*"))
    (store / "tokens.bin").write_bytes(b"\0" * 10)  # as if killed between the two renames
    again = build_dataset(real_midi_dir, cache_dir=tmp_path / "cache", workers=1)
    decode(again.ids(0))


def test_families_group_pieces_sharing_a_transposed_run():
    rng = np.random.default_rng(0)
    tune = rng.integers(55, 75, 40)
    other = rng.integers(55, 75, 40)
    melodies = [tune, tune[5:30] + 3, other, np.concatenate([other[:10], tune[:10]])]
    assert families(melodies) == [0, 0, 2, 3]


def test_split_is_deterministic_and_keeps_families_together():
    rng = np.random.default_rng(1)
    base = [rng.integers(50, 80, 30) for _ in range(40)]
    melodies = base + [m + 2 for m in base[:10]]  # ten transposed copies
    keys = [f"piece{i}" for i in range(len(melodies))]
    a = family_split(melodies, keys, seed=3)
    assert a == family_split(melodies, keys, seed=3)
    assert a != family_split(melodies, keys, seed=4)
    side = a.side_of()
    for i in range(10):
        assert side[i] == side[40 + i]
    assert sum(a.sizes().values()) == 50 and a.n_grouped == 20
    assert 4 <= a.sizes()["test"] <= 7


def test_real_chorales_split(real_midi_dir, tmp_path):
    data = build_dataset(real_midi_dir, cache_dir=tmp_path / "cache", workers=1)
    split = split_dataset(data, seed=0)
    assert sorted(split.train + split.valid + split.test) == [0, 1, 2]


def test_transposition_moves_melodic_pitches_and_key_not_drums():
    piece = quantize(Piece(notes=np.array([[0, 12, 60, 80, 0], [0, 3, 36, 100, 1], [12, 12, 64, 80, 0]]),
                           tracks=(Track(0), Track(0, True)), key=2))
    ids = encode(piece)
    up = decode(transpose_ids(ids, 3))
    assert up.key == 5
    assert up.notes[:, 2].tolist() == [63, 36, 67]
    assert melodic_pitch_mask(ids).sum() == 2
    assert len(transpositions(ids)) == 12


def test_transpositions_stay_in_midi_range():
    ids = encode(quantize(Piece(notes=np.array([[0, 12, 125, 80, 0]]))))
    assert max(transpositions(ids)) == 2
