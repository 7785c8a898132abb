"""The decoder-only Transformer that models token sequences, with a KV cache for fast sampling.

One small module in the spirit of nanoGPT: pre-norm blocks, rotary position embeddings on q and k,
PyTorch's fused attention, a 4x GELU MLP and input/output embeddings tied together. Decoding keeps
keys and values of earlier positions in a preallocated :class:`KVCache`, so that each new token
costs one pass over one position. This model decodes on accelerators only: on a CPU, sampling runs
``numpy_decoder.NumpyModel`` (the same maths without PyTorch's per-op dispatch), so the decoding step
here is the ordinary forward pass on one position, not a CPU-tuned one. Training on a CPU draws its
dropout masks with :func:`dropout_keep` (a quarter of ``F.dropout``'s generator calls) and adds each
residual branch through its mask in one ``addcmul``.

Weights are stored with safetensors, which refuses tensors that share memory: the tied
``lm_head.weight`` is therefore left out by :meth:`MusicTransformer.state_dict_for_save` and
re-tied by :meth:`MusicTransformer.load_weights`.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import SIZES, ModelConfig, config_for_size  # noqa: F401  (re-exported: the model's shapes)

TIED_KEY = "lm_head.weight"  # the state-dict entry that is the same tensor as tok_emb.weight


def rope_table(cfg: ModelConfig) -> Tensor:
    """Rotations for every position, shaped to multiply fused q/k/v: (max_seq_len, 3, 1, head_dim/2, 2).

    Stored as real pairs (viewed as complex at use) so that ``model.to(dtype)`` cannot drop the
    imaginary part. The q row also carries attention's 1/sqrt(head_dim) scale and the v row is
    the identity 1+0i: one complex multiply then rotates q and k and scales q, which on CPU costs
    less than slicing them apart first.
    """
    half = cfg.head_dim // 2
    inv_freq = cfg.rope_base ** (-torch.arange(half, dtype=torch.float64) / half)
    angles = torch.outer(torch.arange(cfg.max_seq_len, dtype=torch.float64), inv_freq)  # (T, half)
    k = torch.polar(torch.ones_like(angles), angles)
    rot = torch.stack([k / math.sqrt(cfg.head_dim), k, torch.ones_like(k)], dim=1)  # (T, 3, half): q, k, v
    return torch.view_as_real(rot.to(torch.complex64)).unsqueeze(2).contiguous()


def rotate(qkv: Tensor, rope: Tensor) -> Tensor:
    """RoPE on fused projections qkv (..., 3, H, D) with rope (..., 3, 1, D/2) complex; same shape back."""
    if qkv.dtype != torch.float32:  # complex bf16 does not exist
        return rotate(qkv.float(), rope).to(qkv.dtype)
    pairs = torch.view_as_complex(qkv.view(*qkv.shape[:-1], -1, 2))
    return torch.view_as_real(pairs * rope).view(qkv.shape)


def dropout_keep(like: Tensor, p: float) -> Tensor:
    """An inverted-dropout mask shaped and typed like ``like``: 1/(1-p) where kept, 0 where dropped.

    ``F.dropout`` on a CPU draws one double per element from PyTorch's generator, on one thread (MKL's
    parallel sampler is used on Intel CPUs only): 8.6 ms for an (8, 512, 256) mask on one core, no less at
    2 threads, 5-6 % of a small-model training step there. Here each 64-bit draw gives four 16-bit ones
    (2.2 ms, and the compare runs on every thread). p is rounded to a multiple of 1/65536 (0.1 -> 0.100006)
    and the scale uses the rounded value, so the mask's mean stays exactly 1.
    """
    cut = round(p * 65536)  # int16 draws below -32768 + cut are dropped
    n = like.numel()
    bits = torch.empty((n + 3) // 4, dtype=torch.int64, device=like.device).random_(-2**63, None)
    keep = torch.empty_like(like)
    torch.ge(bits.view(torch.int16)[:n].view(like.shape), cut - 32768, out=keep)  # 1.0 / 0.0
    return keep.mul_(65536 / (65536 - cut))


def dropout(x: Tensor, p: float) -> Tensor:
    """``F.dropout(x, p)`` in training; on a CPU with the cheaper mask of :func:`dropout_keep`."""
    if p == 0.0:
        return x
    return x * dropout_keep(x, p) if x.device.type == "cpu" else F.dropout(x, p)


def add_dropout(x: Tensor, h: Tensor, p: float) -> Tensor:
    """x + dropout(h, p): the residual add and the mask in one multiply-add (``addcmul``)."""
    if p == 0.0:
        return x + h
    if h.device.type != "cpu":  # CUDA's fused dropout is one kernel already
        return x + F.dropout(h, p)
    return torch.addcmul(x, h, dropout_keep(h, p))


class KVCache:
    """Keys and values of the positions decoded so far, for every layer, preallocated once.

    ``kv`` is (n_layer, 2, B, n_head, max_len, head_dim); ``keys(i)``/``values(i)`` are layer i's
    (B, n_head, max_len, head_dim) views. ``length`` is the number of positions filled: a Python
    int, so that decoding never waits on reading a tensor.
    """

    def __init__(self, n_layer: int, batch_size: int, n_head: int, max_len: int, head_dim: int,
                 device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> None:
        self.kv = torch.zeros(n_layer, 2, batch_size, n_head, max_len, head_dim, device=device, dtype=dtype)
        self.length = 0

    @property
    def batch_size(self) -> int:
        return self.kv.shape[2]

    @property
    def max_len(self) -> int:
        return self.kv.shape[4]

    def layer(self, i: int) -> Tensor:
        """Layer i's (2, B, n_head, max_len, head_dim) slab: keys at [0], values at [1]."""
        return self.kv[i]

    def keys(self, i: int) -> Tensor:
        return self.kv[i, 0]

    def reorder(self, indices: Tensor | list[int]) -> None:
        """Keep batch rows ``indices`` in that order (drop finished rows, repeat a prompt, beam search)."""
        index = torch.as_tensor(indices, dtype=torch.long, device=self.kv.device)
        self.kv = self.kv.index_select(2, index)


