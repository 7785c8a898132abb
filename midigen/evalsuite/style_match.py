"""Style: (a) is a take recognised as its style among other corpora, (b) can it be told from real pieces.

(a) A classifier is trained on real pieces of the style's corpus (its train side) and of the other
corpora given; the figure is the share of takes it assigns to the intended style, beside its own
cross-validated accuracy on the real pieces (what it is worth). (b) Within the style, a classifier
tells real from generated pieces, equal numbers of each; its cross-validated accuracy is 0.5 when they
are indistinguishable and 1.0 when every take gives itself away.
"""
from __future__ import annotations

import numpy as np

from . import bootstrap
from .classifier import cross_validated_correct, fit


def intended_style(corpora: list[tuple[str, np.ndarray]], intended: str, generated: np.ndarray,
                   rng: np.random.Generator) -> dict | None:
    """``corpora``: (label, feature rows) per corpus, the intended style among them. None with fewer
    than two corpora (nothing to tell the style from)."""
    corpora = [(label, x) for label, x in corpora if len(x)]
    labels = [label for label, _ in corpora]
    if len(corpora) < 2 or intended not in labels or len(generated) == 0:
        return None
    x = np.concatenate([rows for _, rows in corpora])
    y = np.concatenate([np.full(len(rows), i) for i, (_, rows) in enumerate(corpora)])
    predicted = fit(x, y, len(labels)).predict(generated)
    share = bootstrap.mean(predicted == labels.index(intended), rng)
    counts = np.bincount(predicted, minlength=len(labels))
    return {
        "share": share,
        "assigned": {label: int(c) for label, c in zip(labels, counts)},
        "real_cv_accuracy": bootstrap.mean(cross_validated_correct(x, y, len(labels), rng), rng),
        "corpora": {label: len(rows) for label, rows in corpora},
    }


def real_vs_generated(real: np.ndarray, generated: np.ndarray, rng: np.random.Generator) -> dict | None:
    """Cross-validated accuracy of telling real (class 0) from generated (class 1), balanced."""
    n = min(len(real), len(generated))
    if n < 2:
        return None
    real = real[np.sort(rng.choice(len(real), n, replace=False))]
    generated = generated[np.sort(rng.choice(len(generated), n, replace=False))]
    x = np.concatenate([real, generated])
    y = np.concatenate([np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64)])
    return {"accuracy": bootstrap.mean(cross_validated_correct(x, y, 2, rng), rng), "pieces_each": n}
