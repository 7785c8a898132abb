"""What every corpus import shares: worker processes, one job a piece, the manifest checkpointed, a report."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ImportReport:
    written: int
    skipped_existing: int
    failed: list[dict]
    manifest_path: Path
    genres: dict[str, int] = field(default_factory=dict)  # pieces per genre, where the source has genres
    seconds: float | None = None


def unordered_map(function: Callable, jobs: list, workers: int) -> Iterator:
    """``function(job)`` for every job, in ``workers`` processes (in this one for 1), in the order they finish."""
    if workers <= 1 or len(jobs) <= 1:
        yield from map(function, jobs)
        return
    pool = ProcessPoolExecutor(workers)
    try:
        for future in as_completed([pool.submit(function, job) for job in jobs]):
            yield future.result()
    finally:  # on Ctrl-C or an error: drop the queued jobs instead of waiting for them all
        pool.shutdown(wait=True, cancel_futures=True)


CHECKPOINT_EVERY_PIECES = 100  # an import's manifest is rewritten this often, so an interrupted import resumes


def collect(function: Callable, jobs: list, workers: int, entries: list, failed: list, *, done_before: int, total: int,
            progress: Callable[[int, int], None] | None, checkpoint: Callable[[], object]):
    """Run an import's jobs: each result goes to ``failed`` (it has a "reason") or to ``entries``;
    ``progress(done, total)`` after each; ``checkpoint()`` (the manifest write) every
    ``CHECKPOINT_EVERY_PIECES`` results and once at the end, even when interrupted. Returns what the last
    checkpoint returned."""
    if progress:
        progress(done_before, total)
    try:
        for done, result in enumerate(unordered_map(function, jobs, workers), start=done_before + 1):
            (failed if "reason" in result else entries).append(result)
            if progress:
                progress(done, total)
            if done % CHECKPOINT_EVERY_PIECES == 0:
                checkpoint()
    finally:
        last = checkpoint()
    return last


def read_json_object(path: Path) -> dict:
    """The JSON object in ``path``; {} where there is none (no file, a torn write, not an object)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def previous_entries(manifest_path: Path) -> dict[str, dict]:
    """An earlier run's manifest entries by file name: what a rerun need not import again."""
    return {e["file"]: e for e in read_json_object(manifest_path).get("pieces", []) if "file" in e}

