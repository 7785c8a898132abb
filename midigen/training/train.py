"""Training a style: the loop, its checkpoints, early stopping, and the bundle it writes.

``train_style`` reads a folder through the token cache, splits it by tune family, trains on the train
side with transposition augmentation (AdamW, warm-up then cosine decay, gradient clipping, bf16 autocast
on GPU), scores the validation side in bits per note every ``eval_every`` steps, keeps the best weights,
stops early when validation stops improving, and installs the bundle atomically. How long it trains is
``steps`` or a time budget (``budget``: by default ``DEFAULT_MINUTES``, start-up to installed bundle).
Checkpoints go to a work folder beside the bundle; ``resume=True`` continues from the last one. Ctrl-C
installs the best weights so far (unscored) and keeps the checkpoint. Under ``torchrun`` it runs
DistributedDataParallel (NCCL on GPU, gloo on CPU); only rank 0 writes files or reports.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ..errors import MidigenError
from ..model.transformer import MusicTransformer, config_for_size
from ..styles.bundle import check_replaceable, install, load_bundle, read_meta
from ..styles.registry import check_name, default_write_dir, find_style
from ..tokens.vocab import VOCAB
from . import budget, checkpoint
from . import distributed as dist
from .batches import BatchSampler, PieceBank
from .config import TrainConfig
from .data import inherited_slots, load_corpora, piece_weights, slots_for
from .likelihood import evaluate
from .meta import corpus_metrics, fit_ngrams, style_meta

BASE_STYLE = "base"  # the bundle ``train`` fine-tunes from by default

@dataclass
class Progress:
    """What the loop reports to its caller (the CLI draws it as a progress bar)."""

    step: int
    steps: int | None  # None while a budget run has not planned its steps yet
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
    """AdamW with weight decay on matrices only. ``fused`` (CPU and CUDA): one kernel per tensor instead of
    about ten ops each, 6 vs 34 ms a step for the small model on one CPU core."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.95), fused=fused)


