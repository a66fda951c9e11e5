"""Contrastive pre-training of the backbone: what ``rs3l pretrain`` runs.

:func:`pretrain` builds the backbone from the run config, reads pairs (or groups of
views) with :func:`graphs.dataset.make_loader`, trains with NT-Xent (or VICReg)
through the shared :class:`rs3l.train.trainer.Trainer`, and writes::

    OUT/model.pt           final backbone weights: {"model": state_dict, "config": run config,
                           "input_dims": {...}, "embedding_dim": D, "history": [...]}
    OUT/checkpoint.pt      the Trainer's resumable checkpoint (last epoch); best.pt (best val loss)
    OUT/epochs.csv, steps.csv, tb/   logs
    OUT/diagnostics.json   alignment, uniformity, positive/negative cosine, invariance table

Under ``torchrun --nproc-per-node N`` (WORLD_SIZE > 1) it starts the process group
itself, gives each rank its shard of the data and gathers embeddings across ranks
in the loss, so N processes with batch B train like one with batch N x B.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor, nn

from sim_pairs.io import check_dataset

from ..device import resolve_device
from ..losses.nt_xent import NTXentLoss
from ..losses.vicreg import VICRegLoss
from ..threads import set_torch_threads
from .checkpoint import load_checkpoint
from .config import PretrainConfig
from .distributed import cleanup_distributed, init_distributed
from .same_config import check_same_training_config
from .trainer import Trainer, seed_everything

__all__ = ["pretrain", "ContrastiveModel", "contrastive_step"]

log = logging.getLogger(__name__)


class ContrastiveModel(nn.Module):
    """Embeds every view of a batch in one forward call (one call per step, as DDP wants).

    ``forward(PairBatch) -> (z_a [B, P], z_b [B, P])``;
    ``forward(GroupBatch) -> (z [n_graphs, P], group [n_graphs])``: the backbone's
    embedding through its projection head when it has one (``model.projection``; P = D without).
    """

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone

    def _z(self, graphs) -> Tensor:
        z = self.backbone(graphs)
        project = getattr(self.backbone, "project", None)  # the projection head, when the backbone has one
        return project(z) if project is not None else z

    def forward(self, batch: Any) -> tuple[Tensor, Tensor]:
        if hasattr(batch, "a") and hasattr(batch, "b"):
            return self._z(batch.a), self._z(batch.b)
        if hasattr(batch, "graphs") and hasattr(batch, "group"):
            return self._z(batch.graphs), batch.group
        raise TypeError(f"expected a PairBatch (a, b) or a GroupBatch (graphs, group), got {type(batch).__name__}")


def contrastive_step(loss: nn.Module, mode: str = "pairs") -> Callable[[nn.Module, Any], tuple[Tensor, dict]]:
    """The Trainer step of pre-training: the contrastive loss and the positive/negative cosine similarity.

    Args:
        loss: :class:`NTXentLoss` or :class:`VICRegLoss`.
        mode: ``pairs`` (PairBatch) or ``groups`` (GroupBatch; NT-Xent only).
    """
    if mode not in ("pairs", "groups"):
        raise ValueError(f"mode must be 'pairs' or 'groups', got {mode!r}")
    if mode == "groups" and not isinstance(loss, NTXentLoss):
        raise ValueError("mode 'groups' needs the NT-Xent loss")

    def step(model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        first, second = model(batch)
        if mode == "pairs":
            value = loss(first, second)
            with torch.no_grad():
                cos = nn.functional.normalize(first.float(), dim=1) @ nn.functional.normalize(second.float(), dim=1).T
                n = cos.size(0)
                metrics = {"cos_pos": float(cos.diagonal().mean())}
                if n > 1:
                    metrics["cos_neg"] = float((cos.sum() - cos.diagonal().sum()) / (n * n - n))
            return value, metrics
        return loss.groups(first, second), {}

    return step


def _loss(cfg: PretrainConfig, distributed: bool) -> nn.Module:
    if cfg.loss == "ntxent":
        return NTXentLoss(cfg.temperature, gather_distributed=distributed)
    lam, mu, nu = cfg.vicreg_weights
    return VICRegLoss(lam, mu, nu, gather_distributed=distributed)


def pretrain(config, data_dir: str | Path, out_dir: str | Path, *, device: str = "auto", resume: bool = False,
             progress: bool = True, allow_incomplete: bool = False) -> Path:
    """Pre-train the backbone contrastively and write ``out_dir/model.pt``.

    Args:
        config: the run config (:class:`rs3l.config.RunConfig`): ``data`` (the
            DataContract), ``model`` (BackboneConfig) and ``pretrain`` (PretrainConfig).
        data_dir: a dataset written by ``rs3l generate``.
        out_dir: where weights, checkpoints, logs and diagnostics go.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        resume: continue from ``out_dir/checkpoint.pt`` if it exists (``rs3l pretrain``
            does unless given ``--restart``, so the same command resumes a stopped run).
        progress: show progress bars.
        allow_incomplete: accept a dataset whose ``metadata.json`` says ``complete: false``.

    Raises:
        DatasetError: the dataset's metadata is missing, invalid or incomplete, or its
            shards are mixed or unreadable (:func:`sim_pairs.io.check_dataset`).

    Returns:
        the path of ``out_dir/model.pt`` (the final, best-validation backbone weights).
    """
    from graphs.cache import open_cache
    from graphs.dataset import make_loader
    from ..models.backbone import build_backbone

    cfg: PretrainConfig = config.pretrain
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    check_dataset(data_dir, allow_incomplete=allow_incomplete)
    checkpoint = out_dir / "checkpoint.pt"
    if resume and checkpoint.is_file():  # a damaged, foreign or other-config checkpoint stops us before any work
        saved = load_checkpoint(checkpoint)
        check_same_training_config(saved.get("config"), config.to_dict(), checkpoint)
        log.info("resuming from %s after epoch %s (rs3l pretrain --restart starts again)", checkpoint,
                 saved.get("epoch"))
    set_torch_threads(cfg.num_workers if cfg.num_workers is not None else config.data.num_workers)
    dev = resolve_device(device)
    started = not torch.distributed.is_initialized()
    info = init_distributed(dev)
    try:
        seed_everything(cfg.seed, cfg.deterministic)
        input_dims = config.data.input_dims()
        backbone = build_backbone(config.model, input_dims)
        common = dict(mode=cfg.mode, seed=cfg.seed, num_workers=cfg.num_workers, rank=info.rank,
                      world_size=info.world_size, views=cfg.views)
        config.data.check_dataset(data_dir)  # an imported dataset may lack what the features need
        if info.enabled:  # one rank builds the graph cache, the others wait and map it
            if info.is_main:
                open_cache(data_dir, config.data, root=config.data.cache_dir, progress=progress)
            torch.distributed.barrier()
        train_loader = make_loader(data_dir, config.data, "train", cfg.batch_size, shuffle=True, **common)
        val_loader = make_loader(data_dir, config.data, "val", cfg.batch_size, shuffle=False, **common)
        if len(val_loader) == 0:
            log.warning("the val split is empty: no validation loss, no early stopping")
            val_loader = None
        run_config = config.to_dict()
        # the config is a TrainSettings: optimiser, schedule and run control go in as they are
        trainer = Trainer(ContrastiveModel(backbone), contrastive_step(_loss(cfg, info.enabled), cfg.mode), cfg,
                          out_dir=out_dir, device=dev, config=run_config, progress=progress)
        result = trainer.fit(train_loader, val_loader, resume=resume)
        model_path = out_dir / "model.pt"
        if info.is_main:
            from .checkpoint import save_checkpoint
            from ..diagnostics import write_diagnostics

            save_checkpoint(model_path, {"model": backbone.state_dict(), "config": run_config,
                                         "input_dims": input_dims, "embedding_dim": config.model.embedding_dim,
                                         "history": result.history})
            diag_loader = val_loader if val_loader is not None else train_loader
            diagnostics = write_diagnostics(backbone, diag_loader, out_dir / "diagnostics.json", dev,
                                            max_batches=cfg.max_val_steps or 50)
            log.info("pre-training done: %s; positive cosine %.3f, negative %.3f", model_path,
                     diagnostics["cosine_positive"], diagnostics["cosine_negative"])
        if info.enabled:
            torch.distributed.barrier()
        return model_path
    finally:
        if started and info.enabled:
            cleanup_distributed()
