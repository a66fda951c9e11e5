"""Heads on a frozen backbone's cached embeddings: the linear probe fitted to its optimum, MLPs in seconds.

A frozen backbone in eval mode is a fixed function, so each split is embedded once
(:func:`rs3l.evaluation.train_heads.embed`) and only the head trains:

* the linear probe (RS3L's perceptron, JetCLR's "linear classifier test") is a convex
  problem: full-batch L-BFGS (float64, strong-Wolfe line search) minimises the mean
  loss plus ``l2 / 2 * |W|^2`` with ``l2 = 1 / n_train``, which is scikit-learn's
  ``LogisticRegression(C=1)`` objective divided by n (its softmax form for multi-class,
  ``Ridge(alpha=1)`` for the energy regression): the probe reaches its optimum,
  whatever the learning rate or number of epochs;
* an MLP head trains with Adam on shuffled mini-batches held on the device, in a plain
  loop (no per-step logging or checkpoints), keeping the epoch with the lowest loss on
  the validation split and stopping after ``patience`` epochs without improvement.

A head that standardises its input (``input_norm: standardise``) does so with the mean
and variance of the training embeddings, fixed before it trains.

Each head writes ``OUT/checkpoint.pt`` (weights, settings, history) when done; a later
run with the same settings loads it instead of training again.
"""

from __future__ import annotations

import copy
import logging
import math
from pathlib import Path

import torch
from torch import nn

from rs3l.train.checkpoint import load_checkpoint, save_checkpoint
from rs3l.train.trainer import TrainResult

from .heads import LinearHead
from .targets import NoTrainingJets, TaskTarget

__all__ = ["train_on_embeddings", "fit_linear_probe", "fit_mlp_head", "NoTrainingJets"]

log = logging.getLogger(__name__)


def fit_linear_probe(head: LinearHead, z: torch.Tensor, y: torch.Tensor, target: TaskTarget, *,
                     max_iter: int = 500, l2: float | None = None) -> dict:
    """Fit a :class:`LinearHead` to the optimum of its regularised loss (see the module docstring).

    Args:
        head: the probe; its weights are replaced by the fitted ones (float32).
        z: embeddings ``[N, D]``; y: targets ``[N]`` (:meth:`TaskTarget.target`).
        max_iter: L-BFGS iterations at most (convergence usually takes tens).
        l2: weight of ``|W|^2 / 2`` (the bias is not penalised); default ``1 / N``.

    Returns:
        ``{"steps": iterations, "loss": final regularised loss}``.
    """
    l2 = 1.0 / max(len(y), 1) if l2 is None else l2
    probe = copy.deepcopy(head).double()
    zd = z.double()
    params = [p for p in probe.parameters() if p.requires_grad]
    optimiser = torch.optim.LBFGS(params, lr=1.0, max_iter=max_iter, history_size=20, line_search_fn="strong_wolfe",
                                  tolerance_grad=1e-10, tolerance_change=1e-14)

    def closure():
        optimiser.zero_grad()
        loss = target.loss(probe(zd), y) + 0.5 * l2 * probe.linear.weight.square().sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    with torch.no_grad():
        final = float(target.loss(probe(zd), y) + 0.5 * l2 * probe.linear.weight.square().sum())
    dtypes = {k: v.dtype for k, v in head.state_dict().items()}
    head.load_state_dict({k: v.to(dtypes[k]) for k, v in probe.state_dict().items()})
    steps = int(optimiser.state[params[0]].get("n_iter", 0))
    return {"steps": steps, "loss": final}


