"""The skeleton the four operations share: sampling, provenance, takes and the files they are written to.

Each operation builds only what is its own: the prompt, the constraints, the state that samples under
them (a ``sampling.locks`` state where notes are fixed in advance), how a sampled row becomes a piece,
and the values it resolved for the provenance; ``sample_takes`` does the rest alike for all four. Takes
are written one file per take (``write_take_files``), every path checked before the first is written;
the operations differ only in a take's bytes: a new MIDI file, or the user's own file patched.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import MidigenError
from ..fsutil import atomic_write_bytes, check_output_path
from ..midi.patch import SourceMidi
from ..music.keys import KEY_NAMES, decide_piece_key
from ..music.piece import Piece
from ..sampling.constraints import ConstrainedState, Constraints, SamplingState
from ..sampling.sampler import sample_prompted
from ..styles.bundle import Bundle, load_for_sampling
from ..styles.registry import find_style
from .guard import copy_guard
from .request import SamplingRequest


@dataclass(frozen=True)
class Take:
    piece: Piece
    seed: int
    provenance: dict
    likelihood: tuple[float, int] = (0.0, 0)  # bits of the tokens sampled under the model, notes sampled

    @property
    def bits_per_note(self) -> float | None:
        bits, notes = self.likelihood
        return bits / notes if notes else None

    def provenance_text(self) -> str:
        """The text meta event every written take carries, from which it can be reproduced."""
        return "midigen " + json.dumps(self.provenance, sort_keys=True, separators=(",", ":"))


def sampling_bundle(style: str | Bundle, styles_dir=None, device: str = "cpu") -> Bundle:
    """``style`` as given (a loaded bundle), or the named style loaded to sample with on ``device``."""
    return style if isinstance(style, Bundle) else load_for_sampling(find_style(style, styles_dir), device)


def check_composable(bundle: Bundle) -> None:
    """MidigenError for a multi-style base model: it is for ``midigen train`` to fine-tune, not to write in."""
    if bundle.meta.get("corpora"):
        labels = ", ".join(c["label"] for c in bundle.meta["corpora"])
        raise MidigenError(f"'{bundle.name}' is a multi-style base model ({labels}) for `midigen train` to fine-tune, "
                           "not a style to compose in: pick one from `midigen styles list`")


def style_slot(bundle: Bundle) -> int | None:
    """The Style token the bundle was trained with (None: none)."""
    return bundle.meta.get("training", {}).get("style_slot")


def drum_tracks(tracks) -> frozenset[int]:
    """The indices of the drum tracks (or parts) among ``tracks``: their pitches name drums, not notes."""
    return frozenset(i for i, t in enumerate(tracks) if t.is_drum)


def key_name(key: int | None) -> str | None:
    return None if key is None else KEY_NAMES[key]


def provenance(bundle: Bundle, request: SamplingRequest, variation: int, **resolved) -> dict:
    """What a take's text event records: enough to make the same take again."""
    return {"midigen": __version__, "style": bundle.name, "bundle_sha256": bundle.weights_sha256[:16],
            "variation": variation, **request.provenance_fields(), **resolved}


def sample_takes(bundle: Bundle, request: SamplingRequest, prompt: list[int], constraints: Constraints,
                 to_piece: Callable[[int, np.ndarray], Piece], *, record: dict,
                 new_state: Callable[[Constraints], SamplingState] = ConstrainedState, device: str = "cpu") -> list[Take]:
    """``request.variations`` takes sampled in one batch after ``prompt``, each row under a fresh
    ``new_state(constraints)`` (inside the ``--max-copy`` guard, ``guard``); ``to_piece(variation, row)``
    makes a row (prompt included) the take's piece, and ``record`` adds the values the operation resolved
    to each take's provenance."""
    constraints.check()
    guard = copy_guard(bundle, request.max_copy)
    make = guard.wrap(new_state)
    likelihood = np.zeros((request.variations, 2))
    rows = sample_prompted(bundle.model, prompt, lambda: make(constraints), request.variations, request.params(),
                           seed=request.seed, device=device, likelihood=likelihood)
    return [Take(to_piece(i, row), request.seed, provenance(bundle, request, i, **record, **guard.take_record(i - 1)),
                 (float(likelihood[i - 1, 0]), int(likelihood[i - 1, 1])))
            for i, row in enumerate(rows, start=1)]


def input_key(piece: Piece, key: int | None) -> tuple[int | None, str]:
    """(key, where it came from): ``--key``, else decided as the corpus reader decides a training piece's
    key (``keys.decide_piece_key``: the file's signature unless its notes contradict it)."""
    if key is not None:
        return key, "--key"
    return decide_piece_key(piece, piece.key)


def sample_for_file(sample_piece: Callable[..., list[Take]], style: str | Bundle, source: SourceMidi,
                    request: SamplingRequest, *, styles_dir=None, device: str = "cpu") -> tuple[SourceMidi, list[Take]]:
    """``sample_piece(bundle, piece, request, source=…, device=…)`` on the user's file, once it is checked:
    the bundle is loaded only for a file the command can write into."""
    bundle = sampling_bundle(style, styles_dir, device)
    return source, sample_piece(bundle, source.piece, request, source=source.provenance(), device=device)


def output_paths(out: str | Path, count: int) -> list[Path]:
    """``out.mid`` for one take; ``out-1.mid`` ... ``out-K.mid`` for K variations."""
    out = Path(out)
    if count == 1:
        return [out]
    suffix = out.suffix or ".mid"
    return [out.with_name(f"{out.stem}-{i}{suffix}") for i in range(1, count + 1)]


def check_outputs(paths: list[Path], force: bool) -> None:
    """MidigenError unless every path can be written: checked up front, so no sampling is wasted."""
    for path in paths:
        if path.exists() and not force:
            raise MidigenError(f"{path} exists (use --force to overwrite)")
        check_output_path(path)


def write_take_files(takes: list[Take], out: str | Path, bytes_of: Callable[[Take], bytes], *,
                     force: bool = False) -> list[Path]:
    """Each take's ``bytes_of(take)`` to its own file (``output_paths``); the paths written."""
    paths = output_paths(out, len(takes))
    check_outputs(paths, force)
    for take, path in zip(takes, paths):
        atomic_write_bytes(path, bytes_of(take))
    return paths
