"""``--rank``: the variations of one request ordered by how well each fits the style, best first.

A take's *style fit* is the mean of three figures, each standardised by the mean and spread it has over
takes the style composes by default (so 0 is a typical take, +1 one spread better):

- ``real_odds``: the log-odds that ``eval``'s classifier (logistic regression on the eleven
  ``features``) calls the take real rather than generated. It is trained once per style on the training
  side of the corpus (excerpts of ``FIT_BARS`` bars) against ``FIT_SAMPLES`` takes composed with the
  defaults (the style's usual key, tempo and meter; the features are relative to the key);
- ``feature_distance``: per feature, the mean distance from the take to those real pieces, over the real
  pieces' own mean distance to each other (1: as close as real pieces are to each other), averaged over
  the features; lower is better;
- ``bits_per_note``: the model's own surprise at the take's sampled tokens (``Take.likelihood``, recorded
  while sampling); lower is better.

The classifier, the real pieces' features and the standardisation are the style's *style fit* side file
(``styles.sidecar``), shipped in the bundle or built into the cache at first use (which composes
``FIT_SAMPLES`` takes: a minute or more on a CPU). ``rank_takes`` writes each take's figures and place
into its provenance (``style_fit``, ``rank``); the file names then follow the order (``OUT-1`` is best).
The figures judge the take's whole piece: for ``continue``, ``infill`` and ``accompany`` the input
is in it, alike for every variation of one request, so the order is set by what was added.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ..errors import MidigenError
from ..styles.bundle import Bundle
from ..styles.sidecar import STYLE_FIT, STYLE_FIT_ARRAYS, Sidecar, cache_path, find_sidecar, weights_sha, write_sidecar
from ..tasks.compose import ComposeRequest, compose
from ..tasks.takes import Take
from . import realset
from .classifier import LogisticModel, cross_validated_correct, fit
from .features import FEATURE_NAMES, feature_matrix, feature_table
from .overlap import pairwise

FIT_BARS = (8, 16)
FIT_SAMPLES = 32  # takes composed to train the classifier against and to standardise the figures by
FIT_REAL_PIECES = 200
FIT_SEED = 20_261_202
COMPONENTS = ("real_odds", "feature_distance", "bits_per_note")
_SIGNS = np.array([1.0, -1.0, -1.0])  # higher real odds is better; lower distance and surprise are


@dataclasses.dataclass(frozen=True)
class StyleFit:
    classifier: LogisticModel
    real_features: np.ndarray  # (pieces, width) the real reference pieces' feature rows
    widths: np.ndarray  # (features,) how many columns each feature has, in ``FEATURE_NAMES`` order
    intra: np.ndarray  # (features,) the real pieces' mean distance to each other, per feature
    norm_mean: np.ndarray  # (3,) of ``COMPONENTS`` over the default takes
    norm_std: np.ndarray

    def components(self, rows: np.ndarray, bits_per_note: np.ndarray) -> np.ndarray:
        """(n, 3) ``COMPONENTS`` of takes with feature rows ``rows``."""
        scores = self.classifier.scores(rows)
        odds = scores[:, 0] - scores[:, 1]
        return np.stack([odds, self.distances(rows), bits_per_note], axis=1)

    def distances(self, rows: np.ndarray) -> np.ndarray:
        edges = np.concatenate([[0], np.cumsum(self.widths)])
        per_feature = [pairwise(rows[:, a:b], self.real_features[:, a:b]).mean(axis=1) / max(d, 1e-9)
                       for a, b, d in zip(edges[:-1], edges[1:], self.intra)]
        return np.mean(per_feature, axis=0)

    def scores(self, components: np.ndarray) -> np.ndarray:
        """(n,) the style fit of each row of components; a missing likelihood counts as typical."""
        z = (components - self.norm_mean) / self.norm_std * _SIGNS
        return np.nanmean(np.where(np.isfinite(z), z, 0.0), axis=1)

    def arrays(self) -> dict[str, np.ndarray]:
        c = self.classifier
        return {"mean": c.mean, "scale": c.scale, "weights": c.weights, "real_features": self.real_features.astype(np.float32),
                "widths": self.widths.astype(np.int32), "intra": self.intra, "norm_mean": self.norm_mean, "norm_std": self.norm_std}

    @classmethod
    def from_sidecar(cls, sidecar: Sidecar) -> StyleFit:
        a = sidecar.arrays
        d = len(a["mean"])
        if (a["scale"].shape != (d,) or a["weights"].shape != (d + 1, 2) or a["real_features"].shape[1:] != (d,)
                or int(a["widths"].sum()) != d or len(a["widths"]) != len(FEATURE_NAMES) or a["intra"].shape != a["widths"].shape
                or a["norm_mean"].shape != (3,) or a["norm_std"].shape != (3,)):
            raise MidigenError(f"{sidecar.path}: the style fit's arrays do not fit together (corrupt file)")
        return cls(LogisticModel(a["mean"], a["scale"], a["weights"]), a["real_features"].astype(np.float64),
                   a["widths"].astype(np.int64), a["intra"], a["norm_mean"], a["norm_std"])


def take_rows(takes: list[Take]) -> tuple[np.ndarray, np.ndarray]:
    """(feature rows, bits per note) of takes, each piece's features relative to its own key."""
    rows = feature_matrix(feature_table([t.piece for t in takes], [t.piece.key for t in takes]))
    bits = np.array([np.nan if t.bits_per_note is None else t.bits_per_note for t in takes])
    return rows, bits


