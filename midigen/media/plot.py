"""See a piece: a piano-roll picture (PNG) with bars, beats, pitch names, and one colour per part.

Drawn on a private ``matplotlib.figure.Figure`` with the Agg canvas, never through pyplot, so the
global backend and figure state of whoever imports midigen are left alone.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..errors import MidigenError, file_error
from ..fsutil import atomic_write_bytes, check_output_path
from ..midi.files import track_display_name
from ..music.grid import MAX_PITCH, STEPS_PER_QUARTER
from ..music.keys import KEY_NAMES
from ..music.piece import DURATION, PITCH, START, TRACK, VELOCITY, Piece

DPI = 100
MIN_SIZE_PX, MAX_SIZE_PX = 200, 16000
PART_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                "#bcbd22", "#7f7f7f", "#393b79", "#ad494a", "#637939", "#e7ba52", "#7b4173", "#3182bd")
BLACK_KEY_PCS = (1, 3, 6, 8, 10)
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MIN_PITCH_SPAN = 14  # semitones shown at least, so that a C is always labelled
PITCH_MARGIN = 3  # semitones above and below the sounding range
GM_DRUM_FIRST = 35
GM_DRUM_NAMES = (
    "Acoustic Bass Drum", "Bass Drum", "Side Stick", "Snare", "Hand Clap", "Electric Snare", "Low Floor Tom",
    "Closed Hi-Hat", "High Floor Tom", "Pedal Hi-Hat", "Low Tom", "Open Hi-Hat", "Low-Mid Tom", "Hi-Mid Tom",
    "Crash Cymbal", "High Tom", "Ride Cymbal", "Chinese Cymbal", "Ride Bell", "Tambourine", "Splash Cymbal",
    "Cowbell", "Crash Cymbal 2", "Vibraslap", "Ride Cymbal 2", "Hi Bongo", "Low Bongo", "Mute Hi Conga",
    "Open Hi Conga", "Low Conga", "High Timbale", "Low Timbale", "High Agogo", "Low Agogo", "Cabasa", "Maracas",
    "Short Whistle", "Long Whistle", "Short Guiro", "Long Guiro", "Claves", "Hi Wood Block", "Low Wood Block",
    "Mute Cuica", "Open Cuica", "Mute Triangle", "Open Triangle",
)


def pitch_name(pitch: int) -> str:
    """Scientific pitch name, middle C (60) = C4."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def drum_name(pitch: int) -> str:
    index = pitch - GM_DRUM_FIRST
    return GM_DRUM_NAMES[index] if 0 <= index < len(GM_DRUM_NAMES) else f"Drum {pitch}"


def part_names(piece: Piece) -> list[str]:
    """Display name of every part, as ``write_midi`` names its tracks."""
    names = piece.meta.get("track_names") or []
    return [names[t] if t < len(names) and names[t] else track_display_name(track, t)
            for t, track in enumerate(piece.tracks)]


def _beat_steps(numerator: int, denominator: int) -> int:
    """Steps per beat: dotted quarters in compound meters (6/8, 9/8, 12/8), else the denominator's note."""
    whole_steps = 4 * STEPS_PER_QUARTER
    if denominator >= 8 and numerator % 3 == 0 and numerator > 3:
        return 3 * whole_steps // denominator
    return whole_steps // denominator


def _beat_starts_steps(piece: Piece, bar_starts: np.ndarray) -> np.ndarray:
    meter_of_bar = {bar: (num, den) for bar, num, den in piece.meters}
    beats, meter = [], (4, 4)
    for bar in range(piece.n_bars):
        meter = meter_of_bar.get(bar, meter)
        beats.extend(range(int(bar_starts[bar]), int(bar_starts[bar + 1]), _beat_steps(*meter)))
    return np.asarray(beats, dtype=np.int64)


def _summary(piece: Piece) -> str:
    """Key, meter(s), tempo(s) and length, for the title line."""
    parts = [KEY_NAMES[piece.key]] if piece.key is not None else []
    meters = [f"{num}/{den}" + (f" from bar {bar + 1}" if bar else "") for bar, num, den in piece.meters]
    parts.append(", ".join(meters[:3]) + (", ..." if len(meters) > 3 else ""))
    bpms = [float(bpm) for _, bpm in piece.tempos] or [120.0]
    low, high = min(bpms), max(bpms)
    parts.append(f"♩ = {low:g}" if low == high else f"♩ = {low:g}–{high:g}")
    parts.append(f"{piece.n_bars} bar{'s' if piece.n_bars != 1 else ''}")
    return "  ·  ".join(parts)