def optimizer_step(net, model, optimizer, config: TrainConfig, step: int, x, y, autocast) -> torch.Tensor:
    """One AdamW step at the schedule's rate for ``step``, gradients clipped; returns the batch loss.

    ``net`` is what runs forward (the model, or its DDP wrapper); ``model`` owns the parameters.
    """
    for group in optimizer.param_groups:
        group["lr"] = config.lr_at(step)
    with autocast:
        _, loss = net(x, y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    optimizer.step()
    return loss


def _find_base(from_style: str | None, styles_dir, config: TrainConfig):
    """The bundle to start from: ``from_style`` (``"none"``: scratch; None: ``base`` where it fits) and a
    note for the user when the default base is not used."""
    if from_style is not None:
        return (None, None) if from_style == "none" else (find_style(from_style, styles_dir), None)
    try:
        path = find_style(BASE_STYLE, styles_dir)
        meta = read_meta(path, older_vocab=True)
    except MidigenError:
        return None, f"no usable '{BASE_STYLE}' bundle found: training from scratch"
    size, max_len = meta.get("training", {}).get("size"), meta.get("model", {}).get("max_seq_len", 0)
    if size != config.size or max_len < config.seq_len:
        return None, (f"'{BASE_STYLE}' is size {size} with {max_len}-token context, this run asks for {config.size} "
                      f"and {config.seq_len}: training from scratch (use --from {BASE_STYLE} --size {size} to fine-tune)")
    return path, None


@dataclass(frozen=True)
class _Run:
    """What a run settled before its first step, and what every later step needs of it.

    Grouped so that the loop and the bundle writer take one argument instead of a dozen loose ones.
    """

    name: str
    config: TrainConfig  # resolved: rates decided, size the base's when fine-tuning
    corpora: list  # training.data.Corpus, one per folder, each with its Style slot
    target: Path  # the bundle folder
    work: Path  # checkpoints and the best weights so far, beside the bundle
    device: torch.device
    rank: int
    world: int
    from_style: str | None  # the base bundle's name; None from scratch
    command: str | None
    report: Callable[[Progress], object] | None  # rank 0's progress callback; None on other ranks
    inherited_slots: dict = field(default_factory=dict)  # {label: slot} of the base's corpora not trained again
    started_s: float = 0.0  # time.monotonic() when train_style was called: a budget counts from it

    def say(self, step: int, message: str) -> None:
        """A line for the user between steps (the caller shows ``Progress.message`` as text)."""
        if self.report:
            self.report(Progress(step, self.config.steps, float("nan"), 0.0, message=message))


@dataclass(frozen=True)
class _Outcome:
    """How the loop ended: the bundle records it."""

    steps_done: int
    stopped: int | None  # the step early stopping ended the run at
    best_step: int | None  # the step of the weights the bundle keeps
    best_bits_per_note: float | None = None
    interrupted: bool = False  # Ctrl-C: installed unscored, checkpoint kept
    budget: dict | None = None  # a budget run's plan and how it ended


def train_style(name: str, corpus_dirs: str | Path | list, config: TrainConfig, *, styles_dir: str | Path | None = None,
                from_style: str | None = None, resume: bool = False, progress=None, command: str | None = None) -> dict:
    """Train and install the bundle ``name``; returns its ``style.json`` content (rank 0) or {} (other ranks).

    ``corpus_dirs``: one folder (a one-style bundle) or several (a multi-style bundle, Style token per
    folder). ``from_style``: a bundle to fine-tune, ``"none"`` for scratch, None for ``base`` where its
    size and context fit the config. A time budget (``config.budget_minutes``) counts from this call.
    Ctrl-C (KeyboardInterrupt) installs the best weights so far and re-raises, saying so.
    """
    started_s = time.monotonic()
    check_name(name)
    dirs = _folders(corpus_dirs)
    rank, world = dist.setup()
    device = _start_process(config, rank, world)
    base, config, note = _starting_point(from_style, styles_dir, config, device)
    with dist.rank_zero_first(rank, world):
        corpora = load_corpora(dirs, config.seed, slots_for(dirs, base.meta if base else None, config.style_slot))
    target = default_write_dir(styles_dir) / name
    run = _Run(name=name, config=config, corpora=corpora, target=target, work=target.parent / f".train-{name}",
               device=device, rank=rank, world=world, from_style=base.name if base else None, command=command,
               report=progress if rank == 0 else None, inherited_slots=inherited_slots(base.meta if base else None, corpora),
               started_s=started_s)
    if note:  # said once the corpus is known to be usable, so that a bad folder is one line
        run.say(0, note)
    model = _model_for(base, config, device)
    check_replaceable(target)  # before hours of training, not after
    optimizer = _optimizer(model, config, fused=device.type in ("cpu", "cuda"))
    start_step, best, run = _open_work(run, model, optimizer, resume)
    run.say(start_step, budget.data_line(corpora, run.config))
    ngrams = fit_ngrams(corpora, run.config) if rank == 0 else []  # before the budget's plan: start-up time
    run, schedule = _schedule(run, model)
    outcome = _loop(run, model, optimizer, start_step, best, schedule)
    run = replace(run, config=schedule.config)
    if rank != 0:
        if outcome.interrupted:
            raise KeyboardInterrupt("interrupted")
        return {}
    return _finish(run, model, outcome, ngrams)


def _folders(corpus_dirs: str | Path | list) -> list[Path]:
    dirs = [Path(d) for d in ([corpus_dirs] if isinstance(corpus_dirs, (str, Path)) else corpus_dirs)]
    if not dirs:
        raise MidigenError("no corpus folder given")
    return dirs


def _start_process(config: TrainConfig, rank: int, world: int) -> torch.device:
    """This process's device, seeded; on a CPU the cores are shared out between the ranks."""
    device = dist.device_for(rank, resolve_device(config.device))
    torch.manual_seed(config.seed)
    if device.type == "cpu":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    return device


def _starting_point(from_style: str | None, styles_dir, config: TrainConfig, device):
    """(base bundle or None, the config resolved for it, a note for the user or None)."""
    base_path, note = _find_base(from_style, styles_dir, config)
    base = load_bundle(base_path, device, older_vocab=True) if base_path else None
    config = config.resolved(fine_tune=base is not None)
    if base:  # the model is the base's: record its size, not the default asked for
        config = replace(config, size=base.meta.get("training", {}).get("size", config.size))
    return base, config, note


def _model_for(base, config: TrainConfig, device) -> MusicTransformer:
    """The base's model (grown into this vocabulary: its ids keep their meaning) or a fresh one."""
    if base and config.seq_len > base.model.cfg.max_seq_len:
        raise MidigenError(f"--from {base.name}: its context is {base.model.cfg.max_seq_len} tokens, less than seq_len {config.seq_len}")
    if base:
        return base.model.grow_vocab(VOCAB.size).to(device)
    return MusicTransformer(config_for_size(config.size, VOCAB.size, config.seq_len, config.dropout)).to(device)


def _open_work(run: _Run, model, optimizer, resume: bool) -> tuple[int, dict, _Run]:
    """(first step, best-so-far record, the run with its budget decided): from the last checkpoint when
    resuming (a run given no steps continues the interrupted run's schedule); else a clean work folder."""
    start_step, best, config = 0, {"bits_per_note": None, "step": None, "evals_since": 0}, run.config
    if resume:
        start_step, best, saved = checkpoint.resume(run.work, model, optimizer, run.config)
        if config.steps is None and saved.steps is not None:
            config = replace(config, steps=saved.steps, warmup_steps=saved.warmup_steps, eval_every=saved.eval_every,
                             checkpoint_every=saved.checkpoint_every,
                             minutes=config.minutes if config.minutes is not None else saved.minutes)
    elif run.rank == 0 and run.work.exists():
        shutil.rmtree(run.work)
    dist.barrier(run.world)
    return start_step, best, replace(run, config=replace(config, minutes=config.budget_minutes))


def _schedule(run: _Run, model) -> tuple[_Run, budget.Schedule]:
    """The run's schedule. Under a budget rank 0 times the scoring, sizes ``score_pieces`` (unless given)
    and sets the final scoring's time aside: the deadline is when training must end."""
    config, minutes = run.config, run.config.minutes
    deadline_s, validation_s = None, 0.0
    if minutes is not None and run.rank == 0:
        s_per_token = budget.probe_s_per_token(model, run.corpora, run.device)
        window = model.cfg.max_seq_len
        if config.score_pieces is None:
            config = replace(config, score_pieces=budget.choose_score_pieces(run.corpora, minutes * 60, s_per_token, window))
        validation_s, final_s = budget.scoring_s(run.corpora, config.score_pieces, s_per_token, window)
        deadline_s = run.started_s + minutes * 60 - final_s - budget.INSTALL_S - validation_s
        n = config.score_pieces
        pieces = "all pieces" if n is None else f"at most {n} piece{'s' if n > 1 else ''}"
        run.say(0, f"held-out: {pieces} per side and corpus scored, ~{validation_s:.1f} s a validation, "
                   f"~{final_s:.1f} s to score at the end; start-up took {time.monotonic() - run.started_s:.1f} s")
    elif minutes is not None:
        deadline_s = float("inf")  # rank 0 decides when to stop
    run = replace(run, config=config)
    fine_tune = run.from_style is not None

    def lines(planned: TrainConfig, step_s: float | None) -> list[str]:
        return [budget.plan_line(planned, run.world, run.corpora, step_s, run.device),
                budget.quality_line(planned, run.world, run.corpora, fine_tune)]

    return run, budget.Schedule(config, deadline_s=deadline_s, validation_s=validation_s, world=run.world,
                                device=run.device, say=lambda line: run.say(0, line), plan_lines=lines)


def _sampler(run: _Run) -> BatchSampler:
    """This rank's batches: every corpus's train side, small corpora drawn more than their size."""
    config, corpora = run.config, run.corpora
    train_pieces = [p for c in corpora for p in c.side("train")[0]]
    return BatchSampler(PieceBank(train_pieces, transpose=config.transpose), config.batch_size, config.seq_len,
                        seed=config.seed, rank=run.rank, weights=piece_weights(corpora) if len(corpora) > 1 else None,
                        infill_share=config.infill_share)


def _loop(run: _Run, model, optimizer, start_step: int, best: dict, schedule: budget.Schedule) -> _Outcome:
    """The steps from ``start_step``, validating, checkpointing and stopping (early, or for time) on schedule.

    Ctrl-C saves a checkpoint and ends the loop as interrupted.
    """
    device = run.device
    net = dist.wrap(model, device, run.world)
    sampler = _sampler(run)
    valid = [c.validation_side(run.config.score_pieces) for c in run.corpora]
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    tokens_per_step = run.config.batch_size * run.config.seq_len * run.world
    completed, stopped, interrupted = start_step, None, False
    t0, loss_ema = time.perf_counter(), None
    try:
        step = start_step
        while not schedule.finished(step):
            began = time.perf_counter()
            x, y = (t.to(device, non_blocking=True) for t in sampler.batch(step))
            loss = optimizer_step(net, model, optimizer, schedule.config, step, x, y, autocast)
            loss_value = float(loss.detach())
            completed = done = step = step + 1
            late = schedule.stepped(done, time.perf_counter() - began, run.rank)
            loss_ema = loss_value if loss_ema is None else 0.9 * loss_ema + 0.1 * loss_value
            rate = tokens_per_step * (done - start_step) / max(time.perf_counter() - t0, 1e-9)
            evaluated, validating, began = None, schedule.validates_at(done) or late, time.perf_counter()
            if validating:
                evaluated, stop = _evaluate(run, model, valid, best, done)
                if stop:
                    stopped = done
            every = schedule.config.checkpoint_every
            if run.rank == 0 and ((every and done % every == 0) or stopped or late):
                checkpoint.save_checkpoint(run.work, model, optimizer, done, best, schedule.config)
            if validating:
                schedule.validated(done, time.perf_counter() - began, run.rank)
            if run.report:
                run.report(Progress(done, schedule.config.steps, loss_ema, rate, evaluated, best["bits_per_note"]))
            if stopped or late:
                break
        dist.barrier(run.world)  # every rank done with its collectives before any tears the group down
    except KeyboardInterrupt:
        interrupted = True
        if run.rank == 0:
            checkpoint.save_checkpoint(run.work, model, optimizer, completed, best, schedule.config)
    finally:
        dist.cleanup(run.world)
    return _Outcome(completed, stopped, best["step"], best["bits_per_note"], interrupted, schedule.record())


def _evaluate(run: _Run, model, valid: list, best: dict, step: int) -> tuple[float | None, bool]:
    """(validation bits/note on rank 0, None elsewhere; whether every rank stops here for lack of progress)."""
    evaluated = _validate(model, valid, run.device, best, step, run.work) if run.rank == 0 else None
    patience = run.config.patience
    stop = patience is not None and best["evals_since"] >= patience if run.rank == 0 else False
    return evaluated, dist.broadcast_flag(stop, run.device, run.world)


def _validate(model, valid: list, device, best: dict, step: int, work: Path) -> float:
    """Validation bits/note (the mean over corpora); on a new best the weights are kept as ``best.safetensors``."""
    from safetensors.torch import save_file

    bits = float(np.mean([evaluate(model, *side, device=device).bits_per_note for side in valid]))
    if best["bits_per_note"] is None or bits < best["bits_per_note"] - 1e-4:
        best.update(bits_per_note=bits, step=step, evals_since=0)
        work.mkdir(parents=True, exist_ok=True)
        tmp = work / ".best.safetensors.tmp"
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict_for_save().items()}, str(tmp))
        os.replace(tmp, work / "best.safetensors")
    else:
        best["evals_since"] += 1
    return bits


