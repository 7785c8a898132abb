"""Training throughput: midigen's model vs Hugging Face GPT2LMHeadModel, same shapes, same batches.

    python -m bench.train_bench [--size small] [--batch 8] [--seq 512] [--steps 6] [--device cpu|cuda]

Both models get the same vocabulary, width, depth, heads and context, the same random token batches,
AdamW and a full forward/backward/step; tokens/s is measured after warm-up steps. On CUDA both run under
bf16 autocast, and HF is also timed compiled (``torch.compile``), as the issue's anchors were.
"""
from __future__ import annotations

import argparse
import time

import torch

from bench.common import save


def _hf_model(n_layer: int, n_embd: int, n_head: int, vocab: int, seq: int):
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=vocab, n_positions=seq, n_embd=n_embd, n_layer=n_layer, n_head=n_head,
                        resid_pdrop=0.1, embd_pdrop=0.1, attn_pdrop=0.1)
    return GPT2LMHeadModel(config)


def _throughput(step_fn, batches, warmup: int, device) -> float:
    for x in batches[:warmup]:
        step_fn(x)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for x in batches[warmup:]:
        step_fn(x)
    if device.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    return sum(x.numel() for x in batches[warmup:]) / elapsed


def run(size: str = "small", batch: int = 8, seq: int = 512, steps: int = 6, warmup: int = 2, device: str = "cpu",
        compile_hf: bool | None = None) -> dict:
    from midigen.model.transformer import SIZES, MusicTransformer, config_for_size
    from midigen.tokens.vocab import VOCAB

    device = torch.device(device)
    torch.manual_seed(0)
    shape = SIZES[size]
    batches = [torch.randint(0, VOCAB.size, (batch, seq), device=device) for _ in range(warmup + steps)]
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if device.type == "cuda" else None
    results = {}

    ours = MusicTransformer(config_for_size(size, VOCAB.size, seq)).to(device)
    hf = _hf_model(shape["n_layer"], shape["n_embd"], shape["n_head"], VOCAB.size, seq).to(device)

    def make_step(model, is_hf: bool):
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")

        def step(x):
            with autocast() if autocast else _null():
                loss = model(input_ids=x, labels=x).loss if is_hf else model(x[:, :-1], x[:, 1:])[1]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return step

    results["midigen"] = {"params": ours.num_params(), "tokens_per_s": _throughput(make_step(ours, False), batches, warmup, device)}
    results["hf_gpt2_eager"] = {"params": sum(p.numel() for p in hf.parameters()),
                                "tokens_per_s": _throughput(make_step(hf, True), batches, warmup, device)}
    if compile_hf if compile_hf is not None else device.type == "cuda":
        compiled = torch.compile(hf)
        results["hf_gpt2_compiled"] = {"params": results["hf_gpt2_eager"]["params"],
                                       "tokens_per_s": _throughput(make_step(compiled, True), batches, warmup + 2, device)}
    ratio = results["midigen"]["tokens_per_s"] / results["hf_gpt2_eager"]["tokens_per_s"]
    return {"size": size, "batch": batch, "seq": seq, "device": str(device), "results": results,
            "ratio_vs_hf_eager": ratio, "goal": ">= 2x HF on CPU (3.5M, 8x512); >= 2.0M tokens/s on H100 (base, 32x1024)"}


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def report(result: dict) -> list[str]:
    lines = [f"train ({result['size']}, batch {result['batch']}x{result['seq']}, {result['device']})"]
    for name, r in result["results"].items():
        lines.append(f"  {name:17s} {r['params'] / 1e6:6.2f}M params {r['tokens_per_s']:10.0f} tokens/s")
    lines.append(f"  ratio midigen/HF eager: {result['ratio_vs_hf_eager']:.2f}x (goal >= 2x)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=512)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    result = run(args.size, args.batch, args.seq, args.steps, device=args.device)
    save(f"train-{args.device}", result)
    print("\n".join(report(result)))


if __name__ == "__main__":
    main()
