"""Corpus imports in worker processes: one job a piece, results as they finish."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed


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
