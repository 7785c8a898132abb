"""Per-piece musical features, as numpy arrays, for distribution match and style classification.

The features of Yang & Lerch (2018) and MusPy: a pitch-class histogram (relative to the piece's tonic, so
that a take asked for in D minor compares with a chorale in G minor), pitch count, pitch range, per-voice
mean interval, inter-onset interval in beats, a note-length histogram and note-length transition matrix,
polyphony, groove consistency, empty-beat rate and pitch-class entropy. Drum parts are left out of every
pitch feature; a *voice* is one track, reduced to its top note at each onset.
"""
from __future__ import annotations

import numpy as np

from ..music.grid import STEPS_PER_QUARTER
from ..music.piece import DURATION, PITCH, START, TRACK, Piece

# Note-length classes in grid steps: 16th, 8th triplet, 8th, quarter triplet, dotted 8th, quarter, half
# triplet, dotted quarter, half, dotted half, whole. A note takes the nearest class on a log scale.
LENGTH_CLASSES_STEPS = (3, 4, 6, 8, 9, 12, 16, 18, 24, 36, 48)
N_LENGTHS = len(LENGTH_CLASSES_STEPS)

VECTOR_FEATURES = ("pitch_class_histogram", "note_length_histogram", "note_length_transitions")
FEATURE_NAMES = ("pitch_class_histogram", "pitch_count", "pitch_range", "mean_interval", "inter_onset_beats",
                 "note_length_histogram", "note_length_transitions", "polyphony", "groove_consistency",
                 "empty_beat_rate", "pitch_class_entropy")


def melodic_notes(piece: Piece) -> np.ndarray:
    """The notes of the non-drum tracks."""
    drums = np.array([t.is_drum for t in piece.tracks] or [False])
    return piece.notes[~drums[piece.notes[:, TRACK]]] if len(piece.notes) else piece.notes


def voices(piece: Piece) -> list[np.ndarray]:
    """Per melodic track, its notes in time order with only the top note of each onset (a melodic line)."""
    notes = melodic_notes(piece)
    out = []
    for track in np.unique(notes[:, TRACK]) if len(notes) else ():
        part = notes[notes[:, TRACK] == track]
        part = part[np.lexsort((-part[:, PITCH], part[:, START]))]
        first = np.concatenate([[True], part[1:, START] != part[:-1, START]])
        out.append(part[first])
    return out


def length_classes(duration_steps: np.ndarray) -> np.ndarray:
    """Index into ``LENGTH_CLASSES_STEPS`` of each duration (nearest on a log scale)."""
    table = np.log(np.asarray(LENGTH_CLASSES_STEPS, dtype=np.float64))
    d = np.log(np.maximum(np.asarray(duration_steps, dtype=np.float64), 1.0))
    return np.abs(d[:, None] - table[None, :]).argmin(axis=1) if d.size else np.zeros(0, dtype=np.int64)


def beat_steps(numerator: int, denominator: int) -> int:
    """Steps per beat: a dotted quarter in compound meters (6/8, 9/8, 12/8), else the denominator's note."""
    whole = 4 * STEPS_PER_QUARTER
    if denominator >= 8 and numerator % 3 == 0 and numerator > 3:
        return 3 * whole // denominator
    return whole // denominator


def beat_grid(piece: Piece) -> tuple[np.ndarray, np.ndarray]:
    """(beat start steps, beat length steps) across every bar of the piece."""
    meter_of_bar = {bar: (num, den) for bar, num, den in piece.meters}
    starts, lengths, meter = [], [], piece.meters[0][1:]
    bar_starts = piece.bar_starts_steps()
    for bar in range(piece.n_bars):
        meter = meter_of_bar.get(bar, meter)
        beat = beat_steps(*meter)
        beats = range(int(bar_starts[bar]), int(bar_starts[bar + 1]), beat)
        starts.extend(beats)
        lengths.extend([beat] * len(beats))
    return np.asarray(starts, dtype=np.int64), np.asarray(lengths, dtype=np.int64)


def _pitch_class_histogram(notes: np.ndarray, tonic_pc: int) -> np.ndarray:
    if len(notes) == 0:
        return np.zeros(12)
    hist = np.bincount((notes[:, PITCH] - tonic_pc) % 12, minlength=12).astype(np.float64)
    return hist / hist.sum()


def _entropy_bits(hist: np.ndarray) -> float:
    p = hist[hist > 0]
    return float(-(p * np.log2(p)).sum()) if p.size else 0.0


def _mean_interval(lines: list[np.ndarray]) -> float:
    means = [np.abs(np.diff(line[:, PITCH])).mean() for line in lines if len(line) > 1]
    return float(np.mean(means)) if means else 0.0


