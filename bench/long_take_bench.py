"""Long takes that hold together: 32-bar takes under several sampler windows against real pieces cut to 32 bars.

Per piece (issue 17's figures):
- parts stay: of the parts that play in bars 1-4, the share that still play in the last 4 bars;
- top-part interval: mean absolute step between successive onsets of the highest melodic part (its top
  note where it plays a chord);
- no collapse: distinct pitches per melodic part, and distinct drum sounds, in the last 8 bars;
- ms per note of the sampling (a window that slides more often prefills more often).
A window is ``KEEP:OPENING`` (``sampler.Window``'s keep_share and opening_bars): ``0.5:0`` is the
sampler's window before this benchmark, the header and the latest half of the context.

    python -m bench.long_take_bench --style jazz --takes 24 --windows 0.5:0,0.75:0,0.75:1,0.75:2
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bench.band_bench import SIDES, real_side, summarize
from bench.common import save
from midigen.evalsuite.generate import generate
from midigen.evalsuite.realset import excerpt, load_style_corpus
from midigen.music.piece import PITCH, START, TRACK, Piece
from midigen.sampling.sampler import Window
from midigen.styles.bundle import load_for_sampling
from midigen.styles.registry import find_style

MIN_TOP_NOTES = 8  # a part with fewer notes is no top line to measure


def _bar_notes(piece: Piece, first_bar: int, last_bar: int) -> np.ndarray:
    """Notes starting in bars first_bar..last_bar (1-based, inclusive)."""
    starts = piece.bar_starts_steps()
    lo, hi = starts[first_bar - 1], starts[min(last_bar, piece.n_bars)]
    return piece.notes[(piece.notes[:, START] >= lo) & (piece.notes[:, START] < hi)]


def _top_interval(piece: Piece) -> float:
    melodic = [t for t, track in enumerate(piece.tracks) if not track.is_drum
               and np.count_nonzero(piece.notes[:, TRACK] == t) >= MIN_TOP_NOTES]
    if not melodic:
        return float("nan")
    top = max(melodic, key=lambda t: piece.notes[piece.notes[:, TRACK] == t, PITCH].mean())
    notes = piece.notes[piece.notes[:, TRACK] == top]
    onsets = np.unique(notes[:, START])
    line = np.array([notes[notes[:, START] == s, PITCH].max() for s in onsets])
    return float(np.abs(np.diff(line)).mean()) if len(line) > 1 else float("nan")


def long_figures(piece: Piece) -> dict[str, float]:
    bars = piece.n_bars
    opening, ending, last8 = _bar_notes(piece, 1, 4), _bar_notes(piece, bars - 3, bars), _bar_notes(piece, bars - 7, bars)
    present = np.unique(opening[:, TRACK])
    drums = {t for t, track in enumerate(piece.tracks) if track.is_drum}
    melodic_last8 = [last8[last8[:, TRACK] == t, PITCH] for t in np.unique(last8[:, TRACK]) if t not in drums]
    drum_last8 = last8[np.isin(last8[:, TRACK], list(drums)), PITCH] if drums else np.zeros(0)
    return {
        "parts_stay": float(np.isin(present, ending[:, TRACK]).mean()) if len(present) else float("nan"),
        "top_part_interval": _top_interval(piece),
        "last8_pitches_per_part": float(np.mean([len(np.unique(p)) for p in melodic_last8])) if melodic_last8 else 0.0,
        "last8_drum_sounds": float(len(np.unique(drum_last8))) if drums else float("nan"),
    }


def parse_windows(text: str) -> list[Window]:
    out = []
    for item in text.split(","):
        keep, opening = item.split(":")
        out.append(Window(keep_share=float(keep), opening_bars=int(opening)))
    return out


def run(style: str, takes: int, bars: int, windows: list[Window], seed: int, styles_dir=None, side: str = "test") -> dict:
    path = find_style(style, styles_dir)
    bundle = load_for_sampling(path)
    real = load_style_corpus(bundle.meta, path)
    real_rows = [long_figures(excerpt(p, bars)) for p in real_side(real, side) if p.n_bars >= bars]
    result = {"style": style, "bars": bars, "takes": takes, "real_pieces": len(real_rows), "side": side, "real": summarize(real_rows),
              "windows": {}}
    for window in windows:
        t0 = time.perf_counter()
        samples = generate(bundle, takes, (bars,), seed, window=window)
        seconds = time.perf_counter() - t0
        notes = sum(len(s.piece.notes) for s in samples)
        name = f"{window.keep_share}:{window.opening_bars}"
        result["windows"][name] = {"figures": summarize([long_figures(s.piece) for s in samples]),
                                   "seconds": round(seconds, 1), "ms_per_note": round(1000 * seconds / max(notes, 1), 2)}
    return result


def report(r: dict) -> list[str]:
    lines = [f"long takes ({r['style']}): {r['takes']} takes of {r['bars']} bars per window vs "
             f"{r['real_pieces']} held-out ({r.get('side', 'test')}) real pieces cut to {r['bars']} bars (mean [95 % CI])"]
    names = list(r["real"])
    header = f"  {'window':10s}" + "".join(f"{n:>24s}" for n in names) + f"{'ms/note':>10s}"
    lines.append(header)

    def cell(f):
        return f"{f['mean']:7.3f} [{f['ci95'][0]:.2f}, {f['ci95'][1]:.2f}]".rjust(24)

    lines.append(f"  {'real':10s}" + "".join(cell(r["real"][n]) for n in names))
    for name, w in r["windows"].items():
        lines.append(f"  {name:10s}" + "".join(cell(w["figures"][n]) for n in names) + f"{w['ms_per_note']:10.2f}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", default="jazz")
    parser.add_argument("--takes", type=int, default=24)
    parser.add_argument("--bars", type=int, default=32)
    parser.add_argument("--windows", default="0.5:0,0.75:0,0.75:1,0.75:2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--styles-dir", type=Path)
    parser.add_argument("--side", choices=SIDES, default="test", help="Real pieces: the test side, or valid and test.")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.style, args.takes, args.bars, parse_windows(args.windows), args.seed, args.styles_dir, args.side)
    print("\n".join(report(result)))
    save(f"long-takes-{args.style}", result, args.json)


if __name__ == "__main__":
    main()
