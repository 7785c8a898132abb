"""Batched, constrained sampling with the model's KV cache.

Every row starts from a prompt (at least a header) and draws one token per step from the model's
distribution restricted to the row's mask (grammar + constraints), after moving the probability of the
ids the state folds into others (``folds``), with temperature and nucleus (top-p) sampling;
temperature 0 is greedy. Rows are independent takes decoded in one batch, so K
variations cost about one forward pass per step, not K. A numpy Generator seeded by the caller makes
the result a pure function of (weights, prompt, constraints, seed).

On a CPU the model runs as ``npmodel.NumpyModel`` (a PyTorch model passed in is converted): no PyTorch
import on the way to a first take, and less per-op overhead at batch 1; every CPU take therefore comes
from the same arithmetic whoever loaded the bundle. On a GPU the PyTorch model runs as it is.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..tokens.vocab import VOCAB
from .constraints import SamplingState

_DURATIONS = VOCAB.span("Duration")


@dataclass(frozen=True)
class Window:
    """What the sampler keeps in the model's context once it is full, before it goes on.

    The header always stays. ``opening_bars`` bars from the start of the piece stay after it (at most
    ``opening_share`` of the context), so every part and the groove the take opened with remain in view;
    then the latest tokens, from a bar line, up to ``keep_share`` of the context in all. A larger
    ``keep_share`` slides more often (one prefill per ``1 - keep_share`` of the context) and keeps more of
    the recent bars in view.

    The defaults are measured (``bench/long_take_bench.py``, jazz, 8 takes of 32 bars per window against
    37 held-out real pieces cut to 32 bars): the top part's mean step was 1.69 semitones with the former
    window (header + latest half, ``keep_share=0.5, opening_bars=0``), 2.38 keeping three quarters and
    2.70 keeping the opening bar too (real: 2.83); parts present in bars 1-4 still play in the last 4 in
    0.93 / 0.96 / 0.96 of cases (real 0.89). A jazz bar is ~170 tokens, so one opening bar fits in a
    quarter of the 512-token context, two do not.
    """
    keep_share: float = 0.75
    opening_bars: int = 1
    opening_share: float = 0.25

    def __post_init__(self) -> None:
        if not (0.25 <= self.keep_share <= 0.9 and 0 <= self.opening_bars <= 8 and 0.0 <= self.opening_share <= 0.5
                and self.opening_share < self.keep_share):
            raise ValueError(f"bad sampling window {self}: keep_share 0.25-0.9, opening_bars 0-8, "
                             "opening_share 0-0.5 and below keep_share")


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 1.0
    top_p: float = 0.95
    max_tokens: int = 20000  # hard stop per row, far above any real piece of the requested length
    window: Window = Window()


def _pick(logits: np.ndarray, mask: np.ndarray, params: SamplingParams, rng: np.random.Generator) -> int:
    """One id from a row of logits (V,) restricted to a mask (V,): temperature, then nucleus (top-p).

    Works on the allowed ids only (rarely more than 130 of the ~600), in numpy: at batch 1 this costs a
    few microseconds where sorting the whole vocabulary in torch cost ~0.4 ms a token.
    """
    ids = np.flatnonzero(mask)
    if len(ids) == 1:
        return int(ids[0])
    scores = logits[ids].astype(np.float64)
    if params.temperature <= 0:
        return int(ids[np.argmax(scores)])
    probs = np.exp((scores - scores.max()) / params.temperature)
    probs /= probs.sum()
    if params.top_p < 1.0:
        order = np.argsort(-probs, kind="stable")
        ranked = probs[order]
        keep = order[np.cumsum(ranked) - ranked <= params.top_p]  # the mass above each id; the top id stays
        ids, probs = ids[keep], probs[keep]
    cumulative = np.cumsum(probs)
    choice = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    return int(ids[min(choice, len(ids) - 1)])


def decoder_for(model, device="cpu"):
    """The model that samples on ``device``: a ``NumpyModel`` on a CPU, the PyTorch model elsewhere."""
    if getattr(model, "takes_numpy", False) or str(device) != "cpu" and not str(device).startswith("cpu:"):
        return model
    from ..model.numpy_decoder import NumpyModel

    return NumpyModel.from_torch(model)


def _blas_threads(rows: int):
    """One BLAS thread for a few rows: their step is a chain of small matrix-vector products, where a
    second thread costs more in hand-offs than it saves (measured on 2 cores: 1.6 vs 2.6-3.1 ms/token for
    the small size). From 4 rows on the products are matrix-matrix and BLAS keeps its own threads
    (8 rows: 3.5 instead of 4.2 ms a step)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an optional speed-up: without it BLAS picks its own thread count
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas") if rows < 4 else contextlib.nullcontext()


def sample(model, prompts: list[np.ndarray], states: list[SamplingState], params: SamplingParams,
           seed: int = 0, device="cpu", likelihood: np.ndarray | None = None) -> list[np.ndarray]:
    """Continue each prompt until its state reaches EOS; returns prompt + continuation per row.

    ``likelihood`` ((rows, 2) floats), if given, gains per row the bits of every token appended under the
    model's own distribution (temperature 1, no mask: how natural the take is to the model, constraints
    and all) and the number of notes appended (Duration tokens); ``--rank`` reads it.

    ``states[i]`` must already have advanced through ``prompts[i]``: a ``ConstrainedState`` or a lock of
    ``locks`` wrapping one (``constraints.SamplingState``).
    Prompts of different lengths are handled by feeding the common prefix length at once, then the rest
    row by row with forced tokens.
    """
    model = decoder_for(model, device)
    if getattr(model, "takes_numpy", False):
        with _blas_threads(len(prompts)):
            return _sample(model, prompts, states, params, seed, np.asarray, likelihood)
    import torch

    with torch.inference_mode():
        return _sample(model, prompts, states, params, seed, lambda ids: torch.as_tensor(ids, device=device), likelihood)


