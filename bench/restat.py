"""Recompute a style bundle's corpus statistics from its corpus folder and rewrite its ``style.json``.

    python -m bench.restat STYLE_DIR CORPUS_DIR [CORPUS_DIR ...]

For bundles made before the statistics grew what compose now reads (per-part pitch ranges, notes per
bar and piece counts: ``corpus.part_stats``). The corpus is read through the token cache
(``corpus.dataset``) and counted as ``train`` counts it; ``corpus.stats`` of ``style.json`` is replaced
and everything else is kept, byte for byte in meaning (the weights, their hash, the metrics, the split).
The file is replaced atomically. A multi-style bundle (``corpora`` in its ``style.json``) takes one corpus
folder per corpus it lists, in its order: each corpus's statistics are refreshed (without the skipped
files, listed once in the pooled ones, as ``train`` writes them) and the pooled ones recomputed.

Prints, per corpus, the pieces the bundle recorded and the pieces counted now (a difference means the
folder changed since the bundle was trained), and the parts found.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from midigen.corpus.dataset import build_dataset
from midigen.corpus.stats import CorpusStats
from midigen.errors import MidigenError
from midigen.fsutil import atomic_write_json
from midigen.styles.bundle import META_FILE, read_meta


def restat(style_dir: Path, corpus_dirs: list[Path], progress=None) -> tuple[dict, list[str]]:
    """(the bundle's ``style.json`` with its corpus statistics recomputed, lines saying what changed)."""
    meta = read_meta(style_dir, older_vocab=True)
    per_corpus = meta.get("corpora") or []
    if len(corpus_dirs) != max(len(per_corpus), 1):
        roots = ", ".join(str(c.get("root")) for c in per_corpus)
        expected = f"{len(per_corpus)} corpus folders ({roots})" if per_corpus else "one corpus folder"
        raise MidigenError(f"{style_dir}: the bundle needs {expected}, got {len(corpus_dirs)}")
    for folder in corpus_dirs:
        if not folder.is_dir():
            raise MidigenError(f"{folder}: not a folder")
    datasets = [build_dataset(folder, progress=progress) for folder in corpus_dirs]
    lines = []
    for entry, dataset, folder in zip(per_corpus, datasets, corpus_dirs):
        stats = CorpusStats.of_dataset(dataset).to_json()
        del stats["skipped"]
        lines.append(f"{entry.get('label', folder)}: {entry.get('pieces')} pieces recorded, {len(dataset)} counted now")
        entry["stats"] = stats
    pooled = CorpusStats.of_datasets(datasets)
    corpus = meta.setdefault("corpus", {})
    lines.append(f"{style_dir.name}: {corpus.get('pieces')} pieces recorded, {pooled.pieces} counted now")
    lines.append(f"parts: {pooled.parts.summary() or '-'}")
    corpus["stats"] = pooled.to_json()
    return meta, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.restat", description=__doc__.split("\n\n")[0])
    parser.add_argument("style_dir", type=Path, help="the bundle folder (holds style.json)")
    parser.add_argument("corpus_dirs", type=Path, nargs="+", help="its corpus folder (one per corpus of a multi-style bundle)")
    args = parser.parse_args(argv)
    try:
        meta, lines = restat(args.style_dir, args.corpus_dirs)
    except MidigenError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    atomic_write_json(args.style_dir / META_FILE, meta)
    print("\n".join(lines))
    print(f"wrote {args.style_dir / META_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
