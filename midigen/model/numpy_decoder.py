"""The model's inference in numpy: sampling on a CPU without importing PyTorch.

``import torch`` alone takes 1-1.5 s on a laptop-class CPU, longer than writing 16 bars; and at batch 1
a decoding step is a chain of small matrix-vector products where PyTorch's per-op dispatch costs as much
as the arithmetic. ``NumpyModel`` is ``model.MusicTransformer``'s maths for inference only (pre-norm
blocks, rotary embeddings on q and k, causal attention, tanh-GELU MLP, tied output embedding), with the
same ``new_cache`` / ``prefill`` / ``decode_step`` interface over numpy arrays, so ``sample`` drives
either. ``tests/test_npmodel.py`` holds it to the PyTorch model's logits.

Weights are float32 (the bundle's fp16 values, widened exactly); matrices are stored transposed,
(in, out), so every projection is ``x @ w``.
"""
from __future__ import annotations

import numpy as np

from .config import ModelConfig

LAYER_NORM_EPS = 1e-5  # torch.nn.LayerNorm's default
_GELU_C = np.float32(np.sqrt(2.0 / np.pi))
_LAYER_KEYS = ("ln1.weight", "ln1.bias", "qkv.weight", "proj.weight", "ln2.weight", "ln2.bias", "fc.weight", "fc_proj.weight")
_MATRICES = frozenset({"qkv.weight", "proj.weight", "fc.weight", "fc_proj.weight"})  # stored (in, out)


class NumpyCache:
    """Keys and values of the positions fed so far: keys (n_layer, B, n_head, head_dim, max_len), values
    (n_layer, B, n_head, max_len, head_dim). Keys are stored transposed so that ``q @ keys[..., :end]``
    is a BLAS product on a view; a transposed view of (..., max_len, head_dim) keys made numpy copy them
    every step (4 MB a layer at batch 8)."""

    def __init__(self, cfg: ModelConfig, batch_size: int, max_len: int):
        self.keys = np.zeros((cfg.n_layer, batch_size, cfg.n_head, cfg.head_dim, max_len), dtype=np.float32)
        self.values = np.zeros((cfg.n_layer, batch_size, cfg.n_head, max_len, cfg.head_dim), dtype=np.float32)
        self.length = 0

    @property
    def batch_size(self) -> int:
        return self.keys.shape[1]

    @property
    def max_len(self) -> int:
        return self.keys.shape[4]


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    n = np.float32(1.0 / x.shape[-1])  # np.add.reduce, not .mean(): .mean's Python layer costs more here than the sum
    centred = x - np.add.reduce(x, axis=-1, keepdims=True) * n
    variance = np.add.reduce(centred * centred, axis=-1, keepdims=True) * n
    return centred * (weight / np.sqrt(variance + np.float32(LAYER_NORM_EPS))) + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(_GELU_C * (x + np.float32(0.044715) * x * x * x)))


