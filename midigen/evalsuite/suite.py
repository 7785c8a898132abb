"""``run_eval``: every measurement of ``midigen eval`` in order, from one frozen config to one report.

Real pieces are cut to the lengths the takes were asked for (``realset.excerpts``), so that features
that grow with length (pitch count, range, runs shared with training) compare like with like. The
real reference is the *held-out* side (valid + test: pieces the model never trained on), split in two
halves: the takes are compared with the first half, and the second half compared with the first is the
real-vs-real ceiling. Each section draws from its own random stream of ``seed``, so changing one
section's work does not move another's figures.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MidigenError
from ..music.keys import KEY_NAMES, PROFILES
from ..styles.bundle import load_bundle
from ..styles.registry import find_style
from ..tasks.guard import check_max_copy, copy_guard, find_copy_index
from ..tasks.request import MAX_REQUEST_BARS, MAX_VARIATIONS
from . import bootstrap, realset
from .compliance import compliance
from .copyindex import build_copy_index
from .features import feature_matrix, feature_table
from .generate import generate
from .likelihood import test_likelihood
from .originality import RUN_NOTES, lines_of, originality
from .overlap import feature_overlaps, halves, mean_overlap, subset
from .rank import load_style_fit, rank_takes
from .report import EvalReport
from .style_match import intended_style, real_vs_generated
from .threads import one_torch_thread

MAX_SAMPLES = 5000
PIECES_PER_CORPUS = 300  # real pieces per corpus for the style classifier (drawn at random above this)
OVERLAP_REPS = 200  # bootstrap replicates of the overlap areas (each one recomputes every feature's densities)


@dataclass(frozen=True)
class EvalConfig:
    style: str
    samples: int = 200
    bar_counts: tuple[int, ...] = (8, 16, 32)
    seed: int = 0
    strict_key: bool = False
    corpus_dir: str | None = None  # the style's corpus, where style.json's path does not lead to it
    against: tuple[str, ...] | None = None  # corpora for the style classifier (None: see realset.default_against)
    key_profile: str | None = None  # None: the one the corpus's keys were found with
    styles_dir: str | None = None
    plots_dir: str | None = None
    device: str = "auto"
    max_copy: int | str | None = "auto"  # the takes' --max-copy (``tasks.guard``)
    rank: int = 1  # K > 1: each take is the best of K variations by style fit (``rank``)

    def __post_init__(self) -> None:
        if not 1 <= self.samples <= MAX_SAMPLES:
            raise MidigenError(f"--samples must be between 1 and {MAX_SAMPLES}, got {self.samples}")
        if not self.bar_counts or any(not 1 <= b <= MAX_REQUEST_BARS for b in self.bar_counts):
            raise MidigenError(f"--bars must list lengths between 1 and {MAX_REQUEST_BARS}, got {list(self.bar_counts)}")
        check_max_copy(self.max_copy)
        if not 1 <= self.rank <= MAX_VARIATIONS:
            raise MidigenError(f"--rank must be between 1 and {MAX_VARIATIONS} variations per take, got {self.rank}")
        if self.key_profile is not None and self.key_profile not in PROFILES:
            raise MidigenError(f"unknown key profile {self.key_profile!r} (one of {', '.join(PROFILES)})")


def parse_bar_counts(text: str) -> tuple[int, ...]:
    """"8,16,32" -> (8, 16, 32)."""
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise MidigenError(f"--bars takes whole numbers separated by commas, e.g. 8,16,32 (got {text!r})") from None
    if not counts:
        raise MidigenError("--bars needs at least one length")
    return counts


def _resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise MidigenError("--device cuda was asked for, but PyTorch sees no CUDA GPU here")
    return name


def _originality_summary(results, rng) -> dict:
    longest = np.array([r.longest_run_notes for r in results])
    out = {f"shares_{n}": bootstrap.mean([r.shares(n) for r in results], rng) for n in RUN_NOTES}
    out.update(pieces=len(results), whole_copies=int(sum(r.whole_copy for r in results)),
               longest_run_median=float(np.median(longest)) if len(longest) else None,
               longest_run_max=int(longest.max()) if len(longest) else None,
               longest_run_mean=bootstrap.mean(longest, rng))
    return out


def _distribution(real_table, gen_table, seed: int) -> tuple[dict, list[str]]:
    rng = np.random.default_rng([seed, 3])
    n_real = len(next(iter(real_table.values())))
    first, second = halves(n_real, rng)
    reference = f"takes vs the first half of {n_real} held-out real pieces; ceiling: second half vs first half"
    figures = feature_overlaps(subset(real_table, first), gen_table, rng, OVERLAP_REPS)
    ceilings = feature_overlaps(subset(real_table, first), subset(real_table, second), rng, OVERLAP_REPS)
    if figures is None or ceilings is None:
        return {"reference": reference, "features": {}, "mean": None}, [
            f"distribution match needs at least 3 held-out real pieces (this split has {n_real})"]
    features = {f.name: {"overlap": f.estimate, "ceiling": c.estimate} for f, c in zip(figures, ceilings)}
    return {"reference": reference, "features": features,
            "mean": {"overlap": mean_overlap(figures), "ceiling": mean_overlap(ceilings)}}, []


def _against_tables(config: EvalConfig, style_root: Path, progress) -> tuple[list[tuple[str, np.ndarray]], list[str], list[str]]:
    """(label, feature rows) of each other corpus, notes on those left out, and the folders used."""
    roots = [Path(p) for p in config.against] if config.against is not None else realset.default_against(style_root, config.styles_dir)
    rows, notes, used = [], [], []
    rng = np.random.default_rng([config.seed, 5])
    for root in roots:
        if progress:
            progress(f"reading {root} for the style classifier")
        try:
            other = realset.load_other_corpus(root)
        except MidigenError as e:
            notes.append(f"style classifier: {root} left out ({e})")
            continue
        idx = realset.cap(other.train, PIECES_PER_CORPUS, rng)
        pieces = realset.excerpts(other.pieces(idx), config.bar_counts)
        keys = realset.keys_or_analysed(pieces, other.keys(idx), realset.key_profile_for(root))
        rows.append((other.label, feature_matrix(feature_table(pieces, keys))))
        used.append(str(root))
    return rows, notes, used


def _style(config: EvalConfig, real, profile: str, real_table, gen_table, say) -> tuple[dict, list[str]]:
    """5 (a) the share of takes assigned to the style among the other corpora; (b) real vs generated."""
    others, notes, against_used = _against_tables(config, real.root, say)
    say("style classifiers")
    own_idx = realset.cap(real.train, PIECES_PER_CORPUS, np.random.default_rng([config.seed, 6]))
    own_pieces = realset.excerpts(real.pieces(own_idx), config.bar_counts)
    own = feature_matrix(feature_table(own_pieces, realset.keys_or_analysed(own_pieces, real.keys(own_idx), profile)))
    gen_x = feature_matrix(gen_table)
    rng = np.random.default_rng([config.seed, 7])
    intended = intended_style([(real.label, own)] + others, real.label, gen_x, rng)
    if intended is None:
        notes.append("style classifier: no other corpus to tell the style from (give some with --against DIR)")
    return {"intended": intended, "against": against_used,
            "real_vs_generated": real_vs_generated(np.concatenate([own, feature_matrix(real_table)]), gen_x, rng)}, notes


def run_eval(config: EvalConfig, progress=None) -> EvalReport:
    """Measure the style; ``progress(message)`` is told what is being done."""
    device = _resolve_device(config.device)
    with one_torch_thread(device == "cpu"):
        return _run(config, device, progress)


def _run(config: EvalConfig, device: str, progress) -> EvalReport:
    def say(message: str) -> None:
        if progress:
            progress(message)

    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 2)
        clock = now

    bundle = load_bundle(find_style(config.style, config.styles_dir), device)
    say(f"reading the corpus of {bundle.name}")
    real = realset.load_style_corpus(bundle.meta, bundle.path, config.corpus_dir)
    profile = config.key_profile or realset.key_profile_for(real.root)
    lap("corpus")

    say("likelihood on the test split")
    transpose = bool(bundle.meta.get("training", {}).get("transpose", True))
    likelihood = test_likelihood(bundle.model, real, np.random.default_rng([config.seed, 1]), device, transpose)
    lap("likelihood")

    guard_notes = []
    if config.max_copy is not None and find_copy_index(bundle.path, bundle.meta) is None:
        say(f"building the copy index of {bundle.name} for --max-copy")
        try:
            build_copy_index(bundle.path, bundle.meta, corpus_dir=config.corpus_dir)
        except MidigenError as e:
            if config.max_copy != "auto":
                raise
            guard_notes.append(f"the takes were composed without the --max-copy guard: no copy index could be built ({e})")
    choose = None
    if config.rank > 1:
        style_fit = load_style_fit(bundle, corpus_dir=config.corpus_dir, progress=say)
        choose = lambda takes: rank_takes(bundle, takes, style_fit=style_fit)[0]  # noqa: E731
    samples = generate(bundle, config.samples, config.bar_counts, config.seed, strict_key=config.strict_key,
                       max_copy=config.max_copy, rank=config.rank, choose=choose, device=device,
                       progress=lambda done, total: say(f"composed {done}/{total}"))
    lap("generate")

    held_out = realset.excerpts(real.pieces(real.held_out), config.bar_counts)
    held_keys = realset.keys_or_analysed(held_out, real.keys(real.held_out), profile)
    comp = compliance(samples, held_out, held_keys, profile, np.random.default_rng([config.seed, 2]), config.strict_key)
    lap("compliance")

    say("distribution match")
    gen_table = feature_table([s.piece for s in samples], [s.key for s in samples])
    real_table = feature_table(held_out, held_keys)
    distribution, notes = _distribution(real_table, gen_table, config.seed)
    notes = guard_notes + notes
    lap("distribution")

    say("originality")
    train_lines = lines_of(real.pieces(real.train))
    rng = np.random.default_rng([config.seed, 4])
    orig = {"generated": _originality_summary(originality(lines_of([s.piece for s in samples]), train_lines), rng),
            "held_out": _originality_summary(originality(lines_of(held_out), train_lines), rng)}
    lap("originality")

    style, style_notes = _style(config, real, profile, real_table, gen_table, say)
    notes += style_notes
    lap("style")

    plots: tuple[str, ...] = ()
    if config.plots_dir:
        from .plots import write_plots

        say(f"drawing plots into {config.plots_dir}")
        plots = tuple(str(p) for p in write_plots(config.plots_dir, real_table, gen_table, samples))
        lap("plots")

    settings = {"samples": len(samples), "bars": list(config.bar_counts), "seed": config.seed, "strict_key": config.strict_key,
                "max_copy": copy_guard(bundle, config.max_copy).record["max_copy"], "rank": config.rank,
                "device": device, "bundle_sha256": bundle.weights_sha256[:16],
                "keys": [KEY_NAMES[k] for k in sorted({s.key for s in samples})], "tempo_bpm": samples[0].tempo_bpm,
                "meter": f"{samples[0].meter[0]}/{samples[0].meter[1]}"}
    corpus = {"label": real.label, "root": str(real.root), "train": len(real.train), "valid": len(real.valid),
              "test": len(real.test), "key_profile": profile}
    return EvalReport(bundle.name, settings, corpus, likelihood, comp, distribution, orig, style, plots, tuple(notes), timings)
