"""A bundle's side files: what is derived from its corpus once and then read at every take, never pickled.

Two are defined: the *copy index* (``--max-copy``: the training pieces' voices as pair codes) and the
*style fit* (``--rank``: a real-vs-generated classifier and the real pieces' features). Each is a
safetensors file of numpy arrays plus one JSON metadata entry that names the bundle weights it belongs to
(``bundle_sha256``) and the file's format. It is found in the bundle folder (a shipped style carries
it, so it works without its corpus) or in the cache folder (``$MIDIGEN_CACHE``, else
``~/.cache/midigen``: the token cache's folder), keyed by the weights' SHA-256; a file made for other
weights is ignored. Building one needs the corpus, which is ``evalsuite``'s business; this module only
reads, checks and writes them.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MidigenError
from ..fsutil import atomic_write_bytes

SIDECAR_FORMAT = 1
MAX_SIDECAR_BYTES = 64 * 2**20
COPY_INDEX = "copy-index.safetensors"
STYLE_FIT = "style-fit.safetensors"
SIDECAR_FILES = (COPY_INDEX, STYLE_FIT)
_META_KEY = "midigen"


def cache_root() -> Path:
    """The folder ``corpus.dataset.default_cache_dir`` names (the same rule; styles may not import corpus)."""
    env = os.environ.get("MIDIGEN_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "midigen"


@dataclass(frozen=True)
class Sidecar:
    path: Path
    arrays: dict[str, np.ndarray]
    info: dict  # the JSON metadata: format, bundle_sha256 and what the builder recorded
    where: str = "cache"  # "bundle": shipped in the bundle folder; "cache": built here at first use


def weights_sha(meta: dict) -> str:
    return str((meta.get("weights") or {}).get("sha256", ""))


def cache_path(name: str, bundle_sha256: str) -> Path:
    """Where the cached side file ``name`` of the bundle with these weights lives."""
    return cache_root() / "sidecars" / f"{bundle_sha256[:24]}-{name}"


def read_sidecar(path: Path, bundle_sha256: str, expected: dict[str, tuple[str, int]]) -> Sidecar | None:
    """The side file at ``path``: None when there is none or it was made for other weights; MidigenError
    when it is not a side file of the expected arrays (``{name: (dtype, ndim)}``)."""
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        return None
    if path.stat().st_size > MAX_SIDECAR_BYTES:
        raise MidigenError(f"{path}: larger than {MAX_SIDECAR_BYTES >> 20} MB, not a side file midigen wrote")
    try:
        with safe_open(str(path), framework="np") as f:
            info = json.loads((f.metadata() or {}).get(_META_KEY, "null"))
            if not isinstance(info, dict) or info.get("format") != SIDECAR_FORMAT:
                raise MidigenError(f"{path}: not a side file of format {SIDECAR_FORMAT}")
            if info.get("bundle_sha256") != bundle_sha256:
                return None
            if set(f.keys()) != set(expected):
                raise MidigenError(f"{path}: holds {sorted(f.keys())}, expected {sorted(expected)}")
            arrays = {name: f.get_tensor(name) for name in expected}
    except (SafetensorError, OSError, ValueError) as e:
        raise MidigenError(f"{path}: unreadable side file ({e})") from e
    for name, (dtype, ndim) in expected.items():
        if arrays[name].dtype != np.dtype(dtype) or arrays[name].ndim != ndim:
            raise MidigenError(f"{path}: {name} is {arrays[name].dtype} with {arrays[name].ndim} dimensions, "
                               f"expected {dtype} with {ndim}")
    return Sidecar(path, arrays, info)


def find_sidecar(bundle_path: Path, meta: dict, name: str, expected: dict[str, tuple[str, int]]) -> Sidecar | None:
    """The bundle's own side file ``name`` if it holds one for its weights, else the cached one, else None."""
    sha = weights_sha(meta)
    for where, path in (("bundle", Path(bundle_path) / name), ("cache", cache_path(name, sha))):
        found = read_sidecar(path, sha, expected)
        if found is not None:
            return Sidecar(found.path, found.arrays, found.info, where)
    return None


def write_sidecar(path: Path, arrays: dict[str, np.ndarray], info: dict) -> Path:
    """Write a side file atomically; ``info`` must name ``bundle_sha256``."""
    from safetensors.numpy import save

    if not info.get("bundle_sha256"):
        raise ValueError("a side file names the bundle weights it belongs to")
    metadata = {_META_KEY: json.dumps({**info, "format": SIDECAR_FORMAT}, sort_keys=True)}
    atomic_write_bytes(path, save({k: np.ascontiguousarray(v) for k, v in arrays.items()}, metadata=metadata))
    return path


COPY_INDEX_ARRAYS = {"table": ("int32", 1), "codes": ("uint16", 1), "voice_lengths": ("int32", 1)}
STYLE_FIT_ARRAYS = {"mean": ("float64", 1), "scale": ("float64", 1), "weights": ("float64", 2),  # ``evalsuite.rank``
                    "real_features": ("float32", 2), "widths": ("int32", 1), "intra": ("float64", 1),
                    "norm_mean": ("float64", 1), "norm_std": ("float64", 1)}


def side_files(bundle_path: Path, meta: dict) -> str:
    """One line for ``styles show``: where the copy index and the style fit come from."""
    def where(name: str, expected: dict) -> Sidecar | None:
        try:
            return find_sidecar(bundle_path, meta, name, expected)
        except MidigenError:
            return None

    index, fit = where(COPY_INDEX, COPY_INDEX_ARRAYS), where(STYLE_FIT, STYLE_FIT_ARRAYS)
    copy = (f"copy index {'shipped' if index.where == 'bundle' else 'cached'} (--max-copy auto = "
            f"{index.info.get('default_max_copy')} notes)" if index else "no copy index yet (built from the corpus at first use)")
    return f"side files: {copy}; " + (f"style fit for --rank {'shipped' if fit.where == 'bundle' else 'cached'}" if fit
                                      else "no style fit for --rank yet (built from the corpus at first use)")


def pack_copy_index(codes: np.ndarray, voice_lengths: np.ndarray) -> dict[str, np.ndarray]:
    """The training voices' pair codes as a table of the distinct codes and a uint16 index into it (a pair
    code has at most 255 intervals x 52 durations = 13,260 values, so the index always fits)."""
    table, inverse = np.unique(np.asarray(codes, dtype=np.int64), return_inverse=True)
    if len(table) > np.iinfo(np.uint16).max + 1:
        raise ValueError(f"{len(table)} distinct pair codes do not fit a uint16 index")
    return {"table": table.astype(np.int32), "codes": inverse.astype(np.uint16).ravel(),
            "voice_lengths": np.asarray(voice_lengths, dtype=np.int32)}


def unpack_copy_index(sidecar: Sidecar) -> tuple[np.ndarray, np.ndarray]:
    """(codes, voice lengths) of a copy index; MidigenError if they do not add up."""
    table, index, lengths = (sidecar.arrays[k] for k in COPY_INDEX_ARRAYS)
    if (len(index) and int(index.max()) >= len(table)) or int(lengths.astype(np.int64).sum()) != len(index) or (lengths < 0).any():
        raise MidigenError(f"{sidecar.path}: the copy index's arrays do not add up (corrupt file)")
    return table.astype(np.int64)[index], lengths.astype(np.int64)
