"""Training a style: the loop, its checkpoints, early stopping, and the bundle it writes.

``train_style`` reads a folder through the token cache, splits it by tune family, trains on the train
side with transposition augmentation (AdamW, warm-up then cosine decay, gradient clipping, bf16 autocast
on GPU), scores the validation side in bits per note every ``eval_every`` steps, keeps the best weights,
stops early when validation stops improving, and installs the bundle atomically. Checkpoints go to a
work folder beside the bundle; ``resume=True`` continues from the last one. Under ``torchrun`` it runs
DistributedDataParallel (NCCL on GPU, gloo on CPU); only rank 0 writes files or reports.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch

from . import distributed as dist
from .batches import BatchSampler, PieceBank, with_style
from .bundle import install, load_bundle
from .corpus.dataset import build_dataset
from .corpus.split import split_dataset, split_json
from .corpus.stats import CorpusStats
from .errors import MidigenError
from .evaluate import evaluate, ngram_likelihood
from .fsutil import atomic_write_json
from .model import SIZES, MusicTransformer, config_for_size
from .styles import check_name, default_write_dir, find_style
from .vocab import VOCAB

CHECKPOINT_WEIGHTS = "checkpoint.safetensors"
CHECKPOINT_OPTIMIZER = "optimizer.safetensors"
CHECKPOINT_STATE = "state.json"


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides how a style is trained; stored in the bundle's ``style.json``."""

    size: str = "small"
    steps: int = 1500
    batch_size: int = 16
    seq_len: int = 512
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 100
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    dropout: float = 0.1
    eval_every: int = 250
    patience: int = 4  # evaluations without improvement before stopping
    checkpoint_every: int = 250
    seed: int = 0
    transpose: bool = True
    device: str = "auto"
    ngram_order: int = 4
    style_slot: int | None = None  # Style token to condition on (multi-style models), None for none

    def __post_init__(self) -> None:
        problems = []
        if self.size not in SIZES:
            problems.append(f"size must be one of {', '.join(SIZES)}")
        for name in ("steps", "batch_size", "seq_len", "eval_every", "checkpoint_every", "patience", "ngram_order"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1")
        if self.seq_len < 64:
            problems.append("seq_len must be at least 64")
        if not 0 < self.lr < 1:
            problems.append("lr must be in (0, 1)")
        if not 0 <= self.dropout < 1:
            problems.append("dropout must be in [0, 1)")
        if self.warmup_steps < 0:
            problems.append("warmup_steps must be >= 0")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            problems.append("device must be auto, cpu or cuda")
        if self.style_slot is not None and not 0 <= self.style_slot < VOCAB.family_sizes["Style"]:
            problems.append(f"style_slot must be in 0..{VOCAB.family_sizes['Style'] - 1}")
        if problems:
            raise MidigenError("bad training settings: " + "; ".join(problems))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def lr_at(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        progress = min(1.0, (step - self.warmup_steps) / max(1, self.steps - self.warmup_steps))
        return self.lr * (self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


@dataclass
class Progress:
    """What the loop reports to its caller (the CLI draws it as a progress bar)."""

    step: int
    steps: int
    loss: float
    tokens_per_s: float
    valid_bits_per_note: float | None = None
    best_bits_per_note: float | None = None
    message: str | None = None


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise MidigenError("--device cuda was asked for, but PyTorch sees no CUDA GPU here")
    return torch.device(name)


def _optimizer(model: torch.nn.Module, config: TrainConfig, fused: bool) -> torch.optim.AdamW:
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.95), fused=fused)


def _save_checkpoint(work: Path, model, optimizer, step: int, best: dict, config: TrainConfig) -> None:
    """Weights, optimizer moments and loop state, each file written atomically, state last."""
    from safetensors.torch import save_file

    work.mkdir(parents=True, exist_ok=True)
    for name, tensors in ((CHECKPOINT_WEIGHTS, model.state_dict_for_save()), (CHECKPOINT_OPTIMIZER, _optimizer_tensors(optimizer))):
        tmp = work / f".{name}.tmp"
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp), metadata={"step": str(step)})
        os.replace(tmp, work / name)
    atomic_write_json(work / CHECKPOINT_STATE, {"step": step, "best": best, "config": config.to_dict()})


