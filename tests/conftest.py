"""Shared fixtures: small real pieces and a per-test cache folder."""
from __future__ import annotations

from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session writes its token cache and styles under a temp folder, never in ~/.cache."""
    monkeypatch.setenv("MIDIGEN_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv("MIDIGEN_USER_STYLES", str(tmp_path_factory.getbasetemp() / "user-styles"))


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    return GOLDEN


REAL_PIECES = {  # a handful of real pieces from music21's corpus, exported once per test session
    "bach_bwv269": "bach/bwv269.mxl",
    "bach_bwv347": "bach/bwv347.mxl",
    "bach_bwv153.1": "bach/bwv153.1.mxl",
}


@pytest.fixture(scope="session")
def real_midi_dir(tmp_path_factory) -> Path:
    """MIDI exports of real corpus pieces (not committed: music21's files stay in music21)."""
    from music21 import corpus

    out = tmp_path_factory.mktemp("real")
    for name, source in REAL_PIECES.items():
        corpus.parse(source).write("midi", fp=str(out / f"{name}.mid"))
    return out


TINY_TRAINING = dict(size="tiny", steps=24, batch_size=4, seq_len=128, eval_every=8, checkpoint_every=8, lr=3e-3,
                     warmup_steps=4)


@pytest.fixture(scope="session")
def tiny_style(real_midi_dir, tmp_path_factory):
    """A tiny style trained in seconds on three real chorales: (styles folder, style.json)."""
    from midigen.training.train import TrainConfig, train_style

    styles = tmp_path_factory.mktemp("styles")
    meta = train_style("tiny-bach", real_midi_dir, TrainConfig(**TINY_TRAINING), styles_dir=styles)
    return styles, meta


@pytest.fixture(scope="session")
def bundle(tiny_style):
    """The tiny style, loaded once for every test that samples from it."""
    from midigen.styles.bundle import load_bundle

    styles, _ = tiny_style
    return load_bundle(styles / "tiny-bach")
