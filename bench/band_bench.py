"""Band figures of a style: its takes against the held-out real pieces of its corpus, cut to the same length.

Per piece: notes per quarter note, polyphony (notes sounding at each onset), the share of beats on which
nothing starts, the drums' groove consistency (1 - mean Hamming distance of successive bars' onset
patterns), the share of drum hits on kick, snare and hi-hat/ride, and whether drums and bass still play
in the last quarter of the piece (parts dropping out when the sampler's window slides is a known
failure), whether a piece has a drum part, and whether its drums play at all; and the share of drum hits on
sounds the training pieces hardly use (a drum track playing another part's notes). Means over pieces with 95 % bootstrap intervals. The real
side is the corpus's test pieces, or all its held-out ones (``--side held-out``: valid and test, for a
small folder whose test side is three pieces). Real pieces are cut to their first N bars, as ``eval`` cuts
them; beside that, every N-bar section of them (bars 1-16, 17-32, ...): a take is written like a training
crop, which starts at any bar line of a piece, so its texture is a section's, not an intro's.

    python -m bench.band_bench --style jazz --takes 100 --bars 16
    python -m bench.band_bench --style freedoom1 --styles-dir build/styles --side held-out
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bench.common import save
from midigen.evalsuite.bootstrap import mean
from midigen.evalsuite.features import _groove_consistency, _polyphony, beat_grid
from midigen.evalsuite.generate import generate
from midigen.evalsuite.realset import excerpt, load_style_corpus
from midigen.music.piece import DURATION, PITCH, START, TRACK, Piece, crop_bars
from midigen.styles.bundle import load_for_sampling
from midigen.styles.registry import find_style

# General MIDI percussion keys (channel 10) by what a drummer calls them.
KICK = {35, 36}
SNARE = {37, 38, 40}
HAT_RIDE = {42, 44, 46, 51, 53, 59}
BASS_PROGRAMS = range(32, 40)


def _tail(piece: Piece, notes: np.ndarray) -> np.ndarray:
    """The notes that start in the last quarter of the piece."""
    return notes[notes[:, START] >= piece.end_steps * 3 // 4]


def band_figures(piece: Piece) -> dict[str, float]:
    notes = piece.notes
    drums = np.array([t.is_drum for t in piece.tracks] or [False])
    bass = np.array([(not t.is_drum) and t.program in BASS_PROGRAMS for t in piece.tracks] or [False])
    drum_notes = notes[drums[notes[:, TRACK]]] if len(notes) else notes
    quarters = piece.end_steps / 12
    onsets = np.unique(notes[:, START]) if len(notes) else np.zeros(0, dtype=np.int64)
    beat_starts, _ = beat_grid(piece)
    hits = drum_notes[:, PITCH] if len(drum_notes) else np.zeros(0, dtype=np.int64)
    share = (lambda kit: float(np.isin(hits, list(kit)).mean())) if len(hits) else (lambda kit: float("nan"))
    return {
        "notes_per_quarter": len(notes) / max(quarters, 1e-9),
        "polyphony": _polyphony(notes, onsets),
        "empty_beats": float(np.mean(~np.isin(beat_starts, onsets))) if len(beat_starts) else 0.0,
        "drum_groove_consistency": _groove_consistency(piece, np.unique(drum_notes[:, START])) if len(drum_notes) else float("nan"),
        "kick_share": share(KICK),
        "snare_share": share(SNARE),
        "hat_ride_share": share(HAT_RIDE),
        "drum_part": float(drums.any()),
        "drums_play": float(len(drum_notes) > 0) if drums.any() else float("nan"),
        "drums_in_last_quarter": float(len(_tail(piece, drum_notes)) > 0) if drums.any() else float("nan"),
        "bass_in_last_quarter": float(len(_tail(piece, notes[bass[notes[:, TRACK]]])) > 0) if bass.any() else float("nan"),
        "mean_note_steps": float(notes[:, DURATION].mean()) if len(notes) else 0.0,
    }


def summarize(rows: list[dict[str, float]], seed: int = 0) -> dict[str, dict]:
    """Each figure's mean over the pieces that have it, with its bootstrap interval."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in rows[0]:
        values = np.array([r[name] for r in rows], dtype=np.float64)
        estimate = mean(values[~np.isnan(values)], rng)
        nan = float("nan")
        out[name] = {"mean": estimate.value if estimate else nan,
                     "ci95": [estimate.low if estimate and estimate.low is not None else nan,
                              estimate.high if estimate and estimate.high is not None else nan],
                     "n": int((~np.isnan(values)).sum())}
    return out


