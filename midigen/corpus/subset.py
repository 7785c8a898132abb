"""A corpus folder of some genres of another: ``midigen corpus subset corpora/mma corpora/mma-latin --genres latin``.

MMA's import renders every genre into one folder (one render, one chart split). The band ``base`` and the
band styles train on genre groups of it, each with its own Style token, and a style fine-tuned on
``corpora/mma-latin`` finds the base's slot by that folder's collection name. A subset hard-links the
files (a copy where links are impossible), keeps each file's manifest entry (provenance and licence) and
keeps the source's held-out split restricted to the chosen files, so a piece held out of the whole corpus
is held out of every subset.
"""
from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import MidigenError
from ..fsutil import atomic_write_json
from .split import SPLIT_NAMES


@dataclass(frozen=True)
class SubsetReport:
    pieces: int
    by_genre: dict[str, int]
    sizes: dict[str, int]
    manifest_path: Path


def _manifest(src: Path) -> dict:
    path = src / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise MidigenError(f"{src}: no manifest.json (make it with `midigen corpus import`)") from e
    except (OSError, ValueError) as e:
        raise MidigenError(f"{path}: not a readable manifest ({e})") from e
    if not isinstance(manifest, dict) or not isinstance(manifest.get("pieces"), list):
        raise MidigenError(f"{path}: lists no pieces")
    return manifest


def _link(src: Path, dst: Path) -> None:
    if dst.exists():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed: copy
        shutil.copy2(src, dst)


def subset_corpus(src: str | Path, dst: str | Path, genres: tuple[str, ...], name: str | None = None) -> SubsetReport:
    """Write ``dst`` with the pieces of ``src`` whose manifest genre is one of ``genres``."""
    src, dst = Path(src), Path(dst)
    if src.resolve() == dst.resolve():
        raise MidigenError(f"{dst}: the subset must go to another folder than its source")
    manifest = _manifest(src)
    pieces = [p for p in manifest["pieces"] if isinstance(p, dict) and isinstance(p.get("file"), str)]
    known = sorted({str(p.get("genre")) for p in pieces})
    unknown = [g for g in genres if g not in known]
    if not genres or unknown:
        raise MidigenError(f"{src}: no genre {', '.join(unknown) or '(none given)'}; its genres are {', '.join(known)}")
    chosen = [p for p in pieces if p.get("genre") in genres]
    dst.mkdir(parents=True, exist_ok=True)
    for piece in chosen:
        if not (src / piece["file"]).is_file():
            raise MidigenError(f"{src / piece['file']}: listed in the manifest but missing (re-run the import)")
        _link(src / piece["file"], dst / piece["file"])
    files = {p["file"] for p in chosen}
    out = {k: v for k, v in manifest.items() if k not in ("pieces", "split", "failed", "not_imported")}
    out.update(collection=name or dst.resolve().name, pieces=chosen, genres=list(genres),
               subset_of={"folder": str(src), "collection": manifest.get("collection"), "genres": list(genres)})
    split = manifest.get("split")
    if isinstance(split, dict) and all(isinstance(split.get(s), list) for s in SPLIT_NAMES):
        kept = {s: [f for f in split[s] if f in files] for s in SPLIT_NAMES}
        out["split"] = {**{k: v for k, v in split.items() if k not in (*SPLIT_NAMES, "by_genre", "sizes")}, **kept,
                        "sizes": {s: len(kept[s]) for s in SPLIT_NAMES},
                        "by_genre": {g: v for g, v in (split.get("by_genre") or {}).items() if g in genres}}
    atomic_write_json(dst / "manifest.json", out)
    return SubsetReport(len(chosen), dict(Counter(p["genre"] for p in chosen)),
                        out.get("split", {}).get("sizes", {}), dst / "manifest.json")
