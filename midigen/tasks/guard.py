"""``--max-copy`` for every operation: the request's setting resolved against the style's copy index.

``max_copy`` is a number of notes N (no run of more than N notes of one part copied from the training
pieces), ``"auto"`` (the default: the N the index records for the style, chosen from its held-out real
pieces' own copy rate when the index was built) or None (off). The index is a side file of the bundle
(``styles.sidecar``): shipped in it, or built from the style's corpus into the cache at first use
(``evalsuite.copyindex.prepare_copy_index``; ``midigen`` commands do this before sampling). Where there
is none, an explicit N is refused and ``"auto"`` samples unguarded, saying so in each take's provenance
(``max_copy_note``); the CLI repeats it as a warning.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import MidigenError
from ..sampling.constraints import Constraints, SamplingState
from ..sampling.copyguard import CopyGuardState, RunIndex
from ..styles.bundle import Bundle
from ..styles.sidecar import COPY_INDEX, COPY_INDEX_ARRAYS, Sidecar, find_sidecar, unpack_copy_index

AUTO = "auto"
MIN_MAX_COPY, MAX_MAX_COPY = 2, 1024
_INDEXES: dict[tuple, RunIndex] = {}  # (file, its mtime and size, N) -> index: eval composes hundreds of takes
_KEEP_INDEXES = 4


def check_max_copy(value) -> None:
    if value is None or value == AUTO:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_MAX_COPY <= value <= MAX_MAX_COPY:
        raise MidigenError(f"--max-copy must be a number of notes from {MIN_MAX_COPY} to {MAX_MAX_COPY}, "
                           f"'auto' or 'off', got {value!r}")


def parse_max_copy(text: str | None) -> int | str | None:
    """"12" -> 12, "auto" (or None: not given) -> "auto", "off" -> None."""
    if text is None or text.strip().lower() == AUTO:
        return AUTO
    if text.strip().lower() in ("off", "none", "no"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise MidigenError(f"--max-copy takes a number of notes, 'auto' or 'off', not {text!r}") from None
    check_max_copy(value)
    return value


def find_copy_index(bundle_path, meta: dict) -> Sidecar | None:
    return find_sidecar(bundle_path, meta, COPY_INDEX, COPY_INDEX_ARRAYS)


def missing_index_reason(name: str) -> str:
    return f"style {name} has no copy index (none shipped, none built from its corpus here)"


@dataclass
class CopyGuard:
    """What one request samples under: the index (None: unguarded) and what the takes' provenance records."""

    index: RunIndex | None
    record: dict
    states: list[CopyGuardState] = field(default_factory=list)  # one per row, in the order they were made

    def wrap(self, new_state: Callable[[Constraints], SamplingState]) -> Callable[[Constraints], SamplingState]:
        """``new_state`` with the guard as the outermost layer (it sees what locks force, and gives way to it)."""
        if self.index is None:
            return new_state

        def make(constraints: Constraints) -> SamplingState:
            state = CopyGuardState(new_state(constraints), self.index)
            self.states.append(state)
            return state

        return make

    def take_record(self, row: int) -> dict:
        """The provenance of row ``row`` (0-based): the setting, and how often the guard had to give way."""
        gave_way = self.states[row].gave_way if row < len(self.states) else 0
        return {**self.record, **({"max_copy_gave_way": gave_way} if gave_way else {})}


def copy_guard(bundle: Bundle, max_copy) -> CopyGuard:
    """The guard a request's ``max_copy`` asks for on this bundle (see the module's docstring)."""
    check_max_copy(max_copy)
    if max_copy is None:
        return CopyGuard(None, {"max_copy": None})
    sidecar = find_copy_index(bundle.path, bundle.meta)
    if sidecar is None:
        if max_copy == AUTO:
            return CopyGuard(None, {"max_copy": None, "max_copy_note": "off: " + missing_index_reason(bundle.name)})
        raise MidigenError(f"--max-copy {max_copy}: {missing_index_reason(bundle.name)}")
    default = sidecar.info.get("default_max_copy")
    if max_copy == AUTO and not (isinstance(default, int) and MIN_MAX_COPY <= default <= MAX_MAX_COPY):
        raise MidigenError(f"{sidecar.path}: the copy index names no usable default N ({default!r})")
    n = int(default) if max_copy == AUTO else int(max_copy)
    stat = sidecar.path.stat()
    key = (str(sidecar.path), stat.st_mtime_ns, stat.st_size, n)
    if key not in _INDEXES:
        codes, lengths = unpack_copy_index(sidecar)
        while len(_INDEXES) >= _KEEP_INDEXES:
            _INDEXES.pop(next(iter(_INDEXES)))
        _INDEXES[key] = RunIndex.from_codes(codes, lengths, n)
    return CopyGuard(_INDEXES[key], {"max_copy": n})


def has_copy_index(style: str, styles_dir=None) -> bool:
    """Whether the named style's copy index is at hand (shipped or cached), without loading the bundle."""
    from ..styles.bundle import read_meta
    from ..styles.registry import find_style

    folder = find_style(style, styles_dir)
    return find_copy_index(folder, read_meta(folder)) is not None
