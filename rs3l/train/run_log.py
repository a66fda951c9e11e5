"""The Trainer's logs: ``steps.csv`` (every few steps), ``epochs.csv`` (one row per epoch), TensorBoard."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

__all__ = ["StepLog", "write_epochs_csv", "tensorboard_writer"]


class StepLog:
    """Append-only ``steps.csv`` (step, epoch, loss, lr, jets_per_s)."""

    def __init__(self, path: Path, append: bool) -> None:
        new = not (append and path.is_file())
        self._file = open(path, "w" if new else "a", newline="")
        self._csv = csv.writer(self._file)
        if new:
            self._csv.writerow(["step", "epoch", "loss", "lr", "jets_per_s"])

    def write(self, step: int, epoch: int, loss: float, lr: float, rate: float) -> None:
        self._csv.writerow([step, epoch, f"{loss:.6g}", f"{lr:.6g}", f"{rate:.1f}"])
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def write_epochs_csv(path: Path, history: list[dict[str, float]]) -> None:
    from sim_pairs.io import atomic_path

    columns: list[str] = []
    for row in history:
        columns += [k for k in row if k not in columns]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(history)


def tensorboard_writer(log_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        warnings.warn("tensorboard is not installed (pip install tensorboard): no TensorBoard logs, CSV only")
        return None
    return SummaryWriter(log_dir=str(log_dir))
