"""``--max-copy``: what the guard changes in the takes, and what it costs.

    python -m bench.maxcopy_bench [--styles jazz,irish-folk] [--takes 24] [--bars 8] [--strict 8] [--styles-dir DIR]
    python -m bench.maxcopy_bench --ship [--styles ...]     # write each style's copy index into its bundle

For each style, ``--takes`` takes of ``--bars`` bars are composed with the style's defaults (keys as its
corpus has them, seeds 0, 1, …) three times over, with the same seeds: guard off, guard at the style's
default N (``auto``), and at a stricter N (``--strict``). Measured, beside the held-out real pieces cut
to the same length (the human baseline):

- originality as ``eval`` measures it: the share of takes sharing a 16- and a 32-note run with the
  training pieces, and the median longest shared run;
- the model's bits per note of the takes (what it cost the model to write them, from sampling);
- the mean ``eval`` feature overlap with the held-out real pieces (and the real-vs-real ceiling);
- speed: wall ms per sampled token, and the guard's own ms per token (its ``mask`` and ``advance``,
  timed inside the run), with how often it removed pitches and how often it had to give way.

The copy index (its size, default N and the held-out quantiles it was chosen from) is reported too.
Set OPENBLAS_NUM_THREADS=1 on a shared machine (the bench does, before numpy loads).
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from bench.common import ROOT, save  # noqa: E402

STYLES = ROOT / "styles"


def ship(styles: list[str]) -> dict:
    """Write the copy index of each style whose corpus is here into its bundle folder."""
    from midigen.errors import MidigenError
    from midigen.evalsuite.copyindex import build_copy_index
    from midigen.styles.bundle import read_meta
    from midigen.styles.sidecar import COPY_INDEX

    out = {}
    for name in styles:
        folder = STYLES / name
        meta = read_meta(folder)
        start = time.perf_counter()
        try:  # refused where the corpus holds less than the whole training side
            path = build_copy_index(folder, meta, out=folder / COPY_INDEX)
        except MidigenError as e:
            out[name] = {"skipped": str(e)}
            print(f"{name}: skipped ({e})")
            continue
        from midigen.tasks.guard import find_copy_index

        info = find_copy_index(folder, read_meta(folder)).info
        out[name] = {"bytes": path.stat().st_size, "seconds": round(time.perf_counter() - start, 1), **info}
        print(f"{name}: {path} {path.stat().st_size:,} bytes, default N {info['default_max_copy']}, "
              f"held-out {info['held_out']}")
    return out


class GuardTimer:
    """Times the guard's own work while active: every ``CopyGuardState.narrow`` and ``follow`` call (its
    ``mask`` and ``advance`` less the state it wraps)."""

    def __enter__(self):
        from midigen.sampling.copyguard import CopyGuardState

        self.cls, self.seconds, self.masks = CopyGuardState, 0.0, 0
        self.saved = (CopyGuardState.narrow, CopyGuardState.follow)
        timer = self

        def narrow(state, mask):
            t = time.perf_counter()
            try:
                return timer.saved[0](state, mask)
            finally:
                timer.seconds += time.perf_counter() - t
                timer.masks += 1

        def follow(state, token):
            t = time.perf_counter()
            try:
                return timer.saved[1](state, token)
            finally:
                timer.seconds += time.perf_counter() - t

        CopyGuardState.narrow, CopyGuardState.follow = narrow, follow
        return self

    def __exit__(self, *exc):
        self.cls.narrow, self.cls.follow = self.saved


def compose_takes(bundle, n: int, bars: int, max_copy, tokens: list, temperature: float = 1.0):
    """``n`` takes with the style's defaults, in batches of 8 with seeds 0, 1, …; sampled tokens counted."""
    import midigen.tasks.takes as takes_module
    from midigen.evalsuite.generate import key_weights
    from midigen.tasks.compose import ComposeRequest, compose

    keys = sorted(key_weights(bundle.meta), key=lambda k: -key_weights(bundle.meta)[k])
    original = takes_module.sample_prompted

    def counting(model, prompt, *args, **kwargs):
        rows = original(model, prompt, *args, **kwargs)
        tokens.append(sum(len(r) - len(prompt) for r in rows))
        return rows

    takes_module.sample_prompted = counting
    try:
        out = []
        for batch, start in enumerate(range(0, n, 8)):
            request = ComposeRequest(bars=bars, key=keys[batch % len(keys)], seed=batch, variations=min(8, n - start),
                                     max_copy=max_copy, temperature=temperature)
            out += compose(bundle, request)
        return out
    finally:
        takes_module.sample_prompted = original