def fit_mlp_head(head: nn.Module, z: torch.Tensor, y: torch.Tensor, target: TaskTarget, *, val=None, epochs: int,
                 lr: float, batch_size: int, seed: int = 0, patience: int | None = 20) -> tuple[list[dict], int, bool]:
    """Adam on shuffled mini-batches of on-device tensors; the best-validation epoch is kept.

    Returns:
        (history: one ``{"epoch", "train_loss", "val_loss"}`` per epoch, optimiser steps, stopped early).
    """
    optimiser = torch.optim.Adam(head.parameters(), lr=lr)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    n, history, steps = len(y), [], 0
    best, best_state, bad = math.inf, None, 0
    for epoch in range(epochs):
        head.train()
        order = torch.randperm(n, generator=generator).to(z.device)
        total = z.new_zeros(())
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            loss = target.loss(head(z[idx]), y[idx])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += loss.detach() * len(idx)
            steps += 1
        head.eval()
        row = {"epoch": epoch + 1, "train_loss": float(total) / n}
        if val is not None:
            with torch.no_grad():
                row["val_loss"] = float(target.loss(head(val[0]), val[1]))
            if row["val_loss"] < best:
                best, best_state, bad = row["val_loss"], copy.deepcopy(head.state_dict()), 0
            else:
                bad += 1
        history.append(row)
        if patience is not None and val is not None and bad >= patience:
            break
    if best_state is not None:
        head.load_state_dict(best_state)
    return history, steps, len(history) < epochs


def train_on_embeddings(head: nn.Module, train, val, target: TaskTarget, *, out_dir: str | Path, epochs: int,
                        lr: float, batch_size: int, fraction: float = 1.0, device="cpu", seed: int = 0,
                        patience: int | None = 20, resume: bool = False, config: dict | None = None,
                        select=None) -> TrainResult:
    """Train a head on precomputed embeddings (:class:`~rs3l.evaluation.train_heads.EmbeddedSet`).

    A :class:`LinearHead` is fitted to its optimum (``epochs``, ``lr`` and ``batch_size``
    do not apply); any other head trains as :func:`fit_mlp_head` says.
    ``select(group_id, label) -> mask`` chooses the training jets (default: the task's
    classes in the labelled ``fraction``, :func:`~rs3l.evaluation.train_heads.task_selector`);
    validation uses all the task's jets.

    Raises:
        NoTrainingJets: when the task and fraction leave no training jets.
    """
    from .train_heads import task_selector

    select = select if select is not None else task_selector(target, fraction, seed)
    out_dir = Path(out_dir)
    path = out_dir / "checkpoint.pt"
    device = torch.device(device)
    if resume and path.is_file():
        saved = load_checkpoint(path)
        head.load_state_dict(saved["model"])
        history = list(saved.get("history", []))
        return TrainResult(path, path, history, bool(saved.get("stopped_early", False)), int(saved.get("step", 0)))
    sub = train.subset(select(train.group_id.numpy(), train.label.numpy()))
    if len(sub) == 0:
        raise NoTrainingJets(f"no training jets for task '{target.task.name}' at label fraction {fraction:g}")
    z, y = sub.z.to(device), target.target(sub.label, sub.jet_energy).to(device)
    val_set = None
    if val is not None:
        vsub = val.subset(target.select(val.label).numpy())
        if len(vsub):
            val_set = (vsub.z.to(device), target.target(vsub.label, vsub.jet_energy).to(device))
    head.to(device)
    standardise = getattr(getattr(head, "norm", None), "standardise", None)
    if standardise is not None:  # the training embeddings' mean and variance, fixed from here on
        standardise.fix(z)
    if isinstance(head, LinearHead):
        fit = fit_linear_probe(head, z, y, target)
        row = {"epoch": 1, "train_loss": fit["loss"]}
        if val_set is not None:
            with torch.no_grad():
                row["val_loss"] = float(target.loss(head(val_set[0]), val_set[1]))
        history, steps, stopped = [row], fit["steps"], False
    else:
        history, steps, stopped = fit_mlp_head(head, z, y, target, val=val_set, epochs=epochs, lr=lr,
                                               batch_size=batch_size, seed=seed, patience=patience)
    save_checkpoint(path, {"model": head.state_dict(), "config": config, "history": history, "step": steps,
                           "stopped_early": stopped})
    log.info("%s: %d optimiser steps, train loss %.4f", out_dir, steps, history[-1]["train_loss"])
    return TrainResult(path, path, history, stopped, steps)
