"""Style bundles: ``style.json`` + ``model.safetensors`` in a folder, written atomically, loaded safely.

Loading never unpickles: weights are safetensors, metadata is JSON, and a folder holding anything that
could be a pickle is refused. The weights' SHA-256 is recorded in ``style.json`` and checked on load.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..errors import MidigenError
from ..fsutil import atomic_write_json
from ..model.config import ModelConfig, weight_shapes
from ..tokens.vocab import VOCAB
from .sidecar import SIDECAR_FILES

FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
META_FILE = "style.json"
ALLOWED_FILES = frozenset({META_FILE, WEIGHTS_FILE, "README.md", "LICENSE", "SOURCE.md", *SIDECAR_FILES})  # side files: ``sidecar``
PICKLE_SUFFIXES = frozenset({".pt", ".pth", ".pkl", ".pickle", ".bin", ".ckpt", ".joblib", ".npy", ".npz"})


@dataclass
class Bundle:
    path: Path
    meta: dict
    model: object  # a ``model.MusicTransformer``, or an ``npmodel.NumpyModel`` (backend="numpy")

    @property
    def name(self) -> str:
        return self.meta["name"]

    @property
    def weights_sha256(self) -> str:
        return self.meta["weights"]["sha256"]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_bundle(folder: Path, meta: dict, model, dtype=None) -> dict:
    """Write weights (``dtype``, fp16 by default: half the size, no measurable loss) and metadata."""
    import torch
    from safetensors.torch import save_file

    dtype = torch.float16 if dtype is None else dtype
    folder.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().to("cpu", dtype) for k, v in model.state_dict_for_save().items()}
    save_file(weights, str(folder / WEIGHTS_FILE))
    meta = {
        **meta,
        "format": FORMAT_VERSION,
        "midigen_version": __version__,
        "tokenizer": VOCAB.to_json(),
        "model": model.cfg.to_dict(),
        "params": model.num_params(),
        "weights": {"file": WEIGHTS_FILE, "dtype": str(dtype).replace("torch.", ""),
                    "sha256": sha256_file(folder / WEIGHTS_FILE)},
    }
    atomic_write_json(folder / META_FILE, meta)
    return meta


def install(meta: dict, model, target: Path) -> dict:
    """Write a bundle beside ``target`` and swap it in: an interrupted run leaves the old bundle whole.

    The swap is two renames (old -> ``.NAME.old``, new -> NAME); ``styles.find_style`` finishes a swap
    that was killed between them.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        meta = write_bundle(tmp, meta, model)
        swap_in(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta


def check_replaceable(target: Path) -> None:
    """Refuse to replace anything at ``target`` but a style bundle (it could be the user's music)."""
    if target.exists() and not (target / META_FILE).is_file():
        raise MidigenError(f"{target} exists and is not a style bundle; refusing to replace it (choose another "
                           "style name or --styles-dir)")


def swap_in(bundle: Path, target: Path) -> None:
    """Old bundle to ``.NAME.old``, new one to NAME; ``styles.find_style`` finishes a swap killed between."""
    check_replaceable(target)
    old = target.parent / f".{target.name}.old"
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(bundle, target)
    shutil.rmtree(old, ignore_errors=True)


def read_meta(folder: Path, *, older_vocab: bool = False) -> dict:
    """``style.json`` of a bundle folder, checked for format and vocabulary (``older_vocab``: also one
    whose vocabulary this one extends, for ``train`` to grow and fine-tune)."""
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise MidigenError(f"{folder}: unreadable {META_FILE}: {e}") from e
    if not isinstance(meta, dict):
        raise MidigenError(f"{folder}: {META_FILE} is not a JSON object")
    if meta.get("format") != FORMAT_VERSION:
        raise MidigenError(f"{folder}: bundle format {meta.get('format')!r} is not supported (this midigen reads {FORMAT_VERSION})")
    recorded = meta.get("tokenizer")
    if recorded != VOCAB.to_json() and not (older_vocab and isinstance(recorded, dict) and VOCAB.extends(recorded)):
        if isinstance(recorded, dict) and VOCAB.extends(recorded):
            raise MidigenError(f"{folder}: the bundle was trained on an older token vocabulary (format "
                               f"{recorded.get('format')}): fine-tune it forward with `midigen train --from {folder.name}`")
        raise MidigenError(f"{folder}: the bundle was trained on another token vocabulary ({recorded})")
    return meta


MAX_CONTEXT_TOKENS = 1 << 16  # style.json may not ask for rotary tables longer than this


def check_weight_shapes(weights_path: Path, config: ModelConfig) -> None:
    """Every tensor of the weights file has the shape ``config`` implies (read from headers only, so a
    hostile ``style.json`` cannot make loading allocate anything big)."""
    from safetensors import safe_open

    if config.max_seq_len > MAX_CONTEXT_TOKENS:
        raise MidigenError(f"{META_FILE} asks for a {config.max_seq_len}-token context (at most {MAX_CONTEXT_TOKENS})")
    mismatch = MidigenError(f"the model described in {META_FILE} does not match {WEIGHTS_FILE}")
    with safe_open(str(weights_path), framework="np") as f:
        found = {key: tuple(f.get_slice(key).get_shape()) for key in f.keys()}
    layers = {key.split(".")[1] for key in found if key.startswith("blocks.")}
    if found.get("tok_emb.weight") != (config.vocab_size, config.n_embd) or len(layers) != config.n_layer:
        raise mismatch  # cheap checks first: a million claimed layers would be a million expected entries
    if found != weight_shapes(config):
        raise mismatch


def load_bundle(folder: str | Path, device: str = "cpu", *, older_vocab: bool = False, backend: str = "torch") -> Bundle:
    """Load and verify a bundle; MidigenError naming the folder and the problem.

    ``backend="numpy"``: the model as an ``npmodel.NumpyModel`` (CPU sampling without importing PyTorch).
    ``older_vocab``: accept a bundle of an older vocabulary this one extends (its model keeps its own,
    smaller, vocabulary), for ``train`` to grow and fine-tune.
    """
    from safetensors import SafetensorError

    folder = Path(folder)
    for child in folder.iterdir():
        if child.suffix.lower() in PICKLE_SUFFIXES or child.name not in ALLOWED_FILES:
            raise MidigenError(f"{folder}: unexpected file {child.name!r} in a style bundle (refusing to load it)")
    meta = read_meta(folder, older_vocab=older_vocab)
    weights_path = folder / WEIGHTS_FILE
    if not weights_path.is_file():
        raise MidigenError(f"{folder}: {WEIGHTS_FILE} is missing")
    expected = (meta.get("weights") or {}).get("sha256")
    if sha256_file(weights_path) != expected:
        raise MidigenError(f"{folder}: {WEIGHTS_FILE} does not match the SHA-256 in {META_FILE} (corrupt or altered)")
    try:
        config = ModelConfig.from_dict(meta["model"])
        check_weight_shapes(weights_path, config)  # before allocating a model a hostile style.json could make huge
        model = _numpy_model(config, weights_path) if backend == "numpy" else _torch_model(config, weights_path, device)
    except MidigenError as e:
        raise MidigenError(f"{folder}: {e}") from e
    except (KeyError, ValueError, SafetensorError) as e:
        raise MidigenError(f"{folder}: {e}") from e
    return Bundle(folder, meta, model)


def load_for_sampling(folder: str | Path, device: str = "cpu") -> Bundle:
    """A bundle to compose with: its model in numpy on a CPU (see ``sample``), in PyTorch on a GPU."""
    return load_bundle(folder, device, backend="numpy" if str(device) == "cpu" else "torch")


def _torch_model(config: ModelConfig, weights_path: Path, device):
    from safetensors.torch import load_file

    from ..model.transformer import MusicTransformer

    model = MusicTransformer(config)
    model.load_weights({k: v.float() for k, v in load_file(str(weights_path)).items()})
    return model.to(device).eval()


def _numpy_model(config: ModelConfig, weights_path: Path):
    from safetensors.numpy import load_file

    from ..model.numpy_decoder import NumpyModel

    return NumpyModel(config, load_file(str(weights_path)))
