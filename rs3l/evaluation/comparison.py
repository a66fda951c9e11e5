"""Taggers compared over several training seeds on one test set, with errors that say what is resolved.

One evaluation (:func:`rs3l.evaluation.evaluate.evaluate`) scores one backbone; a
claim such as "re-shower pre-training moves less between shower models than the
supervised tagger" needs the same figure for several pre-training seeds, an error
from the finite test set and one from the seeds, and a ratio whose distance from 1
is compared with its error. This module does that from saved prediction files
(``predictions/<task>.parquet``) of a binary task.

Figures of one tagger on one set of test groups (``figures``):

=============  ===============================================================
``auc``        area under the ROC curve, nominal view
``r50``        background rejection 1/eps_B at eps_S = 0.5, nominal view; eps_B is
               floored at 1/(background jets), so no jet passing reads as that bound
``w1@V``       Wasserstein-1 between the output on nominal and on view V, signal
               jets of the groups present in both (RS3L: Higgs jets, Pythia vs Herwig)
``nw1@V``      ``w1@V`` divided by the W1 between the nominal output on signal and
               on background jets: the view shift in units of the tagger's separation
``shift@V``    (eps_B(V) - eps_B(nominal)) / eps_B(nominal) at the cut giving
               eps_S = 0.5 on nominal (a calibrated working point moved to view V)
=============  ===============================================================

:func:`floors` gives, for each view, the W1 (``null@V``) and normalised W1
(``nnull@V``) that the same pairs show with each pair's two scores swapped at random:
the floor that re-simulation noise alone puts under ``w1@V`` with this many jets.

Errors: every run of a comparison is aligned on the same test groups, and one set of
bootstrap resamples of those groups (with all their views) is applied to every run, so
that two taggers' figures and their ratio are resampled together. The seed error is
the standard error of the mean over seeds. A ratio is *resolved* when its distance
from 1 is at least ``3 x`` its total error (bootstrap and seeds in quadrature).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .metrics import auc as roc_auc
from .robustness import wasserstein_1, wasserstein_null

__all__ = ["AlignedPredictions", "align_predictions", "figures", "floors", "SeedComparison", "Estimate", "Ratio",
           "read_aligned", "MissingRun"]


class MissingRun(ValueError):
    """A predictions file without rows of the requested tagger and label fraction."""


@dataclass
class AlignedPredictions:
    """One tagger's test-set output, one row per group of the nominal view.

    Attributes:
        group_id: [G] sorted group ids; label: [G] class index (1 = signal).
        scores: view -> [G] output (NaN where the group has no jet of that view).
    """

    group_id: np.ndarray
    label: np.ndarray
    scores: dict[str, np.ndarray]


def align_predictions(columns: dict, *, tagger: str, fraction: float, nominal: str, views,
                      source: str = "predictions") -> AlignedPredictions:
    """The rows of one tagger and label fraction, aligned by group on the nominal view.

    Args:
        columns: prediction columns (:func:`rs3l.evaluation.predictions.read_predictions`)
            with ``tagger``, ``label_fraction``, ``view``, ``group_id``, ``label``, ``score``.
        views: the other views to keep.
        source: named in errors (the file).

    Raises:
        MissingRun: the tagger and fraction have no nominal rows (evaluate skips a fraction without
            training jets); ValueError: a group appears twice in the nominal view.
    """
    sel = (np.asarray(columns["tagger"]) == tagger) & np.isclose(np.asarray(columns["label_fraction"], float), fraction)
    view = np.asarray(columns["view"])[sel]
    group = np.asarray(columns["group_id"], dtype=np.int64)[sel]
    label = np.asarray(columns["label"])[sel]
    score = np.asarray(columns["score"], dtype=np.float64)[sel]
    nom = view == nominal
    if not nom.any():
        raise MissingRun(f"{source}: no rows of tagger {tagger!r} at label fraction {fraction:g} in view {nominal!r}")
    order = np.argsort(group[nom], kind="stable")
    gid = group[nom][order]
    if len(np.unique(gid)) != len(gid):
        raise ValueError(f"{source}: a group appears twice in view {nominal!r} for tagger {tagger!r}")
    out = {nominal: score[nom][order]}
    for v in views:
        if v == nominal:
            continue
        rows = view == v
        full = np.full(len(gid), np.nan)
        pos = np.searchsorted(gid, group[rows])
        ok = (pos < len(gid)) & (gid[np.minimum(pos, len(gid) - 1)] == group[rows])
        full[pos[ok]] = score[rows][ok]
        out[v] = full
    return AlignedPredictions(gid, label[nom][order], out)


def figures(pred: AlignedPredictions, nominal: str, views, rows: np.ndarray | None = None,
            signal_efficiency: float = 0.5) -> dict[str, float]:
    """The figures of the module docstring on ``rows`` of ``pred`` (all rows by default; repeats allowed)."""
    rows = np.arange(len(pred.group_id)) if rows is None else rows
    label = pred.label[rows]
    s_nom = pred.scores[nominal][rows]
    sig = label == 1
    out = {"auc": math.nan, "r50": math.nan}
    if not sig.any() or sig.all():
        return out
    out["auc"] = roc_auc(sig.astype(int), s_nom)
    cut = np.quantile(s_nom[sig], 1.0 - signal_efficiency)
    bkg = ~sig
    eps_b = max(np.mean(s_nom[bkg] >= cut), 1.0 / bkg.sum())
    out["r50"] = 1.0 / eps_b
    separation = wasserstein_1(s_nom[sig], s_nom[bkg])
    for v in views:
        if v == nominal:
            continue
        s_v = pred.scores[v][rows]
        both = np.isfinite(s_v)
        w1 = wasserstein_1(s_nom[sig & both], s_v[sig & both]) if (sig & both).any() else math.nan
        out[f"w1@{v}"] = w1
        out[f"nw1@{v}"] = w1 / separation if separation > 0 else math.nan
        b = bkg & both
        eb_n = np.mean(s_nom[b] >= cut) if b.any() else 0.0
        out[f"shift@{v}"] = (np.mean(s_v[b] >= cut) - eb_n) / eb_n if eb_n > 0 else math.nan
    return out


def floors(pred: AlignedPredictions, nominal: str, views, n_swaps: int = 50, seed: int = 0) -> dict[str, float]:
    """``null@V`` and ``nnull@V`` of the module docstring (all rows of ``pred``)."""
    label, s_nom = pred.label, pred.scores[nominal]
    sig = label == 1
    out = {}
    if not sig.any() or sig.all():
        return out
    separation = wasserstein_1(s_nom[sig], s_nom[~sig])
    for v in views:
        if v == nominal:
            continue
        both = sig & np.isfinite(pred.scores[v])
        null = (wasserstein_null(s_nom[both], pred.scores[v][both], n_resamples=n_swaps, seed=seed, paired=True)
                if both.any() else math.nan)
        out[f"null@{v}"] = null
        out[f"nnull@{v}"] = null / separation if separation > 0 else math.nan
    return out


@dataclass
class Estimate:
    """A figure's mean over seeds with its errors."""

    mean: float
    seed_std: float  # spread of the seeds
    seed_sem: float  # seed_std / sqrt(seeds)
    boot_std: float  # bootstrap std of the seed mean (test-set statistics)
    n_seeds: int

    @property
    def error(self) -> float:
        return math.hypot(self.seed_sem, self.boot_std)