def _token_bits(scores: np.ndarray, token: int) -> float:
    """-log2 p(token) under the softmax of one row of logits."""
    top = float(scores.max())
    return float((top + np.log(np.exp(scores.astype(np.float64) - top).sum()) - scores[token]) / np.log(2.0))


def _sample(model, prompts, states, params: SamplingParams, seed: int, feed, likelihood=None) -> list[np.ndarray]:
    """``sample``'s loop; ``feed`` turns an id array into what the model takes."""
    rng = np.random.default_rng(seed)
    rows = len(prompts)
    out = [list(map(int, p)) for p in prompts]
    common = min(len(p) for p in prompts)
    fed = [common] * rows  # tokens of out[i] already in the cache
    cache, logits = _prefill_window(model, out, fed, feed, params.window)
    done = [s.finished for s in states]
    pad = VOCAB.offsets["PAD"]
    for _ in range(params.max_tokens):
        if all(done):
            break
        scores = logits if isinstance(logits, np.ndarray) else logits.float().cpu().numpy()
        step_ids = []
        for i in range(rows):
            if done[i] or fed[i] < len(out[i]):  # finished, or still feeding its longer prompt
                step_ids.append(pad if done[i] else out[i][fed[i]])
                if not done[i]:
                    fed[i] += 1
                continue
            mask = states[i].mask()
            raw = scores[i].copy() if likelihood is not None else None
            for source, target in states[i].folds():
                scores[i, target] = np.logaddexp(scores[i, target], scores[i, source])
            token = _pick(scores[i], mask, params, rng)
            if likelihood is not None:
                likelihood[i, 0] += _token_bits(raw, token)
                likelihood[i, 1] += _DURATIONS.start <= token < _DURATIONS.stop
            states[i].advance(token)
            out[i].append(token)
            fed[i] += 1
            step_ids.append(token)
            done[i] = states[i].finished
        if all(done):
            break
        if cache.length >= cache.max_len:  # context full: keep the header, the opening and the latest bars
            cache, logits = _prefill_window(model, out, fed, feed, params.window)
            continue
        logits = model.decode_step(feed(np.asarray(step_ids, dtype=np.int64)), cache)
    return [np.asarray(o, dtype=np.int64) for o in out]


def sample_prompted(model, prompt, new_state: Callable[[], SamplingState], rows: int, params: SamplingParams,
                    seed: int = 0, device="cpu", likelihood: np.ndarray | None = None) -> list[np.ndarray]:
    """``rows`` continuations of one prompt, each row under a fresh state from ``new_state`` walked
    through the prompt first (MidigenError if the prompt breaks the grammar)."""
    prompt = [int(t) for t in prompt]
    states = []
    for _ in range(rows):
        state = new_state()
        for token in prompt:
            state.grammar.check(token)
            state.advance(token)
        states.append(state)
    return sample(model, [np.asarray(prompt)] * rows, states, params, seed=seed, device=device, likelihood=likelihood)


def _prefill_window(model, out: list[list[int]], fed: list[int], feed, window: Window = Window()):
    """A fresh cache holding, per row, its header, its opening bars (``window``) and as many of its latest
    fed tokens as fit in ``window.keep_share`` of the context, from a bar line where one falls in the
    first half of that span (training crops pieces at bar lines the same way). Rows share one header
    length and are cut to one width, so the windows line up. Logits of the last position."""
    header = _header_length(out[0])
    if any(_header_length(o) != header for o in out):
        raise ValueError("rows sampled together must share one header length")
    context = model.cfg.max_seq_len
    room = max(1, min(int(context * window.keep_share), min(fed)) - header)
    windows, kept = [], []
    for o, f in zip(out, fed):
        opening_end = _opening_end(o, header, f, window.opening_bars, int(context * window.opening_share))
        latest_room = max(1, room - (opening_end - header))
        start = max(opening_end, f - latest_room)
        windows.append(o[:opening_end] + o[_bar_line_from(o, start, min(f, start + latest_room // 2)): f])
        kept.append(opening_end)
    width = min(len(w) for w in windows)
    # Cut each row to the common width from the start of its latest span: header and opening stay whole.
    windows = [w[:width - max(1, width - k)] + w[len(w) - max(1, width - k):] for w, k in zip(windows, kept)]
    cache = model.new_cache(len(out))
    logits = model.prefill(feed(np.asarray(windows, dtype=np.int64)), cache)
    return cache, logits


def _opening_end(ids: list[int], header: int, fed: int, bars: int, most_tokens: int) -> int:
    """End (exclusive) of the first ``bars`` whole bars after the header, or of as many whole bars as fit
    in ``most_tokens``; ``header`` when none does."""
    if bars == 0:
        return header
    bar = VOCAB.offsets["Bar"]
    lines = [i for i in range(header, min(fed, header + most_tokens + 1)) if ids[i] == bar]
    ends = [i for i in lines[1:bars + 1] if i - header <= most_tokens]  # bar k ends where bar k + 1 starts
    return ends[-1] if ends else header


def _bar_line_from(ids: list[int], start: int, end: int) -> int:
    """The first Bar token in ids[start:end], else ``start``."""
    bar = VOCAB.offsets["Bar"]
    return next((i for i in range(start, end) if ids[i] == bar), start)


def _header_length(ids: np.ndarray) -> int:
    """Tokens before the first Bar."""
    bars = np.flatnonzero(np.asarray(ids) == VOCAB.offsets["Bar"])
    return int(bars[0]) if len(bars) else len(ids)
