"""The fine-tuning recipe for a musician's own small band folder, chosen by measurement (issue 17, item 2).

Each recipe is a way of running the default command, ``train --style S DIR`` (fine-tuned from ``base``,
the 10-minute budget), on a folder of music the base never heard (``make own-folders``: Freedoom's two
WADs). Per recipe and folder it records:
- the likelihood: the best validation bits/note and the held-out test bits/note beside the n-gram's;
- the music: ``--takes`` takes of 16 bars against the folder's held-out real pieces cut to 16 bars
  (``bench.band_bench``'s figures: notes per quarter, polyphony, silent beats, drum groove consistency,
  kick/snare/hat shares, whether the drums play);
- copying: the share of takes that share a 16- and a 32-note run with the training pieces, beside the
  held-out real pieces' own share (``eval``'s originality measure), and whole copies.
A folder of 30 pieces has 3 validation pieces, each a different song: their bits/note say little about
whether the takes sound like the folder, so the recipe is chosen on the music and copying figures, with
the likelihood beside them. A bundle already trained with a recipe's settings (``--work``) is reused.

    python -m bench.recipe_bench --folders corpora/freedoom1,corpora/freedoom2 --takes 24
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bench.band_bench import BAND_GOALS, band_figures, sections, summarize
from bench.common import ROOT, save

# name: the TrainConfig fields a recipe sets (everything else is the default command's).
RECIPES = {
    "early-stop": {},  # the default before this benchmark: 3e-4, stop after 4 validations without a new best
    "no-early-stop": {"patience": None, "keep": "last"},  # the whole budget, the last weights
    "no-early-stop-1e-3": {"patience": None, "keep": "last", "lr": 1e-3},
}
RUNS = (16, 32)


def train_recipe(folder: Path, recipe: str, work: Path) -> tuple[Path, float | None]:
    """The bundle of ``recipe`` on ``folder`` (trained now, or found from an earlier run) and its wall time."""
    from midigen.training.config import TrainConfig
    from midigen.training.train import train_style

    name = f"{folder.name}-{recipe}"
    settings = RECIPES[recipe]
    meta_path = work / name / "style.json"
    if meta_path.exists():
        training = json.loads(meta_path.read_text()).get("training", {})
        if all(training.get(k) == v for k, v in settings.items()):
            return work / name, None
    start = time.perf_counter()
    train_style(name, folder, TrainConfig(**settings), styles_dir=work)
    return work / name, time.perf_counter() - start


def measure(bundle_path: Path, takes: int, bars: int, seed: int) -> dict:
    from midigen.evalsuite.generate import generate
    from midigen.evalsuite.originality import lines_of, originality
    from midigen.evalsuite.realset import excerpt, load_style_corpus
    from midigen.styles.bundle import load_for_sampling

    bundle = load_for_sampling(bundle_path)
    real = load_style_corpus(bundle.meta, bundle_path)
    held = [excerpt(p, bars) for p in real.pieces(real.held_out) if p.n_bars >= bars]
    samples = generate(bundle, takes, (bars,), seed)
    pieces = [s.piece for s in samples]
    train = lines_of(real.pieces(real.train))
    mine, theirs = originality(lines_of(pieces), train), originality(lines_of(held), train)
    metrics = bundle.meta.get("metrics", {})
    training = bundle.meta.get("training", {})
    return {
        "steps_done": training.get("steps_done"), "best_step": training.get("best_step"),
        "valid_bits_per_note": metrics.get("valid", {}).get("model", {}).get("bits_per_note"),
        "test_bits_per_note": metrics.get("test", {}).get("model", {}).get("bits_per_note"),
        "test_ngram_bits_per_note": metrics.get("test", {}).get("ngram", {}).get("bits_per_note"),
        "takes": summarize([band_figures(p) for p in pieces]), "real": summarize([band_figures(p) for p in held]),
        "real_sections": summarize([band_figures(s) for p in real.pieces(real.held_out) for s in sections(p, bars)]),
        "real_pieces": len(held),
        "copying": {f"takes_sharing_{n}": float(np.mean([o.shares(n) for o in mine])) for n in RUNS}
        | {f"real_sharing_{n}": float(np.mean([o.shares(n) for o in theirs])) if theirs else None for n in RUNS}
        | {"whole_copies": int(sum(o.whole_copy for o in mine)),
           "longest_run_median": float(np.median([o.longest_run_notes for o in mine]))},
    }


GOALS = {name: test for name, (_, _, test) in BAND_GOALS.items() if name != "drums_play"}  # the 16-bar figures' goals


def goals_met(row: dict) -> dict[str, bool]:
    met = {name: bool(test(row["takes"][name]["mean"], row["real"][name]["mean"])) for name, test in GOALS.items()}
    c = row["copying"]
    met["copying_32"] = c["takes_sharing_32"] <= (c["real_sharing_32"] or 0.0) + 1e-9 and c["whole_copies"] == 0
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", default="corpora/freedoom1,corpora/freedoom2")
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--takes", type=int, default=24)
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "recipes", help="where the recipes' bundles are kept")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    out = {"settings": {"takes": args.takes, "bars": args.bars, "seed": args.seed}, "recipes": RECIPES, "folders": {}}
    for folder in [Path(f) for f in args.folders.split(",") if f]:
        rows = {}
        for recipe in [r for r in args.recipes.split(",") if r]:
            path, seconds = train_recipe(folder, recipe, args.work)
            row = measure(path, args.takes, args.bars, args.seed)
            row["train_seconds"] = round(seconds, 1) if seconds is not None else None
            row["goals_met"] = goals_met(row)
            rows[recipe] = row
            t, r = row["takes"], row["real"]
            print(f"{folder.name} {recipe}: {sum(row['goals_met'].values())}/{len(row['goals_met'])} goals; "
                  f"steps {row['steps_done']} (best {row['best_step']}), valid {row['valid_bits_per_note']:.2f}, "
                  f"test {row['test_bits_per_note']:.2f} bits/note; "
                  + ", ".join(f"{k} {t[k]['mean']:.3f}/{r[k]['mean']:.3f}" for k in GOALS)
                  + f"; 32-note runs {row['copying']['takes_sharing_32']:.2f} (real {row['copying']['real_sharing_32']})", flush=True)
        out["folders"][folder.name] = rows
    print(save("recipe", out, args.json))


if __name__ == "__main__":
    main()
