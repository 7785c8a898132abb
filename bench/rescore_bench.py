"""Score style bundles on one corpus's test split as it is read today, so that two bundles meet the same pieces.

    python -m bench.rescore_bench CORPUS_DIR STYLE_DIR [STYLE_DIR ...] [--seed 0] [--json out.json]

A bundle's ``style.json`` holds the test bits/note of the split it was trained on. When the corpus folder
has been re-imported since (another music21, another reader: pieces added or dropped), that split is not
today's, and a retrained bundle's figure is not comparable with the old one. This reads the folder once,
splits it as ``train`` does (its manifest's split, else by melody family with ``--seed``), and scores every
bundle on those test pieces under the Style token the bundle itself trained the corpus with (its
``style_slot``), plain and grammar-masked, in bits per note.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bench.common import save


def run(corpus_dir: Path, style_dirs: list[Path], seed: int = 0) -> dict:
    from midigen.styles.bundle import load_bundle
    from midigen.tokens.tokenizer import with_style
    from midigen.training.data import load_corpus
    from midigen.training.likelihood import evaluate_both

    corpus = load_corpus(corpus_dir, seed)
    test = list(corpus.split.test)
    records = [corpus.dataset.records[i] for i in test]
    ids = [np.asarray(corpus.dataset.ids(i)) for i in test]
    rows = {}
    for style_dir in style_dirs:
        bundle = load_bundle(style_dir)
        slot = bundle.meta["training"].get("style_slot")
        plain, masked = evaluate_both(bundle.model, [with_style(p, slot) for p in ids],
                                      [r.n_notes for r in records], [r.quarters for r in records])
        rows[str(style_dir)] = {"style_slot": slot, "steps": bundle.meta["training"].get("steps_done"),
                                "from_style": bundle.meta["training"].get("from_style"),
                                "bits_per_note": round(plain.bits_per_note, 4),
                                "masked_bits_per_note": round(masked.bits_per_note, 4)}
    return {"corpus": str(corpus_dir), "seed": seed, "split": corpus.split.sizes(), "rows": rows}


def report(result: dict) -> list[str]:
    s = result["split"]
    lines = [f"{result['corpus']}: split {s['train']}/{s['valid']}/{s['test']} (seed {result['seed']})",
             "| bundle | steps from | test bits/note (grammar-masked) |", "|---|---|---|"]
    for name, r in result["rows"].items():
        lines.append(f"| {name} | {r['steps']} from {r['from_style'] or 'scratch'} | "
                     f"{r['bits_per_note']:.3f} ({r['masked_bits_per_note']:.3f}) |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("styles", type=Path, nargs="+")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="where to write the result (default bench/results/rescore-CORPUS.json)")
    args = parser.parse_args()
    result = run(args.corpus, args.styles, args.seed)
    save(f"rescore-{args.corpus.name}", result, args.json)
    print("\n".join(report(result)))


if __name__ == "__main__":
    main()
