"""``--rank``: variations ordered by their style-fit score, best first, each score in its take's provenance."""
from __future__ import annotations

import json

import mido
import numpy as np
import pytest
from click.testing import CliRunner

from midigen.cli import main
from midigen.errors import MidigenError
from midigen.evalsuite import rank as rank_module
from midigen.evalsuite.rank import COMPONENTS, StyleFit, build_style_fit, load_style_fit, rank_takes, style_fit_scores
from midigen.styles.sidecar import STYLE_FIT, STYLE_FIT_ARRAYS, cache_path, find_sidecar, write_sidecar
from midigen.tasks.compose import ComposeRequest, compose


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MIDIGEN_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def fitted(bundle):
    """The tiny style's fit, trained on 8 takes (the real thing composes more)."""
    return build_style_fit(bundle, samples=8)


def test_the_order_is_the_scores_order(bundle, fitted):
    style_fit, info = fitted
    assert info["generated_takes"] == 8 and info["real_pieces"] >= 1 and 0 <= info["real_vs_generated_cv_accuracy"] <= 1
    takes = compose(bundle, ComposeRequest(bars=4, variations=5, seed=3, max_copy=None))
    scores, comps = style_fit_scores(style_fit, takes)
    assert comps.shape == (5, 3) and np.isfinite(scores).all() and len(set(np.round(scores, 6))) > 1
    ranked = rank_takes(bundle, takes, style_fit=style_fit)
    assert [t.provenance["rank"] for t in ranked] == [1, 2, 3, 4, 5]
    given = [t.provenance["style_fit"]["score"] for t in ranked]
    assert given == sorted(given, reverse=True)
    assert [t.provenance["variation"] for t in ranked] == [int(i) + 1 for i in np.argsort(-scores, kind="stable")]
    assert ranked[0].piece is takes[int(np.argmax(scores))].piece
    assert set(ranked[0].provenance["style_fit"]) == {"score", *COMPONENTS}
    # the score is what the figures say: standardised, signed so that higher is better, averaged
    z = (comps - style_fit.norm_mean) / style_fit.norm_std * np.array([1, -1, -1])
    assert np.allclose(scores, z.mean(axis=1))


def test_a_more_real_looking_take_ranks_higher(bundle, fitted):
    style_fit, _ = fitted
    takes = compose(bundle, ComposeRequest(bars=4, variations=2, seed=5, max_copy=None))
    rows, bits = rank_module.take_rows(takes)
    comps = style_fit.components(rows, bits)
    better = comps.copy()
    better[0, 0] += 10.0  # the classifier far surer it is real
    better[1, 1] += 10.0  # the features far from the corpus
    s = style_fit.scores(better)
    assert s[0] > style_fit.scores(comps)[0] and s[1] < style_fit.scores(comps)[1]


def test_the_fit_is_a_side_file_built_once(bundle, fitted, own_cache, monkeypatch):
    style_fit, info = fitted
    path = write_sidecar(cache_path(STYLE_FIT, bundle.weights_sha256), style_fit.arrays(), info)
    loaded = load_style_fit(bundle, build=False)
    assert np.allclose(loaded.classifier.weights, style_fit.classifier.weights) and loaded.intra.shape == (11,)
    assert find_sidecar(bundle.path, bundle.meta, STYLE_FIT, STYLE_FIT_ARRAYS).path == path
    path.unlink()
    with pytest.raises(MidigenError, match="no style fit"):
        load_style_fit(bundle, build=False)
    monkeypatch.setattr(rank_module, "FIT_SAMPLES", 4)
    built = load_style_fit(bundle)  # built from the corpus at first use, into the cache
    assert isinstance(built, StyleFit) and path.is_file()


def test_cli_compose_rank_writes_best_first(tiny_style, fitted, own_cache, tmp_path):
    styles, _ = tiny_style
    from midigen.styles.bundle import read_meta

    style_fit, info = fitted
    write_sidecar(cache_path(STYLE_FIT, read_meta(styles / "tiny-bach")["weights"]["sha256"]), style_fit.arrays(), info)
    args = ["compose", "--style", "tiny-bach", "--styles-dir", str(styles), "--bars", "3", "--variations", "3", "--seed", "2",
            "--max-copy", "off", "--rank", "-o", str(tmp_path / "t.mid")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "style fit" in result.output and "(rank 1)" in result.output
    records = [json.loads(next(m.text for m in mido.MidiFile(str(tmp_path / f"t-{i}.mid")).tracks[0] if m.type == "text")
                          .removeprefix("midigen ")) for i in (1, 2, 3)]
    assert [r["rank"] for r in records] == [1, 2, 3]
    scores = [r["style_fit"]["score"] for r in records]
    assert scores == sorted(scores, reverse=True)
    assert sorted(r["variation"] for r in records) == [1, 2, 3]


def test_eval_keeps_the_chosen_one_of_k(bundle):
    from midigen.evalsuite.generate import generate
    from midigen.evalsuite.suite import EvalConfig

    seen = []

    def choose(takes):
        seen.append(len(takes))
        return takes[-1]

    samples = generate(bundle, 3, (2,), seed=0, rank=4, choose=choose, max_copy=None)
    assert len(samples) == 3 and seen == [4, 4, 4]
    plain = generate(bundle, 3, (2,), seed=0, max_copy=None)
    assert len(plain) == 3 and not seen[3:]
    with pytest.raises(MidigenError, match="--rank must be between 1 and 64"):
        EvalConfig(style="x", rank=65)
    with pytest.raises(MidigenError, match="--max-copy"):
        EvalConfig(style="x", max_copy=1)
