"""Train/validation/test split by tune family.

Pieces that share a run of ``RUN_NOTES`` melody notes with the same intervals (a transposition-invariant
melodic run) are one family and go to the same side: Bach harmonised the same hymn tunes many times, and
folk collections hold variants of one tune, so a random split would leak and flatter the model.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

RUN_NOTES = 16
SPLIT_NAMES = ("train", "valid", "test")


@dataclass(frozen=True)
class Split:
    seed: int
    train: tuple[int, ...]
    valid: tuple[int, ...]
    test: tuple[int, ...]
    n_families: int
    n_grouped: int  # pieces that share a run with at least one other piece
    method: str = "melody family"  # or the method of a split read from the corpus's manifest ("chart family")

    def sizes(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in SPLIT_NAMES}

    def side_of(self) -> dict[int, str]:
        return {i: name for name in SPLIT_NAMES for i in getattr(self, name)}


def run_hashes(melody: np.ndarray, run_notes: int = RUN_NOTES) -> set[bytes]:
    """Hashes of every window of ``run_notes - 1`` consecutive intervals."""
    intervals = np.diff(np.asarray(melody, dtype=np.int16))
    width = run_notes - 1
    if len(intervals) < width:
        return set()
    windows = np.lib.stride_tricks.sliding_window_view(intervals, width)
    return {w.tobytes() for w in windows}


def families(melodies: list[np.ndarray], run_notes: int = RUN_NOTES) -> list[int]:
    """Family id (smallest member index) of each piece, by union-find over shared runs."""
    parent = list(range(len(melodies)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_owner: dict[bytes, int] = {}
    for i, melody in enumerate(melodies):
        for h in run_hashes(melody, run_notes):
            j = first_owner.setdefault(h, i)
            if j != i:
                a, b = root(i), root(j)
                parent[max(a, b)] = min(a, b)
    return [root(i) for i in range(len(melodies))]


def family_split(melodies: list[np.ndarray], keys: list[str], seed: int = 0,
                 valid_fraction: float = 0.1, test_fraction: float = 0.1) -> Split:
    """Deterministic split: families in an order fixed by ``seed`` and the pieces' ``keys`` (e.g. content
    hashes, so file order and names do not matter) fill test, then valid, then train."""
    n = len(melodies)
    family = families(melodies)
    members: dict[int, list[int]] = {}
    for i, f in enumerate(family):
        members.setdefault(f, []).append(i)

    def order(f: int) -> str:
        label = min(keys[i] for i in members[f])
        return hashlib.sha1(f"{seed}:{label}".encode()).hexdigest()

    sides: dict[str, list[int]] = {name: [] for name in SPLIT_NAMES}
    want = {"test": round(n * test_fraction), "valid": round(n * valid_fraction)}
    if n >= 3:  # every side gets at least one piece when there are enough
        want = {k: max(1, v) for k, v in want.items()}
    for f in sorted(members, key=order):
        side = next((s for s in ("test", "valid") if len(sides[s]) < want[s]), "train")
        sides[side] += members[f]
    grouped = sum(len(m) for m in members.values() if len(m) > 1)
    return Split(seed, *(tuple(sorted(sides[s])) for s in SPLIT_NAMES), n_families=len(members), n_grouped=grouped)


def split_dataset(dataset, seed: int = 0) -> Split:
    """The family split of a ``TokenDataset`` (keys are content hashes: renaming files changes nothing)."""
    melodies = [dataset.melody_of(i) for i in range(len(dataset))]
    return family_split(melodies, [r.sha1 for r in dataset.records], seed=seed)


def split_from_manifest(dataset, manifest_split: dict | None) -> Split | None:
    """The split a corpus folder's manifest already holds (file lists per side, as ``corpus split`` and
    ``corpus import mma`` write them), or None when it holds none.

    A curated split wins over the family split: MMA songs share their grooves with every song rendered
    from the same groove file, so only a split by chart keeps held-out music unheard. Files added to the
    folder after the split was written go to training (they were never anyone's held-out set)."""
    if not isinstance(manifest_split, dict) or not all(isinstance(manifest_split.get(s), list) for s in SPLIT_NAMES):
        return None
    side_of = {str(f): s for s in SPLIT_NAMES for f in manifest_split[s]}
    sides: dict[str, list[int]] = {s: [] for s in SPLIT_NAMES}
    for i, record in enumerate(dataset.records):
        sides[side_of.get(record.path, "train")].append(i)
    if not sides["train"]:
        return None
    seed = manifest_split.get("seed", 0)
    return Split(seed if isinstance(seed, int) else 0, *(tuple(sides[s]) for s in SPLIT_NAMES),
                 n_families=int(manifest_split.get("n_families", 0) or 0), n_grouped=int(manifest_split.get("n_grouped", 0) or 0),
                 method=str(manifest_split.get("method", "manifest")))


def split_json(dataset, split: Split) -> dict:
    files = {name: [dataset.records[i].path for i in getattr(split, name)] for name in SPLIT_NAMES}
    return {"seed": split.seed, "method": split.method, "run_notes": RUN_NOTES, "sizes": split.sizes(), "n_families": split.n_families,
            "n_grouped": split.n_grouped, **files}


def split_folder(path, seed: int = 0, **dataset_kwargs) -> dict:
    """Split a folder and write the split into its ``manifest.json`` (created if missing)."""
    import json
    from pathlib import Path

    from ..fsutil import atomic_write_json
    from .dataset import build_dataset

    dataset = build_dataset(path, **dataset_kwargs)
    result = split_json(dataset, split_dataset(dataset, seed))
    manifest_path = Path(path) / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"format": 1}
    manifest["split"] = result
    atomic_write_json(manifest_path, manifest)
    return {**result, "manifest": str(manifest_path)}
