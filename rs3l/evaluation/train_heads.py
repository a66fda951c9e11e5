"""Training and applying taggers through the shared :class:`rs3l.train.trainer.Trainer`.

Two paths, one loop:

* on graphs (:func:`train_on_graphs`): a :class:`~rs3l.evaluation.heads.Tagger`
  (backbone + head) sees PyG batches; used for fine-tuning and for the supervised
  baseline, and for a head on a :class:`~rs3l.evaluation.heads.FrozenBackbone`.
* on embeddings (:func:`train_on_embeddings`): a frozen backbone in eval mode is a
  fixed function, so its embeddings are computed once per split (:func:`embed`) and
  the head trains on them; the same result as the graph path at a fraction of the
  cost (no backbone forward per epoch).

Model selection: the Trainer keeps the epoch with the lowest validation loss
(``best.pt``) and restores it. Only the task's jets in the labelled fraction
(:func:`rs3l.evaluation.targets.label_fraction_mask`) are trained on: give the graph
loader :func:`task_selector` so that it never builds the others' graphs and its
batches stay full; :class:`TaskBatches` drops any that still come through.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch
from torch import nn

from rs3l.train.trainer import Trainer, TrainResult, move_to_device

from .targets import TaskTarget, label_fraction_mask

__all__ = ["EmbeddedSet", "embed", "task_selector", "TaskBatches", "train_on_graphs", "train_on_embeddings",
           "predict_graphs", "predict_embeddings"]

log = logging.getLogger(__name__)


def _views_of(batch, n: int) -> list[str]:
    # ``batch.view`` is PyG's FeatureStore.view method, not the attribute: read the store.
    view = None
    for key in ("view", "view_name"):
        try:
            view = batch[key]
            break
        except (KeyError, AttributeError, TypeError):
            continue
    if view is None:
        return [""] * n
    if isinstance(view, str):
        return [view] * n
    return [str(v) for v in view]


def _energy_of(batch, n: int) -> torch.Tensor:
    e = getattr(batch, "jet_energy", None)
    return torch.full((n,), float("nan")) if e is None else e.reshape(-1).float()


def _first_occurrences(group_id: np.ndarray, view) -> np.ndarray:
    """[N] bool keeping the first row of each (group_id, view): a jet is counted once."""
    seen, keep = set(), np.zeros(len(group_id), bool)
    for i, key in enumerate(zip(np.asarray(group_id).tolist(), list(view))):
        if key not in seen:
            seen.add(key)
            keep[i] = True
    if not keep.all():
        log.warning("the loader yielded %d jet(s) twice (same group_id and view); counting each once",
                    int((~keep).sum()))
    return keep


@dataclass
class EmbeddedSet:
    """Backbone outputs of a split with the jets' truth.

    Attributes: z [N, D] embeddings (not normalised), label [N] contract class
    indices, group_id [N], jet_energy [N] (GeV), view [N] view names (numpy str).
    """

    z: torch.Tensor
    label: torch.Tensor
    group_id: torch.Tensor
    jet_energy: torch.Tensor
    view: np.ndarray

    def __len__(self) -> int:
        return int(self.label.numel())

    def subset(self, mask) -> "EmbeddedSet":
        m = torch.as_tensor(np.asarray(mask, dtype=bool))
        return EmbeddedSet(self.z[m], self.label[m], self.group_id[m], self.jet_energy[m], self.view[m.numpy()])


@torch.no_grad()
def embed(backbone: nn.Module, loader: Iterable, device: torch.device | str = "cpu", *, desc: str = "embedding",
          progress: bool = True) -> EmbeddedSet:
    """Run the backbone (in eval mode) over every batch of ``loader``.

    Args:
        backbone: maps a PyG batch of B jets to ``[B, D]``.
        loader: batches with graph attributes ``label``, ``group_id``, ``jet_energy``, ``view``.
    """
    from tqdm.auto import tqdm

    device = torch.device(device)
    was_training = backbone.training
    backbone.eval().to(device)
    zs, labels, gids, energies, views = [], [], [], [], []
    for batch in tqdm(loader, desc=desc, leave=False, disable=not progress, unit="batch"):
        batch = move_to_device(batch, device)
        z = backbone(batch).float().cpu()
        n = z.shape[0]
        zs.append(z)
        labels.append(batch.label.reshape(-1).cpu())
        gids.append(batch.group_id.reshape(-1).cpu())
        energies.append(_energy_of(batch, n).cpu())
        views += _views_of(batch, n)
    backbone.train(was_training)
    if not zs:
        raise ValueError(f"{desc}: the loader yielded no jets")
    out = EmbeddedSet(torch.cat(zs), torch.cat(labels).long(), torch.cat(gids).long(), torch.cat(energies),
                      np.asarray(views, dtype=str))
    return out.subset(_first_occurrences(out.group_id.numpy(), out.view))


def task_selector(target: TaskTarget, fraction: float = 1.0, seed: int = 0):
    """``select(group_id, label) -> mask`` for :func:`graphs.dataset.make_loader`: the
    task's classes, and of those the labelled ``fraction`` (by group, as :class:`TaskBatches`)."""

    def select(group_id: np.ndarray, label: np.ndarray) -> np.ndarray:
        keep = target.select(torch.as_tensor(label)).numpy()
        if fraction < 1.0:
            keep &= label_fraction_mask(group_id, fraction, seed)
        return keep

    return select


