"""What training throughput changed keeps its meaning: the CPU dropout is dropout, fused AdamW is AdamW,
and the training benchmark compares like with like."""
from __future__ import annotations

import pytest
import torch

from midigen.model.transformer import ModelConfig, MusicTransformer, add_dropout, dropout, dropout_keep
from midigen.training.config import TrainConfig
from midigen.training.train import _optimizer, optimizer_step
from tests.test_model import _one_thread  # noqa: F401  (autouse: tiny models run on one thread)


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
def test_the_dropout_mask_drops_p_in_every_lane_and_keeps_the_mean(p):
    torch.manual_seed(0)
    keep = dropout_keep(torch.empty(1024, 256), p)
    cut = round(p * 65536) / 65536  # p as the 16-bit draws can hold it
    assert keep.shape == (1024, 256) and keep.dtype == torch.float32
    assert torch.allclose(keep.unique(), torch.tensor([0.0, 1 / (1 - cut)]))
    dropped = (keep == 0).float().view(-1)
    for lane in range(4):  # each 16-bit quarter of the 64-bit draws is a fair draw on its own
        assert abs(dropped[lane::4].mean().item() - p) < 0.006, lane
    assert abs(keep.mean().item() - 1.0) < 0.01  # inverted dropout: the expectation is kept


def test_the_dropout_mask_fits_any_shape_and_follows_the_seed():
    x = torch.empty(3, 5, 7)  # 105 elements: not a multiple of four
    torch.manual_seed(3)
    first = dropout_keep(x, 0.5)
    torch.manual_seed(3)
    assert first.shape == x.shape and torch.equal(first, dropout_keep(x, 0.5))
    assert not torch.equal(first, dropout_keep(x, 0.5))  # the generator moved on


def test_residual_dropout_is_x_plus_masked_h_with_the_masks_gradient():
    torch.manual_seed(1)
    x, h = torch.randn(64, 32, requires_grad=True), torch.randn(64, 32, requires_grad=True)
    torch.manual_seed(2)
    out = add_dropout(x, h, 0.25)
    torch.manual_seed(2)
    keep = dropout_keep(h, 0.25)
    assert torch.allclose(out, x + h * keep)
    out.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x)) and torch.allclose(h.grad, keep)
    assert torch.equal(add_dropout(x, h, 0.0), x + h) and dropout(x, 0.0) is x  # eval mode: exactly no dropout


def test_fused_adamw_on_cpu_steps_like_the_plain_loop():
    """``midigen train`` uses the fused AdamW on a CPU; it must move the weights as the for-loop one does."""
    config = TrainConfig(steps=10, batch_size=2, seq_len=64).resolved(fine_tune=False)
    cfg = ModelConfig(vocab_size=64, n_layer=2, n_head=2, n_embd=32, max_seq_len=64, dropout=0.0)
    x = torch.randint(0, 64, (2, 65))
    weights = []
    for fused in (False, True):
        torch.manual_seed(0)
        model = MusicTransformer(cfg)
        opt = _optimizer(model, config, fused=fused)
        assert opt.defaults["fused"] is fused
        for step in range(3):
            optimizer_step(model, model, opt, config, step, x[:, :-1], x[:, 1:], torch.autocast("cpu", enabled=False))
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.allclose(weights[0], weights[1], atol=1e-6)


@pytest.mark.slow
def test_the_training_benchmark_times_every_contender_on_the_same_rounds():
    pytest.importorskip("transformers")
    from bench import train_bench

    result = train_bench.run("tiny", batch=2, seq=64, steps=3)
    results = result["results"]
    assert set(results) == {"midigen", "hf_gpt2_eager", "midigen_train_step"}
    assert all(len(r["seconds_per_step"]) == 3 and r["tokens_per_s"] > 0 for r in results.values())
    assert result["ratio_vs_hf_eager"] > 0 and result["train_step_ratio_vs_hf_eager"] > 0
    assert any("ratio midigen/HF eager" in line for line in train_bench.report(result))