def measure_style(name: str, n: int, bars: int, strict: int, styles_dir: Path = STYLES, temperature: float = 1.0) -> dict:
    from midigen.evalsuite import bootstrap, realset
    from midigen.evalsuite.copyindex import build_copy_index
    from midigen.evalsuite.features import feature_table
    from midigen.evalsuite.originality import lines_of, originality
    from midigen.evalsuite.overlap import feature_overlaps, halves, mean_overlap, subset
    from midigen.tasks.guard import find_copy_index
    from midigen.tasks.takes import sampling_bundle

    bundle = sampling_bundle(name, styles_dir)
    real = realset.load_style_corpus(bundle.meta, bundle.path)
    if find_copy_index(bundle.path, bundle.meta) is None:
        build_copy_index(bundle.path, bundle.meta)
    index = find_copy_index(bundle.path, bundle.meta)
    train = lines_of(real.pieces(real.train))
    profile = realset.key_profile_for(real.root)
    held = realset.excerpts(real.pieces(real.held_out), (bars,))
    held_keys = realset.keys_or_analysed(held, real.keys(real.held_out), profile)
    real_table = feature_table(held, held_keys)
    rng = np.random.default_rng(0)
    first, second = halves(len(held), rng)
    reference = subset(real_table, first)

    def originality_figures(pieces) -> dict:
        found = originality(lines_of(pieces), train)
        longest = np.array([r.longest_run_notes for r in found])
        return {"shares_16": bootstrap.mean([r.shares(16) for r in found], rng).to_json(),
                "shares_32": bootstrap.mean([r.shares(32) for r in found], rng).to_json(),
                "longest_run_median": float(np.median(longest)), "longest_run_max": int(longest.max())}

    ceiling = mean_overlap(feature_overlaps(reference, subset(real_table, second), rng, 100))
    result = {"index": {"bytes": index.path.stat().st_size, "where": index.where, **index.info},
              "held_out_real": {"pieces": len(held), **originality_figures(held), "overlap_ceiling": ceiling.to_json()},
              "conditions": {}}
    for label, max_copy in (("off", None), ("auto", "auto"), (f"strict N={strict}", strict)):
        tokens: list[int] = []
        with GuardTimer() as timer:
            start = time.perf_counter()
            takes = compose_takes(bundle, n, bars, max_copy, tokens, temperature)
            wall = time.perf_counter() - start
        sampled = sum(tokens)
        table = feature_table([t.piece for t in takes], [t.piece.key for t in takes])
        overlap = mean_overlap(feature_overlaps(reference, table, rng, 100))
        result["conditions"][label] = {
            "max_copy": takes[0].provenance["max_copy"], "takes": len(takes), **originality_figures([t.piece for t in takes]),
            "bits_per_note": round(float(np.mean([t.bits_per_note for t in takes])), 3),
            "mean_overlap": overlap.to_json(), "sampled_tokens": sampled,
            "wall_ms_per_token": round(1000 * wall / sampled, 3),
            "guard_ms_per_token": round(1000 * timer.seconds / sampled, 4) if timer.masks else 0.0,
            "gave_way_steps": sum(t.provenance.get("max_copy_gave_way", 0) for t in takes)}
        print(name, label, result["conditions"][label], flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--styles", default="jazz,irish-folk")
    parser.add_argument("--takes", type=int, default=24)
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--strict", type=int, default=8)
    parser.add_argument("--styles-dir", type=Path, default=STYLES, help="where the styles are (default: the shipped ones)")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--ship", action="store_true", help="write each style's copy index into its bundle folder and stop")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    styles = [s.strip() for s in args.styles.split(",") if s.strip()]
    if args.ship:
        save("maxcopy_ship", {"styles": ship(styles)}, args.out)
        return
    results = {name: measure_style(name, args.takes, args.bars, args.strict, args.styles_dir, args.temperature) for name in styles}
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    print(save("maxcopy_bench", {"settings": settings, "styles": results}, args.out))


if __name__ == "__main__":
    main()
