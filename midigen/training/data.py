"""What a training run reads: one or more tokenized corpus folders, their splits and their Style tokens.

A one-folder run trains a one-style bundle. A run over several folders trains a *multi-style* bundle
(the shipped ``base``): corpus ``i`` is conditioned on ``Style_i``, batches draw each corpus in
proportion to the square root of its size, and every figure is reported per corpus. Fine-tuning from
a multi-style bundle reuses the slot of the corpus it was pretrained on (matched by the manifest's
collection name, else the folder name) or takes the first slot the base never used.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..corpus.dataset import build_dataset
from ..corpus.split import split_dataset, split_from_manifest, split_json
from ..corpus.stats import CorpusStats
from ..errors import MidigenError
from ..tokens.tokenizer import with_style
from ..tokens.vocab import VOCAB

CORPUS_BALANCE = 0.5  # a corpus of T train tokens is drawn in proportion to T**0.5: big ones do not drown small ones
Side = tuple[list[np.ndarray], list[int], list[float]]  # token arrays, notes per piece, quarters per piece


@dataclass
class Corpus:
    """One tokenized folder, its split, and the Style slot its pieces are conditioned on."""

    root: Path
    dataset: object
    split: object
    stats: CorpusStats
    slot: int | None = None

    @property
    def label(self) -> str:
        """The collection name from the manifest (``irish-oneills``), else the folder's name."""
        return manifest_info(self.root).get("collection") or self.root.resolve().name

    def side(self, name: str) -> Side:
        idx = getattr(self.split, name)
        records = self.dataset.records
        pieces = [with_style(np.asarray(self.dataset.ids(i)), self.slot) for i in idx]
        return pieces, [records[i].n_notes for i in idx], [records[i].quarters for i in idx]

    def scored_side(self, name: str, limit: int | None) -> Side:
        """The side, or ``limit`` of its pieces spread evenly over it (files are in name order, which for an
        MMA import is genre order: the first N would all be ballads)."""
        pieces, notes, quarters = self.side(name)
        keep = spread(len(pieces), limit)
        return [pieces[i] for i in keep], [notes[i] for i in keep], [quarters[i] for i in keep]

    def scored_lengths(self, name: str, limit: int | None) -> list[int]:
        """Token counts of the pieces of ``scored_side(name, limit)`` (without building it)."""
        idx = getattr(self.split, name)
        return [self.dataset.records[idx[i]].length for i in spread(len(idx), limit)]

    def validation_side(self, limit: int | None) -> Side:
        """What training validates on: the valid side (``limit`` pieces of it), or for a corpus too small to
        have one, the whole train side."""
        return self.scored_side("valid", limit) if self.split.valid else self.side("train")

    def validation_lengths(self, limit: int | None) -> list[int]:
        return self.scored_lengths("valid" if self.split.valid else "train", limit if self.split.valid else None)

    def train_tokens(self) -> int:
        return sum(self.dataset.records[i].length for i in self.split.train)

    def to_json(self) -> dict:
        return {"label": self.label, "root": str(self.root), **manifest_info(self.root), "slot": self.slot, "pieces": len(self.dataset),
                "split": split_json(self.dataset, self.split), "stats": self.stats.to_json()}


def spread(count: int, limit: int | None) -> list[int]:
    """Indices of ``limit`` of ``count`` items spread evenly over them (all of them when they fit)."""
    if limit is None or count <= limit:
        return list(range(count))
    return np.unique(np.linspace(0, count - 1, limit).round().astype(int)).tolist()


def load_corpus(corpus_dir: str | Path, seed: int, slot: int | None = None, progress=None) -> Corpus:
    """Tokenize a folder and split it: by the split its manifest holds (MMA's chart split, or one written
    by ``corpus split``), else by melody family with ``seed``."""
    dataset = build_dataset(corpus_dir, progress=progress)
    if len(dataset) == 0:
        reasons = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in dataset.skipped[:5])
        raise MidigenError(f"{corpus_dir}: no usable pieces ({len(dataset.skipped)} files skipped{': ' + reasons if reasons else ''})")
    split = split_from_manifest(dataset, _read_manifest(Path(corpus_dir)).get("split")) or split_dataset(dataset, seed)
    return Corpus(Path(corpus_dir), dataset, split, CorpusStats.of_dataset(dataset), slot)


def _read_manifest(corpus_dir: Path) -> dict:
    path = corpus_dir / "manifest.json"
    try:
        manifest = json.loads(path.read_bytes()) if path.is_file() else {}
    except ValueError:
        return {}
    return manifest if isinstance(manifest, dict) else {}


