"""The training loop shared by contrastive pre-training and head training.

:class:`Trainer` takes a model and a ``step(model, batch)`` callable that returns the
loss (and optionally a dict of metrics) and does everything around it: device
placement, bf16 autocast on CUDA, the optimiser over the parameters that require
gradients (so a frozen backbone stays frozen), gradient clipping, a per-epoch LR
schedule (StepLR as RS3L, or cosine), validation each epoch, early stopping,
atomic checkpoints every epoch, ``resume=True`` after a killed run, TensorBoard and
CSV logs, a tqdm bar with jets/s, and DistributedDataParallel when a process group
is running (see :mod:`rs3l.train.distributed`).

Example (a frozen backbone under a new head)::

    for p in backbone.parameters():
        p.requires_grad_(False)
    model = torch.nn.Sequential(backbone, torch.nn.Linear(8, 1))

    def step(model, batch):
        logit = model(batch).squeeze(-1)
        loss = F.binary_cross_entropy_with_logits(logit, batch.label.float())
        return loss, {"acc": ((logit > 0) == batch.label.bool()).float().mean().item()}

    settings = TrainSettings(epochs=20, lr=1e-4, patience=5)  # Adam, StepLR(50, 0.5), clip at 5
    trainer = Trainer(model, step, settings, out_dir="run/head")
    result = trainer.fit(train_loader, val_loader, resume=True)
    result.best_checkpoint, result.history[-1]["val_loss"]

Files in ``out_dir``: ``checkpoint.pt`` (the last finished epoch, for resuming),
``best.pt`` (the epoch with the lowest validation loss), ``epochs.csv`` (one row per
epoch), ``steps.csv`` (one row every ``log_every`` steps) and ``tb/`` (TensorBoard).
Only rank 0 writes. Checkpoints hold the state at the end of an epoch, so a run
killed mid-epoch repeats that epoch on resume.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import torch
from torch import nn

from ..device import move_to_device, resolve_device
from .checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from .distributed import all_reduce_mean, dist_info
from .run_log import StepLog, tensorboard_writer, write_epochs_csv
from .settings import TrainSettings

__all__ = ["Trainer", "TrainResult", "TrainSettings", "StepFn", "seed_everything", "count_jets", "move_to_device",
           "sync_batchnorm", "build_optimizer", "build_scheduler"]

log = logging.getLogger(__name__)

#: ``step(model, batch) -> loss`` or ``-> (loss, {name: float})``; ``loss`` is a scalar tensor.
StepFn = Callable[[nn.Module, Any], "torch.Tensor | tuple[torch.Tensor, Mapping[str, float]]"]


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed python, numpy and torch; with ``deterministic`` also ask torch for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def sync_batchnorm(model: nn.Module) -> nn.Module:
    """The model with every BatchNorm layer computing its statistics over all DDP ranks.

    With per-rank statistics a contrastive model can tell the jets of its own rank apart
    from the negatives gathered from other ranks (SimCLR uses global batch norm for this
    reason). torch's SyncBatchNorm runs on GPUs only, so the Trainer applies this on CUDA.
    Parameters and state-dict keys are unchanged.
    """
    n = sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    if n:
        log.info("DDP on CUDA: %d batch-norm layer(s) synchronised across ranks", n)
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return model


def count_jets(batch: Any) -> int:
    """Number of jets (graphs) in a batch: PyG Batch, PairBatch (a, b), GroupBatch (graphs) or a tensor."""
    if hasattr(batch, "a") and hasattr(batch, "b"):
        return count_jets(batch.a) + count_jets(batch.b)
    if hasattr(batch, "graphs"):
        return count_jets(batch.graphs)
    if hasattr(batch, "num_graphs"):
        return int(batch.num_graphs)
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.dim() else 1
    if isinstance(batch, (list, tuple)) and batch:
        return count_jets(batch[0])
    return 0


@dataclass
class TrainResult:
    """What :meth:`Trainer.fit` returns."""

    checkpoint: Path | None  # out_dir/checkpoint.pt, the last finished epoch (None off rank 0)
    best_checkpoint: Path | None  # out_dir/best.pt, the lowest validation loss (None without validation)
    history: list[dict[str, float]] = field(default_factory=list)  # one row per epoch
    stopped_early: bool = False
    steps: int = 0


def _settings(settings: TrainSettings | None, overrides: Mapping[str, Any]) -> TrainSettings:
    """``settings`` (default :class:`TrainSettings`) with the fields named in ``overrides`` replaced."""
    base = settings if settings is not None else TrainSettings()
    known = {f.name for f in dataclasses.fields(TrainSettings)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TypeError(f"Trainer got unknown setting(s) {', '.join(unknown)}; "
                        f"TrainSettings has: {', '.join(sorted(known))}")
    return dataclasses.replace(base, **overrides) if overrides else base


def build_optimizer(model: nn.Module, settings: TrainSettings) -> torch.optim.Optimizer:
    """Adam or AdamW over the parameters that require gradients (so a frozen backbone stays frozen)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no parameters with requires_grad=True: nothing to train")
    opt_cls = torch.optim.Adam if settings.optimizer == "adam" else torch.optim.AdamW
    return opt_cls(params, lr=settings.lr, weight_decay=settings.weight_decay)