class TaskBatches:
    """Re-iterable view of a graph loader keeping only the task's jets in the labelled fraction.

    Args:
        loader: yields PyG batches (graph attributes ``label``, ``group_id``).
        target: the task (which labels it uses).
        fraction: labelled fraction kept (1: all).
        seed: seed of the fraction's hash.
    """

    def __init__(self, loader: Iterable, target: TaskTarget, fraction: float = 1.0, seed: int = 0) -> None:
        self.loader, self.target, self.fraction, self.seed = loader, target, fraction, seed

    def set_epoch(self, epoch: int) -> None:
        for obj in (self.loader, getattr(self.loader, "sampler", None), getattr(self.loader, "dataset", None)):
            if obj is not None and hasattr(obj, "set_epoch"):
                obj.set_epoch(epoch)

    def __len__(self) -> int:
        """Batches of the underlying loader (an upper bound: filtering may empty some)."""
        return len(self.loader)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator:
        from torch_geometric.data import Batch

        select = task_selector(self.target, self.fraction, self.seed)
        for batch in self.loader:
            keep = torch.as_tensor(select(batch.group_id.reshape(-1).cpu().numpy(), batch.label.reshape(-1).cpu().numpy()))
            if bool(keep.all()):
                yield batch
            elif bool(keep.any()):
                yield Batch.from_data_list(batch.index_select(torch.nonzero(keep).flatten()))


def _graph_step(target: TaskTarget):
    def step(model, batch):
        out = model(batch)
        return target.loss(out, target.target(batch.label.reshape(-1), getattr(batch, "jet_energy", None)))
    return step


def _trainer(model, step, out_dir, *, epochs, lr, device, seed, patience, progress, config) -> Trainer:
    return Trainer(model, step, out_dir=out_dir, epochs=epochs, lr=lr, scheduler="none", grad_clip=5.0,
                   patience=patience, device=device, seed=seed, progress=progress, config=config, restore_best=True)


def train_on_graphs(model: nn.Module, train_loader: Iterable, val_loader: Iterable | None, target: TaskTarget, *,
                    out_dir: str | Path, epochs: int, lr: float, fraction: float = 1.0, device="cpu", seed: int = 0,
                    patience: int | None = None, progress: bool = True, resume: bool = False,
                    config: dict | None = None) -> TrainResult:
    """Train a :class:`~rs3l.evaluation.heads.Tagger` on graph batches with the shared Trainer.

    Only parameters with ``requires_grad`` are optimised (a FrozenBackbone's are not).
    Checkpoints and logs go to ``out_dir``; the best-validation weights are restored.
    """
    train = TaskBatches(train_loader, target, fraction, seed)
    val = TaskBatches(val_loader, target) if val_loader is not None else None
    trainer = _trainer(model, _graph_step(target), out_dir, epochs=epochs, lr=lr, device=device, seed=seed,
                       patience=patience, progress=progress, config=config)
    return trainer.fit(train, val, resume=resume)


class _EmbeddingBatches:
    """Shuffled mini-batches (z, target) of an embedded set; a new order each epoch."""

    def __init__(self, z: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool, seed: int) -> None:
        self.z, self.y, self.batch_size, self.shuffle, self.seed, self.epoch = z, y, batch_size, shuffle, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return (len(self.y) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        n = len(self.y)
        if self.shuffle:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch))
        else:
            order = torch.arange(n)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            yield self.z[idx], self.y[idx]


def _embedding_targets(data: EmbeddedSet, target: TaskTarget, fraction: float, seed: int):
    sub = data.subset(task_selector(target, fraction, seed)(data.group_id.numpy(), data.label.numpy()))
    return sub.z, target.target(sub.label, sub.jet_energy)


