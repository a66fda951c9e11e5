"""Robustness of a tagger to the simulation: how far its output moves between views.

RS3L (arXiv 2403.07066) measures robustness as the Wasserstein-1 distance between
the tagger's output distribution on nominal jets and on the same jets simulated
differently (new seed, FSR scale up/down, another shower program). Here each view
of a dataset is compared with the nominal view over the groups (hard events) present
in both, separately for each true class. A second measure is the relative change of
the background efficiency between views, either at the cut that gives the requested
signal efficiency on the nominal view (what happens to a calibrated working point)
or at the same signal efficiency on each view (the tagger re-optimised per view).

Two kinds of comparison, recorded as ``kind`` in each result:

* ``matched``: the views share groups (rs3l's own datasets: one hard event, several
  simulations). W1 per class is taken over the groups present in both views, each
  group's class being its nominal label; bootstrap resamples groups, keeping pairs.
  Re-simulation moves each jet's score even where the two views' distributions
  agree, so W1 has a floor here too (``wasserstein_null``: pairs swapped at random).
* ``unmatched``: the views hold different events (public samples imported per view,
  e.g. the Pythia and Herwig quark/gluon files, Komiske et al. arXiv 1810.05165).
  W1 per class is taken between the output distributions over all jets of each view
  with that class; bootstrap resamples each view's jets independently. With finite
  samples W1 is positive even between identical distributions (about
  ``sqrt(1/n + 1/m)`` times the spread of the output), so compare it to its interval,
  its null and between taggers, not to zero.

A binary tagger's W1 is also given normalised: divided by the same tagger's W1
between signal and background on the nominal view (``wasserstein_normalised``).

Plain numpy; the Wasserstein distance is computed here from the empirical CDFs and
checked against ``scipy.stats.wasserstein_distance`` in the tests.
"""

from __future__ import annotations

import numpy as np

from .metrics import background_efficiency_at

__all__ = ["wasserstein_1", "matched_groups", "view_shifts", "bootstrap_wasserstein", "wasserstein_null",
           "separation"]


def wasserstein_1(u, v) -> float:
    """Wasserstein-1 (earth mover's) distance between two 1-d samples.

    The integral over x of |F_u(x) - F_v(x)| for the empirical CDFs F, equal-weight
    samples of any sizes.

    Args:
        u: [N] sample, v: [M] sample (finite values).
    """
    u = np.sort(np.asarray(u, dtype=np.float64))
    v = np.sort(np.asarray(v, dtype=np.float64))
    if u.ndim != 1 or v.ndim != 1 or len(u) == 0 or len(v) == 0:
        raise ValueError(f"need two non-empty 1-d samples, got shapes {u.shape} and {v.shape}")
    grid = np.concatenate([u, v])
    grid.sort(kind="mergesort")
    widths = np.diff(grid)
    cdf_u = np.searchsorted(u, grid[:-1], side="right") / len(u)
    cdf_v = np.searchsorted(v, grid[:-1], side="right") / len(v)
    return float(np.sum(np.abs(cdf_u - cdf_v) * widths))


