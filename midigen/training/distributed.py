"""DistributedDataParallel through torchrun: NCCL on GPU, gloo on CPU; a no-op for one process.

``torchrun --nproc_per_node=N -m midigen train ...`` sets RANK, WORLD_SIZE and LOCAL_RANK; everything
here reads them, so the training loop is the same code for one process or many.
"""
from __future__ import annotations

import contextlib
import os

import torch
import torch.distributed as td


def setup() -> tuple[int, int]:
    """(rank, world size); joins the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not td.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        td.init_process_group(backend)
    return td.get_rank(), world


def device_for(rank: int, device: torch.device) -> torch.device:
    if device.type == "cuda" and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        local = int(os.environ.get("LOCAL_RANK", rank))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return device


@contextlib.contextmanager
def rank_zero_first(rank: int, world: int):
    """Rank 0 runs the block first (e.g. fills a cache), the others after it, reusing its work."""
    if world > 1 and rank != 0:
        td.barrier()
    yield
    if world > 1 and rank == 0:
        td.barrier()


def wrap(model: torch.nn.Module, device: torch.device, world: int) -> torch.nn.Module:
    if world <= 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def broadcast_flag(flag: bool, device: torch.device, world: int) -> bool:
    """Rank 0's decision (e.g. stop early), seen by every rank."""
    if world <= 1:
        return flag
    value = torch.tensor([1 if flag else 0], device=device if device.type == "cuda" else "cpu")
    td.broadcast(value, src=0)
    return bool(value.item())


def broadcast_ints(values: list[int], device: torch.device, world: int) -> list[int]:
    """Rank 0's integers (e.g. a planned step count), seen by every rank."""
    if world <= 1:
        return list(values)
    tensor = torch.tensor(values, dtype=torch.int64, device=device if device.type == "cuda" else "cpu")
    td.broadcast(tensor, src=0)
    return [int(v) for v in tensor.tolist()]


def barrier(world: int) -> None:
    if world > 1:
        td.barrier()


def cleanup(world: int) -> None:
    if world > 1 and td.is_initialized():
        td.destroy_process_group()
