"""The Transformer's contract: sane at init, able to learn, cached decoding equal to the full pass."""
from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import load_file, save_file

from midigen.model.transformer import SIZES, ModelConfig, MusicTransformer, config_for_size

V = 64


@pytest.fixture(autouse=True)
def _one_thread():
    """These models are tiny: one thread is faster, and immune to OpenMP stalls on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(vocab: int = V, seq: int = 64, **kw) -> MusicTransformer:
    torch.manual_seed(0)
    return MusicTransformer(config_for_size("tiny", vocab, seq, dropout=0.0, **kw)).eval()


def small_multihead() -> MusicTransformer:
    """Two layers and four heads: enough structure for cache bugs (head order, layer order) to show.

    Dropout is on and the model left in training mode: the cached path must ignore both.
    """
    torch.manual_seed(1)
    cfg = ModelConfig(vocab_size=V, n_layer=2, n_head=4, n_embd=32, max_seq_len=64, dropout=0.5)
    return MusicTransformer(cfg).train()


def full_logits(model: MusicTransformer, idx: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        logits, _ = model(idx)
    model.train()
    return logits


@pytest.mark.parametrize("change, message", [
    ({"vocab_size": 0}, "vocab_size must be a positive integer"),
    ({"n_layer": -1}, "n_layer must be a positive integer"),
    ({"n_head": 2.0}, "n_head must be a positive integer"),
    ({"max_seq_len": True}, "max_seq_len must be a positive integer"),
    ({"n_embd": 30, "n_head": 4}, "divisible by n_head"),
    ({"n_embd": 30, "n_head": 2}, "must be even"),
    ({"dropout": 1.0}, "dropout must be in"),
    ({"dropout": -0.1}, "dropout must be in"),
])
def test_config_validation(change, message):
    args = {"vocab_size": 10, "n_layer": 1, "n_head": 2, "n_embd": 8, "max_seq_len": 16, **change}
    with pytest.raises(ValueError, match=message):
        ModelConfig(**args)


def test_config_dict_round_trip_and_unknown_keys():
    cfg = config_for_size("small", 600, 1024)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown ModelConfig keys: colour"):
        ModelConfig.from_dict({**cfg.to_dict(), "colour": "red"})
    with pytest.raises(ValueError, match="incomplete"):
        ModelConfig.from_dict({"vocab_size": 600})
    with pytest.raises(ValueError, match="unknown model size"):
        config_for_size("huge", 600, 1024)


def test_parameter_counts_of_named_sizes():
    counts = {name: MusicTransformer(config_for_size(name, 600, 1024)).num_params() for name in SIZES}
    assert counts["tiny"] < 100_000
    assert 3_000_000 <= counts["small"] <= 5_000_000
    assert 18_000_000 <= counts["base"] <= 22_000_000


def test_loss_at_init_is_near_uniform():
    torch.manual_seed(0)
    model = MusicTransformer(config_for_size("small", 600, 128, dropout=0.0))
    idx = torch.randint(0, 600, (4, 129))
    logits, loss = model(idx[:, :-1], idx[:, 1:])
    assert logits.shape == (4, 128, 600)
    assert abs(loss.item() - math.log(600)) < 0.3


def test_loss_ignores_ignore_index():
    model = tiny()
    idx = torch.randint(0, V, (2, 16))
    targets = idx.clone()
    targets[:, 8:] = -100
    logits, loss = model(idx, targets)
    expected = torch.nn.functional.cross_entropy(logits[:, :8].reshape(-1, V), idx[:, :8].reshape(-1))
    assert torch.allclose(loss, expected)
    assert loss.dtype == torch.float32


def test_tiny_model_overfits_one_batch():
    model = tiny().train()
    gen = torch.Generator().manual_seed(0)
    idx = torch.randint(0, V, (4, 33), generator=gen)
    x, y = idx[:, :-1], idx[:, 1:]
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(200):
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    assert loss.item() < 0.5


@pytest.mark.parametrize("batch", [1, 3])
def test_cached_decoding_equals_full_forward(batch):
    model = small_multihead()
    idx = torch.randint(0, V, (batch, 48), generator=torch.Generator().manual_seed(batch))
    full = full_logits(model, idx)
    cache = model.new_cache(batch, 48)
    steps = [model.prefill(idx[:, :1], cache)]
    steps += [model.decode_step(idx[:, t], cache) for t in range(1, 48)]
    assert cache.length == 48
    assert (torch.stack(steps, dim=1) - full).abs().max() < 1e-4


def test_chunked_prefill_equals_full_forward():
    model = small_multihead()
    idx = torch.randint(0, V, (2, 40), generator=torch.Generator().manual_seed(7))
    full = full_logits(model, idx)
    cache = model.new_cache(2, 40)
    assert (model.prefill(idx[:, :10], cache) - full[:, 9]).abs().max() < 1e-4
    assert (model.prefill(idx[:, 10:25], cache) - full[:, 24]).abs().max() < 1e-4  # a chunk after others
    assert (model.decode_step(idx[:, 25:26], cache) - full[:, 25]).abs().max() < 1e-4


def test_cache_reorder_selects_rows():
    model = small_multihead()
    idx = torch.randint(0, V, (3, 20), generator=torch.Generator().manual_seed(3))
    full = full_logits(model, idx)
    cache = model.new_cache(3, 20)
    model.prefill(idx[:, :12], cache)
    cache.reorder([2, 0, 2, 1])
    rows = torch.tensor([2, 0, 2, 1])
    logits = model.decode_step(idx[rows, 12], cache)
    assert (logits - full[rows, 12]).abs().max() < 1e-4
    assert cache.keys(0).shape == (4, 4, 20, 8)


def test_cache_and_context_limits_are_errors():
    model = tiny(seq=16)
    cache = model.new_cache(1, 8)
    model.prefill(torch.zeros(1, 8, dtype=torch.long), cache)
    with pytest.raises(ValueError, match="more do not fit"):
        model.decode_step(torch.zeros(1, dtype=torch.long), cache)
    with pytest.raises(ValueError, match="does not match the cache"):
        model.decode_step(torch.zeros(2, dtype=torch.long), model.new_cache(1))
    with pytest.raises(ValueError, match="longer than max_seq_len"):
        model(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match="cache length"):
        model.new_cache(1, 17)


def test_tied_weights_survive_a_safetensors_round_trip(tmp_path):
    model = tiny()
    assert model.lm_head.weight is model.tok_emb.weight
    assert model.num_params() == sum(p.numel() for p in model.state_dict_for_save().values())
    path = tmp_path / "model.safetensors"
    save_file(model.state_dict_for_save(), str(path))
    loaded = MusicTransformer(model.cfg).eval()
    loaded.load_weights(load_file(str(path)))
    assert loaded.lm_head.weight.data_ptr() == loaded.tok_emb.weight.data_ptr()
    assert loaded.lm_head.weight is loaded.tok_emb.weight
    idx = torch.randint(0, V, (2, 10))
    assert torch.equal(loaded(idx)[0], model(idx)[0])
    loaded.load_weights(model.state_dict())  # a full state dict, with the tied key, loads too
    assert loaded.lm_head.weight is loaded.tok_emb.weight


def test_load_weights_names_what_does_not_fit():
    model = tiny()
    weights = model.state_dict_for_save()
    missing = {k: v for k, v in weights.items() if k != "ln_f.weight"}
    with pytest.raises(ValueError, match="missing key ln_f.weight"):
        model.load_weights(missing)
    with pytest.raises(ValueError, match="unexpected key extra"):
        model.load_weights({**weights, "extra": torch.zeros(1)})
    with pytest.raises(ValueError, match=r"tok_emb.weight: shape \(65, 32\)"):
        model.load_weights({**weights, "tok_emb.weight": torch.zeros(V + 1, 32)})
    with pytest.raises(ValueError, match="differs from tok_emb.weight"):
        model.load_weights({**weights, "lm_head.weight": torch.zeros(V, 32)})


def test_dropout_acts_in_training_forward_only():
    model = small_multihead()
    idx = torch.randint(0, V, (2, 16))
    eval_logits = full_logits(model, idx)
    assert not torch.allclose(model(idx)[0], eval_logits)  # training mode, dropout 0.5
    model.eval()
    assert torch.equal(model(idx)[0], eval_logits)
