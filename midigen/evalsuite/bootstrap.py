"""Bootstrap 95 % confidence intervals: resample pieces with replacement and recompute the figure.

Every figure of ``midigen eval`` is a statistic over pieces (a pooled rate, a ratio of sums, a mean),
so its uncertainty is that of the pieces it was measured on.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_REPS = 1000
CI_LEVEL = 0.95
NORMAL_Z = 1.959964  # the standard normal's 97.5th percentile


@dataclass(frozen=True)
class Estimate:
    """A figure and its bootstrap 95 % interval (``low``/``high`` None when it cannot be resampled)."""

    value: float
    low: float | None = None
    high: float | None = None

    def to_json(self, digits: int = 4) -> dict:
        def r(x):
            return None if x is None or not math.isfinite(x) else round(float(x), digits)

        return {"value": r(self.value), "ci95": None if self.low is None else [r(self.low), r(self.high)]}

    def text(self, digits: int = 3) -> str:
        if not math.isfinite(self.value):
            return "-"
        if self.low is None:
            return f"{self.value:.{digits}f}"
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def interval(value: float, replicates: np.ndarray) -> Estimate:
    """The percentile interval of finite ``replicates`` around ``value``."""
    finite = np.asarray(replicates, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return Estimate(float(value))
    tail = 100 * (1 - CI_LEVEL) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return Estimate(float(value), float(low), float(high))


def normal_interval(value: float, replicates: np.ndarray, low: float = -np.inf, high: float = np.inf) -> Estimate:
    """``value`` +- 1.96 standard deviations of the finite ``replicates``, clipped to [low, high].

    For a statistic that resampling itself biases (an overlap area drops when a resample repeats
    pieces), the percentiles of the replicates can miss the estimate; their spread still measures it.
    """
    finite = np.asarray(replicates, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size < 2 or not np.isfinite(value):
        return Estimate(float(value))
    half = NORMAL_Z * finite.std(ddof=1)
    return Estimate(float(value), float(max(low, value - half)), float(min(high, value + half)))


def resample_indices(n: int, rng: np.random.Generator, reps: int = BOOTSTRAP_REPS) -> np.ndarray:
    """(reps, n) indices drawn with replacement."""
    return rng.integers(0, n, size=(reps, n))


def ratio_of_sums(numerators, denominators, rng: np.random.Generator, reps: int = BOOTSTRAP_REPS) -> Estimate | None:
    """sum(num) / sum(den) over pieces (e.g. bits over notes), resampling pieces; None without pieces."""
    num, den = np.asarray(numerators, dtype=np.float64), np.asarray(denominators, dtype=np.float64)
    if num.size == 0 or den.sum() <= 0:
        return None
    idx = resample_indices(num.size, rng, reps)
    with np.errstate(divide="ignore", invalid="ignore"):
        replicates = num[idx].sum(axis=1) / den[idx].sum(axis=1)
    return interval(num.sum() / den.sum(), replicates)


def mean(values, rng: np.random.Generator, reps: int = BOOTSTRAP_REPS) -> Estimate | None:
    """Mean over pieces (a rate when the values are 0/1); None without pieces."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return None
    return interval(x.mean(), x[resample_indices(x.size, rng, reps)].mean(axis=1))