def matched_groups(group_id, view, nominal: str, other: str) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the rows of ``nominal`` and ``other`` that share a group, aligned.

    Args:
        group_id: [N] group ids; view: [N] view names (one row per group and view).

    Returns:
        (rows_nominal, rows_other): index arrays of equal length, row i of each
        belonging to the same group, ordered by group id.
    """
    group_id = np.asarray(group_id)
    view = np.asarray(view)
    a = np.flatnonzero(view == nominal)
    b = np.flatnonzero(view == other)
    common, ia, ib = np.intersect1d(group_id[a], group_id[b], assume_unique=False, return_indices=True)
    return a[ia], b[ib]


def bootstrap_wasserstein(u, v, *, paired: bool, n_resamples: int, confidence: float = 0.68,
                          seed: int = 0) -> dict:
    """Percentile-bootstrap interval of ``wasserstein_1(u, v)``.

    Args:
        u, v: the two samples; with ``paired`` of equal length, element i of each from
            the same group (resampled together), else resampled independently.
        n_resamples: resamples (0: no interval).
        confidence: central interval of the resampled values.

    Returns:
        ``{"low", "high", "std"}`` (None without resamples).
    """
    u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
    if n_resamples <= 0:
        return {"low": None, "high": None, "std": None}
    rng = np.random.default_rng(seed)
    values = np.empty(n_resamples)
    for i in range(n_resamples):
        iu = rng.integers(0, len(u), len(u))
        iv = iu if paired else rng.integers(0, len(v), len(v))
        values[i] = wasserstein_1(u[iu], v[iv])
    low, high = np.quantile(values, [(1 - confidence) / 2, (1 + confidence) / 2])
    return {"low": float(low), "high": float(high), "std": float(np.std(values))}


def wasserstein_null(u, v, *, n_resamples: int, seed: int = 0, paired: bool = False) -> float | None:
    """The W1 that two samples of these sizes show when both come from one distribution.

    Unmatched: the mean W1 between random splits of the pooled samples into sizes
    len(u), len(v) (a permutation test's null). Paired (``u[i]``, ``v[i]`` the same
    group in two views): the mean W1 after swapping each pair's two members with
    probability 1/2, the null of exchangeable views. Re-simulating a jet moves its
    score even when the two views' distributions agree, so with n pairs W1 has a floor
    of order sqrt(1/n) times the spread of those moves; a measured W1 near the floor
    does not resolve a difference between views, or between taggers. None without
    resamples.
    """
    if n_resamples <= 0:
        return None
    u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
    rng = np.random.default_rng(seed)
    if paired:
        values = []
        for _ in range(n_resamples):
            swap = rng.random(len(u)) < 0.5
            values.append(wasserstein_1(np.where(swap, v, u), np.where(swap, u, v)))
        return float(np.mean(values))
    pool = np.concatenate([u, v])
    n = len(u)
    values = [wasserstein_1(p[:n], p[n:]) for p in (rng.permutation(pool) for _ in range(n_resamples))]
    return float(np.mean(values))


def separation(labels, scores, signal_class: int = 1) -> float | None:
    """W1 between a binary tagger's output on signal and on background jets (None without both).

    The scale that :func:`view_shifts` divides a view-to-view W1 by: a tagger that
    squeezes its output range moves less between views but separates less too, and
    the ratio is blind to that squeeze.
    """
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    sig = labels == signal_class
    if not sig.any() or sig.all():
        return None
    return wasserstein_1(scores[sig], scores[~sig])


def _normalise(entry, labels, scores, rn, ro, class_names, signal_class, *, matched, n_resamples, confidence, seed):
    """Add the separation and the normalised W1 per class (with a bootstrap interval) to ``entry``."""
    sep = separation(labels[rn], scores[rn], signal_class)
    entry["wasserstein_separation"] = sep
    entry["wasserstein_normalised"], entry["wasserstein_normalised_interval"] = {}, {}
    if not sep:
        return
    classes = [(c, name) for c, name in enumerate(class_names) if name in entry["wasserstein"]]
    for c, name in classes:
        entry["wasserstein_normalised"][name] = entry["wasserstein"][name] / sep
    if n_resamples <= 0:
        return
    rng = np.random.default_rng(seed)
    values = np.full((n_resamples, len(classes)), np.nan)
    for i in range(n_resamples):
        jn = rng.integers(0, len(rn), len(rn))  # matched: groups resampled with both their views
        jo = jn if matched else rng.integers(0, len(ro), len(ro))
        bn, bo = rn[jn], ro[jo]
        sep_b = separation(labels[bn], scores[bn], signal_class)
        if not sep_b:
            continue
        for j, (c, _) in enumerate(classes):
            sel_n = labels[bn] == c
            sel_o = sel_n if matched else labels[bo] == c
            if sel_n.any() and sel_o.any():
                values[i, j] = wasserstein_1(scores[bn][sel_n], scores[bo][sel_o]) / sep_b
    for j, (_, name) in enumerate(classes):
        v = values[:, j][np.isfinite(values[:, j])]
        if len(v):
            low, high = np.quantile(v, [(1 - confidence) / 2, (1 + confidence) / 2])
            entry["wasserstein_normalised_interval"][name] = {"low": float(low), "high": float(high),
                                                               "std": float(np.std(v))}


def view_shifts(group_id, view, labels, scores, *, nominal: str, views, class_names,
                signal_class: int | None = None, signal_efficiencies=(0.3, 0.5, 0.7),
                n_resamples: int = 0, confidence: float = 0.68, seed: int = 0) -> dict:
    """Wasserstein-1 per class and background-efficiency shifts of each view against nominal.

    A view that shares groups with the nominal view is compared on those groups
    (``matched``); one that shares none, over all jets of each view (``unmatched``).

    Args:
        group_id: [N] group ids; view: [N] view names; labels: [N] class indices.
        scores: [N] tagger output (the signal score for a binary tagger, the
            prediction / true energy for a regression).
        nominal: the reference view name.
        views: the other view names to compare.
        class_names: names of the classes indexed by ``labels``.
        signal_class: for a binary tagger, the index of the signal class; the
            background-efficiency shifts are computed only when given.
        signal_efficiencies: eps_S working points.
        n_resamples, confidence, seed: bootstrap of each W1 (0 resamples: no interval).

    Returns:
        ``{view: {"kind": "matched" | "unmatched", "n_groups": int, "n_jets": {view: int},
        "wasserstein": {class: float}, "wasserstein_interval": {class: {"low", "high", "std"}},
        "wasserstein_null": {class: float} (the floor of W1 for samples of these sizes, see :func:`wasserstein_null`),
        "wasserstein_separation": W1(signal, background) on the nominal rows compared,
        "wasserstein_normalised": {class: W1 / separation}, "wasserstein_normalised_interval": as above,
        "bkg_eff_shift_fixed_cut@<eps>": float, "bkg_eff_shift_fixed_eff@<eps>": float}}``
        (separation and the normalised W1 for a binary tagger only, ``signal_class`` given),
        ``n_groups`` being the groups compared (0 when unmatched), shifts
        (eps_B(view) - eps_B(nominal)) / eps_B(nominal), None where undefined (no
        background passes, or a class missing).
    """
    group_id, view, labels = np.asarray(group_id), np.asarray(view), np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    out = {}
    for k, other in enumerate(views):
        if other == nominal:
            continue
        rn, ro = matched_groups(group_id, view, nominal, other)
        matched = len(rn) > 0
        if not matched:
            rn, ro = np.flatnonzero(view == nominal), np.flatnonzero(view == other)
        entry = {"kind": "matched" if matched else "unmatched", "n_groups": int(len(rn)) if matched else 0,
                 "n_jets": {nominal: int(len(rn)), other: int(len(ro))}, "wasserstein": {},
                 "wasserstein_interval": {}}
        for c, name in enumerate(class_names):
            # matched: a group keeps its true class in every view, so select by the nominal label
            sel_n = labels[rn] == c
            sel_o = sel_n if matched else labels[ro] == c
            if sel_n.any() and sel_o.any():
                u, v = scores[rn][sel_n], scores[ro][sel_o]
                entry["wasserstein"][name] = wasserstein_1(u, v)
                entry["wasserstein_interval"][name] = bootstrap_wasserstein(
                    u, v, paired=matched, n_resamples=n_resamples, confidence=confidence, seed=seed + 1000 * k + c)
                entry.setdefault("wasserstein_null", {})[name] = wasserstein_null(
                    u, v, n_resamples=n_resamples, seed=seed + 1000 * k + c, paired=matched)
        if signal_class is not None:
            _normalise(entry, labels, scores, rn, ro, class_names, signal_class, matched=matched,
                       n_resamples=n_resamples, confidence=confidence, seed=seed + 1000 * k + 500)
            is_sig_n = (labels[rn] == signal_class).astype(int)
            is_sig_o = (labels[ro] == signal_class).astype(int)
            both = 0 < is_sig_n.sum() < len(is_sig_n) and 0 < is_sig_o.sum() < len(is_sig_o)
            for eff in signal_efficiencies:
                fixed_cut = fixed_eff = None
                if both:
                    sig_n = scores[rn][is_sig_n == 1]
                    cut = np.quantile(sig_n, 1.0 - eff)
                    bkg_n = np.mean(scores[rn][is_sig_n == 0] >= cut)
                    bkg_o = np.mean(scores[ro][is_sig_o == 0] >= cut)
                    if bkg_n > 0:
                        fixed_cut = float((bkg_o - bkg_n) / bkg_n)
                    eb_n = background_efficiency_at(is_sig_n, scores[rn], eff)
                    eb_o = background_efficiency_at(is_sig_o, scores[ro], eff)
                    if eb_n > 0:
                        fixed_eff = float((eb_o - eb_n) / eb_n)
                entry[f"bkg_eff_shift_fixed_cut@{eff:g}"] = fixed_cut
                entry[f"bkg_eff_shift_fixed_eff@{eff:g}"] = fixed_eff
        out[other] = entry
    return out