def _pitch_range(melodic_pitches: np.ndarray) -> tuple[int, int]:
    if len(melodic_pitches) == 0:
        return 60 - MIN_PITCH_SPAN // 2, 60 + MIN_PITCH_SPAN // 2
    low, high = int(melodic_pitches.min()) - PITCH_MARGIN, int(melodic_pitches.max()) + PITCH_MARGIN
    missing = MIN_PITCH_SPAN - (high - low)
    if missing > 0:
        low, high = low - missing // 2, high + (missing - missing // 2)
    return max(low, 0), min(high, MAX_PITCH)


def _note_boxes(notes: np.ndarray) -> np.ndarray:
    """(n, 4, 2) rectangle corners, x in quarter notes, with a hairline gap before the next note."""
    x0 = notes[:, START] / STEPS_PER_QUARTER
    length = notes[:, DURATION] / STEPS_PER_QUARTER
    x1 = x0 + length - np.minimum(0.04, 0.15 * length)
    y0, y1 = notes[:, PITCH] - 0.42, notes[:, PITCH] + 0.42
    return np.stack([np.stack([x0, y0], 1), np.stack([x1, y0], 1), np.stack([x1, y1], 1), np.stack([x0, y1], 1)], 1)


def _velocity_colours(colour: str, velocities: np.ndarray) -> np.ndarray:
    rgba = np.empty((len(velocities), 4))
    rgba[:, :3] = to_rgb(colour)
    rgba[:, 3] = 0.45 + 0.55 * np.clip(velocities, 1, 127) / 127
    return rgba


def _draw_grid(ax, bar_starts_q: np.ndarray, beat_starts_q: np.ndarray, every: int, axes_width_px: float) -> None:
    """Faint beat lines, bar lines, strong lines at labelled bars; lines closer than 6 px are left out."""
    px_per_q = axes_width_px / max(float(bar_starts_q[-1]), 1e-9)

    def wide(lines_q: np.ndarray) -> bool:
        return len(lines_q) > 1 and float(np.diff(lines_q).min()) * px_per_q >= 6

    faint_q = [beat_starts_q] if wide(beat_starts_q) else []
    if every > 1 and wide(bar_starts_q):
        faint_q.append(bar_starts_q)
    for lines_q, colour, width_pt in ((np.concatenate(faint_q) if faint_q else [], "#d9d9d9", 0.5),
                                      (bar_starts_q[::every], "#666666", 0.9)):
        ax.vlines(lines_q, 0, 1, transform=ax.get_xaxis_transform(), colors=colour, linewidths=width_pt, zorder=1)


def _bar_label_step(n_bars: int, axes_width_px: float) -> int:
    """Label every bar, or every 2nd, 4th, ... bar: at least 36 px between labels."""
    every = 1
    while n_bars / every > max(axes_width_px / 36, 1):
        every *= 2
    return every


def _draw_roll(ax, piece: Piece, melodic: list[int], colours: list[str], names: list[str]) -> list:
    notes = piece.notes[np.isin(piece.notes[:, TRACK], melodic)]
    low, high = _pitch_range(notes[:, PITCH])
    black = [p for p in range(low, high + 1) if p % 12 in BLACK_KEY_PCS]
    ax.barh(black, float(piece.end_steps) / STEPS_PER_QUARTER, left=0, height=1.0, color="#f1f1f1", zorder=0)
    octave_lines = [p - 0.5 for p in range(low, high + 1) if p % 12 == 0]
    ax.hlines(octave_lines, 0, 1, transform=ax.get_yaxis_transform(), colors="#c8c8c8", linewidths=0.6, zorder=1)
    handles = []
    for t in melodic:
        part = notes[notes[:, TRACK] == t]
        faces = _velocity_colours(colours[t], part[:, VELOCITY])
        edges = np.array(to_rgb(colours[t])) * 0.6
        ax.add_collection(PolyCollection(_note_boxes(part), facecolors=faces, edgecolors=[edges], linewidths=0.6,
                                         zorder=3))
        handles.append(Patch(facecolor=colours[t], edgecolor=edges, label=names[t]))
    c_pitches = [p for p in range(low, high + 1) if p % 12 == 0]
    ax.set_yticks(c_pitches, [pitch_name(p) for p in c_pitches])
    ax.set_ylim(low - 0.5, high + 0.5)
    ax.set_ylabel("Pitch")
    return handles


def _draw_drums(ax, piece: Piece, drums: list[int], colours: list[str], names: list[str]) -> list:
    notes = piece.notes[np.isin(piece.notes[:, TRACK], drums)]
    sounds = sorted(set(notes[:, PITCH].tolist()))
    row_of = {pitch: row for row, pitch in enumerate(sounds)}
    ax.barh(range(1, len(sounds), 2), float(piece.end_steps) / STEPS_PER_QUARTER, height=1.0, color="#f1f1f1",
            zorder=0)
    handles = []
    for t in drums:
        part = notes[notes[:, TRACK] == t]
        rows = [row_of[p] for p in part[:, PITCH].tolist()]
        ax.scatter(part[:, START] / STEPS_PER_QUARTER, rows, s=22, marker="D",
                   c=_velocity_colours(colours[t], part[:, VELOCITY]), edgecolors="none", zorder=3, clip_on=False)
        handles.append(Line2D([], [], linestyle="none", marker="D", color=colours[t], label=names[t]))
    ax.set_yticks(range(len(sounds)), [drum_name(p) for p in sounds], fontsize=7 if len(sounds) > 8 else 8)
    ax.set_ylim(-0.6, len(sounds) - 0.4)
    return handles


