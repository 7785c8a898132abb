"""Style classifiers on feature vectors: multinomial logistic regression in numpy, and cross-validation.

Features are standardised on the training rows; the loss is class-balanced cross-entropy plus an L2
penalty, minimised by Nesterov-accelerated gradient descent with the step set from the data's largest
singular value, so it converges without tuning. It is convex and deterministic. (scikit-learn would do
the same with one more dependency, for ~40 lines.) The descent runs in torch (float64) on one thread
(see ``threads``): numpy's OpenBLAS spreads each small product over every core and, on a busy 2-core
machine, was measured 70x slower for the same 400 steps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .threads import one_torch_thread

L2_PENALTY = 1e-2
STEPS = 400
CV_FOLDS = 5


@dataclass(frozen=True)
class LogisticModel:
    mean: np.ndarray  # (d,)
    scale: np.ndarray  # (d,)
    weights: np.ndarray  # (d + 1, k), the last row the bias

    def scores(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, dtype=np.float64) - self.mean) / self.scale
        return np.hstack([z, np.ones((len(z), 1))]) @ self.weights

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.scores(x).argmax(axis=1)


def fit(x: np.ndarray, y: np.ndarray, n_classes: int, l2: float = L2_PENALTY, steps: int = STEPS) -> LogisticModel:
    """Logistic regression of labels ``y`` (0..n_classes-1) on rows ``x``, each class weighted equally."""
    import torch

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.int64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    z = torch.from_numpy(np.hstack([(x - mean) / scale, np.ones((len(x), 1))]))
    row_weight = torch.from_numpy(1.0 / (counts[y] * np.count_nonzero(counts)))[:, None]  # sums to 1
    onehot = torch.from_numpy(np.eye(n_classes)[y])
    with one_torch_thread():
        rate = 1.0 / (0.5 * float(torch.linalg.matrix_norm(z * row_weight.sqrt(), ord=2)) ** 2 + l2)
        previous = momentum = torch.zeros(z.shape[1], n_classes, dtype=torch.float64)
        for t in range(1, steps + 1):
            grad = z.T @ (row_weight * (torch.softmax(z @ momentum, dim=1) - onehot)) + l2 * momentum
            w_next = momentum - rate * grad
            momentum = w_next + (t - 1) / (t + 2) * (w_next - previous)
            previous = w_next
    return LogisticModel(mean, scale, previous.numpy())


def folds(y: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold index of every row, each class spread evenly over the folds (stratified)."""
    y = np.asarray(y)
    fold = np.empty(len(y), dtype=np.int64)
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        fold[rows] = np.arange(len(rows)) % n_folds
    return fold


def cross_validated_correct(x: np.ndarray, y: np.ndarray, n_classes: int, rng: np.random.Generator,
                            n_folds: int = CV_FOLDS) -> np.ndarray:
    """(n,) bool: each row classified correctly by a model trained on the other folds."""
    y = np.asarray(y)
    n_folds = max(2, min(n_folds, int(np.bincount(y).max())))
    fold = folds(y, n_folds, rng)
    correct = np.zeros(len(y), dtype=bool)
    for f in range(n_folds):
        test = fold == f
        if test.any() and (~test).any():
            model = fit(x[~test], y[~test], n_classes)
            correct[test] = model.predict(x[test]) == y[test]
    return correct
