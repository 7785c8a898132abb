"""tqdm progress bars for library calls that report ``progress(done, total)``."""
from __future__ import annotations

import contextlib

from tqdm import tqdm


@contextlib.contextmanager
def progress_bar(description: str, unit: str = "piece"):
    """Yield a ``progress(done, total)`` callback drawing a bar on stderr."""
    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=description, unit=unit, dynamic_ncols=True, leave=True)
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()
