"""Training checkpoints: model, optimiser, scheduler, RNG states, progress and config.

A checkpoint is one ``torch.save`` file written atomically (temporary file, then
rename), so a run killed while writing leaves the previous checkpoint intact. Keys:

==================  ==========================================================
``model``           the model's ``state_dict`` (without any DDP ``module.`` prefix)
``optimizer``       the optimiser's ``state_dict``
``scheduler``       the LR scheduler's ``state_dict`` (or None)
``rng``             python, numpy and torch (CPU and CUDA) RNG states
``epoch``           the number of finished epochs
``step``            the number of optimiser steps taken
``best_val``        the best validation loss so far (or None)
``bad_epochs``      epochs since the best validation loss (early stopping)
``config``          the run's config as a plain mapping (or None)
``history``         one dict of epoch metrics per finished epoch
==================  ==========================================================
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sim_pairs.io import atomic_path

__all__ = ["save_checkpoint", "load_checkpoint", "rng_state", "set_rng_state"]


def rng_state() -> dict[str, Any]:
    """The states of python's, numpy's and torch's random generators."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore generator states captured by :func:`rng_state`."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically and return the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises:
        FileNotFoundError: naming the file.
        ValueError: the file is not a checkpoint (names the missing keys).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    # weights_only=False: the file holds RNG states and config mappings written by rs3l itself
    state = torch.load(path, map_location=map_location, weights_only=False)
    if not isinstance(state, dict) or "model" not in state:
        raise ValueError(f"{path}: not an rs3l checkpoint (expected a mapping with key 'model')")
    return state