def build_scheduler(optimizer: torch.optim.Optimizer, settings: TrainSettings):
    """The per-epoch learning-rate schedule: StepLR (RS3L), cosine annealing over the epochs, or None."""
    if settings.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=settings.step_size, gamma=settings.gamma)
    if settings.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=settings.epochs)
    return None


class Trainer:
    """Generic epoch loop around a user ``step`` function.

    Args:
        model: the module to train; only parameters with ``requires_grad`` are optimised.
        step: ``step(model, batch) -> loss`` or ``(loss, metrics)``; called with the
            (possibly DDP-wrapped) model and the batch already on the device; called
            under ``torch.no_grad()`` and ``model.eval()`` for validation.
        settings: optimiser, schedule and run control (:class:`TrainSettings`, or a
            :class:`~rs3l.train.config.PretrainConfig`, which extends it); default
            ``TrainSettings()``. With ``deterministic`` the Trainer calls
            :func:`seed_everything` (seed the model's initialisation yourself before building it).
        out_dir: directory for checkpoints and logs.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps`` or a ``torch.device``.
        config: a plain mapping stored in every checkpoint (the run config).
        progress: show a tqdm bar (rank 0 only).
        restore_best: at the end of :meth:`fit`, load the best-validation weights into the model.
        jets: ``jets(batch) -> int`` for the jets/s figure (default :func:`count_jets`).
        **overrides: fields of :class:`TrainSettings` replacing those of ``settings``, for
            a quick call from a notebook: ``Trainer(model, step, out_dir=d, epochs=20, lr=1e-4)``.
    """

    def __init__(self, model: nn.Module, step: StepFn, settings: TrainSettings | None = None, *,
                 out_dir: str | Path, device: str | torch.device = "auto", config: Mapping[str, Any] | None = None,
                 progress: bool = True, restore_best: bool = True, jets: Callable[[Any], int] = count_jets,
                 **overrides: Any) -> None:
        self.settings = s = _settings(settings, overrides)
        self.device = resolve_device(device)
        self.dist = dist_info()
        if s.deterministic:
            seed_everything(s.seed, deterministic=True)
        self.out_dir, self.step_fn, self.jets = Path(out_dir), step, jets
        self.config = dict(config) if config is not None else None
        self.progress, self.restore_best = progress, restore_best
        self.amp = s.bf16 and self.device.type == "cuda"
        self.model = model.to(self.device)
        if self.dist.enabled and self.device.type == "cuda":
            self.model = sync_batchnorm(self.model)
        self.optimizer = build_optimizer(self.model, s)
        self.scheduler = build_scheduler(self.optimizer, s)
        self.wrapped = self.model
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.wrapped = DistributedDataParallel(self.model, device_ids=ids)
        self.epoch = self.global_step = self.bad_epochs = 0
        self.best_val: float | None = None
        self.history: list[dict[str, float]] = []

    # ----------------------------------------------------------------- state
    @property
    def checkpoint_path(self) -> Path:
        return self.out_dir / "checkpoint.pt"

    @property
    def best_path(self) -> Path:
        return self.out_dir / "best.pt"

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "rng": rng_state(),
            "epoch": self.epoch,
            "step": self.global_step,
            "best_val": self.best_val,
            "bad_epochs": self.bad_epochs,
            "config": self.config,
            "history": self.history,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"])
        self.epoch, self.global_step = int(state["epoch"]), int(state["step"])
        self.best_val, self.bad_epochs = state.get("best_val"), int(state.get("bad_epochs", 0))
        self.history = list(state.get("history", []))

    # ------------------------------------------------------------------ loop
    def _call_step(self, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        ctx = torch.autocast("cuda", dtype=torch.bfloat16) if self.amp else contextlib.nullcontext()
        with ctx:
            out = self.step_fn(self.wrapped, batch)
        loss, metrics = (out if isinstance(out, tuple) else (out, {}))
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            raise TypeError(f"step() must return a scalar tensor loss (and optionally a metrics dict), got {type(loss)}")
        return loss, {k: float(v) for k, v in dict(metrics).items()}

    def _set_epoch(self, loader: Iterable, epoch: int) -> None:
        # DistributedSampler-style samplers, and graphs.dataset's streaming dataset, reshuffle per epoch
        for obj in (getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None),
                    getattr(loader, "dataset", None)):
            if obj is not None and hasattr(obj, "set_epoch"):
                obj.set_epoch(epoch)
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)

    def _bar(self, loader: Iterable, limit: int | None, desc: str):
        try:
            total = len(loader)  # type: ignore[arg-type]
        except TypeError:
            total = None
        if limit is not None:
            total = limit if total is None else min(total, limit)
        if not (self.progress and self.dist.is_main):
            return None, total
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True), total

    def train_epoch(self, loader: Iterable, steps_log: "StepLog | None" = None) -> dict[str, float]:
        """One pass over ``loader`` (at most ``max_steps_per_epoch`` steps); returns mean loss and metrics."""
        self.wrapped.train()
        self._set_epoch(loader, self.epoch)
        desc = f"epoch {self.epoch + 1}/{self.settings.epochs}"
        bar, total = self._bar(loader, self.settings.max_steps_per_epoch, desc)
        sums: dict[str, float] = {}
        n_batches, n_jets, t0 = 0, 0, time.perf_counter()
        for i, batch in enumerate(loader):
            if total is not None and i >= total:
                break
            batch = move_to_device(batch, self.device)
            loss, metrics = self._call_step(batch)
            loss_value = float(loss.detach())
            if not math.isfinite(loss_value):
                raise FloatingPointError(f"loss is {loss_value} at epoch {self.epoch + 1}, step {self.global_step + 1}")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.settings.grad_clip is not None:
                params = self.optimizer.param_groups[0]["params"]
                metrics["grad_norm"] = float(nn.utils.clip_grad_norm_(params, self.settings.grad_clip))
            self.optimizer.step()
            self.global_step += 1
            n_batches += 1
            n_jets += self.jets(batch)
            sums["loss"] = sums.get("loss", 0.0) + loss_value
            for k, v in metrics.items():
                sums[k] = sums.get(k, 0.0) + v
            rate = n_jets / max(time.perf_counter() - t0, 1e-9)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss_value:.4f}", jets_per_s=f"{rate:.0f}")
            if steps_log is not None and self.global_step % self.settings.log_every == 0:
                steps_log.write(self.global_step, self.epoch + 1, loss_value, self.optimizer.param_groups[0]["lr"], rate)
        if bar is not None:
            bar.close()
        if n_batches == 0:
            raise ValueError("the training loader yielded no batches")
        seconds = time.perf_counter() - t0
        out = {k: all_reduce_mean(v / n_batches, self.device) for k, v in sums.items()}
        out["jets_per_s"] = n_jets * self.dist.world_size / max(seconds, 1e-9)
        out["seconds"] = seconds
        return out

    @torch.no_grad()
    def evaluate(self, loader: Iterable) -> dict[str, float]:
        """Mean loss and metrics of ``step`` over ``loader`` (at most ``max_val_steps`` batches), no gradients."""
        self.wrapped.eval()
        self._set_epoch(loader, 0)
        sums: dict[str, float] = {}
        n = 0
        for i, batch in enumerate(loader):
            if self.settings.max_val_steps is not None and i >= self.settings.max_val_steps:
                break
            loss, metrics = self._call_step(move_to_device(batch, self.device))
            n += 1
            sums["loss"] = sums.get("loss", 0.0) + float(loss)
            for k, v in metrics.items():
                sums[k] = sums.get(k, 0.0) + v
        if n == 0:
            raise ValueError("the validation loader yielded no batches")
        return {k: all_reduce_mean(v / n, self.device) for k, v in sums.items()}

    def fit(self, train_loader: Iterable, val_loader: Iterable | None = None, *, resume: bool = False) -> TrainResult:
        """Train until ``epochs`` are done or early stopping; checkpoint after every epoch.

        Args:
            train_loader: iterable of batches (re-iterated each epoch).
            val_loader: iterable of validation batches, or None (no early stopping, no best.pt).
            resume: continue from ``out_dir/checkpoint.pt`` when it exists (a fresh start otherwise).
        """
        main = self.dist.is_main
        if resume and self.checkpoint_path.is_file():
            self.load_state_dict(load_checkpoint(self.checkpoint_path, map_location=self.device))
        if main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        steps_log = StepLog(self.out_dir / "steps.csv", append=resume) if main else None
        writer = tensorboard_writer(self.out_dir / "tb") if main else None
        stopped = self.settings.patience is not None and self.bad_epochs >= self.settings.patience
        try:
            while self.epoch < self.settings.epochs and not stopped:
                row: dict[str, float] = {"epoch": self.epoch + 1, "lr": self.optimizer.param_groups[0]["lr"]}
                row.update({f"train_{k}": v for k, v in self.train_epoch(train_loader, steps_log).items()})
                if val_loader is not None:
                    row.update({f"val_{k}": v for k, v in self.evaluate(val_loader).items()})
                if self.scheduler is not None:
                    self.scheduler.step()
                self.epoch += 1
                improved = False
                if val_loader is not None:
                    if self.best_val is None or row["val_loss"] < self.best_val:
                        self.best_val, self.bad_epochs, improved = row["val_loss"], 0, True
                    else:
                        self.bad_epochs += 1
                    stopped = self.settings.patience is not None and self.bad_epochs >= self.settings.patience
                row["step"] = self.global_step
                self.history.append(row)
                if main:
                    state = self.state_dict()
                    save_checkpoint(self.checkpoint_path, state)
                    if improved:
                        save_checkpoint(self.best_path, state)
                    write_epochs_csv(self.out_dir / "epochs.csv", self.history)
                    if writer is not None:
                        for k, v in row.items():
                            if k != "epoch" and isinstance(v, (int, float)) and math.isfinite(v):
                                writer.add_scalar(f"epoch/{k}", v, self.epoch)
                        writer.flush()
                if self.dist.enabled:
                    torch.distributed.barrier()
        finally:
            if steps_log is not None:
                steps_log.close()
            if writer is not None:
                writer.close()
        best = self.best_path if (val_loader is not None and self.best_path.is_file()) else None
        if self.restore_best and best is not None:
            self.model.load_state_dict(load_checkpoint(best, map_location=self.device)["model"])
        return TrainResult(
            checkpoint=self.checkpoint_path if main else None,
            best_checkpoint=best if main else None,
            history=list(self.history),
            stopped_early=stopped and self.epoch < self.settings.epochs,
            steps=self.global_step,
        )
