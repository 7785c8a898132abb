"""What every benchmark shares: the corpora it runs on, machine facts, and result files."""
from __future__ import annotations

import os
import platform
import time
from pathlib import Path

from midigen.fsutil import atomic_write_json

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CORPORA = Path(os.environ.get("MIDIGEN_BENCH_CORPORA", ROOT / "corpora"))


def corpus_dir(collection: str, limit: int | None = None) -> Path:
    """A music21 collection as MIDI files, imported with midigen's own command the first time."""
    folder = CORPORA / collection
    if not (folder / "manifest.json").exists() or limit:
        from midigen.corpus.music21_import import import_collection

        import_collection(collection, folder, workers=os.cpu_count() or 2, limit=limit)
    return folder


def midi_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.mid"))


def machine() -> dict:
    import torch

    return {"python": platform.python_version(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "platform": platform.platform(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def save(name: str, result: dict, path: Path | None = None) -> Path:
    """Write a benchmark's result with its date and machine, to ``path`` (default bench/results/NAME.json)."""
    path = RESULTS / f"{name}.json" if path is None else Path(path)
    atomic_write_json(path, {"benchmark": name, "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), **result})
    return path


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
