"""The model's shape: ``ModelConfig``, the named sizes, and every weight's shape, without PyTorch.

Kept apart from ``model`` so that what only reads a bundle (``bundle``, the numpy decoder ``npmodel``)
never has to import PyTorch.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class ModelConfig:
    """The shape of a :class:`MusicTransformer`; stored as JSON beside its weights."""

    vocab_size: int
    n_layer: int
    n_head: int
    n_embd: int
    max_seq_len: int
    dropout: float = 0.1
    rope_base: float = 10000.0

    def __post_init__(self) -> None:
        for name in ("vocab_size", "n_layer", "n_head", "n_embd", "max_seq_len"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"ModelConfig.{name} must be a positive integer, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"ModelConfig.n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if self.head_dim % 2:
            raise ValueError(f"ModelConfig head dimension n_embd/n_head = {self.head_dim} must be even for RoPE")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"ModelConfig.dropout must be in [0, 1), got {self.dropout!r}")
        if not self.rope_base > 1.0:
            raise ValueError(f"ModelConfig.rope_base must be greater than 1, got {self.rope_base!r}")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        """Rebuild a config from :meth:`to_dict`; unknown keys are an error, not silently dropped."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown ModelConfig keys: {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError as e:  # a required key is missing
            raise ValueError(f"incomplete ModelConfig: {e}") from e


# Named sizes for a vocabulary of ~600 tokens and sequences of 1024 (parameter counts at those values).
SIZES: dict[str, dict[str, int]] = {
    "tiny": {"n_layer": 1, "n_head": 2, "n_embd": 32},    # 32k: for tests, trains in seconds
    "small": {"n_layer": 4, "n_head": 4, "n_embd": 256},  # 3.30M: the CPU default
    "base": {"n_layer": 6, "n_head": 8, "n_embd": 512},   # 19.2M: for a GPU
}


def config_for_size(name: str, vocab_size: int, max_seq_len: int, dropout: float | None = None) -> ModelConfig:
    """The config of a named size from :data:`SIZES` for this vocabulary and context length."""
    if name not in SIZES:
        raise ValueError(f"unknown model size {name!r}; choose one of {', '.join(SIZES)}")
    extra = {} if dropout is None else {"dropout": dropout}
    return ModelConfig(vocab_size=vocab_size, max_seq_len=max_seq_len, **SIZES[name], **extra)


def weight_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor of a saved model (``MusicTransformer.state_dict_for_save``) and its shape."""
    C = cfg.n_embd
    shapes = {"tok_emb.weight": (cfg.vocab_size, C)}
    for i in range(cfg.n_layer):
        shapes.update({
            f"blocks.{i}.ln1.weight": (C,), f"blocks.{i}.ln1.bias": (C,),
            f"blocks.{i}.qkv.weight": (3 * C, C), f"blocks.{i}.proj.weight": (C, C),
            f"blocks.{i}.ln2.weight": (C,), f"blocks.{i}.ln2.bias": (C,),
            f"blocks.{i}.fc.weight": (4 * C, C), f"blocks.{i}.fc_proj.weight": (C, 4 * C),
        })
    shapes.update({"ln_f.weight": (C,), "ln_f.bias": (C,)})
    return shapes
