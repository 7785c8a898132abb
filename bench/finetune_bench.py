"""A small corpus of a style the base never saw: fine-tuning the shipped ``base`` vs training from scratch.

    python -m bench.finetune_bench [--collection palestrina] [--pieces 20] [--steps 150] [--seed 0]

``--pieces`` pieces are drawn from the train side of the collection's family split and copied into a
folder, as a user's folder of 20 songs would be. Two bundles are trained on that folder with the same
settings and steps: one fine-tuned from ``base`` (``train``'s default), one from scratch (``--from none``).
Both are scored on the collection's whole test split (families disjoint from the 20 pieces), beside an
order-4 n-gram fitted on the same 20 pieces. Wall time of each training run (start-up to installed bundle)
is reported: the issue's goal is at most 10 minutes on a 2-core CPU.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import corpus_dir, save


def run(collection: str, pieces: int, steps: int, seed: int) -> dict:
    from midigen.model.ngram import NGramModel
    from midigen.styles.bundle import load_bundle
    from midigen.tokens.augment import all_transpositions
    from midigen.tokens.tokenizer import with_style
    from midigen.tokens.vocab import VOCAB
    from midigen.training.data import load_corpus
    from midigen.training.likelihood import evaluate, ngram_likelihood
    from midigen.training.train import TrainConfig, train_style

    full = load_corpus(corpus_dir(collection), seed)
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(full.split.train, size=min(pieces, len(full.split.train)), replace=False).tolist())
    test_idx = list(full.split.test)
    test_ids = [np.asarray(full.dataset.ids(i)) for i in test_idx]
    notes = [full.dataset.records[i].n_notes for i in test_idx]
    quarters = [full.dataset.records[i].quarters for i in test_idx]

    work = Path(tempfile.mkdtemp(prefix="midigen-finetune-"))
    folder = work / collection
    folder.mkdir()
    for i in chosen:
        shutil.copy2(full.root / full.dataset.records[i].path, folder)
    config = TrainConfig(size="small", steps=steps, batch_size=8, seq_len=512, eval_every=max(1, steps // 3), seed=seed)
    rows = {}
    try:
        for label, from_style in (("fine-tuned from base", None), ("from scratch", "none")):
            start = time.perf_counter()
            meta = train_style(f"ft-{'base' if from_style is None else 'scratch'}", folder, config,
                               styles_dir=work / "styles", from_style=from_style)
            seconds = time.perf_counter() - start
            bundle = load_bundle(work / "styles" / meta["name"])
            slot = meta["training"]["style_slot"]
            test = evaluate(bundle.model, [with_style(p, slot) for p in test_ids], notes, quarters)
            rows[label] = {"test_bits_per_note": round(test.bits_per_note, 4), "train_seconds": round(seconds, 1),
                           "from_style": meta["training"]["from_style"], "style_slot": slot,
                           "best_step": meta["training"]["best_step"]}
        small = load_corpus(folder, seed)
        train_side = [np.asarray(small.dataset.ids(i)) for i in range(len(small.dataset))]
        ngram = NGramModel(VOCAB.size, order=4).fit(all_transpositions(train_side))
        rows["order-4 n-gram on the same pieces"] = {
            "test_bits_per_note": round(ngram_likelihood(ngram, test_ids, notes, quarters).bits_per_note, 4)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"collection": collection, "pieces": len(chosen), "steps": steps, "tokens_per_step": 8 * 512,
            "test_pieces": len(test_idx), "rows": rows,
            "fine_tune_beats_scratch": rows["fine-tuned from base"]["test_bits_per_note"]
            < rows["from scratch"]["test_bits_per_note"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", default="palestrina")
    parser.add_argument("--pieces", type=int, default=20)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    result = run(args.collection, args.pieces, args.steps, args.seed)
    print(f"{result['pieces']} {result['collection']} pieces, {result['steps']} steps x {result['tokens_per_step']} "
          f"tokens; test split: {result['test_pieces']} pieces")
    print("| run | test bits/note | train wall time |")
    print("|---|---|---|")
    for label, row in result["rows"].items():
        seconds = row.get("train_seconds")
        print(f"| {label} | {row['test_bits_per_note']:.3f} | {f'{seconds / 60:.1f} min' if seconds else '-'} |")
    print(f"fine-tuning beats scratch: {result['fine_tune_beats_scratch']}")
    print(f"saved {save('finetune', result)}")


if __name__ == "__main__":
    main()
