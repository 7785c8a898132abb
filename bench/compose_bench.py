"""Sampling speed: midigen's constrained, cached decoding vs Hugging Face ``generate``; compose wall time.

    python -m bench.compose_bench [--style NAME] [--tokens 256]

1. ms per token, batch 1: midigen's sampler (grammar masks and constraints included) on the style's
   model vs ``GPT2LMHeadModel.generate`` (sampling, KV cache) at the same shape, same run.
2. ``midigen compose --bars 16`` wall time, start-up included (a fresh process).
3. 8 variations vs 1 take: the batched pass should cost well under 8x.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.common import save


def _per_token_ms(model, tokens: int) -> float:
    from midigen.sampling.constraints import ConstrainedState, Constraints
    from midigen.sampling.sampler import SamplingParams, sample
    from midigen.tokens.vocab import VOCAB

    off = VOCAB.offsets
    prompt = np.array([off["BOS"], off["Key"], off["TimeSig"] + 6, off["Tempo"] + 31, off["Program"], off["Bar"]])
    state = ConstrainedState(Constraints(bars=10_000, meter=(4, 4)))
    for t in prompt:
        state.advance(int(t))
    params = SamplingParams(max_tokens=tokens)
    start = time.perf_counter()
    out = sample(model, [prompt], [state], params, seed=0)
    elapsed = time.perf_counter() - start
    return 1000 * elapsed / (len(out[0]) - len(prompt))


def _hf_per_token_ms(cfg, tokens: int) -> float:
    from transformers import GPT2Config, GPT2LMHeadModel

    hf = GPT2LMHeadModel(GPT2Config(vocab_size=cfg.vocab_size, n_positions=cfg.max_seq_len, n_embd=cfg.n_embd,
                                    n_layer=cfg.n_layer, n_head=cfg.n_head)).eval()
    prompt = torch.tensor([[1, 2, 3, 4, 5, 6]])
    with torch.inference_mode():
        hf.generate(prompt, max_new_tokens=8, min_new_tokens=8, do_sample=True, pad_token_id=0)
        start = time.perf_counter()
        out = hf.generate(prompt, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=True, pad_token_id=0)
    return 1000 * (time.perf_counter() - start) / (out.shape[1] - prompt.shape[1])


def _compose_wall_s(style: str, styles_dir: str | None, extra: list[str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "midigen", "compose", "--style", style, "--bars", "16", "-o", str(Path(tmp) / "t.mid")]
        cmd += (["--styles-dir", styles_dir] if styles_dir else []) + extra
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        return time.perf_counter() - start


def run(style: str, styles_dir: str | None = None, tokens: int = 256) -> dict:
    from midigen.styles.bundle import load_bundle
    from midigen.styles.registry import find_style
    from midigen.tasks.compose import ComposeRequest, compose

    torch.set_num_threads(max(1, torch.get_num_threads()))
    bundle = load_bundle(find_style(style, styles_dir))
    ours = min(_per_token_ms(bundle.model, tokens) for _ in range(2))
    theirs = min(_hf_per_token_ms(bundle.model.cfg, tokens) for _ in range(2))
    wall = min(_compose_wall_s(style, styles_dir, []) for _ in range(3))
    one = eight = None
    for _ in range(2):
        t = time.perf_counter()
        compose(bundle, ComposeRequest(bars=16, seed=1))
        one = min(one or 1e9, time.perf_counter() - t)
        t = time.perf_counter()
        compose(bundle, ComposeRequest(bars=16, seed=1, variations=8))
        eight = min(eight or 1e9, time.perf_counter() - t)
    return {
        "style": style, "params": bundle.model.num_params(), "tokens": tokens,
        "midigen_ms_per_token": ours, "hf_generate_ms_per_token": theirs, "speedup_vs_hf": theirs / ours,
        "compose_16_bars_wall_s": wall, "one_take_s": one, "eight_takes_s": eight, "eight_over_one": eight / one,
        "goals": "per token >= 3x faster than HF generate; compose --bars 16 <= 3 s; 8 variations <= 2x one",
    }


def report(r: dict) -> list[str]:
    return [
        f"compose ({r['style']}, {r['params'] / 1e6:.2f}M params, batch 1, {r['tokens']} tokens)",
        f"  midigen sampler  {r['midigen_ms_per_token']:6.2f} ms/token (grammar masks + constraints included)",
        f"  HF generate      {r['hf_generate_ms_per_token']:6.2f} ms/token",
        f"  speed-up vs HF: {r['speedup_vs_hf']:.2f}x (goal >= 3x)",
        f"  `midigen compose --bars 16` wall time: {r['compose_16_bars_wall_s']:.2f} s (goal <= 3 s)",
        f"  8 variations / 1 take: {r['eight_takes_s']:.2f} s / {r['one_take_s']:.2f} s = {r['eight_over_one']:.2f}x (goal <= 2x)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", default="bach-chorales")
    parser.add_argument("--styles-dir")
    parser.add_argument("--tokens", type=int, default=256)
    args = parser.parse_args()
    result = run(args.style, args.styles_dir, args.tokens)
    save("compose", result)
    print("\n".join(report(result)))


if __name__ == "__main__":
    main()