def load_corpora(corpus_dirs: list[Path], seed: int, slots: list[int | None]) -> list[Corpus]:
    labels = [_label(d) for d in corpus_dirs]
    if len(set(labels)) != len(labels):
        raise MidigenError(f"the same corpus is given twice ({', '.join(labels)})")
    return [load_corpus(d, seed, slot) for d, slot in zip(corpus_dirs, slots)]


def manifest_info(corpus_dir: Path) -> dict:
    path = Path(corpus_dir) / "manifest.json"
    if not path.is_file():
        return {"manifest_sha1": None, "licence": "unknown (the user's own files)", "provenance": str(corpus_dir)}
    raw = path.read_bytes()
    manifest = _read_manifest(Path(corpus_dir))
    return {"manifest_sha1": hashlib.sha1(raw).hexdigest(), "collection": manifest.get("collection"),
            "licence": manifest.get("licence", "unknown"), "provenance": manifest.get("provenance", str(corpus_dir)),
            "music21_version": manifest.get("music21_version")}


def base_style_slots(meta: dict) -> dict[str, int]:
    """{corpus label: Style slot} of a multi-style bundle (the corpora it was trained on, and those its own
    base was trained on that it kept the slots of); {} for a one-style bundle."""
    return {**meta.get("inherited_slots", {}), **{c["label"]: c["slot"] for c in meta.get("corpora", [])}}


def inherited_slots(base_meta: dict | None, corpora: list[Corpus]) -> dict[str, int]:
    """The base's {label: slot} of the corpora a multi-style run continues the base without: their Style
    embeddings stay in the weights, so later fine-tunes of those corpora still find them."""
    if base_meta is None or len(corpora) < 2:
        return {}
    trained = {c.label for c in corpora}
    return {label: slot for label, slot in base_style_slots(base_meta).items() if label not in trained}


def slots_for(corpus_dirs: list[Path], base_meta: dict | None, requested: int | None) -> list[int | None]:
    """The Style slot of each corpus of a run.

    Several corpora: slots 0, 1, ... in the order given; continuing a multi-style base, a corpus it was
    pretrained on keeps its slot and a new one takes a slot the base never used (so the styles fine-tuned
    from the old base still find their tokens). One corpus, fine-tuned from a multi-style base: the base's
    slot for that corpus, else the first slot the base did not use. Otherwise the slot the config asks
    for (None: no Style token), or the one the base bundle was trained with.
    """
    n_slots = VOCAB.family_sizes["Style"]
    known = base_style_slots(base_meta) if base_meta is not None else {}
    if len(corpus_dirs) > 1:
        if len(corpus_dirs) > n_slots:
            raise MidigenError(f"at most {n_slots} corpora can be trained together")
        if not known:
            return list(range(len(corpus_dirs)))
        labels = [_label(d) for d in corpus_dirs]
        free = iter(s for s in range(n_slots) if s not in known.values())
        slots = [known[label] if label in known else next(free, None) for label in labels]
        if None in slots:
            raise MidigenError(f"the base bundle and the new corpora need more than {n_slots} Style slots; train with --from none")
        return slots
    if requested is not None or base_meta is None:
        return [requested]
    if not known:
        return [base_meta.get("training", {}).get("style_slot")]
    label = _label(corpus_dirs[0])
    if label in known:
        return [known[label]]
    free = [s for s in range(n_slots) if s not in known.values()]
    if not free:
        raise MidigenError("the base bundle uses every Style slot; train with --from none")
    return [free[0]]


def _label(corpus_dir: Path) -> str:
    return manifest_info(Path(corpus_dir)).get("collection") or Path(corpus_dir).resolve().name


def piece_weights(corpora: list[Corpus]) -> np.ndarray:
    """Sampling weight of every train piece (in corpus order): within a corpus in proportion to length;
    across corpora in proportion to (train tokens) ** CORPUS_BALANCE."""
    weights = []
    tokens = np.array([c.train_tokens() for c in corpora], dtype=np.float64)
    shares = tokens ** CORPUS_BALANCE / (tokens ** CORPUS_BALANCE).sum()
    for corpus, share, total in zip(corpora, shares, tokens):
        lengths = np.array([corpus.dataset.records[i].length for i in corpus.split.train], dtype=np.float64)
        weights.append(share * lengths / total)
    out = np.concatenate(weights)
    return out / out.sum()