@dataclass
class Ratio:
    """A figure of one tagger over the same figure of a reference tagger."""

    value: float
    boot_std: float
    seed_err: float

    @property
    def error(self) -> float:
        return math.hypot(self.boot_std, self.seed_err)

    @property
    def resolved(self) -> bool:
        """The distance from 1 is at least three total errors."""
        return bool(math.isfinite(self.value) and math.isfinite(self.error) and abs(self.value - 1) >= 3 * self.error)


@dataclass
class SeedComparison:
    """Figures of many (tagger, seed) runs on one test set, with shared bootstrap resamples.

    Args:
        group_id: [G] the test groups every run must cover (sorted).
        nominal, views: the nominal view and the views compared with it.
        n_resamples: bootstrap resamples of the groups.
        seed: of the resampling.
    """

    group_id: np.ndarray
    nominal: str
    views: list[str]
    n_resamples: int = 200
    seed: int = 0
    runs: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)  # key -> seed -> [1 + B, figures]
    names: list[str] = field(default_factory=list)
    nulls: dict[str, dict[int, dict[str, float]]] = field(default_factory=dict)  # key -> seed -> floors()

    def __post_init__(self):
        rng = np.random.default_rng(self.seed)
        n = len(self.group_id)
        self._rows = [np.arange(n)] + [rng.integers(0, n, n) for _ in range(self.n_resamples)]

    def add(self, key: str, seed: int, pred: AlignedPredictions, source: str = "predictions") -> None:
        """Score one run (tagger ``key`` trained with ``seed``) on the shared groups and resamples."""
        if not np.array_equal(pred.group_id, self.group_id):
            raise ValueError(f"{source}: run {key!r} (seed {seed}) has {len(pred.group_id)} test groups that are not "
                             f"the {len(self.group_id)} of the comparison: not the same dataset or split")
        table = [figures(pred, self.nominal, self.views, rows) for rows in self._rows]
        if not self.names:
            self.names = list(table[0])
        self.runs.setdefault(key, {})[seed] = np.array([[t.get(k, math.nan) for k in self.names] for t in table])
        self.nulls.setdefault(key, {})[seed] = floors(pred, self.nominal, self.views, seed=self.seed)

    def floor(self, key: str, name: str) -> Estimate:
        """A :func:`floors` figure (``null@V``, ``nnull@V``) over seeds; no bootstrap error."""
        values = np.array([f.get(name, math.nan) for _, f in sorted(self.nulls[key].items())])
        n = len(values)
        std = float(np.std(values, ddof=1)) if n > 1 else math.nan
        return Estimate(float(np.mean(values)), std, std / math.sqrt(n) if n > 1 else math.nan, math.nan, n)

    def _values(self, key: str, name: str) -> np.ndarray:
        """[seeds, 1 + B] values of one figure."""
        if key not in self.runs:
            raise KeyError(f"no runs of {key!r}; have {sorted(self.runs)}")
        j = self.names.index(name)
        return np.stack([v[:, j] for _, v in sorted(self.runs[key].items())])

    def estimate(self, key: str, name: str) -> Estimate:
        values = self._values(key, name)
        central = values[:, 0]
        n = len(central)
        seed_std = float(np.std(central, ddof=1)) if n > 1 else math.nan
        boot = np.mean(values[:, 1:], axis=0)
        boot = boot[np.isfinite(boot)]
        return Estimate(float(np.mean(central)), seed_std, seed_std / math.sqrt(n) if n > 1 else math.nan,
                        float(np.std(boot)) if len(boot) > 1 else math.nan, n)

    def ratio(self, key: str, reference: str, name: str) -> Ratio:
        """mean over seeds of ``key``'s figure / the same of ``reference``."""
        a, b = self._values(key, name), self._values(reference, name)
        ea, eb = self.estimate(key, name), self.estimate(reference, name)
        value = ea.mean / eb.mean if eb.mean else math.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            boot = np.mean(a[:, 1:], axis=0) / np.mean(b[:, 1:], axis=0)
        boot = boot[np.isfinite(boot)]
        seed_err = abs(value) * math.hypot(ea.seed_sem / ea.mean, eb.seed_sem / eb.mean) if ea.mean and eb.mean else math.nan
        return Ratio(value, float(np.std(boot)) if len(boot) > 1 else math.nan, seed_err)


def read_aligned(path: str | Path, *, tagger: str, fraction: float, nominal: str, views) -> AlignedPredictions:
    """:func:`align_predictions` on a predictions file."""
    from .predictions import read_predictions

    columns, info = read_predictions(path)
    if info.get("kind") != "binary":
        raise ValueError(f"{path}: a comparison needs a binary task's predictions, this file holds {info.get('kind')!r}")
    return align_predictions(columns, tagger=tagger, fraction=fraction, nominal=nominal, views=views, source=str(path))

