"""Typed configuration of contrastive pre-training (the ``pretrain:`` section).

Defaults follow RS3L (arXiv 2403.07066): batches of 100 pairs, Adam at lr 1e-3,
StepLR(50, 0.5), NT-Xent at temperature 0.1. Read by :func:`rs3l.train.pretrain.pretrain`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

__all__ = ["PretrainConfig"]


@dataclass
class PretrainConfig:
    """Optimisation, loss and run-control settings of pre-training."""

    # passes over the training split
    epochs: int = 100
    # pairs (mode 'pairs') or groups (mode 'groups') per batch and per process (RS3L: 100 pairs)
    batch_size: int = 100
    # how views are batched: 'pairs' (two views per group) or 'groups' (all views of a group)
    mode: Literal["pairs", "groups"] = "pairs"
    # views per group in mode 'groups' (None: all views on disk)
    views: Optional[int] = None
    # contrastive loss: 'ntxent' (RS3L) or 'vicreg' (pairs only)
    loss: Literal["ntxent", "vicreg"] = "ntxent"
    # NT-Xent temperature (RS3L: 0.1; 0.05 and 0.5 also tried)
    temperature: float = 0.1
    # VICReg weights of the invariance, variance and covariance terms (Bardes et al. 2022)
    vicreg_weights: tuple[float, float, float] = (25.0, 25.0, 1.0)
    # optimiser: 'adam' (RS3L) or 'adamw'
    optimizer: Literal["adam", "adamw"] = "adam"
    # learning rate
    lr: float = 1e-3
    # weight decay (0 for RS3L)
    weight_decay: float = 0.0
    # learning-rate schedule, stepped once per epoch: 'step' (RS3L), 'cosine' or 'none'
    scheduler: Literal["step", "cosine", "none"] = "step"
    # StepLR period in epochs and factor (RS3L: 50, 0.5)
    step_size: int = 50
    gamma: float = 0.5
    # clip the global gradient norm to this value (None: no clipping)
    grad_clip: Optional[float] = 5.0
    # stop after this many epochs without a better validation loss (None: never)
    patience: Optional[int] = None
    # bf16 autocast on CUDA (ignored on CPU)
    bf16: bool = True
    # deterministic algorithms and seeding: same seed -> same weights
    deterministic: bool = False
    # seed of weights, shuffling and any randomness in training
    seed: int = 0
    # data-loader worker processes (None: chosen by the loader)
    num_workers: Optional[int] = None
    # cap on optimiser steps per epoch, for quick runs (None: the whole split)
    max_steps_per_epoch: Optional[int] = None
    # cap on validation batches per epoch (None: the whole split)
    max_val_steps: Optional[int] = None
    # write a TensorBoard / CSV row every this many steps
    log_every: int = 20

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.step_size < 1:
            raise ValueError(f"step_size must be >= 1, got {self.step_size}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be > 0 or null, got {self.grad_clip}")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be >= 1 or null, got {self.patience}")
        if self.views is not None and self.views < 2:
            raise ValueError(f"views must be >= 2 or null, got {self.views}")
        if self.loss == "vicreg" and self.mode != "pairs":
            raise ValueError("loss 'vicreg' needs mode 'pairs'")
        if self.log_every < 1:
            raise ValueError(f"log_every must be >= 1, got {self.log_every}")
