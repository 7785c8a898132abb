"""The numpy decoder computes what the PyTorch model computes, and composing needs no PyTorch."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from midigen.model.numpy_decoder import NumpyModel
from midigen.model.transformer import MusicTransformer, config_for_size
from midigen.styles.bundle import load_bundle, load_for_sampling
from midigen.tasks.compose import ComposeRequest, compose


@pytest.mark.parametrize("size", ["tiny", "small"])
def test_logits_match_the_pytorch_model_in_prefill_and_decoding(size):
    torch.manual_seed(0)
    model = MusicTransformer(config_for_size(size, 200, 64)).eval()
    twin = NumpyModel.from_torch(model)
    ids = np.random.default_rng(1).integers(0, 200, (3, 40))
    cache, twin_cache = model.new_cache(3), twin.new_cache(3)
    full = model(torch.as_tensor(ids))[0].detach().numpy()  # (B, T, V), no cache at all
    logits = twin.prefill(ids[:, :25], twin_cache)
    assert np.allclose(logits, model.prefill(torch.as_tensor(ids[:, :25]), cache).numpy(), atol=1e-4)
    assert np.allclose(logits, full[:, 24], atol=1e-4)
    more = twin.prefill(ids[:, 25:30], twin_cache)  # a second prefill after cached positions: causal mask offset
    assert np.allclose(more, full[:, 29], atol=1e-4)
    for t in range(30, 40):
        step = twin.decode_step(ids[:, t], twin_cache)
        assert np.allclose(step, full[:, t], atol=1e-4), t
    with pytest.raises(ValueError, match="do not fit"):
        twin.prefill(ids, twin_cache)


def test_a_style_loads_for_sampling_as_numpy_and_composes_the_same_either_way(tiny_style):
    styles, _ = tiny_style
    numpy_bundle = load_for_sampling(styles / "tiny-bach")
    assert isinstance(numpy_bundle.model, NumpyModel)
    request = ComposeRequest(bars=3, seed=5, variations=2)
    by_numpy = compose(numpy_bundle, request)
    by_torch = compose(load_bundle(styles / "tiny-bach"), request)  # converted to the same arithmetic on a CPU
    assert [t.piece for t in by_numpy] == [t.piece for t in by_torch]


def test_composing_never_imports_pytorch(tiny_style, tmp_path):
    styles, _ = tiny_style
    code = (
        "import sys\n"
        "from midigen.tasks.compose import ComposeRequest, compose, write_takes\n"
        f"takes = compose('tiny-bach', ComposeRequest(bars=2, seed=1), styles_dir={str(styles)!r})\n"
        f"write_takes(takes, {str(tmp_path / 'x.mid')!r})\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (tmp_path / "x.mid").stat().st_size > 0
