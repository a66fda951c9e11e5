"""The downstream tasks: which jets a head sees and what it predicts.

Binary taggers follow the downstream tasks of the RS3L code (REFERENCE.md section
2): quark vs gluon, H->bb vs QCD, W->qq vs QCD (QCD = quark and gluon jets, or the
``qcd`` jets of unknown flavour of imported datasets), and Z->qq and top vs QCD;
``multiclass`` separates every class present (JetClass's ten); ``energy``
regresses the true jet energy (GeV) from the graph, reported as the response
E_pred / E_true. On the public datasets (``rs3l import``): Top Tagging gives
``top_vs_qcd``, the quark/gluon samples ``q_vs_g``, JetClass ``multiclass`` and the
binary taggers of its classes.

Class names are those of ``sim_pairs.schema.ALL_LABELS`` ("quark", "gluon", "Hbb",
"Wqq", "Zqq", "top", then the imported "qcd", "Hcc", "Hgg", "H4q", "Hqql", "Tbl");
a graph's ``label`` is an index into the data contract's list of label classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Task", "TASKS", "resolve_tasks", "TaskError"]

QCD = ("quark", "gluon", "qcd")


class TaskError(ValueError):
    """A requested task whose labels the dataset does not hold."""


@dataclass(frozen=True)
class Task:
    """One downstream task.

    Attributes:
        name: the config name.
        kind: ``binary``, ``multiclass`` or ``regression``.
        signal: class names counted as signal (binary).
        background: class names counted as background (binary).
    """

    name: str
    kind: str
    signal: tuple[str, ...] = ()
    background: tuple[str, ...] = ()

    def task_classes(self, class_names) -> list[str]:
        """The names of the task's output classes: [background, signal] for binary."""
        if self.kind == "binary":
            return ["+".join(self.background), "+".join(self.signal)]
        return list(class_names)

    def select(self, labels, class_names) -> tuple[np.ndarray, np.ndarray]:
        """Which jets the task uses and their task label.

        Args:
            labels: [N] indices into ``class_names``.

        Returns:
            (mask [N] bool, target [N] int): for binary tasks 1 = signal, 0 = background,
            other classes masked out; otherwise every jet with its own label.
        """
        labels = np.asarray(labels)
        if self.kind != "binary":
            return np.ones(len(labels), bool), labels.astype(np.int64)
        names = np.asarray(list(class_names))[labels] if len(labels) else np.array([], dtype=str)
        sig = np.isin(names, self.signal)
        bkg = np.isin(names, self.background)
        return sig | bkg, sig.astype(np.int64)

    def check(self, present, source: str) -> None:
        """Raise :class:`TaskError` naming the missing label when ``present`` lacks what the task needs."""
        present = set(present)
        if self.kind == "binary":
            missing_sig = [c for c in self.signal if c not in present]
            if missing_sig:
                raise TaskError(f"{source}: task '{self.name}' needs jets labelled {missing_sig}, "
                                f"but the dataset has only {sorted(present)}")
            if not any(c in present for c in self.background):
                raise TaskError(f"{source}: task '{self.name}' needs background jets labelled one of "
                                f"{list(self.background)}, but the dataset has only {sorted(present)}")
        elif self.kind == "multiclass" and len(present) < 2:
            raise TaskError(f"{source}: task '{self.name}' needs at least two classes, the dataset has {sorted(present)}")


TASKS: dict[str, Task] = {
    "q_vs_g": Task("q_vs_g", "binary", ("quark",), ("gluon",)),
    "hbb_vs_qcd": Task("hbb_vs_qcd", "binary", ("Hbb",), QCD),
    "wqq_vs_qcd": Task("wqq_vs_qcd", "binary", ("Wqq",), QCD),
    "zqq_vs_qcd": Task("zqq_vs_qcd", "binary", ("Zqq",), QCD),
    "top_vs_qcd": Task("top_vs_qcd", "binary", ("top",), QCD),
    "multiclass": Task("multiclass", "multiclass"),
    "energy": Task("energy", "regression"),
}


def resolve_tasks(requested, present, source: str) -> list[Task]:
    """Turn the config's task names into tasks, checking the dataset holds their labels.

    Args:
        requested: task names, or ``["auto"]`` for every built-in task the labels allow
            (``multiclass`` only with three or more classes, where it differs from a binary task).
        present: class names that occur in the dataset.
        source: the dataset path, for error messages.

    Raises:
        TaskError: an unknown task name, or a named task whose labels are missing.
    """
    present = set(present)
    if list(requested) == ["auto"]:
        out = []
        for task in TASKS.values():
            try:
                task.check(present, source)
            except TaskError:
                continue
            if task.kind == "multiclass" and len(present) < 3:
                continue
            out.append(task)
        return out
    out = []
    for name in requested:
        if name not in TASKS:
            raise TaskError(f"unknown task '{name}' in evaluate.tasks; known tasks: auto, {', '.join(TASKS)}")
        TASKS[name].check(present, source)
        out.append(TASKS[name])
    return out