def _widths(table: dict[str, np.ndarray]) -> np.ndarray:
    return np.array([table[name].shape[1] for name in FEATURE_NAMES], dtype=np.int64)


def _intra(real: np.ndarray, widths: np.ndarray) -> np.ndarray:
    edges = np.concatenate([[0], np.cumsum(widths)])
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        d = pairwise(real[:, a:b], real[:, a:b])
        out.append(d[np.triu_indices(len(real), k=1)].mean() if len(real) > 1 else 1.0)
    return np.asarray(out)


def build_style_fit(bundle: Bundle, corpus_dir=None, progress=None, samples: int = FIT_SAMPLES) -> tuple[StyleFit, dict]:
    """Train the style fit of a loaded bundle (see the module's docstring); (fit, what it records)."""
    real = realset.load_style_corpus(bundle.meta, bundle.path, corpus_dir)
    idx = realset.cap(real.train, FIT_REAL_PIECES, np.random.default_rng([FIT_SEED, 1]))
    pieces = realset.excerpts(real.pieces(idx), FIT_BARS)
    keys = realset.keys_or_analysed(pieces, real.keys(idx), realset.key_profile_for(real.root))
    real_table = feature_table(pieces, keys)
    real_rows = feature_matrix(real_table)
    takes: list[Take] = []
    for g, bars in enumerate(FIT_BARS):  # the style's usual key, tempo and meter: the features are key-relative
        count = samples // len(FIT_BARS) + (g < samples % len(FIT_BARS))
        if progress:
            progress(f"style fit of {bundle.name}: composing {count} takes of {bars} bars ({len(takes)} of {samples} done)")
        takes += compose(bundle, ComposeRequest(bars=bars, seed=FIT_SEED + g, variations=count))
    gen_rows, bits = take_rows(takes)
    x = np.concatenate([real_rows, gen_rows])
    y = np.concatenate([np.zeros(len(real_rows), dtype=np.int64), np.ones(len(gen_rows), dtype=np.int64)])
    classifier = fit(x, y, 2)
    widths = _widths(real_table)
    partial = StyleFit(classifier, real_rows, widths, _intra(real_rows, widths), np.zeros(3), np.ones(3))
    comps = partial.components(gen_rows, bits)
    std = np.nanstd(comps, axis=0)
    style_fit = dataclasses.replace(partial, norm_mean=np.nanmean(comps, axis=0), norm_std=np.where(std > 1e-9, std, 1.0))
    accuracy = float(cross_validated_correct(x, y, 2, np.random.default_rng([FIT_SEED, 2])).mean())
    info = {"bundle_sha256": weights_sha(bundle.meta), "style": bundle.name, "corpus": real.label, "real_pieces": len(real_rows),
            "generated_takes": len(gen_rows), "bars": list(FIT_BARS), "real_vs_generated_cv_accuracy": round(accuracy, 4)}
    return style_fit, info


def load_style_fit(bundle: Bundle, *, build: bool = True, corpus_dir=None, progress=None) -> StyleFit:
    """The bundle's style fit: shipped, cached, or (``build``) built from its corpus into the cache now."""
    found = find_sidecar(bundle.path, bundle.meta, STYLE_FIT, STYLE_FIT_ARRAYS)
    if found is not None:
        return StyleFit.from_sidecar(found)
    if not build:
        raise MidigenError(f"style {bundle.name} has no style fit for --rank (build it with its corpus here)")
    try:
        style_fit, info = build_style_fit(bundle, corpus_dir, progress)
    except MidigenError as e:
        raise MidigenError(f"--rank needs the style's corpus once, to learn what its real pieces look like: {e}") from e
    write_sidecar(cache_path(STYLE_FIT, weights_sha(bundle.meta)), style_fit.arrays(), info)
    return style_fit


def write_style_fit(bundle: Bundle, out: Path, corpus_dir=None, progress=None) -> Path:
    """Build the style fit and write it to ``out`` (``bench.rank_bench --ship``: into the bundle)."""
    style_fit, info = build_style_fit(bundle, corpus_dir, progress)
    return write_sidecar(Path(out), style_fit.arrays(), info)


def style_fit_scores(style_fit: StyleFit, takes: list[Take]) -> tuple[np.ndarray, np.ndarray]:
    """(scores (n,), components (n, 3)) of takes."""
    rows, bits = take_rows(takes)
    comps = style_fit.components(rows, bits)
    return style_fit.scores(comps), comps


def rank_takes(bundle: Bundle, takes: list[Take], *, style_fit: StyleFit | None = None, progress=None) -> list[Take]:
    """The takes best first, each with ``rank`` and ``style_fit`` (score and figures) in its provenance.
    Ties keep the sampled order."""
    if not takes:
        return takes
    style_fit = style_fit or load_style_fit(bundle, progress=progress)
    scores, comps = style_fit_scores(style_fit, takes)
    order = np.argsort(-scores, kind="stable")
    out = []
    for rank, i in enumerate(order, start=1):
        figures = {"score": round(float(scores[i]), 4)}
        figures.update({name: None if not np.isfinite(v) else round(float(v), 4) for name, v in zip(COMPONENTS, comps[i])})
        out.append(dataclasses.replace(takes[i], provenance={**takes[i].provenance, "rank": rank, "style_fit": figures}))
    return out