def _finish(run: _Run, model, outcome: _Outcome, ngrams: list) -> dict:
    """Best weights back in, test metrics beside the n-gram's, bundle installed, work folder removed.

    Interrupted (Ctrl-C in the loop or while scoring): installed unscored, then KeyboardInterrupt says so.
    """
    from safetensors.torch import load_file

    if run.config.keep == "best" and (run.work / "best.safetensors").exists():
        model.load_weights(load_file(str(run.work / "best.safetensors")))
    if outcome.interrupted:
        _install_interrupted(run, model, outcome)
    run.say(outcome.steps_done, "scoring the valid and test splits")
    try:
        per_corpus = [corpus_metrics(model, c, g, run.config, run.device) for c, g in zip(run.corpora, ngrams)]
    except KeyboardInterrupt:
        install(style_meta(run, outcome, None), model, run.target)
        shutil.rmtree(run.work, ignore_errors=True)
        raise KeyboardInterrupt(f"scoring stopped: style '{run.name}' is installed ({outcome.steps_done} steps trained) "
                                "without its held-out figures") from None
    meta = install(style_meta(run, outcome, per_corpus), model, run.target)
    shutil.rmtree(run.work, ignore_errors=True)
    return meta


def _install_interrupted(run: _Run, model, outcome: _Outcome) -> None:
    """Ctrl-C during training: the best weights so far (the last ones with ``keep="last"`` or before any
    validation) installed unscored, checkpoint kept."""
    if outcome.steps_done == 0:
        raise KeyboardInterrupt("training stopped before its first step: nothing installed")
    install(style_meta(run, outcome, None), model, run.target)
    which = (f"the best weights so far (step {outcome.best_step}, {outcome.best_bits_per_note:.3f} validation bits/note)"
             if outcome.best_step is not None and run.config.keep == "best"
             else f"the weights of step {outcome.steps_done}" + (" (not validated yet)" if outcome.best_step is None else ""))
    raise KeyboardInterrupt(f"training stopped after step {outcome.steps_done}: style '{run.name}' installed with {which}, "
                            f"not scored; checkpoint kept in {run.work}, continue with --resume")
