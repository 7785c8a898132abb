"""Infill: bits/note of the bars ``midigen infill`` writes vs the real bars, and what hearing both sides is worth.

    python -m bench.infill_bench [--style bach-chorales] [--corpus corpora/bach-chorales] [--first 5] [--bars 4]
                                 [--variations 4] [--pieces N]

Each test piece of the style's own split (``style.json``) with at least FIRST + BARS + 2 bars has bars
FIRST .. FIRST+BARS-1 rewritten by ``infill_piece`` (VARIATIONS takes, seed 0, the sampler's defaults);
a piece whose real or written sequence does not fit the model's context whole is skipped (listed).
Four figures, bits per note of the gap's tokens under the style's model:

- real bars, both sides heard: the real gap in the infill form, given the prompt ``infill`` builds
  (header, bars before, Hole, bars after, Fill);
- real bars, left side only: the same tokens given the same prompt without the bars after the gap
  (header, bars before, Hole, Fill): the same format, so the difference is what the bars after are worth;
- real bars, left only, plain form: the gap in the ordinary left-to-right form after the same bars
  before it (what continuing, or a model never trained to infill, can know; this form does not restate
  the velocities and the chord at the gap's start, so it scores a few fewer tokens);
- generated bars: the takes' gaps given the infill prompt.

The first below the second measures what hearing the music after the gap is worth to the model; the
last beside the first says whether the written bars are as likely as the real ones.

And how the gap joins what follows: the two real bars after the gap, in the plain form, given everything
before them with the gap filled by (a) the real bars, (b) the infill takes, (c) takes written from the
left only (the same command on the piece cut after the gap, so the sampler hears no bars after it).
Lower is a smoother join; (b) below (c) is what hearing both sides buys the music.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from bench.common import ROOT, save
from bench.continue_bench import bar_tokens, bits, bootstrap

LABELS = ("real, both sides", "real, left side only", "real, left only, plain form", "generated (T=1, top-p 0.95)")
JOINS = ("after the real gap", "after gaps written hearing both sides", "after gaps written from the left only")
JOIN_BARS = 2  # bars after the gap scored for how well the gap leads into them


def real_infill_tokens(piece, first: int, count: int, slot, left: int, right: int) -> np.ndarray:
    """The real piece's window in the infill form, chords as ``infill`` analyses them around the gap
    (without the gap's notes) and as the corpus analyses them inside it."""
    from midigen.music.chords import analyse, chords_at
    from midigen.music.piece import START, crop_bars, normalise_changes
    from midigen.tokens.tokenizer import encode

    lo, hi = (int(s) for s in piece.bar_starts_steps()[[first, first + count]])
    outside = (piece.notes[:, START] < lo) | (piece.notes[:, START] >= hi)
    around = analyse(piece.replace(notes=piece.notes[outside]))
    inside = [c for c in analyse(piece) if lo <= c[0] < hi]
    at_hi = int(chords_at(around, np.array([hi]))[0])
    chords = [c for c in around if not lo <= c[0] < hi] + inside + [(hi, at_hi)]
    chords = sorted(chords, key=lambda c: (c[0], c in inside))  # the last at a step wins: at lo, the gap's own
    whole = piece.replace(style=slot, chords=normalise_changes(chords, piece.end_steps))
    return encode(crop_bars(whole, left, right), hole=(first - left, count)), whole


def run(style: str, corpus: Path, first: int, count: int, variations: int, pieces: int | None = None) -> dict:
    from midigen.corpus.reader import load_piece
    from midigen.music.chords import analyse
    from midigen.music.piece import crop_bars
    from midigen.styles.bundle import load_bundle
    from midigen.styles.registry import find_style
    from midigen.tasks.infill import InfillRequest, infill_piece
    from midigen.tasks.takes import style_slot
    from midigen.tokens.tokenizer import encode, note_count
    from midigen.tokens.vocab import VOCAB

    torch.manual_seed(0)
    bundle = load_bundle(find_style(style))
    model, slot = bundle.model, style_slot(bundle)
    names = bundle.meta["corpus"]["split"]["test"][:pieces]
    per_piece, skipped = [], []
    start_time = time.perf_counter()
    for name in names:
        piece, _ = load_piece(corpus / name)
        if piece.n_bars < first + count + JOIN_BARS or any(first <= b < first + count for b, _, _ in piece.meters[1:]):
            skipped.append(name)
            continue
        request = InfillRequest(first_bar=first, n_bars=count, seed=0, variations=variations)
        takes = infill_piece(bundle, piece.replace(chords=()), request)
        left, right = (int(v) for v in takes[0].provenance["context_bars"].split("-"))
        left -= 1
        prompt_length = takes[0].piece.meta["prompt_length"]
        prompt = takes[0].piece.meta["tokens"][:prompt_length]
        real, whole = real_infill_tokens(piece, first, count, slot, left, right)
        if list(real[:prompt_length]) != list(prompt):
            raise AssertionError(f"{name}: the real bars' prompt differs from the one infill sampled from")
        if max(len(real), *(len(t.piece.meta["tokens"]) for t in takes)) > model.cfg.max_seq_len:
            skipped.append(name)  # scored whole or not at all: a window would cut the prompt the takes were sampled from
            continue
        row = {"piece": name, LABELS[0]: [bits(model, real, prompt_length, len(real) - 1), note_count(real[prompt_length:])]}
        left_only = encode(crop_bars(whole, left, first + count), hole=(first - left, count))
        fill = int(np.flatnonzero(left_only == VOCAB.offsets["Fill"])[0]) + 1
        if not np.array_equal(left_only[fill:], real[prompt_length:]):
            raise AssertionError(f"{name}: the gap's tokens differ without the bars after it")
        row[LABELS[1]] = [bits(model, left_only, fill, len(left_only) - 1), note_count(left_only[fill:])]
        plain = encode(crop_bars(whole, left, right))
        a, b = bar_tokens(plain, first - left, count)
        row[LABELS[2]] = [bits(model, plain, a, b), note_count(plain[a:b])]
        row[LABELS[3]] = [0.0, 0]
        for take in takes:
            ids = take.piece.meta["tokens"]
            row[LABELS[3]][0] += bits(model, ids, prompt_length, len(ids) - 1)
            row[LABELS[3]][1] += note_count(ids[prompt_length:])
        cut = piece.replace(chords=()).replace(notes=piece.notes[piece.notes[:, 0] < piece.bar_starts_steps()[first + count]],
                                                 n_bars=first + count)
        blind = infill_piece(bundle, cut, request)
        starts = piece.bar_starts_steps()
        after = piece.notes[piece.notes[:, 0] >= starts[first + count]]
        joins = [[piece]] + [[t.piece for t in takes]] + [[t.piece.replace(notes=np.concatenate([t.piece.notes, after]),
                                                                            n_bars=piece.n_bars) for t in blind]]
        for label, versions in zip(JOINS, joins):
            row[label] = [0.0, 0]
            for version in versions:
                version = version.replace(style=slot, key=piece.key, chords=analyse(version))
                ids = encode(crop_bars(version, left, first + count + JOIN_BARS))
                a, b = bar_tokens(ids, first + count - left, JOIN_BARS)
                row[label][0] += bits(model, ids, a, b)
                row[label][1] += note_count(ids[a:b])
        per_piece.append(row)
    if not per_piece:
        raise SystemExit(f"no test piece of {style} has {first + count + 2} bars that fit the model's context")
    pooled = {}
    for label in LABELS:
        total = np.array([row[label] for row in per_piece], dtype=np.float64).sum(axis=0)
        pooled[label] = {"bits_per_note": round(total[0] / max(total[1], 1), 4), "notes": int(total[1]),
                         "ci95": bootstrap(per_piece, label)}
    for label in JOINS:
        total = np.array([row[label] for row in per_piece], dtype=np.float64).sum(axis=0)
        pooled[label] = {"bits_per_note": round(total[0] / max(total[1], 1), 4), "notes": int(total[1]),
                         "ci95": bootstrap(per_piece, label)}
    pooled[JOINS[2]]["minus_both_sides_ci95"] = bootstrap(per_piece, JOINS[2], minus=JOINS[1])
    for label in LABELS[1:3]:
        pooled[label]["minus_both_sides_ci95"] = bootstrap(per_piece, label, minus=LABELS[0])
    pooled[LABELS[3]]["minus_real_ci95"] = bootstrap(per_piece, LABELS[3], minus=LABELS[0])
    return {"style": style, "bundle_sha256": bundle.weights_sha256[:16], "bundle_created": bundle.meta.get("created"),
            "corpus": str(corpus), "first_bar": first + 1, "bars": count, "variations": variations,
            "pieces": len(per_piece), "skipped": skipped, "pooled": pooled, "per_piece": per_piece,
            "seconds": round(time.perf_counter() - start_time, 1),
            "unit": "bits per note: NLL (log2) of the gap's tokens / notes in it, under the style's model"}


def report(r: dict) -> list[str]:
    span = f"{r['first_bar']}-{r['first_bar'] + r['bars'] - 1}"
    lines = [f"infill ({r['style']}): bars {span} of {r['pieces']} test pieces, {r['variations']} takes each; "
             "bits/note of the gap under the model"]
    for label in LABELS + JOINS:
        if label == JOINS[0]:
            lines.append(f"  the {JOIN_BARS} bars after the gap, plain form, given all before them:")
        g = r["pooled"][label]
        low, high = g["ci95"]
        extra = ""
        if "minus_both_sides_ci95" in g:
            d_low, d_high = g["minus_both_sides_ci95"]
            extra = f"; minus both sides: [{d_low:+.3f}, {d_high:+.3f}]"
        if "minus_real_ci95" in g:
            d_low, d_high = g["minus_real_ci95"]
            extra = f"; minus real: [{d_low:+.3f}, {d_high:+.3f}]"
        lines.append(f"  {label:30s} {g['bits_per_note']:6.3f} bits/note [{low:.3f}, {high:.3f}]{extra}")
    lines.append("  (95 % bootstrap intervals over pieces)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", default="bach-chorales")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpora" / "bach-chorales")
    parser.add_argument("--first", type=int, default=5, help="First bar of the gap, numbered from 1.")
    parser.add_argument("--bars", type=int, default=4)
    parser.add_argument("--variations", type=int, default=4)
    parser.add_argument("--pieces", type=int, help="Only the first N test pieces (a quick look).")
    parser.add_argument("--json", type=Path, help="Write the result here (default: bench/results/infill.json).")
    args = parser.parse_args()
    result = run(args.style, args.corpus, args.first - 1, args.bars, args.variations, args.pieces)
    print(f"{save('infill', result, args.json)}:")
    print("\n".join(report(result)))


if __name__ == "__main__":
    main()
