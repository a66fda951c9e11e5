"""The optimiser, learning-rate schedule and run-control settings of one training loop.

:class:`TrainSettings` is what :class:`rs3l.train.trainer.Trainer` takes, and the one
place their defaults are written. Defaults are RS3L's pre-training (arXiv 2403.07066):
Adam at lr 1e-3, StepLR(50, 0.5) stepped once per epoch, and the global gradient norm
clipped at 5 (``configs/pretrain/rs3l.yaml`` turns clipping off, as the paper).
:class:`rs3l.train.config.PretrainConfig` extends it with the loss and data settings of
pre-training, so its keys sit flat in a config's ``pretrain:`` section; the heads of
``rs3l evaluate`` build one per tagger. Imports nothing heavy, so that ``rs3l.config``
stays cheap to import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

__all__ = ["TrainSettings", "OPTIMIZERS", "SCHEDULERS"]

OPTIMIZERS = ("adam", "adamw")
SCHEDULERS = ("step", "cosine", "none")


@dataclass
class TrainSettings:
    """How a model is optimised, and how long and how verbosely the loop runs."""

    # passes over the training split (a resumed run counts the finished ones)
    epochs: int = 100
    # optimiser: 'adam' (RS3L) or 'adamw'
    optimizer: Literal["adam", "adamw"] = "adam"
    # learning rate
    lr: float = 1e-3
    # weight decay (0 for RS3L)
    weight_decay: float = 0.0
    # learning-rate schedule, stepped once per epoch: 'step' (RS3L), 'cosine' (over `epochs`) or 'none'
    scheduler: Literal["step", "cosine", "none"] = "step"
    # StepLR period in epochs and factor (RS3L: 50, 0.5)
    step_size: int = 50
    gamma: float = 0.5
    # clip the global gradient norm to this value (None: no clipping)
    grad_clip: Optional[float] = 5.0
    # stop after this many epochs without a better validation loss (None: never)
    patience: Optional[int] = None
    # bf16 autocast on CUDA (ignored on CPU and MPS)
    bf16: bool = True
    # deterministic algorithms and seeding: same seed -> same weights
    deterministic: bool = False
    # seed of weights, shuffling and any randomness in training
    seed: int = 0
    # cap on optimiser steps per epoch, for quick runs (None: the whole split)
    max_steps_per_epoch: Optional[int] = None
    # cap on validation batches per epoch (None: the whole split)
    max_val_steps: Optional[int] = None
    # write a TensorBoard / CSV row every this many steps
    log_every: int = 20

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be 'adam' or 'adamw', got {self.optimizer!r}")
        if self.scheduler not in SCHEDULERS:
            raise ValueError(f"scheduler must be 'step', 'cosine' or 'none', got {self.scheduler!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.step_size < 1:
            raise ValueError(f"step_size must be >= 1, got {self.step_size}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be > 0 or null, got {self.grad_clip}")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be >= 1 or null, got {self.patience}")
        if self.log_every < 1:
            raise ValueError(f"log_every must be >= 1, got {self.log_every}")
