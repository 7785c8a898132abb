"""The copy index ``--max-copy`` samples against, built from the style's corpus as ``eval`` reads it.

The index holds the voices of the training side of the bundle's split as originality codes
(``originality.lines_of``: interval + duration pairs of each melodic track's top line), packed small
(``styles.sidecar.pack_copy_index``). It also records the style's default N, chosen from what real
music shares by idiom: each held-out real piece (valid + test, whole) is matched against the training
voices, and N is the smallest run length that at most ``RARE_SHARE`` of them exceed, so the guard
forbids what even the style's own unseen pieces rarely do. ``prepare_copy_index`` builds it into the
cache at first use (a shipped bundle carries it: ``python -m bench.maxcopy_bench --ship`` writes it).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import MidigenError
from ..styles.bundle import read_meta
from ..styles.registry import find_style
from ..styles.sidecar import COPY_INDEX, cache_path, pack_copy_index, weights_sha, write_sidecar
from ..tasks.guard import AUTO, find_copy_index
from . import realset
from .originality import RUN_NOTES, lines_of, originality

COMPLETE_SHARE = 0.99  # of the training pieces the bundle lists, the share that must be here to build its index
RARE_SHARE = 0.05  # the default N: at most this share of held-out real pieces copy a longer run
MIN_DEFAULT = 8  # never below this many notes, however few held-out pieces there are
NO_HELD_OUT_DEFAULT = 16  # without held-out pieces: eval's shorter run length
# With fewer held-out pieces than 1 / RARE_SHARE the rule can only say "as long as the most copying piece":
# one of Freedoom Phase 1's 6 held-out pieces shares a 32-note run with the training side, which set N
# to 32, and 1 of 100 takes then shared a 32-note run where no held-out take-length excerpt does. A
# folder that small cannot show a long shared run to be its habit, so its N stays below eval's long run.
SMALL_HELD_OUT_MAX = max(RUN_NOTES) - 1


def default_max_copy(longest_runs: list[int]) -> int:
    """The smallest N such that at most ``RARE_SHARE`` of the pieces copy a run of more than N notes (below
    eval's long run, ``max(RUN_NOTES)``, when there are fewer than 1 / ``RARE_SHARE`` pieces to tell)."""
    if not longest_runs:
        return NO_HELD_OUT_DEFAULT
    runs = sorted(longest_runs)
    n = max(MIN_DEFAULT, int(runs[max(0, math.ceil((1 - RARE_SHARE) * len(runs)) - 1)]))
    return min(n, SMALL_HELD_OUT_MAX) if len(runs) * RARE_SHARE < 1 else n


def _check_complete(root: Path, found: int, listed: int) -> None:
    if found < COMPLETE_SHARE * listed:
        raise MidigenError(f"{root} holds {found} of the {listed} pieces the style was trained on (an import not "
                           "finished?): an index of part of them would miss runs")


def build_copy_index(bundle_path: Path, meta: dict, out: Path | None = None, corpus_dir=None, progress=None) -> Path:
    """Build the bundle's copy index from its corpus and write it to ``out`` (default: the cache)."""
    listed = (meta.get("corpus", {}).get("split") or {}).get("train")
    if isinstance(listed, list) and not meta.get("corpora"):  # checked before anything is tokenized
        root = realset.corpus_root(meta, bundle_path, corpus_dir)
        _check_complete(root, sum((root / name).is_file() for name in listed if isinstance(name, str)), len(listed))
    real = realset.load_style_corpus(meta, bundle_path, corpus_dir)
    if isinstance(listed, list):
        _check_complete(real.root, len(real.train), len(listed))
    if progress:
        progress(f"building the copy index of {meta.get('name')} from {len(real.train)} training pieces of {real.root}")
    train = lines_of(real.pieces(real.train))
    held = originality(lines_of(real.pieces(real.held_out)), train) if real.held_out else []
    longest = [r.longest_run_notes for r in held]
    n = default_max_copy(longest)
    info = {"bundle_sha256": weights_sha(meta), "style": meta.get("name"), "corpus": real.label,
            "train_pieces": len(real.train), "pairs": int(train.codes.size), "default_max_copy": n,
            "default_rule": f"smallest N that at most {RARE_SHARE:.0%} of the held-out real pieces exceed (at least {MIN_DEFAULT})",
            "held_out": {"pieces": len(longest),
                         "longest_run_quantiles": {q: float(np.percentile(longest, int(q))) for q in ("50", "90", "95", "100")}
                         if longest else None}}
    target = out or cache_path(COPY_INDEX, weights_sha(meta))
    return write_sidecar(target, pack_copy_index(train.codes, train.voice_lengths), info)


def prepare_copy_index(style: str, styles_dir=None, max_copy=AUTO, progress=None) -> str | None:
    """Make sure the style's copy index exists before sampling with ``max_copy``: found in the bundle or
    the cache, else built from the corpus into the cache. Returns a one-line warning when the index
    cannot be had and ``max_copy`` is ``"auto"`` (sampling goes unguarded); MidigenError when an
    explicit N was asked for."""
    if max_copy is None:
        return None
    folder = find_style(style, styles_dir)
    meta = read_meta(folder)
    if find_copy_index(folder, meta) is not None or meta.get("corpora"):
        return None  # a multi-style base is refused by the operation itself
    try:
        build_copy_index(folder, meta, progress=progress)
    except MidigenError as e:
        reason = f"style {meta.get('name', style)} has no copy index and none can be built here: {e}"
        if max_copy == AUTO:
            return f"--max-copy is off: {reason}"
        raise MidigenError(f"--max-copy {max_copy}: {reason}") from e
    return None