def train_on_embeddings(head: nn.Module, train: EmbeddedSet, val: EmbeddedSet | None, target: TaskTarget, *,
                        out_dir: str | Path, epochs: int, lr: float, batch_size: int, fraction: float = 1.0,
                        device="cpu", seed: int = 0, patience: int | None = None, progress: bool = True,
                        resume: bool = False, config: dict | None = None) -> TrainResult:
    """Train a head on precomputed embeddings of a frozen backbone with the shared Trainer.

    Raises:
        ValueError: when the task and fraction leave no training jets.
    """
    z, y = _embedding_targets(train, target, fraction, seed)
    if len(y) == 0:
        raise ValueError(f"no training jets for task '{target.task.name}' at label fraction {fraction:g}")
    train_batches = _EmbeddingBatches(z, y, batch_size, True, seed)
    val_batches = None
    if val is not None:
        vz, vy = _embedding_targets(val, target, 1.0, seed)
        val_batches = _EmbeddingBatches(vz, vy, batch_size, False, seed) if len(vy) else None

    def step(model, batch):
        zb, yb = batch
        return target.loss(model(zb), yb)

    trainer = _trainer(head, step, out_dir, epochs=epochs, lr=lr, device=device, seed=seed, patience=patience,
                       progress=progress, config=config)
    return trainer.fit(train_batches, val_batches, resume=resume)


def _columns(target: TaskTarget, out: torch.Tensor, label, group_id, view, jet_energy) -> dict[str, np.ndarray]:
    cols = {"group_id": np.asarray(group_id, dtype=np.int64), "view": np.asarray(view, dtype=str),
            "label": target.lookup[torch.as_tensor(label)].numpy().astype(np.int64)}
    cols.update(target.read_out(out))
    if target.kind == "regression":
        cols["jet_energy"] = np.asarray(jet_energy, dtype=np.float32)
    return cols


@torch.no_grad()
def predict_embeddings(head: nn.Module, data: EmbeddedSet, target: TaskTarget, *, batch_size: int = 4096) -> dict:
    """Prediction columns of the task's jets in ``data`` (see :mod:`rs3l.evaluation.predictions`)."""
    head.eval()
    sub = data.subset(target.select(data.label).numpy())
    device = next(head.parameters()).device
    outs = [head(sub.z[i:i + batch_size].to(device)).cpu() for i in range(0, len(sub), batch_size)]
    out = torch.cat(outs) if outs else torch.zeros(0, target.out_dim)
    return _columns(target, out, sub.label, sub.group_id.numpy(), sub.view, sub.jet_energy.numpy())


@torch.no_grad()
def predict_graphs(model: nn.Module, loader: Iterable, target: TaskTarget, *, device="cpu", progress: bool = True,
                   desc: str = "predicting") -> tuple[dict, EmbeddedSet]:
    """Prediction columns of the task's jets in ``loader``, and their embeddings.

    Returns:
        (columns, embedded): the predictions and the backbone outputs of the same jets.
    """
    from tqdm.auto import tqdm

    device = torch.device(device)
    model.eval().to(device)
    outs, zs, labels, gids, energies, views = [], [], [], [], [], []
    for batch in tqdm(TaskBatches(loader, target), desc=desc, leave=False, disable=not progress, unit="batch"):
        batch = move_to_device(batch, device)
        z = model.embed(batch) if hasattr(model, "embed") else None
        out = model.head(z) if z is not None else model(batch)
        n = out.shape[0]
        outs.append(out.float().cpu())
        if z is not None:
            zs.append(z.float().cpu())
        labels.append(batch.label.reshape(-1).cpu())
        gids.append(batch.group_id.reshape(-1).cpu())
        energies.append(_energy_of(batch, n).cpu())
        views += _views_of(batch, n)
    if not outs:
        raise ValueError(f"{desc}: no jets of task '{target.task.name}' in the loader")
    label, gid, energy = torch.cat(labels).long(), torch.cat(gids).long(), torch.cat(energies)
    keep = _first_occurrences(gid.numpy(), views)
    k = torch.as_tensor(keep)
    views = np.asarray(views, dtype=str)[keep]
    out, label, gid, energy = torch.cat(outs)[k], label[k], gid[k], energy[k]
    embedded = EmbeddedSet(torch.cat(zs)[k] if zs else torch.zeros(len(label), 0), label, gid, energy, views)
    return _columns(target, out, label, gid.numpy(), views, energy.numpy()), embedded
