"""Training and applying taggers on graphs, and embedding splits with a frozen backbone.

* on graphs (:func:`train_on_graphs`): a :class:`~rs3l.evaluation.heads.Tagger`
  (backbone + head) sees PyG batches through the shared :class:`rs3l.train.trainer.Trainer`;
  used for fine-tuning and for the supervised baseline. Small labelled sets get at
  least ``min_steps`` optimiser steps (repeated passes), and the epoch with the lowest
  validation loss is kept (early stopping after ``patience`` epochs without one).
* on embeddings: a frozen backbone is a fixed function, so each split is embedded once
  (:func:`embed`) and the heads train on the result
  (:mod:`rs3l.evaluation.embedding_heads`).

Only the task's jets in the labelled fraction (a class-stratified subset,
:func:`rs3l.evaluation.targets.label_fraction_mask`) are trained on: give the graph
loader :func:`task_selector` so that it never builds the others' graphs and its
batches stay full; :class:`TaskBatches` drops any that still come through.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch
from torch import nn

from rs3l.train.trainer import Trainer, TrainResult, move_to_device

from .targets import NoTrainingJets, TaskTarget, label_fraction_mask

__all__ = ["EmbeddedSet", "embed", "task_selector", "TaskBatches", "train_on_graphs", "predict_graphs",
           "predict_embeddings"]

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
    task's classes, and of those the labelled ``fraction``, stratified by the task's
    classes (by group, as :class:`TaskBatches`)."""

    def select(group_id: np.ndarray, label: np.ndarray) -> np.ndarray:
        label = torch.as_tensor(label)
        keep = target.select(label).numpy()
        if fraction < 1.0:
            mapped = target.lookup[label].numpy()
            keep &= label_fraction_mask(group_id, fraction, seed, label=mapped)
        return keep

    return select


class TaskBatches:
    """Re-iterable view of a graph loader keeping only the task's jets.

    The labelled fraction is a property of the whole set (stratified by class), so it is
    chosen where the set is known: give the loader ``select=task_selector(target, fraction)``.

    Args:
        loader: yields PyG batches (graph attributes ``label``, ``group_id``).
        target: the task (which labels it uses).
    """

    def __init__(self, loader: Iterable, target: TaskTarget) -> None:
        self.loader, self.target = loader, target

    def set_epoch(self, epoch: int) -> None:
        for obj in (self.loader, getattr(self.loader, "sampler", None), getattr(self.loader, "dataset", None)):
            if obj is not None and hasattr(obj, "set_epoch"):
                obj.set_epoch(epoch)

    def __len__(self) -> int:
        """Batches of the underlying loader (an upper bound: filtering may empty some)."""
        return len(self.loader)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator:
        from torch_geometric.data import Batch

        for batch in self.loader:
            keep = self.target.select(batch.label.reshape(-1).cpu())
            if bool(keep.all()):
                yield batch
            elif bool(keep.any()):
                yield Batch.from_data_list(batch.index_select(torch.nonzero(keep).flatten()))


class _Cycled:
    """``steps`` batches an epoch from repeated passes over a loader, reshuffled for each pass."""

    def __init__(self, loader, steps: int) -> None:
        self.loader, self.steps, self.epoch = loader, steps, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator:
        done, rounds = 0, 0
        while done < self.steps:
            self.loader.set_epoch(self.epoch * self.steps + rounds)  # a new shuffle each pass, the same on resume
            rounds += 1
            for batch in self.loader:
                yield batch
                done += 1
                if done == self.steps:
                    return


def _graph_step(target: TaskTarget):
    def step(model, batch):
        out = model(batch)
        return target.loss(out, target.target(batch.label.reshape(-1), getattr(batch, "jet_energy", None)))
    return step


def train_on_graphs(model: nn.Module, train_loader: Iterable, val_loader: Iterable | None, target: TaskTarget, *,
                    out_dir: str | Path, epochs: int, lr: float, fraction: float = 1.0, device="cpu", seed: int = 0,
                    patience: int | None = None, min_steps: int = 0, progress: bool = True, resume: bool = False,
                    config: dict | None = None) -> TrainResult:
    """Train a :class:`~rs3l.evaluation.heads.Tagger` on graph batches with the shared Trainer.

    Only parameters with ``requires_grad`` are optimised (a FrozenBackbone's are not).
    ``train_loader`` holds the labelled ``fraction`` already (``select=task_selector(...)``);
    ``fraction`` names it in messages. Runs ``epochs`` epochs; when that gives fewer than
    ``min_steps`` optimiser steps (a 1% label fraction is a handful of batches), each epoch
    passes over the training jets several times (reshuffled each pass), so validation
    still runs once an epoch; stops after
    ``patience`` epochs without a lower validation loss. Checkpoints and logs go to
    ``out_dir``; the best-validation weights are restored.
    """
    train = TaskBatches(train_loader, target)
    val = TaskBatches(val_loader, target) if val_loader is not None else None
    if len(train) == 0:
        raise NoTrainingJets(f"no training jets for task '{target.task.name}' at label fraction {fraction:g}")
    if len(train) * epochs < min_steps:
        train = _Cycled(train, math.ceil(min_steps / epochs))
    trainer = Trainer(model, _graph_step(target), out_dir=out_dir, epochs=epochs, lr=lr, scheduler="none",
                      grad_clip=5.0, patience=patience if val is not None else None, device=device, seed=seed,
                      progress=progress, config=config, restore_best=True)
    return trainer.fit(train, val, resume=resume)


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
