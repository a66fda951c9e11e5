"""Process-group set-up for DistributedDataParallel runs launched by ``torchrun``.

``torchrun --nproc-per-node N -m rs3l pretrain ...`` sets RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR and MASTER_PORT; :func:`init_distributed` reads them and
starts the process group (gloo on CPU, nccl on CUDA). A plain ``python -m rs3l``
run is a world of one and starts nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["DistInfo", "init_distributed", "dist_info", "cleanup_distributed", "all_reduce_mean"]


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the run: ``rank`` of ``world_size``; ``is_main`` writes files."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def dist_info() -> DistInfo:
    """The current process group's rank and size (a world of one when none is running)."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank())))
    return DistInfo()


def init_distributed(device: torch.device) -> DistInfo:
    """Start the process group when launched with WORLD_SIZE > 1; otherwise do nothing.

    Args:
        device: the device this process trains on; CUDA selects nccl (and sets the
            current CUDA device), anything else gloo.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return dist_info()
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
    return dist_info()


def cleanup_distributed() -> None:
    """Destroy the process group if one is running."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_mean(value: float, device: torch.device) -> float:
    """The mean of a Python number over all ranks (the number itself in a world of one)."""
    info = dist_info()
    if not info.enabled:
        return float(value)
    t = torch.tensor([float(value)], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t.item()) / info.world_size
