"""Chords: how often the notes ``compose --chords`` writes on the beats are tones of the given chords.

    python -m bench.chords_bench [--style irish-folk] [--corpus corpora/irish-oneills] [--bars 8] [--pieces 40]

Each test piece of the style's own split gives a real progression: its analysed chords (``chords.analyse``)
over its first BARS bars, bar by bar. For each, one take is composed in the piece's key, meter and tempo
with ``--chords`` set to that progression, and one without (same seed): the second is the control, the
rate a take reaches against a progression it never saw. The real piece's own rate against its analysis
is the third figure; it flatters the real music (the analysis picks the chords that explain its notes),
so the comparison that matters is conditioned vs control, with the real rate as a ceiling.

Chord-tone rate: melodic notes attacked on a beat whose pitch class is in the chord in force (notes under
N.C. are not counted).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bench.common import ROOT, save
from bench.continue_bench import BOOTSTRAP_ROUNDS

LABELS = ("real (own analysis)", "composed with --chords", "composed without (control)")


def progression_of(piece, bars: int) -> list[list[int]]:
    """The piece's chords bar by bar as ``--chords`` takes them: one a bar, one a half bar, or one a beat."""
    from midigen.music.chords import beat_steps_of_meter, chords_at

    starts = piece.bar_starts_steps(bars)
    out = []
    for bar in range(bars):
        _, num, den = [m for m in piece.meters if m[0] <= bar][-1]
        beat = beat_steps_of_meter(num, den)
        beats = chords_at(piece.chords, np.arange(starts[bar], starts[bar + 1], beat)).tolist()
        half = len(beats) // 2
        if len(set(beats)) == 1:
            out.append(beats[:1])
        elif len(beats) % 2 == 0 and len(set(beats[:half])) == 1 and len(set(beats[half:])) == 1:
            out.append([beats[0], beats[half]])
        else:
            out.append(beats)
    return out


def _interval(rows: list[tuple[int, int]]) -> list[float]:
    rng = np.random.default_rng(0)
    counts = np.array(rows, dtype=np.float64)
    picks = rng.integers(0, len(rows), (BOOTSTRAP_ROUNDS, len(rows)))
    rates = counts[picks, 0].sum(axis=1) / np.maximum(counts[picks, 1].sum(axis=1), 1)
    return [round(float(v), 4) for v in np.percentile(rates, [2.5, 97.5])]


def run(style: str, corpus: Path, bars: int, pieces: int | None) -> dict:
    from midigen.corpus.reader import load_piece
    from midigen.music.chord_symbols import NO_CHORD
    from midigen.music.chords import chord_tone_rate
    from midigen.music.piece import crop_bars
    from midigen.styles.bundle import load_bundle
    from midigen.styles.registry import find_style
    from midigen.tasks.compose import ComposeRequest, compose

    bundle = load_bundle(find_style(style))
    names = bundle.meta["corpus"]["split"]["test"][:pieces]
    rows = {label: [] for label in LABELS}
    used, skipped = [], []
    start_time = time.perf_counter()
    for seed, name in enumerate(names):
        piece, _ = load_piece(corpus / name)
        if piece.n_bars < bars or len(piece.meters) > 1:
            skipped.append(name)
            continue
        real = crop_bars(piece, 0, bars)
        progression = progression_of(real, bars)
        if all(c == [NO_CHORD] for c in progression):
            skipped.append(name)
            continue
        settings = dict(bars=bars, key=piece.key, tempo_bpm=float(piece.tempos[0][1]), meter=tuple(piece.meters[0][1:]), seed=seed)
        (given,) = compose(bundle, ComposeRequest(chords=tuple(map(tuple, progression)), **settings))
        (free,) = compose(bundle, ComposeRequest(**settings))
        changes = given.piece.chords  # the progression as laid on the bars
        rows[LABELS[0]].append(chord_tone_rate(real))
        rows[LABELS[1]].append(chord_tone_rate(given.piece, changes))
        rows[LABELS[2]].append(chord_tone_rate(free.piece, changes))
        used.append(name)
    pooled = {}
    for label, counts in rows.items():
        total = np.array(counts, dtype=np.float64).sum(axis=0) if counts else np.zeros(2)
        pooled[label] = {"chord_tone_rate": round(total[0] / max(total[1], 1), 4), "notes": int(total[1]),
                         "ci95": _interval(counts) if counts else None}
    return {"style": style, "bundle_sha256": bundle.weights_sha256[:16], "bundle_created": bundle.meta.get("created"),
            "corpus": str(corpus), "bars": bars, "pieces": len(used), "skipped": skipped, "pooled": pooled,
            "seconds": round(time.perf_counter() - start_time, 1),
            "unit": "share of melodic notes on a beat whose pitch class is in the chord in force"}


def report(r: dict) -> list[str]:
    lines = [f"chords ({r['style']}): first {r['bars']} bars of {r['pieces']} test pieces' analysed progressions; "
             "chord tones among notes on the beat"]
    for label in LABELS:
        g = r["pooled"][label]
        low, high = g["ci95"] or (float("nan"), float("nan"))
        lines.append(f"  {label:28s} {g['chord_tone_rate']:6.3f} [{low:.3f}, {high:.3f}]  ({g['notes']} notes)")
    lines.append("  (95 % bootstrap intervals over pieces)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", default="irish-folk")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpora" / "irish-oneills")
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--pieces", type=int, default=40, help="At most this many test pieces.")
    parser.add_argument("--json", type=Path, help="Write the result here (default: bench/results/chords-STYLE.json).")
    args = parser.parse_args()
    result = run(args.style, args.corpus, args.bars, args.pieces)
    print(f"{save('chords-' + args.style, result, args.json)}:")
    print("\n".join(report(result)))


if __name__ == "__main__":
    main()
