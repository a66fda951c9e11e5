"""Refuse to continue training, or to reuse a trained model, under a different config.

A checkpoint or ``model.pt`` stores the run config it was trained with. Resuming it
with another data contract, backbone or optimiser (or ``rs3l run`` skipping
pre-training because ``model.pt`` exists) would silently mix two experiments.
Settings that only say how long or how to run (epochs, patience, loader workers,
logging) may change: raising ``epochs`` and resuming is how a run is extended.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

__all__ = ["TrainingConfigMismatch", "check_same_training_config"]

#: sections whose settings decide what is trained
COMPARED_SECTIONS = ("data", "model", "pretrain")
#: keys that may differ between the saved and the current run
FREE_KEYS = {"data.num_workers", "data.shuffle_buffer", "pretrain.epochs", "pretrain.patience",
             "pretrain.num_workers", "pretrain.log_every", "pretrain.max_val_steps"}


class TrainingConfigMismatch(ValueError):
    """The saved training config differs from the current one."""


def _flatten(mapping: Any, prefix: str) -> dict[str, Any]:
    if not isinstance(mapping, Mapping):
        return {prefix: mapping}
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        out.update(_flatten(value, f"{prefix}.{key}"))
    return out


def check_same_training_config(saved: Mapping[str, Any] | None, current: Mapping[str, Any], where: str | Path) -> None:
    """Raise :class:`TrainingConfigMismatch` naming ``where`` and every differing key.

    Args:
        saved: the run config stored in the checkpoint (None: an old file, not checked).
        current: the run config of this run (``RunConfig.to_dict()``).
        where: the checkpoint file, for the message.
    """
    if saved is None:
        return
    old, new = {}, {}
    for section in COMPARED_SECTIONS:
        old.update(_flatten(saved.get(section, {}), section))
        new.update(_flatten(current.get(section, {}), section))
    differ = sorted(k for k in old.keys() | new.keys() if k not in FREE_KEYS and old.get(k) != new.get(k))
    if differ:
        shown = ", ".join(f"{k}: {old.get(k, '<absent>')!r} -> {new.get(k, '<absent>')!r}" for k in differ[:8])
        more = f" and {len(differ) - 8} more" if len(differ) > 8 else ""
        raise TrainingConfigMismatch(
            f"{where}: trained with a different config ({shown}{more}); run with the config it was "
            f"trained with, or write to a new output directory")
