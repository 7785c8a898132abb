"""``--rank``: the top-ranked take of K variations against a random one of the same K.

    python -m bench.rank_bench [--styles jazz,irish-folk] [--requests 20] [--variations 8] [--bars 8]
    python -m bench.rank_bench --ship [--styles ...]     # write each style's style fit into its bundle

Each request is one ``compose`` call (``--variations`` takes of ``--bars`` bars, seed = the request's
number, keys in turn from the corpus's most common, the defaults otherwise); ``rank_takes`` orders its
takes. Two sets of takes are judged the way ``eval`` judges takes:

- *top*: the rank-1 take of each request; *random*: one take of each request drawn at random (seeded),
  which is what writing the variations unranked hands the user first, on average;
- ``eval``'s real-vs-generated classifier: its cross-validated accuracy telling the set from real pieces
  (the style's training excerpts and the held-out ones; 0.5 = indistinguishable);
- ``eval``'s distribution match: the mean feature overlap with half of the held-out real pieces (cut to
  the same length), beside the real-vs-real ceiling;
- the model's bits per note of the takes, and their style-fit scores.

The ranker's own classifier was trained on the training side against default takes, and ``eval``'s
features are the same eleven, so the comparison is not independent of the ranker: it says how much of
what ``eval`` measures the ranking moves, not whether a listener would agree.
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
    from midigen.errors import MidigenError
    from midigen.evalsuite.rank import write_style_fit
    from midigen.styles.sidecar import STYLE_FIT
    from midigen.tasks.takes import sampling_bundle

    out = {}
    for name in styles:
        bundle = sampling_bundle(name, STYLES)
        start = time.perf_counter()
        try:
            path = write_style_fit(bundle, bundle.path / STYLE_FIT, progress=print)
        except MidigenError as e:
            out[name] = {"skipped": str(e)}
            print(f"{name}: skipped ({e})")
            continue
        out[name] = {"bytes": path.stat().st_size, "seconds": round(time.perf_counter() - start, 1)}
        print(f"{name}: {path} {path.stat().st_size:,} bytes in {out[name]['seconds']} s")
    return out


def measure_style(name: str, requests: int, variations: int, bars: int) -> dict:
    from midigen.evalsuite import bootstrap, realset
    from midigen.evalsuite.features import feature_matrix, feature_table
    from midigen.evalsuite.generate import key_weights
    from midigen.evalsuite.overlap import feature_overlaps, halves, mean_overlap, subset
    from midigen.evalsuite.rank import load_style_fit, rank_takes
    from midigen.evalsuite.style_match import real_vs_generated
    from midigen.tasks.compose import ComposeRequest, compose
    from midigen.tasks.takes import sampling_bundle

    bundle = sampling_bundle(name, STYLES)
    style_fit = load_style_fit(bundle, progress=print)
    real = realset.load_style_corpus(bundle.meta, bundle.path)
    profile = realset.key_profile_for(real.root)
    held = realset.excerpts(real.pieces(real.held_out), (bars,))
    held_table = feature_table(held, realset.keys_or_analysed(held, real.keys(real.held_out), profile))
    own_idx = realset.cap(real.train, 300, np.random.default_rng(6))
    own = realset.excerpts(real.pieces(own_idx), (bars,))
    real_rows = np.concatenate([feature_matrix(feature_table(own, realset.keys_or_analysed(own, real.keys(own_idx), profile))),
                                feature_matrix(held_table)])
    keys = sorted(key_weights(bundle.meta), key=lambda k: -key_weights(bundle.meta)[k])
    pick = np.random.default_rng(1)
    top, rand, rank_seconds, sample_seconds = [], [], 0.0, 0.0
    for r in range(requests):
        start = time.perf_counter()
        takes = compose(bundle, ComposeRequest(bars=bars, key=keys[r % len(keys)], seed=r, variations=variations))
        sample_seconds += time.perf_counter() - start
        start = time.perf_counter()
        ranked = rank_takes(bundle, takes, style_fit=style_fit)
        rank_seconds += time.perf_counter() - start
        top.append(ranked[0])
        drawn = int(pick.integers(1, variations + 1))
        rand.append(next(t for t in ranked if t.provenance["variation"] == drawn))
        print(f"{name} request {r + 1}/{requests}: scores {[t.provenance['style_fit']['score'] for t in ranked]}", flush=True)
    rng = np.random.default_rng(0)
    first, second = halves(len(held), rng)
    reference = subset(held_table, first)
    out = {"requests": requests, "variations": variations, "bars": bars, "held_out_pieces": len(held),
           "ms_to_rank_a_request": round(1000 * rank_seconds / requests, 1),
           "seconds_to_sample_a_request": round(sample_seconds / requests, 2),
           "ceiling_overlap": mean_overlap(feature_overlaps(reference, subset(held_table, second), rng, 100)).to_json()}
    for label, chosen in (("top", top), ("random", rand)):
        table = feature_table([t.piece for t in chosen], [t.piece.key for t in chosen])
        rvg = real_vs_generated(real_rows, feature_matrix(table), np.random.default_rng(7))
        out[label] = {"real_vs_generated_accuracy": rvg["accuracy"].to_json(), "pieces_each": rvg["pieces_each"],
                      "mean_overlap": mean_overlap(feature_overlaps(reference, table, rng, 100)).to_json(),
                      "bits_per_note": bootstrap.mean([t.bits_per_note for t in chosen], rng).to_json(),
                      "style_fit_score": bootstrap.mean([t.provenance["style_fit"]["score"] for t in chosen], rng).to_json(),
                      "same_take_as_top": int(sum(a is b for a, b in zip(chosen, top)))}
        print(name, label, out[label], flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--styles", default="jazz,irish-folk")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--variations", type=int, default=8)
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--ship", action="store_true", help="write each style's style fit into its bundle folder and stop")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    styles = [s.strip() for s in args.styles.split(",") if s.strip()]
    if args.ship:
        save("rank_ship", {"styles": ship(styles)}, args.out)
        return
    results = {name: measure_style(name, args.requests, args.variations, args.bars) for name in styles}
    print(save("rank_bench", {"settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                              "styles": results}, args.out))


if __name__ == "__main__":
    main()
