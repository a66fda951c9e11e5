"""The torch device of a run: choosing it (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``) and moving batches onto it."""

from __future__ import annotations

import os
from typing import Any

import torch

__all__ = ["resolve_device", "move_to_device"]


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """Turn a ``--device`` string into a checked ``torch.device``.

    Args:
        spec: ``auto`` (CUDA if available, then MPS, else CPU; under torchrun the
            CUDA device is ``cuda:LOCAL_RANK``), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.

    Raises:
        ValueError: an unknown name, or a device this machine does not have.
    """
    if isinstance(spec, torch.device):
        spec = str(spec)
    spec = spec.strip().lower()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "mps":
        if not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
            raise ValueError("device 'mps' requested but this torch build or machine has no MPS; use --device cpu")
        return torch.device("mps")
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ValueError(f"device '{spec}' requested but CUDA is not available here; use --device cpu or auto")
        if spec == "cuda":
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        try:
            index = int(spec.split(":", 1)[1])
        except ValueError:
            raise ValueError(f"device '{spec}': expected cuda:N with an integer N") from None
        if not 0 <= index < torch.cuda.device_count():
            raise ValueError(f"device '{spec}': this machine has {torch.cuda.device_count()} CUDA device(s)")
        return torch.device("cuda", index)
    raise ValueError(f"unknown device '{spec}': expected auto, cpu, cuda, cuda:N or mps")


def move_to_device(batch: Any, device: torch.device) -> Any:
    """Copy a batch (anything with ``.to``, or lists/tuples/dicts of them) to ``device``, non-blocking."""
    if hasattr(batch, "to") and not isinstance(batch, type):
        try:
            return batch.to(device, non_blocking=True)
        except TypeError:
            return batch.to(device)
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: move_to_device(v, device) for k, v in batch.items()}
    return batch