def _checkpoint_step(path: Path) -> int | None:
    """The step a checkpoint file was saved at (in its safetensors metadata)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        step = (f.metadata() or {}).get("step")
    return int(step) if step is not None else None


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    out = {}
    for i, (param, state) in enumerate(optimizer.state.items()):
        del param
        for key, value in state.items():
            out[f"{i}.{key}"] = value if torch.is_tensor(value) else torch.tensor(value)
    return out


def _load_optimizer_tensors(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]) -> None:
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for i, param in enumerate(params):
        state = {k.split(".", 1)[1]: v.to(param.device) for k, v in tensors.items() if k.split(".", 1)[0] == str(i)}
        if state:
            optimizer.state[param] = state


@dataclass
class Corpus:
    """The tokenized folder, its split, and the per-side pieces the loop and the metrics need."""

    dataset: object
    split: object
    stats: CorpusStats

    def side(self, name: str, style: int | None) -> tuple[list[np.ndarray], list[int], list[float]]:
        idx = getattr(self.split, name)
        records = self.dataset.records
        pieces = [with_style(np.asarray(self.dataset.ids(i)), style) for i in idx]
        return pieces, [records[i].n_notes for i in idx], [records[i].quarters for i in idx]


def load_corpus(corpus_dir: str | Path, seed: int, progress=None) -> Corpus:
    dataset = build_dataset(corpus_dir, progress=progress)
    if len(dataset) == 0:
        reasons = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in dataset.skipped[:5])
        raise MidigenError(f"{corpus_dir}: no usable pieces ({len(dataset.skipped)} files skipped{': ' + reasons if reasons else ''})")
    return Corpus(dataset, split_dataset(dataset, seed), CorpusStats.of(dataset.records, dataset.skipped))


def _manifest_info(corpus_dir: Path) -> dict:
    path = corpus_dir / "manifest.json"
    if not path.is_file():
        return {"manifest_sha1": None, "licence": "unknown (the user's own files)", "provenance": str(corpus_dir)}
    import hashlib

    raw = path.read_bytes()
    try:
        manifest = json.loads(raw)
    except ValueError:
        manifest = {}
    return {"manifest_sha1": hashlib.sha1(raw).hexdigest(), "collection": manifest.get("collection"),
            "licence": manifest.get("licence", "unknown"), "provenance": manifest.get("provenance", str(corpus_dir)),
            "music21_version": manifest.get("music21_version")}


def train_style(name: str, corpus_dir: str | Path, config: TrainConfig, *, styles_dir: str | Path | None = None,
                from_style: str | None = None, resume: bool = False, progress=None, command: str | None = None) -> dict:
    """Train and install the bundle ``name``; returns its ``style.json`` content (rank 0) or {} (other ranks)."""
    check_name(name)
    corpus_dir = Path(corpus_dir)
    rank, world = dist.setup()
    device = dist.device_for(rank, resolve_device(config.device))
    torch.manual_seed(config.seed)
    if device.type == "cpu":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))

    report = progress if rank == 0 else None
    with dist.rank_zero_first(rank, world):
        corpus = load_corpus(corpus_dir, config.seed)
    train_pieces, _, _ = corpus.side("train", config.style_slot)
    valid = corpus.side("valid", config.style_slot)
    if not valid[0]:  # a corpus of one or two pieces: validate on what there is, and say so
        valid = corpus.side("train", config.style_slot)

    base = load_bundle(find_style(from_style, styles_dir), device) if from_style else None
    model_config = base.model.cfg if base else config_for_size(config.size, VOCAB.size, config.seq_len, config.dropout)
    if base and config.seq_len > model_config.max_seq_len:
        raise MidigenError(f"--from {from_style}: its context is {model_config.max_seq_len} tokens, less than seq_len {config.seq_len}")
    model = MusicTransformer(model_config).to(device)
    if base:
        model.load_weights(base.model.state_dict_for_save())

    target = default_write_dir(styles_dir) / name
    work = target.parent / f".train-{name}"
    optimizer = _optimizer(model, config, fused=device.type == "cuda")
    start_step, best = 0, {"bits_per_note": None, "step": None, "evals_since": 0}
    if resume:
        start_step, best = _resume(work, model, optimizer, config)
    elif rank == 0 and work.exists():
        import shutil

        shutil.rmtree(work)
    dist.barrier(world)

    net = dist.wrap(model, device, world)
    sampler = BatchSampler(PieceBank(train_pieces, transpose=config.transpose), config.batch_size, config.seq_len,
                           seed=config.seed, rank=rank)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    tokens_per_step = config.batch_size * config.seq_len * world
    completed, stopped, interrupted = start_step, None, False
    t0, loss_ema = time.perf_counter(), None
    try:
        for step in range(start_step, config.steps):
            x, y = (t.to(device, non_blocking=True) for t in sampler.batch(step))
            for group in optimizer.param_groups:
                group["lr"] = config.lr_at(step)
            with autocast:
                _, loss = net(x, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            completed = done = step + 1
            loss_value = float(loss.detach())
            loss_ema = loss_value if loss_ema is None else 0.9 * loss_ema + 0.1 * loss_value
            rate = tokens_per_step * (done - start_step) / max(time.perf_counter() - t0, 1e-9)
            evaluated = None
            if done % config.eval_every == 0 or done == config.steps:
                evaluated = _validate(model, valid, device, best, done, work, rank) if rank == 0 else None
                stop = dist.broadcast_flag(best["evals_since"] >= config.patience if rank == 0 else False, device, world)
                if stop:
                    stopped = done
            if report:
                report(Progress(done, config.steps, loss_ema, rate, evaluated, best["bits_per_note"]))
            if rank == 0 and (done % config.checkpoint_every == 0 or stopped):
                _save_checkpoint(work, model, optimizer, done, best, config)
            if stopped:
                break
    except KeyboardInterrupt:
        interrupted = True
        if rank == 0:
            _save_checkpoint(work, model, optimizer, completed, best, config)
    finally:
        dist.cleanup(world)
    if interrupted:
        raise KeyboardInterrupt(f"training stopped after step {completed}; checkpoint saved, continue with --resume")
    if rank != 0:
        return {}
    return _finish(name, target, work, model, corpus, config, best, corpus_dir, completed, stopped, from_style, command,
                   device, report)


def _validate(model, valid, device, best: dict, step: int, work: Path, rank: int) -> float:
    """Validation bits/note; on a new best, the weights are kept as ``best.safetensors``."""
    from safetensors.torch import save_file

    bits = evaluate(model, *valid, device=device).bits_per_note
    if best["bits_per_note"] is None or bits < best["bits_per_note"] - 1e-4:
        best.update(bits_per_note=bits, step=step, evals_since=0)
        work.mkdir(parents=True, exist_ok=True)
        tmp = work / ".best.safetensors.tmp"
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict_for_save().items()}, str(tmp))
        os.replace(tmp, work / "best.safetensors")
    else:
        best["evals_since"] += 1
    return bits


def _resume(work: Path, model, optimizer, config: TrainConfig) -> tuple[int, dict]:
    from safetensors.torch import load_file

    state_path = work / CHECKPOINT_STATE
    if not state_path.is_file():
        raise MidigenError(f"nothing to resume: no checkpoint in {work}")
    state = json.loads(state_path.read_text())
    saved = TrainConfig.from_dict(state["config"])
    if (saved.size, saved.seq_len, saved.seed) != (config.size, config.seq_len, config.seed):
        raise MidigenError("--resume needs the same --size, --seq-len and --seed as the interrupted run")
    steps = {_checkpoint_step(work / name) for name in (CHECKPOINT_WEIGHTS, CHECKPOINT_OPTIMIZER)} | {int(state["step"])}
    if len(steps) != 1:  # killed between the three files of one checkpoint
        raise MidigenError(f"the checkpoint in {work} was interrupted while being written (steps {sorted(steps)}); "
                           "train again without --resume")
    model.load_weights(load_file(str(work / CHECKPOINT_WEIGHTS)))
    _load_optimizer_tensors(optimizer, load_file(str(work / CHECKPOINT_OPTIMIZER)))
    return int(state["step"]), state["best"]


def _finish(name, target, work, model, corpus, config, best, corpus_dir, steps_done, stopped, from_style, command, device, report) -> dict:
    """Best weights back in, test metrics beside the n-gram's, bundle installed, work folder removed."""
    import platform
    import shutil

    from safetensors.torch import load_file

    from .ngram import NGramModel

    if (work / "best.safetensors").exists():
        model.load_weights(load_file(str(work / "best.safetensors")))
    if report:
        report(Progress(steps_done, config.steps, float("nan"), 0.0, message="scoring the test split"))
    metrics = {}
    sides = {s: corpus.side(s, config.style_slot) for s in ("train", "valid", "test")}
    ngram = NGramModel(VOCAB.size, order=config.ngram_order).fit(_all_transpositions(sides["train"][0], config.transpose))
    for side in ("valid", "test"):
        pieces, notes, quarters = sides[side]
        if not pieces:
            continue
        metrics[side] = {
            "model": evaluate(model, pieces, notes, quarters, device).to_json(),
            "model_grammar_masked": evaluate(model, pieces, notes, quarters, device, masked=True).to_json(),
            "ngram": ngram_likelihood(ngram, pieces, notes, quarters).to_json(),
        }
    meta = {
        "name": name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "command": command,
        "training": {**config.to_dict(), "steps_done": steps_done, "early_stopped_at": stopped,
                     "best_step": best["step"], "from_style": from_style},
        "hardware": {"device": str(device), "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None,
                     "cpu_count": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__},
        "corpus": {"root": str(corpus_dir), **_manifest_info(Path(corpus_dir)), "pieces": len(corpus.dataset),
                   "split": split_json(corpus.dataset, corpus.split), "stats": corpus.stats.to_json()},
        "metrics": {**metrics, "ngram_order": config.ngram_order, "unit": "bits per note (NLL of all tokens / notes)"},
    }
    meta = install(meta, model, target)
    shutil.rmtree(work, ignore_errors=True)
    return meta


def _all_transpositions(pieces: list[np.ndarray], transpose: bool) -> list[np.ndarray]:
    """The n-gram's training data: each piece in every key that keeps it in range (as the model sees)."""
    bank = PieceBank(pieces, transpose=transpose)
    return [bank.transposed(i, int(s)) for i in range(len(bank)) for s in bank.shifts[i]]
