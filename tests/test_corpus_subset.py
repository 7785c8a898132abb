"""Genre subsets of a corpus folder, and training's use of the held-out split a manifest holds."""
from __future__ import annotations

import json
import shutil

import pytest

from midigen.corpus.subset import subset_corpus
from midigen.errors import MidigenError
from midigen.training.data import load_corpus


@pytest.fixture
def genre_corpus(real_midi_dir, tmp_path):
    """The three real chorales as a corpus whose manifest gives each a genre and a chart split."""
    root = tmp_path / "band"
    root.mkdir()
    files = sorted(p.name for p in real_midi_dir.glob("*.mid"))
    for name in files:
        shutil.copy(real_midi_dir / name, root / name)
    genres = ["latin", "rock", "latin"]
    manifest = {"collection": "band", "licence": "test", "pieces": [{"file": f, "genre": g} for f, g in zip(files, genres)],
                "split": {"method": "chart family", "seed": 0, "train": [files[0], files[1]], "valid": [], "test": [files[2]],
                          "sizes": {"train": 2, "valid": 0, "test": 1}, "by_genre": {"latin": {}, "rock": {}}}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root, files


def test_subset_keeps_genre_files_entries_and_split(genre_corpus, tmp_path):
    root, files = genre_corpus
    report = subset_corpus(root, tmp_path / "band-latin", ("latin",))
    out = json.loads((tmp_path / "band-latin" / "manifest.json").read_text())
    assert sorted(p.name for p in (tmp_path / "band-latin").glob("*.mid")) == [files[0], files[2]]
    assert report.pieces == 2 and report.by_genre == {"latin": 2}
    assert out["collection"] == "band-latin" and out["subset_of"]["collection"] == "band"
    assert [p["file"] for p in out["pieces"]] == [files[0], files[2]]
    assert out["split"]["train"] == [files[0]] and out["split"]["test"] == [files[2]]
    assert out["split"]["sizes"] == {"train": 1, "valid": 0, "test": 1} and list(out["split"]["by_genre"]) == ["latin"]
    # Hard links: the subset costs no disk space and reads the same bytes.
    assert (tmp_path / "band-latin" / files[0]).stat().st_ino == (root / files[0]).stat().st_ino


def test_subset_refuses_unknown_genres_and_its_own_folder(genre_corpus, tmp_path):
    root, _ = genre_corpus
    with pytest.raises(MidigenError, match="no genre jazz; its genres are latin, rock"):
        subset_corpus(root, tmp_path / "x", ("jazz",))
    with pytest.raises(MidigenError, match="another folder"):
        subset_corpus(root, root, ("latin",))
    with pytest.raises(MidigenError, match="no manifest.json"):
        subset_corpus(tmp_path, tmp_path / "y", ("latin",))


def test_training_uses_the_manifest_split(genre_corpus):
    root, files = genre_corpus
    corpus = load_corpus(root, seed=0)
    paths = {side: [corpus.dataset.records[i].path for i in getattr(corpus.split, side)] for side in ("train", "valid", "test")}
    assert paths == {"train": [files[0], files[1]], "valid": [], "test": [files[2]]}
    assert corpus.split.method == "chart family"
    assert corpus.to_json()["split"]["method"] == "chart family"


def test_files_added_after_the_split_train_and_no_split_means_family_split(genre_corpus):
    root, files = genre_corpus
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["split"]["train"] = [files[0]]  # files[1] came later: it trains, it is nobody's held-out piece
    (root / "manifest.json").write_text(json.dumps(manifest))
    corpus = load_corpus(root, seed=0)
    assert sorted(corpus.dataset.records[i].path for i in corpus.split.train) == [files[0], files[1]]
    del manifest["split"]
    (root / "manifest.json").write_text(json.dumps(manifest))
    assert load_corpus(root, seed=0).split.method == "melody family"


def test_continuing_a_base_keeps_its_slots_and_passes_on_the_rest(tmp_path):
    from midigen.training.data import slots_for

    folders = []
    for name in ("irish", "new-a", "bach", "new-b"):
        (tmp_path / name).mkdir()
        folders.append(tmp_path / name)
    base = {"corpora": [{"label": "bach", "slot": 0}, {"label": "irish", "slot": 1}], "inherited_slots": {"fiddle": 2}}
    assert slots_for(folders, base, None) == [1, 3, 0, 4]
    assert slots_for(folders[:1], base, None) == [1]
    assert slots_for([tmp_path / "new-a"], base, None) == [3]
    assert slots_for(folders, None, None) == [0, 1, 2, 3]


def test_scoring_a_limited_number_of_held_out_pieces_spreads_them_over_the_side(genre_corpus):
    from midigen.training.config import TrainConfig

    root, files = genre_corpus
    corpus = load_corpus(root, seed=0)
    train = corpus.side("train")
    for limit in (None, 5):
        assert corpus.scored_side("train", limit)[1] == train[1]
    pieces, notes, quarters = corpus.scored_side("train", 1)
    assert len(pieces) == len(notes) == len(quarters) == 1 and notes == train[1][:1]
    assert (pieces[0] == train[0][0]).all()
    with pytest.raises(MidigenError, match="score_pieces must be at least 1"):
        TrainConfig(score_pieces=0)