class NumpyModel:
    """Inference-only ``MusicTransformer`` over numpy arrays (see the module doc)."""

    takes_numpy = True  # ``sample`` feeds it numpy ids and reads numpy logits

    def __init__(self, cfg: ModelConfig, weights: dict[str, np.ndarray]):
        def w(name: str, transpose: bool = False) -> np.ndarray:
            array = np.asarray(weights[name], dtype=np.float32)
            return np.ascontiguousarray(array.T if transpose else array)

        self.cfg = cfg
        self.emb = w("tok_emb.weight")  # (V, C): embedding rows, and (transposed) the output projection
        self.out = np.ascontiguousarray(self.emb.T)  # (C, V)
        self.layers = [tuple(w(f"blocks.{i}.{name}", transpose=name in _MATRICES) for name in _LAYER_KEYS)
                       for i in range(cfg.n_layer)]
        self.ln_f = (w("ln_f.weight"), w("ln_f.bias"))
        half = cfg.head_dim // 2
        inv_freq = cfg.rope_base ** (-np.arange(half, dtype=np.float64) / half)
        angles = np.outer(np.arange(cfg.max_seq_len, dtype=np.float64), inv_freq)  # (T, D/2)
        self.rope = np.exp(1j * angles).astype(np.complex64)  # pairs (even, odd) rotate as complex numbers

    @classmethod
    def from_torch(cls, model) -> NumpyModel:
        """The numpy twin of a ``MusicTransformer`` (same weights, float32)."""
        return cls(model.cfg, {k: v.detach().float().cpu().numpy() for k, v in model.state_dict_for_save().items()})

    def new_cache(self, batch_size: int, max_len: int | None = None) -> NumpyCache:
        max_len = self.cfg.max_seq_len if max_len is None else max_len
        if not 0 < max_len <= self.cfg.max_seq_len:
            raise ValueError(f"cache length must be in 1..{self.cfg.max_seq_len}, got {max_len}")
        return NumpyCache(self.cfg, batch_size, max_len)

    def _rotate(self, x: np.ndarray, start: int) -> np.ndarray:
        """RoPE on x (B, H, T, D) at positions start..start+T-1: each (even, odd) pair times e^(i angle)."""
        pairs = np.ascontiguousarray(x).view(np.complex64)  # (B, H, T, D/2)
        return (pairs * self.rope[start:start + x.shape[2]]).view(np.float32)

    def _forward(self, idx: np.ndarray, cache: NumpyCache) -> np.ndarray:
        """Feed idx (B, T) after the cache's positions; logits (B, V) of the last position."""
        B, T = idx.shape
        start = cache.length
        if B != cache.batch_size:
            raise ValueError(f"batch of {B} rows does not match the cache's {cache.batch_size}")
        if start + T > cache.max_len:
            raise ValueError(f"cache holds {cache.max_len} positions; {start} used, {T} more do not fit")
        H, D = self.cfg.n_head, self.cfg.head_dim
        end = start + T
        scale = np.float32(1.0 / np.sqrt(D))
        x = self.emb[idx.reshape(-1)]  # (B*T, C): 2-D, so every projection is one matrix product, not B
        causal = None
        if T > 1:  # query i (at start + i) sees keys 0 .. start + i
            causal = np.arange(end)[None, :] > (start + np.arange(T))[:, None]  # (T, end): True = hidden
        for i, (ln1_w, ln1_b, qkv_w, proj_w, ln2_w, ln2_b, fc_w, fc_proj_w) in enumerate(self.layers):
            qkv = (_layer_norm(x, ln1_w, ln1_b) @ qkv_w).reshape(B, T, 3, H, D).transpose(2, 0, 3, 1, 4)  # (3, B, H, T, D)
            q = self._rotate(qkv[0], start) * scale
            cache.keys[i, :, :, :, start:end] = self._rotate(qkv[1], start).transpose(0, 1, 3, 2)
            cache.values[i, :, :, start:end] = qkv[2]
            scores = q @ cache.keys[i, :, :, :, :end]  # (B, H, T, end)
            if causal is not None:
                scores[..., causal] = -np.inf
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            attention = (scores / scores.sum(axis=-1, keepdims=True)) @ cache.values[i, :, :, :end]  # (B, H, T, D)
            x = x + attention.transpose(0, 2, 1, 3).reshape(B * T, H * D) @ proj_w
            x = x + _gelu(_layer_norm(x, ln2_w, ln2_b) @ fc_w) @ fc_proj_w
        cache.length = end
        return _layer_norm(x.reshape(B, T, -1)[:, -1], *self.ln_f) @ self.out

    def prefill(self, idx: np.ndarray, cache: NumpyCache) -> np.ndarray:
        """Feed idx (B, T); logits (B, V) of the last position."""
        return self._forward(np.asarray(idx, dtype=np.int64), cache)

    def decode_step(self, idx: np.ndarray, cache: NumpyCache) -> np.ndarray:
        """Feed one token per row, idx (B,); logits (B, V) for the next token."""
        return self._forward(np.asarray(idx, dtype=np.int64).reshape(-1, 1), cache)