class Block(nn.Module):
    """One pre-norm Transformer layer: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_head, self.head_dim, self.dropout = cfg.n_head, cfg.head_dim, cfg.dropout
        self.ln1 = nn.LayerNorm(cfg.n_embd)
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=False)  # fused: one matmul, not three
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=False)
        self.ln2 = nn.LayerNorm(cfg.n_embd)
        self.fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=False)
        self.fc_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=False)

    def forward(self, x: Tensor, rope: Tensor, kv: Tensor | None = None, start: int = 0) -> Tensor:
        """x (B, T, C) at positions start..start+T-1; kv is this layer's cache slab to fill, or None.

        Dropout applies to the residual branches, in training mode without a cache only (the cached
        path is for inference). Attention weights get none: dropout on them forces PyTorch's unfused
        attention, which made training 3x slower on a 2-core CPU (1,150 vs 3,550 tokens/s, small size,
        8x512); residual branches and embeddings keep theirs.
        """
        B, T, C = x.shape
        drop = self.dropout if self.training and kv is None else 0.0
        r = rotate(self.qkv(self.ln1(x)).view(B, T, 3, self.n_head, self.head_dim), rope)  # (B, T, 3, H, D)
        q, k, v = r.permute(2, 0, 3, 1, 4)  # each (B, H, T, D); q is already scaled (see rope_table)
        if kv is None:  # training and scoring: the whole sequence at once
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=1.0)
        else:
            end = start + T
            kv[:, :, :, start:end].copy_(r[:, :, 1:].permute(2, 0, 3, 1, 4))  # (2, B, H, T, D)
            k, v = kv[0, :, :, :end], kv[1, :, :, :end]  # views of the cache: no cat
            mask = None  # from an empty cache, plain causal attention
            if start:  # after earlier positions: query i sees keys 0..start+i
                mask = torch.ones(T, end, dtype=torch.bool, device=x.device).tril(diagonal=start)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=not start, scale=1.0)
        x = add_dropout(x, self.proj(y.transpose(1, 2).reshape(B, T, C)), drop)
        return add_dropout(x, self.fc_proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh")), drop)


class MusicTransformer(nn.Module):
    """A GPT-style language model over token ids; ``forward`` trains, ``prefill``/``decode_step`` sample."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.tok_emb.weight  # tied: one matrix reads tokens in and scores them out
        self.register_buffer("rope", rope_table(cfg), persistent=False)  # recomputable: not in checkpoints
        self.apply(self._init_weights)
        # GPT-2: residual projections scaled by 1/sqrt(2 * n_layer), so the residual stream's
        # variance at init does not grow with depth.
        for block in self.blocks:
            for proj in (block.proj, block.fc_proj):
                nn.init.normal_(proj.weight, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)

    def num_params(self) -> int:
        """Number of parameters, the tied embedding counted once."""
        return sum(p.numel() for p in self.parameters())  # parameters() already yields shared ones once

    def _rope(self, start: int, end: int) -> Tensor:
        if end > self.cfg.max_seq_len:
            raise ValueError(f"sequence of {end} positions is longer than max_seq_len={self.cfg.max_seq_len}")
        return torch.view_as_complex(self.rope[start:end].float())

    def forward(self, idx: Tensor, targets: Tensor | None = None,
                ignore_index: int = -100) -> tuple[Tensor, Tensor | None]:
        """Logits (B, T, V) for idx (B, T); with targets (B, T), also the mean cross-entropy.

        The loss averages over targets that are not ``ignore_index`` and is computed in float32
        even under autocast, where bf16 log-softmax over ~600 classes loses visible precision.
        """
        B, T = idx.shape
        rope = self._rope(0, T)
        x = dropout(self.tok_emb(idx), self.cfg.dropout if self.training else 0.0)
        for block in self.blocks:
            x = block(x, rope)
        logits = self.lm_head(self.ln_f(x))
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.float().view(B * T, -1), targets.reshape(B * T), ignore_index=ignore_index)
        return logits, loss

    def new_cache(self, batch_size: int, max_len: int | None = None) -> KVCache:
        """An empty cache for up to ``max_len`` positions (default max_seq_len) on the model's device."""
        max_len = self.cfg.max_seq_len if max_len is None else max_len
        if not 0 < max_len <= self.cfg.max_seq_len:
            raise ValueError(f"cache length must be in 1..{self.cfg.max_seq_len}, got {max_len}")
        w = self.tok_emb.weight
        return KVCache(self.cfg.n_layer, batch_size, self.cfg.n_head, max_len, self.cfg.head_dim,
                       device=w.device, dtype=w.dtype)

    @torch.inference_mode()
    def prefill(self, idx: Tensor, cache: KVCache) -> Tensor:
        """Feed idx (B, T) after the positions already in ``cache``; logits (B, V) of the last position."""
        B, T = idx.shape
        start = self._reserve(cache, B, T)
        rope = self._rope(start, start + T)
        x = self.tok_emb(idx)
        for i, block in enumerate(self.blocks):
            x = block(x, rope, cache.layer(i), start)
        cache.length = start + T
        return self.lm_head(self.ln_f(x[:, -1]))

    def decode_step(self, idx: Tensor, cache: KVCache) -> Tensor:
        """Feed one token per row, idx (B, 1) or (B,); logits (B, V) for the next token (no dropout)."""
        return self.prefill(idx.reshape(-1, 1), cache)

    @staticmethod
    def _reserve(cache: KVCache, batch: int, n: int) -> int:
        """Check that n more positions of this batch fit in the cache; the first one's index."""
        if batch != cache.batch_size:
            raise ValueError(f"batch of {batch} rows does not match the cache's {cache.batch_size}")
        if cache.length + n > cache.max_len:
            raise ValueError(f"cache holds {cache.max_len} positions; {cache.length} used, {n} more do not fit")
        return cache.length

    def state_dict_for_save(self) -> dict[str, Tensor]:
        """The state dict without the tied ``lm_head.weight``, as safetensors' ``save_file`` needs."""
        return {k: v.detach().contiguous() for k, v in self.state_dict().items() if k != TIED_KEY}

    def grow_vocab(self, vocab_size: int) -> MusicTransformer:
        """This model with ``vocab_size`` ids: its own ids keep their rows, the new ones start as a fresh
        model's would (normal, std 0.02), so a model of an older vocabulary can be fine-tuned into a
        newer one that appended token families."""
        if vocab_size < self.cfg.vocab_size:
            raise ValueError(f"cannot shrink the vocabulary from {self.cfg.vocab_size} to {vocab_size}")
        grown = MusicTransformer(replace(self.cfg, vocab_size=vocab_size)).to(self.tok_emb.weight.device)
        state = self.state_dict_for_save()
        with torch.no_grad():
            rows = grown.tok_emb.weight.detach().clone()
            rows[: self.cfg.vocab_size] = state["tok_emb.weight"]
        grown.load_weights({**state, "tok_emb.weight": rows})
        return grown

    def load_weights(self, state_dict: Mapping[str, Tensor]) -> None:
        """Load weights saved by :meth:`state_dict_for_save` (or a full state dict) and keep the tie.

        Raises ValueError naming every missing or unexpected key and every shape that differs,
        so a checkpoint from another config fails with a reason instead of a partial load.
        """
        expected = {k: v.shape for k, v in self.state_dict().items() if k != TIED_KEY}
        given = dict(state_dict)
        tied = given.pop(TIED_KEY, None)
        problems = [f"missing key {k}" for k in expected if k not in given]
        problems += [f"unexpected key {k}" for k in given if k not in expected]
        problems += [f"{k}: shape {tuple(given[k].shape)} where the model has {tuple(s)}"
                     for k, s in expected.items() if k in given and given[k].shape != s]
        if tied is not None and not problems and not torch.equal(tied, given["tok_emb.weight"]):
            problems.append(f"{TIED_KEY} differs from tok_emb.weight, but this model ties them")
        if problems:
            raise ValueError("weights do not fit this model: " + "; ".join(problems))
        with torch.no_grad():
            self.load_state_dict(given, strict=False)  # copies in place: lm_head.weight stays tok_emb.weight
        if self.lm_head.weight is not self.tok_emb.weight:  # never expected; cheap to guarantee
            self.lm_head.weight = self.tok_emb.weight
