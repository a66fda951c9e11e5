"""Performance metrics of a tagger or a regression head, with bootstrap uncertainties.

Binary tagging (RS3L, arXiv 2403.07066; ParticleNet, arXiv 1902.08570): the ROC
curve as signal efficiency eps_S against background efficiency eps_B, the area under
it, and the background rejection 1/eps_B at fixed eps_S (0.3, 0.5, 0.7), with eps_B
interpolated linearly along the ROC curve. Uncertainties come from resampling the
test jets with replacement (percentile bootstrap).

Regression of the jet energy: the response R = E_pred / E_true, its median and the
resolution = half the 16-84% interval of R over its median, in bins of true energy.

Everything here is plain numpy on 1-d arrays; no torch.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "roc_curve",
    "auc",
    "background_efficiency_at",
    "rejection_at",
    "binary_metrics",
    "bootstrap_binary",
    "multiclass_metrics",
    "response_resolution",
]


def _check_binary(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.shape != scores.shape or labels.ndim != 1:
        raise ValueError(f"labels {labels.shape} and scores {scores.shape} must be 1-d of equal length")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 (background) or 1 (signal)")
    n_sig = int(labels.sum())
    if n_sig == 0 or n_sig == len(labels):
        raise ValueError(f"need both classes, got {n_sig} signal and {len(labels) - n_sig} background jets")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or inf")
    return labels.astype(bool), scores


def roc_curve(labels, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ROC curve of a score that is larger for signal.

    Args:
        labels: [N] 1 for signal, 0 for background.
        scores: [N] tagger output.

    Returns:
        (eps_B, eps_S, thresholds), each [M]: selecting ``score >= threshold`` keeps
        the fractions eps_B of background and eps_S of signal. Starts at (0, 0)
        with threshold +inf, ends at (1, 1); tied scores form one point.
    """
    labels, scores = _check_binary(labels, scores)
    order = np.argsort(-scores)  # order within ties is irrelevant: counts are taken at each tie's end
    scores, labels = scores[order], labels[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tp = np.cumsum(labels)[last_of_tie]
    fp = (last_of_tie + 1) - tp
    eps_s = np.r_[0.0, tp / tp[-1]]
    eps_b = np.r_[0.0, fp / fp[-1]]
    return eps_b, eps_s, np.r_[np.inf, scores[last_of_tie]]


def auc(labels, scores) -> float:
    """Area under the ROC curve (trapezoids; ties count one half)."""
    eps_b, eps_s, _ = roc_curve(labels, scores)
    return float(np.sum(np.diff(eps_b) * (eps_s[1:] + eps_s[:-1]) / 2.0))


def background_efficiency_at(labels, scores, signal_efficiency: float) -> float:
    """eps_B at the given eps_S, interpolated linearly along the ROC curve."""
    eps_b, eps_s, _ = roc_curve(labels, scores)
    return float(np.interp(signal_efficiency, eps_s, eps_b))


def _rejection(eps_b: float) -> float:
    return float("inf") if eps_b <= 0.0 else 1.0 / eps_b


def rejection_at(labels, scores, signal_efficiency: float) -> float:
    """Background rejection 1/eps_B at the given eps_S (inf when no background passes)."""
    return _rejection(background_efficiency_at(labels, scores, signal_efficiency))


def binary_metrics(labels, scores, signal_efficiencies=(0.3, 0.5, 0.7)) -> dict:
    """AUC and ``rejection@<eps_S>`` for each signal efficiency, from one ROC curve."""
    eps_b, eps_s, _ = roc_curve(labels, scores)
    out = {"auc": float(np.sum(np.diff(eps_b) * (eps_s[1:] + eps_s[:-1]) / 2.0))}
    for eff in signal_efficiencies:
        out[f"rejection@{eff:g}"] = _rejection(float(np.interp(eff, eps_s, eps_b)))
    return out


def _interval(values: np.ndarray, confidence: float) -> dict:
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return {"low": None, "high": None, "std": None}
    # An infinite rejection ranks above every finite one; a bound that lands on it is unbounded (inf).
    big = np.finfo(np.float64).max
    lo, hi = np.quantile(np.where(np.isinf(values), big, values), [(1 - confidence) / 2, (1 + confidence) / 2])
    lo, hi = (np.inf if v >= big / 2 else v for v in (lo, hi))
    return {
        "low": float(lo) if np.isfinite(lo) else None,
        "high": float(hi) if np.isfinite(hi) else None,
        "std": float(np.std(finite)),
    }


def bootstrap_binary(labels, scores, signal_efficiencies=(0.3, 0.5, 0.7), *, n_resamples: int = 100,
                     confidence: float = 0.68, seed: int = 0) -> dict:
    """:func:`binary_metrics` with percentile-bootstrap intervals.

    Signal and background jets are resampled separately (so every resample keeps
    both classes and their counts).

    Returns:
        ``{metric: {"value", "low", "high", "std"}}``; ``low``/``high`` bound the
        central ``confidence`` interval of the resampled values, ``std`` is their
        standard deviation over finite resamples. Without resamples only ``value``
        is filled. An infinite rejection (no background passes) is reported as
        ``None`` in ``low``/``high``.
    """
    labels, scores = _check_binary(labels, scores)
    nominal = binary_metrics(labels, scores, signal_efficiencies)
    out = {k: {"value": v, "low": None, "high": None, "std": None} for k, v in nominal.items()}
    if n_resamples <= 0:
        return out
    rng = np.random.default_rng(seed)
    sig, bkg = np.flatnonzero(labels), np.flatnonzero(~labels)
    samples = {k: np.empty(n_resamples) for k in nominal}
    for i in range(n_resamples):
        idx = np.r_[rng.choice(sig, len(sig)), rng.choice(bkg, len(bkg))]
        for k, v in binary_metrics(labels[idx], scores[idx], signal_efficiencies).items():
            samples[k][i] = v
    for k in nominal:
        out[k].update(_interval(samples[k], confidence))
    return out


def multiclass_metrics(labels, scores, class_names) -> dict:
    """Accuracy and one-vs-rest AUC per class (and their mean) for [N, C] class scores.

    Args:
        labels: [N] integer class index into ``class_names``.
        scores: [N, C] per-class scores (probabilities or logits).
        class_names: C names.
    """
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape != (len(labels), len(class_names)):
        raise ValueError(f"scores must be [N={len(labels)}, C={len(class_names)}], got {scores.shape}")
    out = {"accuracy": float(np.mean(np.argmax(scores, axis=1) == labels)), "auc_ovr": {}}
    for c, name in enumerate(class_names):
        is_c = (labels == c).astype(int)
        if 0 < is_c.sum() < len(is_c):
            out["auc_ovr"][name] = auc(is_c, scores[:, c])
    aucs = list(out["auc_ovr"].values())
    out["auc_ovr_mean"] = float(np.mean(aucs)) if aucs else None
    return out


def response_resolution(predicted, true, bin_edges) -> dict:
    """Median response and resolution of an energy regression in bins of true energy.

    Args:
        predicted: [N] predicted jet energy (GeV).
        true: [N] true jet energy (GeV), > 0.
        bin_edges: [K+1] increasing edges in true energy (GeV); jets outside are dropped.

    Returns:
        ``{"bin_edges": [K+1], "count": [K], "median_response": [K],
        "resolution": [K]}`` plus ``"inclusive": {"median_response", "resolution"}``
        over all jets; resolution = (q84 - q16) / 2 / median of R = pred / true.
        Empty bins hold ``None``.
    """
    predicted = np.asarray(predicted, dtype=np.float64)
    true = np.asarray(true, dtype=np.float64)
    edges = np.asarray(bin_edges, dtype=np.float64)
    if predicted.shape != true.shape or predicted.ndim != 1:
        raise ValueError(f"predicted {predicted.shape} and true {true.shape} must be 1-d of equal length")
    if (true <= 0).any():
        raise ValueError("true energies must be positive")
    if edges.ndim != 1 or len(edges) < 2 or (np.diff(edges) <= 0).any():
        raise ValueError(f"bin_edges must increase strictly, got {edges}")
    response = predicted / true

    def summary(r):
        if len(r) == 0:
            return None, None
        q16, q50, q84 = np.percentile(r, [16, 50, 84])
        return float(q50), (float((q84 - q16) / 2.0 / q50) if q50 != 0 else None)

    which = np.digitize(true, edges) - 1
    count, med, res = [], [], []
    for b in range(len(edges) - 1):
        m, s = summary(response[which == b])
        count.append(int(np.sum(which == b)))
        med.append(m)
        res.append(s)
    m, s = summary(response)
    return {"bin_edges": edges.tolist(), "count": count, "median_response": med, "resolution": res,
            "inclusive": {"median_response": m, "resolution": s}}
