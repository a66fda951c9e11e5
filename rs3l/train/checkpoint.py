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

Everything in the file is a tensor or a plain type (dict, list, tuple, str, int,
float, bool, None): numpy values are turned into tensors and Python numbers when
saved. Files are read with ``torch.load(weights_only=True)``, whose unpickler
refuses any other object, so a model file shared by someone else can never run
code when loaded (a pickle ``__reduce__`` payload is an error naming the file).
"""

from __future__ import annotations

import pickle
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sim_pairs.io import atomic_path

__all__ = ["save_checkpoint", "load_checkpoint", "load_weights_file", "rng_state", "set_rng_state",
           "CheckpointError", "plain"]


class CheckpointError(ValueError):
    """A model or checkpoint file that cannot be read safely (damaged, foreign, or holding code)."""


def rng_state() -> dict[str, Any]:
    """The states of python's, numpy's and torch's random generators, as tensors and plain types."""
    name, key, pos, has_gauss, cached = np.random.get_state()
    state = {"python": random.getstate(),
             "numpy": {"bit_generator": str(name), "key": torch.from_numpy(np.asarray(key, dtype=np.int64)),
                       "pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore generator states captured by :func:`rng_state`."""
    python = state["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))
    numpy = state["numpy"]
    np.random.set_state((numpy["bit_generator"], numpy["key"].numpy().astype(np.uint32), numpy["pos"],
                         numpy["has_gauss"], numpy["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def plain(obj: Any) -> Any:
    """``obj`` with numpy arrays as tensors, numpy scalars and paths as Python values (recursively).

    Containers are rebuilt only where something inside changed, so a ``state_dict``
    keeps its type and its ``_metadata`` (the layers' versions).
    """
    if isinstance(obj, dict):
        items = {k: plain(v) for k, v in obj.items()}
        if all(items[k] is obj[k] for k in obj):
            return obj
        return items if type(obj) is dict else type(obj)(items)
    if type(obj) in (list, tuple):
        items = [plain(v) for v in obj]
        return obj if all(a is b for a, b in zip(items, obj)) else type(obj)(items)
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (numpy values made plain by :func:`plain`) to ``path`` atomically; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(plain(state), tmp)
    return path


def _refusal(path: Path, error: Exception) -> str:
    found = re.search(r"unsupported (GLOBAL [\w.]+)", str(error)) or re.search(r"(GLOBAL [\w.]+)", str(error))
    what = found.group(1) if found else str(error).strip().splitlines()[0][:160] if str(error).strip() else "?"
    return (f"{path}: refused: the file holds a Python object ({what}) besides tensors and plain types; "
            "loading it could run code, so it was not loaded (rs3l writes only tensors and plain types)")


def load_weights_file(path: str | Path, map_location: str | torch.device = "cpu", *, what: str = "model file") -> Any:
    """``torch.load(path, weights_only=True)`` with every failure turned into one line naming the file.

    Raises:
        FileNotFoundError: naming the file.
        CheckpointError: a pickled object other than tensors and plain types (refused, never
            run), or a damaged, truncated, empty or foreign file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} not found")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if "Weights only load failed" in str(error) and "GLOBAL" in str(error):
            raise CheckpointError(_refusal(path, error)) from None
        raise CheckpointError(f"{path}: damaged or not a torch file ({_first_line(error)})") from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError, TypeError, AttributeError,
            UnicodeDecodeError, MemoryError, OverflowError) as error:
        raise CheckpointError(f"{path}: damaged, truncated or not a torch file "
                              f"({type(error).__name__}: {_first_line(error)})") from None


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else "empty"


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors and plain types only).

    Raises:
        FileNotFoundError: naming the file.
        CheckpointError (a ValueError): the file holds other objects (refused without
            running them), is damaged, or is not a checkpoint (names the missing key).
    """
    path = Path(path)
    state = load_weights_file(path, map_location, what="checkpoint")
    if not isinstance(state, dict) or "model" not in state:
        raise CheckpointError(f"{path}: not an rs3l checkpoint (expected a mapping with key 'model')")
    return state
