"""The real pieces an evaluation compares with: the style's corpus, split as the bundle was, and others.

The bundle's ``style.json`` names its corpus folder and lists the files of each side of its split; those
lists are used as they are (a later change to the split rule must not move test pieces into training),
and the seed-determined family split is recomputed only for bundles that do not list them. Pieces come
from the token cache, so a corpus already tokenized by ``train`` is read in about a second.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..corpus.dataset import build_dataset
from ..corpus.split import split_dataset
from ..errors import MidigenError
from ..music.keys import DEFAULT_KEY_PROFILE, PROFILES, analyse_key
from ..music.piece import DURATION, START, Piece, bar_starts_steps
from ..styles.registry import list_style_dirs
from ..tokens.tokenizer import decode, with_style

MANIFEST = "manifest.json"
MAX_MISSING_SHARE = 0.5  # more of the bundle's listed pieces missing than this: the folder is another corpus


@dataclass
class RealCorpus:
    """A tokenized corpus folder and the indices of each side of its split."""

    root: Path
    label: str
    dataset: object
    train: tuple[int, ...]
    valid: tuple[int, ...]
    test: tuple[int, ...]
    slot: int | None = None

    @property
    def held_out(self) -> tuple[int, ...]:
        return tuple(sorted(self.valid + self.test))

    def pieces(self, idx) -> list[Piece]:
        return [decode(np.asarray(self.dataset.ids(i))) for i in idx]

    def keys(self, idx) -> list[int | None]:
        return [self.dataset.records[i].key for i in idx]

    def side(self, idx) -> tuple[list[np.ndarray], list[int], list[float]]:
        """Token ids (with the bundle's Style token), notes and quarter notes of the pieces ``idx``."""
        records = self.dataset.records
        return ([with_style(np.asarray(self.dataset.ids(i)), self.slot) for i in idx],
                [records[i].n_notes for i in idx], [records[i].quarters for i in idx])


def read_manifest(root: Path) -> dict:
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def corpus_label(root: Path) -> str:
    return read_manifest(root).get("collection") or root.resolve().name


def key_profile_for(root: Path) -> str:
    """The key-finding profile the corpus's keys were decided with (its manifest's ``key_method``)."""
    method = str(read_manifest(root).get("key_method", "")).lower()
    found = [(method.find(name), name) for name in PROFILES if name in method]
    return min(found)[1] if found else DEFAULT_KEY_PROFILE


def corpus_root(meta: dict, bundle_path: Path, override: str | Path | None = None) -> Path:
    """The style's corpus folder: ``override``, else ``corpus.root`` of style.json, read relative to the
    working folder and then to the folder holding the styles folder (the project root)."""
    if override is not None:
        root = Path(override)
        if not root.is_dir():
            raise MidigenError(f"--corpus {root}: no such folder")
        return root
    recorded = meta.get("corpus", {}).get("root")
    if not isinstance(recorded, str):
        raise MidigenError(f"style {meta.get('name')!r} does not name its corpus folder; point to it with --corpus DIR")
    candidates = [Path(recorded)] if Path(recorded).is_absolute() else [Path(recorded), bundle_path.parent.parent / recorded]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise MidigenError(f"the corpus of style {meta.get('name')!r} is not here: {recorded} is missing "
                       "(build it, e.g. `make corpora`, or point to it with --corpus DIR)")


def _recorded_split(meta: dict, dataset) -> dict[str, tuple[int, ...]] | None:
    split = meta.get("corpus", {}).get("split", {})
    if not all(isinstance(split.get(side), list) for side in ("train", "valid", "test")):
        return None
    index = {r.path: i for i, r in enumerate(dataset.records)}
    listed = [p for side in ("train", "valid", "test") for p in split[side]]
    missing = sum(p not in index for p in listed)
    if listed and missing > MAX_MISSING_SHARE * len(listed):
        raise MidigenError(f"{dataset.root}: {missing} of the {len(listed)} pieces the style was trained and tested on "
                           "are not in this folder (is --corpus the style's corpus?)")
    return {side: tuple(sorted(index[p] for p in split[side] if p in index)) for side in ("train", "valid", "test")}


def load_style_corpus(meta: dict, bundle_path: Path, override=None, progress=None) -> RealCorpus:
    """The style's corpus, split as recorded in its bundle."""
    if isinstance(meta.get("corpus", {}).get("root"), list) or meta.get("corpora"):
        raise MidigenError(f"style {meta.get('name')!r} is a multi-style bundle; eval measures one-style bundles "
                           "(fine-tune one from it with `midigen train --from`)")
    root = corpus_root(meta, bundle_path, override)
    dataset = build_dataset(root, progress=progress)
    if len(dataset) == 0:
        raise MidigenError(f"{root}: no usable pieces")
    sides = _recorded_split(meta, dataset)
    if sides is None:
        split = split_dataset(dataset, int(meta.get("training", {}).get("seed", 0)))
        sides = {side: getattr(split, side) for side in ("train", "valid", "test")}
    return RealCorpus(root, corpus_label(root), dataset, sides["train"], sides["valid"], sides["test"],
                      meta.get("training", {}).get("style_slot"))


def load_other_corpus(root: Path, progress=None) -> RealCorpus:
    """A distractor corpus: every piece on the train side (no split needed)."""
    dataset = build_dataset(root, progress=progress)
    return RealCorpus(root, corpus_label(root), dataset, tuple(range(len(dataset))), (), ())


def default_against(style_root: Path, styles_dir=None) -> list[Path]:
    """Corpora to tell styles apart by: the corpus folders of the installed one-style bundles that are
    here, and the folders beside the style's corpus that hold a ``manifest.json`` (``corpus import``)."""
    found: dict[Path, Path] = {}
    for bundle in list_style_dirs(styles_dir):
        try:
            meta = json.loads((bundle / "style.json").read_text(encoding="utf-8"))
            root = corpus_root(meta, bundle)
        except (OSError, ValueError, MidigenError):
            continue
        found.setdefault(root.resolve(), root)
    for sibling in sorted(style_root.parent.iterdir()):
        if sibling.is_dir() and (sibling / MANIFEST).is_file():
            found.setdefault(sibling.resolve(), sibling)
    found.pop(style_root.resolve(), None)
    return list(found.values())


def excerpt(piece: Piece, bars: int) -> Piece:
    """The first ``bars`` bars of a piece (all of it when shorter), notes cut at the last bar line."""
    if piece.n_bars <= bars:
        return piece
    end = int(bar_starts_steps(piece.meters, bars)[-1])
    notes = piece.notes[piece.notes[:, START] < end].copy()
    notes[:, DURATION] = np.minimum(notes[:, DURATION], end - notes[:, START])
    return piece.replace(notes=notes, n_bars=bars, meters=tuple(m for m in piece.meters if m[0] < bars),
                         tempos=tuple(t for t in piece.tempos if t[0] < end))


def excerpts(pieces: list[Piece], bar_counts: tuple[int, ...]) -> list[Piece]:
    """Each piece cut to a length from ``bar_counts`` in turn, so real and generated lengths match."""
    return [excerpt(p, bar_counts[i % len(bar_counts)]) for i, p in enumerate(pieces)]


def keys_or_analysed(pieces: list[Piece], keys: list[int | None], profile: str) -> list[int | None]:
    """Each piece's labelled key, or the key found by ``profile`` where the label is unknown."""
    return [k if k is not None else analyse_key(p, profile) for p, k in zip(pieces, keys)]


def cap(idx: tuple[int, ...], most: int, rng: np.random.Generator) -> tuple[int, ...]:
    """At most ``most`` of ``idx``, chosen at random, in their original order."""
    if len(idx) <= most:
        return tuple(idx)
    return tuple(sorted(rng.choice(np.asarray(idx), size=most, replace=False).tolist()))
