"""All figures of one task, drawn from its predictions and its summary.

For a task ``T`` in ``OUT/plots/``: ``T_roc`` (binary: every tagger at the full label
fraction, nominal view), ``T_outputs_<tagger>`` (output distribution per view and
true class: the signal score, the predicted class probability of the true class, or
the energy response), ``T_response`` (regression), ``T_label_efficiency``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import metrics as m
from .plots import plot_label_efficiency, plot_response, plot_roc, plot_score_distributions
from .report import TAGGER_TITLES

__all__ = ["task_figures"]

_HEADLINE = {"binary": "AUC", "multiclass": "Accuracy", "regression": "Energy resolution"}


def task_figures(columns: dict, info: dict, summary: dict, plots_dir: str | Path, *, nominal: str = "nominal",
                 class_names=None, formats=("png", "pdf")) -> list[Path]:
    """Draw the task's figures; returns the PNG paths (for the HTML report).

    Args:
        columns, info: the task's predictions (:func:`rs3l.evaluation.predictions.read_predictions`).
        summary: the task's entry of metrics.json (:func:`rs3l.evaluation.summary.summarise_task`).
        class_names: names of the classes ``label`` indexes, for regression files.
    """
    plots_dir = Path(plots_dir)
    task, kind, classes = info["task"], info["kind"], list(info["classes"])
    tagger_col = np.asarray(columns["tagger"])
    frac_col = np.asarray(columns["label_fraction"], dtype=float)
    written: list[Path] = []
    curves, responses = {}, {}
    for tagger in dict.fromkeys(tagger_col.tolist()):
        full = frac_col[tagger_col == tagger].max()
        rows = np.flatnonzero((tagger_col == tagger) & (frac_col == full))
        labels = np.asarray(columns["label"])[rows]
        views = np.asarray(columns["view"])[rows]
        name = TAGGER_TITLES.get(tagger, tagger)
        if kind == "binary":
            scores, xlabel, names = np.asarray(columns["score"])[rows], "Signal score", classes
            nom = views == nominal
            if len(np.unique(labels[nom])) == 2:
                eps_b, eps_s, _ = m.roc_curve(labels[nom], scores[nom])
                curves[name] = (eps_b, eps_s)
        elif kind == "multiclass":
            probs = np.stack([np.asarray(columns[f"score_{c}"])[rows] for c in classes], axis=1)
            scores, xlabel, names = probs[np.arange(len(rows)), labels], "Probability of the true class", classes
        else:
            scores = np.asarray(columns["prediction"])[rows] / np.asarray(columns["jet_energy"])[rows]
            xlabel, names = r"$E_{pred}/E_{true}$", list(class_names or classes)
            entry = summary["results"][tagger][max(summary["results"][tagger], key=float)]["nominal"]
            responses[name] = entry
        written += plot_score_distributions(scores, labels, views, names, plots_dir / f"{task}_outputs_{tagger}",
                                            nominal=nominal, title=name, xlabel=xlabel, formats=formats)
    if curves:
        written += plot_roc(curves, plots_dir / f"{task}_roc", title=task, formats=formats)
    if responses:
        written += plot_response(responses, plots_dir / f"{task}_response", formats=formats)
    le = {TAGGER_TITLES.get(t, t): v for t, v in summary.get("label_efficiency", {}).items()}
    if any(len(v) > 1 for v in le.values()):
        written += plot_label_efficiency(le, plots_dir / f"{task}_label_efficiency", ylabel=_HEADLINE[kind], formats=formats)
    return [p for p in written if p.suffix == ".png"]
