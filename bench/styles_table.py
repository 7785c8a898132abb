"""The shipped-styles table of ``styles/README.md``, read from the bundles' own ``style.json``.

    python -m bench.styles_table [--styles-dir styles]

One row per bundle: corpus, split, size, test bits/note (plain and grammar-masked) beside the order-4
n-gram on the same split, the relative difference, and whether it clears the shipping bar (the model
must beat its n-gram by at least 15 %). A multi-style bundle gets one row per corpus it was trained on.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.common import ROOT

SHIPPING_BAR = 0.15  # a style must beat its n-gram by this much


def rows(styles_dir: Path) -> list[dict]:
    out = []
    for meta_path in sorted(styles_dir.glob("*/style.json")):
        meta = json.loads(meta_path.read_text())
        entries = meta.get("corpora") or [{**meta["corpus"], "metrics": meta["metrics"], "label": meta["corpus"].get("collection")}]
        for entry in entries:
            test = entry["metrics"].get("test")
            if not test:
                continue
            model, ngram = test["model"]["bits_per_note"], test["ngram"]["bits_per_note"]
            sizes = entry["split"]["sizes"]
            out.append({
                "style": meta["name"] + (f" (Style_{entry['slot']})" if meta.get("corpora") else ""),
                "corpus": entry.get("label") or entry.get("collection") or Path(str(entry["root"])).name,
                "split": f"{sizes['train']}/{sizes['valid']}/{sizes['test']}",
                "params_m": round(meta["params"] / 1e6, 2),
                "steps": meta["training"]["steps_done"],
                "from": meta["training"].get("from_style") or "scratch",
                "test_bits_per_note": model,
                "masked_bits_per_note": test["model_grammar_masked"]["bits_per_note"],
                "ngram_bits_per_note": ngram,
                "vs_ngram": model / ngram - 1,
                "size_mb": round((meta_path.parent / "model.safetensors").stat().st_size / 2**20, 1),
            })
    return out


def markdown(table: list[dict]) -> str:
    lines = ["| style | corpus | split train/valid/test | model | test bits/note (grammar-masked) | order-4 n-gram | vs n-gram |",
             "|---|---|---|---|---|---|---|"]
    for r in table:
        verdict = "" if -r["vs_ngram"] >= SHIPPING_BAR else " (below the 15 % bar)"
        lines.append(f"| `{r['style']}` | {r['corpus']} | {r['split']} | {r['params_m']}M, {r['steps']} steps from "
                     f"{r['from']}, {r['size_mb']} MB | {r['test_bits_per_note']:.3f} ({r['masked_bits_per_note']:.3f}) | "
                     f"{r['ngram_bits_per_note']:.3f} | {r['vs_ngram']:+.0%}{verdict} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles-dir", type=Path, default=ROOT / "styles")
    print(markdown(rows(parser.parse_args().styles_dir)))


if __name__ == "__main__":
    main()
