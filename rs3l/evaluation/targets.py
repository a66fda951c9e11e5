"""What a head is trained to output for one task, and how its output is read back.

A graph's ``label`` is an index into the data contract's label classes and its
``jet_energy`` the true jet energy (GeV). :class:`TaskTarget` turns them into the
task's training target (and a mask of the jets the task uses), gives the loss of a
head's raw output, and converts outputs to the saved predictions:

* binary: BCE on one logit; score = sigmoid, the signal probability.
* multiclass: cross-entropy over the classes present; scores = softmax.
* regression: MSE on the standardised log energy, (log E - mu) / sigma, with mu and
  sigma of the training jets; prediction = exp(mu + sigma * output) in GeV.

Also: :func:`label_fraction_mask`, the nested subsets of the labelled training
jets used for label-efficiency curves.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .tasks import Task

__all__ = ["TaskTarget", "label_fraction_mask", "NoTrainingJets"]


class NoTrainingJets(ValueError):
    """A task and label fraction that leave no jets to train on."""

_MASK64 = (1 << 64) - 1


def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.uint64)
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def label_fraction_mask(group_id, fraction: float, seed: int = 0, label=None) -> np.ndarray:
    """Which jets belong to the labelled subset of the given fraction.

    A stable hash of (group_id, seed) decides, so the subsets are nested (the 1%
    subset lies inside the 10% one), every view of a group is in or out together,
    and the choice is independent of the hash that assigns train / val / test.
    With ``label`` the choice is stratified: of each class's groups, the
    ``ceil(fraction * n_class)`` with the lowest hash (at least one per class), so a
    small fraction keeps the classes' proportions instead of a binomial draw of them.

    Args:
        group_id: [N] int64 group ids.
        fraction: in (0, 1]; 1 keeps everything.
        label: [N] class of each jet (optional).
    """
    gid = np.asarray(group_id, dtype=np.int64)
    if fraction >= 1.0:
        return np.ones(len(gid), bool)
    salted = _splitmix64(gid.view(np.uint64) ^ _splitmix64(np.array([seed + 0x5EED], dtype=np.uint64))[0])
    u = (salted >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    if label is None:
        return u < fraction
    label = np.asarray(label)
    keep = np.zeros(len(gid), bool)
    for c in np.unique(label):
        rows = np.flatnonzero(label == c)
        groups, first = np.unique(gid[rows], return_index=True)
        wanted = math.ceil(fraction * len(groups))
        chosen = groups[np.argsort(u[rows[first]], kind="stable")[:wanted]]
        keep[rows] = np.isin(gid[rows], chosen)
    return keep


class TaskTarget:
    """Targets, loss and read-out of one task.

    Args:
        task: the task.
        class_names: the contract's label classes (``label`` indexes them).
        present: class names present in the dataset (multiclass uses these, in
            contract order).
    """

    def __init__(self, task: Task, class_names, present=None) -> None:
        self.task = task
        self.class_names = list(class_names)
        present = set(self.class_names if present is None else present)
        lookup = np.full(len(self.class_names), -1, dtype=np.int64)
        if task.kind == "binary":
            for i, name in enumerate(self.class_names):
                if name in task.signal:
                    lookup[i] = 1
                elif name in task.background:
                    lookup[i] = 0
            self.classes = task.task_classes(self.class_names)
        elif task.kind == "multiclass":
            self.classes = [c for c in self.class_names if c in present]
            for j, c in enumerate(self.classes):
                lookup[self.class_names.index(c)] = j
        else:
            lookup[:] = np.arange(len(self.class_names))
            self.classes = list(self.class_names)
        self.lookup = torch.as_tensor(lookup)
        self.log_energy_mean, self.log_energy_std = 0.0, 1.0

    @property
    def kind(self) -> str:
        return self.task.kind

    @property
    def out_dim(self) -> int:
        return len(self.classes) if self.kind == "multiclass" else 1

    def fit_energy(self, jet_energy) -> None:
        """Set mu, sigma of log E (GeV) from training jets (regression only)."""
        log_e = np.log(np.maximum(np.asarray(jet_energy, dtype=np.float64), 1e-3))
        self.log_energy_mean = float(np.mean(log_e))
        self.log_energy_std = float(np.std(log_e)) or 1.0

    def select(self, label: torch.Tensor) -> torch.Tensor:
        """[B] bool: the jets this task uses."""
        return self.lookup.to(label.device)[label] >= 0

    def target(self, label: torch.Tensor, jet_energy: torch.Tensor | None = None) -> torch.Tensor:
        """The training target of each jet: [B] float (binary, regression) or long (multiclass)."""
        if self.kind == "regression":
            if jet_energy is None:
                raise ValueError("the energy regression needs jet_energy in the batch")
            log_e = torch.log(jet_energy.double().clamp_min(1e-3))
            return ((log_e - self.log_energy_mean) / self.log_energy_std).float()
        mapped = self.lookup.to(label.device)[label]
        return mapped if self.kind == "multiclass" else mapped.float()

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean loss of raw head outputs ``[B, C]`` against :meth:`target`."""
        output = output.float() if output.dtype in (torch.float16, torch.bfloat16) else output
        target = target.to(output.dtype) if target.is_floating_point() else target
        if self.kind == "binary":
            return F.binary_cross_entropy_with_logits(output.squeeze(-1), target)
        if self.kind == "multiclass":
            return F.cross_entropy(output, target)
        return F.mse_loss(output.squeeze(-1), target)

    def read_out(self, output: torch.Tensor) -> dict[str, np.ndarray]:
        """Prediction columns from raw outputs ``[B, C]`` (see :mod:`rs3l.evaluation.predictions`)."""
        output = output.detach().float().cpu()
        if self.kind == "binary":
            return {"score": torch.sigmoid(output.squeeze(-1)).numpy()}
        if self.kind == "multiclass":
            probs = torch.softmax(output, dim=-1).numpy()
            return {f"score_{c}": probs[:, j] for j, c in enumerate(self.classes)}
        log_e = output.squeeze(-1).double() * self.log_energy_std + self.log_energy_mean
        return {"prediction": torch.exp(log_e).float().numpy()}

    def state(self) -> dict:
        return {"log_energy_mean": self.log_energy_mean, "log_energy_std": self.log_energy_std}
