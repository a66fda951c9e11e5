"""Typed configuration of contrastive pre-training (the ``pretrain:`` section of a run config).

Defaults follow RS3L (arXiv 2403.07066): batches of 100 pairs, Adam at lr 1e-3,
StepLR(50, 0.5), NT-Xent at temperature 0.1. The optimiser, schedule and run-control
keys are those of :class:`rs3l.train.settings.TrainSettings` (defaults written there), so
the config is handed to the Trainer as it is. Read by :func:`rs3l.train.pretrain.pretrain`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from .settings import TrainSettings

__all__ = ["PretrainConfig"]


@dataclass
class PretrainConfig(TrainSettings):
    """The loss and data settings of pre-training, on top of the Trainer's :class:`TrainSettings`.

    A subclass rather than a nested field so that every key stays flat in YAML
    (``pretrain: {lr: 1.0e-3, batch_size: 100}``) and ``config.pretrain.lr`` reads as before.
    """

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
    # data-loader worker processes (None: chosen by the loader)
    num_workers: Optional[int] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.views is not None and self.views < 2:
            raise ValueError(f"views must be >= 2 or null, got {self.views}")
        if self.loss == "vicreg" and self.mode != "pairs":
            raise ValueError("loss 'vicreg' needs mode 'pairs'")