def _label_bars(ax, bar_starts_q: np.ndarray, every: int) -> None:
    shown = range(0, len(bar_starts_q) - 1, every)
    ax.set_xticks([bar_starts_q[b] for b in shown], [str(b + 1) for b in shown])
    ax.set_xlabel("Bar")


def _text_width_px(text: str, fontsize_pt: float) -> float:
    return 0.6 * fontsize_pt * len(text) * DPI / 72  # a generous average for DejaVu Sans


def _set_titles(fig: Figure, ax, title: str, summary: str, axes_width_px: float) -> None:
    """Title on the left and summary on the right of one line; two lines, smaller, where that won't fit."""
    title_pt, summary_pt = 12.0, 10.0
    if _text_width_px(title, title_pt) + _text_width_px(summary, summary_pt) + 20 <= axes_width_px:
        ax.set_title(title, loc="left", fontweight="bold", fontsize=title_pt)
        ax.set_title(summary, loc="right", fontsize=summary_pt)
        return
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontweight="bold",
                     fontsize=max(6.0, min(title_pt, title_pt * axes_width_px / _text_width_px(title, title_pt))))
    ax.set_title(summary, loc="left",
                 fontsize=max(5.0, min(summary_pt, summary_pt * axes_width_px / _text_width_px(summary, summary_pt))))


def _check_size(width_px: int, height_px: int) -> None:
    for name, value in (("width", width_px), ("height", height_px)):
        if not MIN_SIZE_PX <= value <= MAX_SIZE_PX:
            raise MidigenError(f"picture {name} {value} px (from {MIN_SIZE_PX} to {MAX_SIZE_PX})")


def plot_piano_roll(piece: Piece, out_path: str | Path, *, title: str | None = None, width_px: int = 1600,
                    height_px: int = 600) -> Path:
    """Write a PNG piano roll of exactly ``width_px`` x ``height_px`` pixels, atomically.

    Notes are boxes (x in bars and beats, y in pitch, opacity by velocity), one colour per part, with a
    legend naming the parts; drum parts are diamonds in a strip of their own, one row per drum sound.
    """
    out_path = Path(out_path)
    width_px, height_px = int(width_px), int(height_px)
    _check_size(width_px, height_px)
    check_output_path(out_path)
    used = set(piece.notes[:, TRACK].tolist())
    drums = [t for t, track in enumerate(piece.tracks) if track.is_drum and t in used]
    melodic = [t for t, track in enumerate(piece.tracks) if not track.is_drum and t in used]
    colours = [PART_COLOURS[t % len(PART_COLOURS)] for t in range(len(piece.tracks))]
    names = part_names(piece)

    fig = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    n_sounds = len(set(piece.notes[np.isin(piece.notes[:, TRACK], drums), PITCH].tolist()))
    panels = (["roll"] if melodic or not drums else []) + (["drums"] if drums else [])
    ratios = [3.0, min(2.0, 0.6 + 0.15 * n_sounds)] if len(panels) == 2 else [1.0]
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False, height_ratios=ratios)[:, 0]
    axes_width_px = 0.8 * width_px
    bar_starts_q = piece.bar_starts_steps() / STEPS_PER_QUARTER
    beat_starts_q = _beat_starts_steps(piece, piece.bar_starts_steps()) / STEPS_PER_QUARTER
    every = _bar_label_step(piece.n_bars, axes_width_px)
    handles = []
    for ax, panel in zip(axes, panels):
        _draw_grid(ax, bar_starts_q, beat_starts_q, every, axes_width_px)
        draw = _draw_roll if panel == "roll" else _draw_drums
        handles += draw(ax, piece, melodic if panel == "roll" else drums, colours, names)
        ax.tick_params(axis="x", length=0)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[0].set_xlim(0, float(bar_starts_q[-1]))
    _label_bars(axes[-1], bar_starts_q, every)
    _set_titles(fig, axes[0], title or piece.meta.get("title") or "", _summary(piece), axes_width_px)
    if handles:
        axes[0].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), borderaxespad=0,
                       frameon=False, fontsize=9)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    try:
        atomic_write_bytes(out_path, buffer.getvalue())
    except OSError as e:
        raise file_error(out_path, f"cannot write: {e.strerror or e}") from e
    return out_path