def _inter_onset_beats(onsets: np.ndarray, beat_starts: np.ndarray, beat_lengths: np.ndarray) -> float:
    """Mean gap between successive onsets, each gap in the beats of the bar it starts in."""
    if len(onsets) < 2 or len(beat_starts) == 0:
        return 0.0
    beat_at = beat_lengths[np.clip(np.searchsorted(beat_starts, onsets[:-1], side="right") - 1, 0, len(beat_lengths) - 1)]
    return float((np.diff(onsets) / beat_at).mean())


def _polyphony(notes: np.ndarray, onsets: np.ndarray) -> float:
    """Mean number of notes sounding at each onset."""
    if len(notes) == 0:
        return 0.0
    starts = np.sort(notes[:, START])
    ends = np.sort(notes[:, START] + notes[:, DURATION])
    sounding = np.searchsorted(starts, onsets, side="right") - np.searchsorted(ends, onsets, side="right")
    return float(sounding.mean())


def _groove_consistency(piece: Piece, onsets: np.ndarray) -> float:
    """1 - mean Hamming distance between the onset patterns of successive bars of one length (MusPy)."""
    bar_starts = piece.bar_starts_steps()
    if piece.n_bars < 2:
        return 1.0
    bar_of = np.searchsorted(bar_starts, onsets, side="right") - 1
    distances = []
    previous = None
    for bar in range(piece.n_bars):
        length = int(bar_starts[bar + 1] - bar_starts[bar])
        pattern = np.zeros(length, dtype=bool)
        pattern[onsets[bar_of == bar] - bar_starts[bar]] = True
        if previous is not None and len(previous) == length:
            distances.append(np.mean(previous != pattern))
        previous = pattern
    return float(1.0 - np.mean(distances)) if distances else 1.0


def _empty_beat_rate(onsets: np.ndarray, beat_starts: np.ndarray) -> float:
    """Share of beats on which no note starts."""
    if len(beat_starts) == 0:
        return 0.0
    occupied = np.zeros(len(beat_starts), dtype=bool)
    occupied[np.clip(np.searchsorted(beat_starts, onsets, side="right") - 1, 0, len(beat_starts) - 1)] = True
    return float(1.0 - occupied.mean())


def _length_features(lines: list[np.ndarray], notes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hist = np.bincount(length_classes(notes[:, DURATION]), minlength=N_LENGTHS).astype(np.float64)
    transitions = np.zeros((N_LENGTHS, N_LENGTHS))
    for line in lines:
        classes = length_classes(line[:, DURATION])
        np.add.at(transitions, (classes[:-1], classes[1:]), 1.0)
    hist /= max(hist.sum(), 1.0)
    transitions /= max(transitions.sum(), 1.0)
    return hist, transitions.ravel()


def piece_features(piece: Piece, key: int | None) -> dict[str, np.ndarray]:
    """Every feature of ``FEATURE_NAMES`` (a float64 array each; scalars are shape ()).

    ``key``: the key the pitch-class histogram is made relative to (its tonic becomes index 0); None
    leaves pitch classes absolute.
    """
    notes = melodic_notes(piece)
    lines = voices(piece)
    onsets = np.unique(piece.notes[:, START]) if len(piece.notes) else np.zeros(0, dtype=np.int64)
    beat_starts, beat_lengths = beat_grid(piece)
    pc_hist = _pitch_class_histogram(notes, 0 if key is None else key % 12)
    lengths, transitions = _length_features(lines, notes)
    pitches = notes[:, PITCH]
    values = {
        "pitch_class_histogram": pc_hist,
        "pitch_count": len(np.unique(pitches)),
        "pitch_range": int(pitches.max() - pitches.min()) if len(pitches) else 0,
        "mean_interval": _mean_interval(lines),
        "inter_onset_beats": _inter_onset_beats(onsets, beat_starts, beat_lengths),
        "note_length_histogram": lengths,
        "note_length_transitions": transitions,
        "polyphony": _polyphony(notes, onsets),
        "groove_consistency": _groove_consistency(piece, onsets),
        "empty_beat_rate": _empty_beat_rate(onsets, beat_starts),
        "pitch_class_entropy": _entropy_bits(pc_hist),
    }
    return {name: np.asarray(values[name], dtype=np.float64) for name in FEATURE_NAMES}


def feature_table(pieces: list[Piece], keys: list[int | None]) -> dict[str, np.ndarray]:
    """{feature: (n_pieces, width) array} over a set of pieces (scalars have width 1)."""
    rows = [piece_features(p, k) for p, k in zip(pieces, keys)]
    return {name: np.stack([np.atleast_1d(r[name]) for r in rows]) if rows else np.zeros((0, 1))
            for name in FEATURE_NAMES}


def feature_matrix(table: dict[str, np.ndarray]) -> np.ndarray:
    """(n_pieces, all widths) the features side by side: the input of the style classifiers."""
    return np.concatenate([table[name] for name in FEATURE_NAMES], axis=1)
