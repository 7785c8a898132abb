"""``eval --plots DIR``: the feature distributions real vs generated, and piano rolls of a few takes.

Drawn on private ``Figure`` objects with the Agg canvas (never pyplot), as ``midigen.media.plot`` does.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..errors import file_error
from ..fsutil import atomic_write_bytes
from ..media.plot import plot_piano_roll
from .features import FEATURE_NAMES, LENGTH_CLASSES_STEPS, N_LENGTHS, VECTOR_FEATURES

ROLLS = 3
REAL_COLOUR, GENERATED_COLOUR = "#1f77b4", "#d62728"
DEGREES = ("1", "b2", "2", "b3", "3", "4", "#4", "5", "b6", "6", "b7", "7")


def _save(fig: Figure, path: Path) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    try:
        atomic_write_bytes(path, buffer.getvalue())
    except OSError as e:
        raise file_error(path, f"cannot write: {e.strerror or e}") from e
    return path


def _scalar(ax, name: str, real: np.ndarray, generated: np.ndarray) -> None:
    values = np.concatenate([real, generated])
    edges = np.histogram_bin_edges(values, bins=20) if np.ptp(values) > 0 else np.linspace(values.min() - 0.5, values.max() + 0.5, 3)
    ax.hist(real, bins=edges, density=True, alpha=0.5, color=REAL_COLOUR, label="real")
    ax.hist(generated, bins=edges, density=True, alpha=0.5, color=GENERATED_COLOUR, label="generated")
    ax.set_title(name.replace("_", " "), fontsize=9)


def _bars(ax, name: str, real: np.ndarray, generated: np.ndarray, labels) -> None:
    x = np.arange(real.shape[1])
    ax.bar(x - 0.2, real.mean(axis=0), width=0.4, color=REAL_COLOUR, label="real")
    ax.bar(x + 0.2, generated.mean(axis=0), width=0.4, color=GENERATED_COLOUR, label="generated")
    ax.set_xticks(x, labels, fontsize=6)
    ax.set_title(f"{name.replace('_', ' ')} (mean)", fontsize=9)


def _transitions(ax, real: np.ndarray, generated: np.ndarray) -> None:
    difference = (generated.mean(axis=0) - real.mean(axis=0)).reshape(N_LENGTHS, N_LENGTHS)
    limit = max(float(np.abs(difference).max()), 1e-9)
    image = ax.imshow(difference, cmap="RdBu_r", vmin=-limit, vmax=limit)
    ticks = [str(s) for s in LENGTH_CLASSES_STEPS]
    ax.set_xticks(range(N_LENGTHS), ticks, fontsize=5)
    ax.set_yticks(range(N_LENGTHS), ticks, fontsize=5)
    ax.set_title("note-length transitions\n(generated - real, steps)", fontsize=9)
    ax.figure.colorbar(image, ax=ax, shrink=0.7)


def plot_features(real: dict[str, np.ndarray], generated: dict[str, np.ndarray], path: Path) -> Path:
    """One panel per feature: histograms of scalar features, mean histograms, a transition difference."""
    fig = Figure(figsize=(16, 11), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(3, 4).ravel()
    for ax, name in zip(axes, FEATURE_NAMES):
        if name == "pitch_class_histogram":
            _bars(ax, name, real[name], generated[name], DEGREES)
        elif name == "note_length_histogram":
            _bars(ax, name, real[name], generated[name], [str(s) for s in LENGTH_CLASSES_STEPS])
        elif name == "note_length_transitions":
            _transitions(ax, real[name], generated[name])
        elif name not in VECTOR_FEATURES:
            _scalar(ax, name, real[name][:, 0], generated[name][:, 0])
    for ax in axes[len(FEATURE_NAMES):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Features of {len(next(iter(real.values())))} real and {len(next(iter(generated.values())))} "
                 "generated pieces (pitch classes relative to the tonic)")
    return _save(fig, path)


def write_plots(out_dir: str | Path, real: dict[str, np.ndarray], generated: dict[str, np.ndarray], samples) -> list[Path]:
    """``features.png`` and ``sample-1.png`` ... piano rolls of the first takes of each length."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise file_error(out_dir, "is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [plot_features(real, generated, out_dir / "features.png")] if len(next(iter(generated.values()))) else []
    chosen, lengths = [], set()
    for sample in samples:  # one take of each length first, then the following ones
        if sample.bars not in lengths:
            lengths.add(sample.bars)
            chosen.append(sample)
    taken = {id(s) for s in chosen}
    chosen += [s for s in samples if id(s) not in taken][: max(0, ROLLS - len(chosen))]
    for i, sample in enumerate(chosen[:ROLLS], 1):
        written.append(plot_piano_roll(sample.piece, out_dir / f"sample-{i}.png",
                                       title=f"sample {i}: {sample.bars} bars", width_px=1600, height_px=600))
    return written
