"""The report's figures, in the HEP style of mplhep, written as PNG and PDF.

Each function draws one figure from plain arrays or from a task's summary
(:mod:`rs3l.evaluation.summary`) and returns the written paths; files are written
atomically. Figures: ROC curves (signal efficiency against background rejection,
log scale, as in the tagging literature), tagger-output distributions per view and
true class, energy response and resolution in bins of true energy, and
label-efficiency curves.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim_pairs.io import atomic_path

__all__ = ["plt_hep", "save_figure", "plot_roc", "plot_score_distributions", "plot_response", "plot_label_efficiency"]


def plt_hep():
    """matplotlib.pyplot (Agg back-end) with the mplhep style applied when installed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        import mplhep

        plt.style.use(mplhep.style.CMS)
    except ImportError:  # plots still work, in matplotlib's default style
        pass
    plt.rcParams["figure.max_open_warning"] = 0
    return plt


def save_figure(fig, stem: str | Path, formats=("png", "pdf")) -> list[Path]:
    """Save ``fig`` as ``stem.<format>`` for each format, atomically; close it."""
    import matplotlib.pyplot as plt

    paths = []
    for fmt in formats:
        path = Path(f"{stem}.{fmt}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=100, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths


def plot_roc(curves: dict, stem, *, title: str = "", formats=("png", "pdf")) -> list[Path]:
    """ROC curves as background rejection 1/eps_B against signal efficiency eps_S.

    Args:
        curves: label -> (eps_B [M], eps_S [M]) from :func:`rs3l.evaluation.metrics.roc_curve`.
        stem: output path without extension.
    """
    plt = plt_hep()
    fig, ax = plt.subplots(figsize=(8, 7))
    for name, (eps_b, eps_s) in curves.items():
        keep = eps_b > 0
        ax.plot(np.asarray(eps_s)[keep], 1.0 / np.asarray(eps_b)[keep], label=name)
    ax.set_yscale("log")
    ax.set_xlabel(r"Signal efficiency $\varepsilon_S$")
    ax.set_ylabel(r"Background rejection $1/\varepsilon_B$")
    ax.set_xlim(0, 1)
    ax.legend(title=title or None, fontsize="small")
    return save_figure(fig, stem, formats)


def plot_score_distributions(scores, labels, views, class_names, stem, *, nominal: str = "nominal",
                             title: str = "", xlabel: str = "Tagger output", bins=None,
                             formats=("png", "pdf")) -> list[Path]:
    """Normalised distributions of the tagger output for each view, one panel per true class.

    Args:
        scores: [N] outputs; labels: [N] class indices into ``class_names``; views: [N] view names.
        nominal: drawn as a filled histogram, the other views as lines.
    """
    plt = plt_hep()
    scores, labels, views = np.asarray(scores, dtype=float), np.asarray(labels), np.asarray(views)
    present = [c for c in range(len(class_names)) if np.any(labels == c)]
    fig, axes = plt.subplots(1, max(len(present), 1), figsize=(7 * max(len(present), 1), 6), squeeze=False)
    if bins is None:
        lo, hi = np.quantile(scores, [0.001, 0.999]) if len(scores) else (0.0, 1.0)
        bins = np.linspace(lo, hi if hi > lo else lo + 1.0, 41)
    order = [nominal] + [v for v in dict.fromkeys(views.tolist()) if v != nominal]
    for ax, c in zip(axes[0], present):
        for v in order:
            sel = (labels == c) & (views == v)
            if not sel.any():
                continue
            style = dict(histtype="stepfilled", alpha=0.35) if v == nominal else dict(histtype="step", linewidth=1.5)
            ax.hist(np.clip(scores[sel], bins[0], bins[-1]), bins=bins, density=True, label=v, **style)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Normalised jets")
        ax.set_title(f"true {class_names[c]}", fontsize="medium")
        ax.legend(fontsize="x-small", loc="best")
    if title:
        fig.suptitle(title, fontsize="medium")
    fig.tight_layout()
    return save_figure(fig, stem, formats)


def plot_response(summaries: dict, stem, *, formats=("png", "pdf")) -> list[Path]:
    """Median response and resolution against true jet energy, one line per tagger.

    Args:
        summaries: label -> the ``response_resolution`` dict (``bin_edges``,
            ``median_response``, ``resolution``).
    """
    plt = plt_hep()
    fig, (ax_r, ax_s) = plt.subplots(2, 1, figsize=(8, 9), sharex=True)
    for name, s in summaries.items():
        edges = np.asarray(s["bin_edges"])
        centres, half = (edges[1:] + edges[:-1]) / 2, (edges[1:] - edges[:-1]) / 2
        med = np.array([np.nan if v is None else v for v in s["median_response"]], dtype=float)
        res = np.array([np.nan if v is None else v for v in s["resolution"]], dtype=float)
        ax_r.errorbar(centres, med, xerr=half, fmt="o", label=name)
        ax_s.errorbar(centres, res, xerr=half, fmt="o", label=name)
    ax_r.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    ax_r.set_ylabel(r"Median $E_{pred}/E_{true}$")
    ax_s.set_ylabel(r"Resolution $\frac{q_{84}-q_{16}}{2\,\mathrm{median}}$", fontsize="small")
    ax_s.set_xlabel(r"True jet energy [GeV]")
    ax_r.legend(fontsize="small")
    return save_figure(fig, stem, formats)


def plot_label_efficiency(curves: dict, stem, *, ylabel: str = "AUC", formats=("png", "pdf")) -> list[Path]:
    """A metric against the fraction of labelled training jets, one line per tagger.

    Args:
        curves: label -> {fraction (str or float): value or None}.
    """
    plt = plt_hep()
    fig, ax = plt.subplots(figsize=(8, 6))
    for name, points in curves.items():
        xs = sorted((float(f), v) for f, v in points.items() if v is not None)
        if xs:
            ax.plot([x for x, _ in xs], [v for _, v in xs], "o-", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("Fraction of labelled training jets")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    return save_figure(fig, stem, formats)