SIDES = ("test", "held-out")
# Issue 17's goals on these figures: figure -> (what a table calls it, the goal, its test on (take mean, real mean)).
BAND_GOALS = {
    "notes_per_quarter": ("notes per quarter", "within 20 %", lambda g, r: abs(g / r - 1) <= 0.20),
    "polyphony": ("polyphony", "within 20 %", lambda g, r: abs(g / r - 1) <= 0.20),
    "empty_beats": ("silent beats", "<= 2x real", lambda g, r: g <= 2 * r + 1e-9),
    "drum_groove_consistency": ("drum groove consistency", "within 0.05", lambda g, r: abs(g - r) <= 0.05),
    "kick_share": ("kick share", "±0.10", lambda g, r: abs(g - r) <= 0.10),
    "snare_share": ("snare share", "±0.10", lambda g, r: abs(g - r) <= 0.10),
    "hat_ride_share": ("hi-hat/ride share", "±0.10", lambda g, r: abs(g - r) <= 0.10),
    "drums_play": ("takes with a drum part whose drums play", "1.0", lambda g, r: g >= 1.0),
}
KIT_MIN_SHARE = 0.002  # a drum sound the training pieces give fewer of their drum hits than this is off the kit


def drum_hits(pieces: list[Piece]) -> np.ndarray:
    """(128,) count of drum hits on each GM percussion key over the pieces."""
    counts = np.zeros(128, dtype=np.int64)
    for p in pieces:
        drums = [t for t, track in enumerate(p.tracks) if track.is_drum]
        counts += np.bincount(p.notes[np.isin(p.notes[:, TRACK], drums), PITCH], minlength=128)[:128]
    return counts


def off_kit_share(pieces: list[Piece], kit: np.ndarray) -> float:
    """The share of the pieces' drum hits on sounds outside ``kit`` ((128,) bool)."""
    hits = drum_hits(pieces)
    return float(hits[~kit].sum() / hits.sum()) if hits.sum() else float("nan")


def sections(piece: Piece, bars: int) -> list[Piece]:
    """Every whole ``bars``-bar section of a piece: bars 1..N, N+1..2N, ..."""
    return [crop_bars(piece, first, first + bars) for first in range(0, piece.n_bars - bars + 1, bars)]


def real_side(real, side: str) -> list[Piece]:
    """The corpus's real pieces a benchmark compares with: its test side, or valid and test ("held-out")."""
    if side not in SIDES:
        raise ValueError(f"side {side!r} is not one of {', '.join(SIDES)}")
    return real.pieces(real.test if side == "test" else real.held_out)


def run(style: str, takes: int, bars: int, seed: int, styles_dir=None, side: str = "test") -> dict:
    path = find_style(style, styles_dir)
    bundle = load_for_sampling(path)
    real = load_style_corpus(bundle.meta, path)
    real_pieces = [p for p in real_side(real, side) if p.n_bars >= bars]
    real_rows = [band_figures(excerpt(p, bars)) for p in real_pieces]
    section_rows = [band_figures(s) for p in real_pieces for s in sections(p, bars)]
    generated = generate(bundle, takes, (bars,), seed)
    take_rows = [band_figures(s.piece) for s in generated]
    train_hits = drum_hits(real.pieces(real.train))
    kit = train_hits >= KIT_MIN_SHARE * max(train_hits.sum(), 1)
    return {"style": style, "bars": bars, "takes": len(take_rows), "real_pieces": len(real_rows), "side": side,
            "generated": summarize(take_rows), "real": summarize(real_rows), "real_sections": summarize(section_rows),
            "real_section_count": len(section_rows),
            "off_kit_drum_hits": {"generated": off_kit_share([s.piece for s in generated], kit), "real": off_kit_share(real_pieces, kit),
                                  "kit": np.flatnonzero(kit).tolist()}}


def report(r: dict) -> list[str]:
    lines = [f"band figures ({r['style']}): {r['takes']} takes of {r['bars']} bars vs {r['real_pieces']} held-out real "
             f"({r.get('side', 'test')}) pieces cut to {r['bars']} bars, and their {r.get('real_section_count', 0)} "
             f"sections of {r['bars']} bars (mean [95 % CI])"]
    for name, g in r["generated"].items():
        real, section = r["real"][name], r.get("real_sections", {}).get(name)
        lines.append(f"  {name:26s} generated {g['mean']:7.3f} [{g['ci95'][0]:.3f}, {g['ci95'][1]:.3f}]   "
                     f"real {real['mean']:7.3f} [{real['ci95'][0]:.3f}, {real['ci95'][1]:.3f}]"
                     + (f"   sections {section['mean']:7.3f}" if section else ""))
    if "off_kit_drum_hits" in r:
        off = r["off_kit_drum_hits"]
        lines.append(f"  {'off_kit_drum_hits':26s} generated {off['generated']:7.3f}   real {off['real']:7.3f}   "
                     f"(sounds under {KIT_MIN_SHARE:.1%} of the training pieces' drum hits)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", default="jazz")
    parser.add_argument("--takes", type=int, default=100)
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--styles-dir", type=Path)
    parser.add_argument("--side", choices=SIDES, default="test", help="Real pieces: the test side, or valid and test.")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.style, args.takes, args.bars, args.seed, args.styles_dir, args.side)
    print("\n".join(report(result)))
    save(f"band-{args.style}", result, args.json)


if __name__ == "__main__":
    main()
