"""The samples an evaluation judges: takes at several lengths, keys spread as the style's corpus has them.

The samples are divided evenly among the bar counts; at each length, among the corpus's keys in
proportion to how often each occurs (largest remainders, so that a small run keeps the common keys).
Tempo and meter are the style's most common. Each (length, key) group is one batched ``compose`` call
with ``variations``, seeded from the evaluation's seed and the group's position, so the whole set is a
pure function of the bundle, the options and the seed. Every take is written to MIDI bytes, which is
what compliance reads back. With ``rank`` K > 1 each sample is the best of K variations by style fit
(``rank``), so ``eval --rank K`` measures what ``compose --variations K --rank`` writes first.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..midi.files import midi_bytes
from ..music.keys import KEY_NAMES, parse_key
from ..music.piece import Piece
from ..tasks.compose import ComposeRequest, compose, style_defaults
from ..tasks.request import MAX_VARIATIONS, Window


@dataclass(frozen=True)
class Sample:
    piece: Piece
    midi: bytes
    bars: int
    key: int
    tempo_bpm: float
    meter: tuple[int, int]
    seed: int


def key_weights(meta: dict) -> dict[int, int]:
    """{key: pieces in that key} from the style's corpus statistics (its default key when it has none)."""
    counts = {parse_key(name): int(n) for name, n in meta.get("corpus", {}).get("stats", {}).get("keys", {}).items()
              if name in KEY_NAMES and n > 0}
    if not counts:
        default = style_defaults(meta)["key"]
        counts = {default if default is not None else 0: 1}
    return counts


def allocate(total: int, weights: dict[int, int]) -> dict[int, int]:
    """``total`` split over the keys in proportion to ``weights`` (largest remainder, ties to the commoner)."""
    keys = sorted(weights, key=lambda k: (-weights[k], k))
    share = np.array([weights[k] for k in keys], dtype=np.float64)
    exact = total * share / share.sum()
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return {k: int(c) for k, c in zip(keys, counts) if c > 0}


def plan(meta: dict, samples: int, bar_counts: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """(bars, key, count) groups adding up to ``samples``."""
    weights = key_weights(meta)
    groups = []
    for i, bars in enumerate(bar_counts):
        n = samples // len(bar_counts) + (1 if i < samples % len(bar_counts) else 0)
        groups += [(bars, key, count) for key, count in allocate(n, weights).items()]
    return groups


def generate(bundle, samples: int, bar_counts: tuple[int, ...], seed: int, *, strict_key: bool = False,
             max_copy="auto", rank: int = 1, choose=None, device: str = "cpu", progress=None,
             window: Window | None = None) -> list[Sample]:
    """``samples`` takes from the bundle; ``progress(done, total)`` after each batch. With ``rank`` K > 1,
    ``choose(takes)`` (the K variations of one sample) gives the one kept."""
    defaults = style_defaults(bundle.meta)
    tempo_bpm, meter = float(defaults["tempo_bpm"]), tuple(defaults["meter"])
    out: list[Sample] = []
    batch = 0
    per_call = max(1, MAX_VARIATIONS // rank)
    for bars, key, count in plan(bundle.meta, samples, bar_counts):
        for start in range(0, count, per_call):
            group_seed = seed * 100_003 + batch
            batch += 1
            n = min(per_call, count - start)
            request = ComposeRequest(bars=bars, key=key, tempo_bpm=tempo_bpm, meter=meter, seed=group_seed,
                                     variations=n * rank, strict_key=strict_key, max_copy=max_copy,
                                     window=window or Window())
            takes = compose(bundle, request, device=device)
            if rank > 1:
                takes = [choose(takes[i * rank:(i + 1) * rank]) for i in range(n)]
            for take in takes:
                out.append(Sample(take.piece, midi_bytes(take.piece), bars, key, tempo_bpm, meter, group_seed))
            if progress:
                progress(len(out), samples)
    return out
