"""Training checkpoints: weights, optimizer moments and loop state in a work folder, each file atomic.

The state file is written last and every file records its step, so a run killed while writing a
checkpoint is detected on ``--resume`` rather than resumed from a torn mix of two steps.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from ..errors import MidigenError
from ..fsutil import atomic_write_json

CHECKPOINT_WEIGHTS = "checkpoint.safetensors"
CHECKPOINT_OPTIMIZER = "optimizer.safetensors"
CHECKPOINT_STATE = "state.json"


def save_checkpoint(work: Path, model, optimizer, step: int, best: dict, config) -> None:
    """Weights, optimizer moments and loop state, each file written atomically, state last."""
    from safetensors.torch import save_file

    work.mkdir(parents=True, exist_ok=True)
    for name, tensors in ((CHECKPOINT_WEIGHTS, model.state_dict_for_save()), (CHECKPOINT_OPTIMIZER, _optimizer_tensors(optimizer))):
        tmp = work / f".{name}.tmp"
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp), metadata={"step": str(step)})
        os.replace(tmp, work / name)
    atomic_write_json(work / CHECKPOINT_STATE, {"step": step, "best": best, "config": config.to_dict()})


def checkpoint_step(path: Path) -> int | None:
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


def resume(work: Path, model, optimizer, config):
    """Load the last checkpoint in ``work``; (step, best-so-far, the interrupted run's config) to continue from."""
    from safetensors.torch import load_file

    state_path = work / CHECKPOINT_STATE
    if not state_path.is_file():
        raise MidigenError(f"nothing to resume: no checkpoint in {work}")
    state = json.loads(state_path.read_text())
    saved = type(config).from_dict(state["config"])
    if (saved.size, saved.seq_len, saved.seed) != (config.size, config.seq_len, config.seed):
        raise MidigenError("--resume needs the same --size, --seq-len and --seed as the interrupted run")
    steps = {checkpoint_step(work / name) for name in (CHECKPOINT_WEIGHTS, CHECKPOINT_OPTIMIZER)} | {int(state["step"])}
    if len(steps) != 1:  # killed between the three files of one checkpoint
        raise MidigenError(f"the checkpoint in {work} was interrupted while being written (steps {sorted(steps)}); "
                           "train again without --resume")
    model.load_weights(load_file(str(work / CHECKPOINT_WEIGHTS)))
    _load_optimizer_tensors(optimizer, load_file(str(work / CHECKPOINT_OPTIMIZER)))
    return int(state["step"]), state["best"], saved
