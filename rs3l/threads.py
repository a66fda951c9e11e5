"""How many CPU threads torch may use in a training process beside its data-loader workers.

torch's default is one intra-op thread per core in every process, and each DataLoader
worker is a process of its own (torch gives it one thread). A training process with W
workers therefore ran cores + W busy threads, and N ranks under torchrun
N x (cores + W): on a loaded machine pre-training ran about ten times slower.
:func:`set_torch_threads` gives each process ``max(1, cores // processes - workers)``
threads, so processes x (threads + workers) does not exceed the cores this process
may run on (its CPU affinity, which honours ``taskset`` and cgroup cpusets).

``RS3L_TORCH_THREADS=N`` overrides the choice (``pretrain`` and ``evaluate`` call
:func:`set_torch_threads` before training).
"""

from __future__ import annotations

import logging
import os

import torch

__all__ = ["torch_threads", "set_torch_threads", "THREADS_ENV"]

#: environment variable that overrides the number of torch threads per process
THREADS_ENV = "RS3L_TORCH_THREADS"

log = logging.getLogger(__name__)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def torch_threads(loader_workers: int, processes: int | None = None, cores: int | None = None) -> int:
    """Intra-op threads per process so that processes x (threads + loader_workers) <= cores.

    Args:
        loader_workers: DataLoader worker processes of each training process (one thread each).
        processes: training processes on this machine (default: torchrun's
            ``LOCAL_WORLD_SIZE``, else 1).
        cores: usable cores (default: this process's CPU affinity).

    Returns:
        at least 1 (with more processes and workers than cores, one each).
    """
    if processes is None:
        processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)
    cores = _cores() if cores is None else cores
    return max(1, cores // max(1, processes) - max(0, loader_workers))


def set_torch_threads(loader_workers: int, processes: int | None = None) -> int:
    """Set torch's intra-op threads by :func:`torch_threads`, or to ``$RS3L_TORCH_THREADS``; returns it.

    Raises:
        ValueError: ``RS3L_TORCH_THREADS`` is not a positive integer (naming it).
    """
    override = os.environ.get(THREADS_ENV, "").strip()
    if override:
        try:
            threads = int(override)
        except ValueError:
            threads = 0
        if threads < 1:
            raise ValueError(f"environment variable {THREADS_ENV}={override!r}: expected a positive integer")
    else:
        threads = torch_threads(loader_workers, processes)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    log.info("torch: %d thread(s) per process beside %d data-loader worker(s) (%s overrides)", threads,
             loader_workers, THREADS_ENV)
    return threads
