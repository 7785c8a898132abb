"""The one domain error midigen raises for bad input, and the helpers that phrase it."""
from __future__ import annotations

from pathlib import Path


class MidigenError(Exception):
    """A problem with the user's input or environment, phrased as one line for the user.

    Every parser or loader failure is wrapped in this (``raise MidigenError(...) from e``) so
    the CLI can print ``Error: <message>`` without a traceback.
    """


def file_error(path: str | Path, problem: str) -> MidigenError:
    """Build the error for a bad input file: ``<path>: <problem>`` on one line."""
    one_line = " ".join(str(problem).split())
    return MidigenError(f"{path}: {one_line}")
