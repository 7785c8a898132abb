"""Training throughput: midigen's model vs Hugging Face GPT2LMHeadModel, same shapes, same batches.

    python -m bench.train_bench [--size small] [--batch 8] [--seq 512] [--steps 8] [--device cpu|cuda] [--compile]

Both models get the same vocabulary, width, depth, heads and context, the same random token batches and
the same optimizer (AdamW, fused where PyTorch has it: what ``midigen train`` uses), and a full
forward/backward/step; tokens/s is measured after warm-up steps. A third contender, ``midigen_train_step``,
is midigen's model stepped by ``midigen train``'s own ``optimizer_step`` (learning-rate schedule, weight
decay groups, gradient clipping), so that what a real run pays beyond the bare step shows.

The contenders take turns, one step each per round (the order alternating between rounds), and the ratio
is the median over rounds of each round's own ratio: on a shared machine the load changes over a run, and
steps taken seconds apart see nearly the same load. The load average is recorded beside the figures.

On CUDA everything runs under bf16 autocast and HF is also timed compiled (``torch.compile``), as the
issue's anchors were. ``--compile`` times both models compiled too (eager-vs-eager and compiled-vs-compiled
ratios). It is off by default: on the 2-core CPU inductor made both slower (one thread, CPU seconds a step:
midigen 2.68 compiled vs 2.38 eager, HF 4.0 compiled vs 3.46 eager; compiling took 6 minutes).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time

import torch

from bench.common import save


def _hf_model(n_layer: int, n_embd: int, n_head: int, vocab: int, seq: int):
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=vocab, n_positions=seq, n_embd=n_embd, n_layer=n_layer, n_head=n_head,
                        resid_pdrop=0.1, embd_pdrop=0.1, attn_pdrop=0.1)
    return GPT2LMHeadModel(config)


def _adamw(model, device) -> torch.optim.AdamW:
    return torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type in ("cpu", "cuda"))


def _bare_step(model, is_hf: bool, device, autocast):
    opt = _adamw(model, device)

    def step(x):
        with autocast():
            loss = model(input_ids=x, labels=x).loss if is_hf else model(x[:, :-1], x[:, 1:])[1]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def _train_loop_step(model, device, autocast, steps: int):
    """One step as ``midigen train``'s loop takes it (its optimizer, schedule and clipping; loss read back)."""
    from midigen.training.config import TrainConfig
    from midigen.training.train import _optimizer, optimizer_step

    config = TrainConfig(steps=max(steps, 2), device=device.type).resolved(fine_tune=False)
    opt = _optimizer(model, config, fused=device.type in ("cpu", "cuda"))
    count = iter(range(10**9))

    def step(x):
        float(optimizer_step(model, model, opt, config, next(count) % config.steps, x[:, :-1], x[:, 1:], autocast()).detach())
    return step


def _interleaved(steps: dict, batches: list, warmup: int, device) -> dict[str, list[float]]:
    """Seconds per step of each contender, one step of each per round, the order reversed every other round."""
    def timed(fn, x) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    names = list(steps)
    for x in batches[:warmup]:  # allocator, autotuning and (compiled) graph capture: not timed
        for name in names:
            steps[name](x)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i, x in enumerate(batches[warmup:]):
        for name in names if i % 2 == 0 else names[::-1]:
            times[name].append(timed(steps[name], x))
    return times


def run(size: str = "small", batch: int = 8, seq: int = 512, steps: int = 8, warmup: int = 2, device: str = "cpu",
        compile_hf: bool | None = None, compile_both: bool = False) -> dict:
    from midigen.model.transformer import SIZES, MusicTransformer, config_for_size
    from midigen.tokens.vocab import VOCAB

    device = torch.device(device)
    torch.manual_seed(0)
    shape = SIZES[size]

    def autocast():
        return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()

    def ours():
        return MusicTransformer(config_for_size(size, VOCAB.size, seq)).to(device)

    def hf():
        return _hf_model(shape["n_layer"], shape["n_embd"], shape["n_head"], VOCAB.size, seq).to(device)

    params = {"midigen": ours().num_params(), "hf": sum(p.numel() for p in hf().parameters())}
    contenders = {"midigen": _bare_step(ours(), False, device, autocast), "hf_gpt2_eager": _bare_step(hf(), True, device, autocast),
                  "midigen_train_step": _train_loop_step(ours(), device, autocast, warmup + steps)}
    if compile_both:
        contenders["midigen_compiled"] = _bare_step(torch.compile(ours()), False, device, autocast)
    if compile_both or (compile_hf if compile_hf is not None else device.type == "cuda"):
        contenders["hf_gpt2_compiled"] = _bare_step(torch.compile(hf()), True, device, autocast)
    warmup += 2 if len(contenders) > 3 else 0  # compiling takes the first steps
    batches = [torch.randint(0, VOCAB.size, (batch, seq), device=device) for _ in range(warmup + steps)]
    load_before = os.getloadavg()[0]
    times = _interleaved(contenders, batches, warmup, device)
    results = {name: {"params": params["hf" if name.startswith("hf") else "midigen"],
                      "tokens_per_s": batch * seq / statistics.median(t), "seconds_per_step": [round(s, 4) for s in t]}
               for name, t in times.items()}

    def ratio(ours_name: str, theirs_name: str) -> float:
        return statistics.median(h / m for m, h in zip(times[ours_name], times[theirs_name]))

    out = {"size": size, "batch": batch, "seq": seq, "device": str(device), "threads": torch.get_num_threads(),
           "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)], "results": results,
           "ratio_vs_hf_eager": ratio("midigen", "hf_gpt2_eager"),
           "train_step_ratio_vs_hf_eager": ratio("midigen_train_step", "hf_gpt2_eager"),
           "goal": ">= 2x HF on CPU (3.5M, 8x512); >= 2.0M tokens/s on H100 (base, 32x1024)"}
    if "midigen_compiled" in times:
        out["ratio_compiled_vs_hf_compiled"] = ratio("midigen_compiled", "hf_gpt2_compiled")
    return out


def report(result: dict) -> list[str]:
    load = result.get("load_average")
    lines = [f"train ({result['size']}, batch {result['batch']}x{result['seq']}, {result['device']}, "
             f"{result.get('threads', '?')} threads{f', load average {load[0]:.1f}-{load[1]:.1f}' if load else ''})"]
    for name, r in result["results"].items():
        lines.append(f"  {name:19s} {r['params'] / 1e6:6.2f}M params {r['tokens_per_s']:10.0f} tokens/s")
    lines.append(f"  ratio midigen/HF eager: {result['ratio_vs_hf_eager']:.2f}x (goal >= 2x; median of per-round ratios)")
    if "train_step_ratio_vs_hf_eager" in result:
        lines.append(f"  ratio midigen train step/HF eager: {result['train_step_ratio_vs_hf_eager']:.2f}x")
    if "ratio_compiled_vs_hf_compiled" in result:
        lines.append(f"  ratio midigen compiled/HF compiled: {result['ratio_compiled_vs_hf_compiled']:.2f}x")
    if load and max(load) > (os.cpu_count() or 1):
        lines.append(f"  note: the machine was busy (load above its {os.cpu_count()} cores): absolute figures are low")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=512)
    parser.add_argument("--steps", type=int, default=8, help="timed rounds (one step of each contender per round)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compile", action="store_true", help="also time both models under torch.compile")
    args = parser.parse_args()
    result = run(args.size, args.batch, args.seq, args.steps, device=args.device, compile_both=args.compile)
    save(f"train-{args.device}", result)
    print("\n".join(report(result)))


if __name__ == "__main__":
    main()
