"""From saved predictions to the numbers of ``metrics.json``.

Everything in ``metrics.json["tasks"]`` is computed here from the columns of a
predictions file (:mod:`rs3l.evaluation.predictions`), so anyone can recompute
it from the Parquet files. The layout of one task's entry (documented in
docs/evaluation.md)::

    {"kind", "classes", "n_test": {view: jets},
     "results": {tagger: {fraction: {
         "nominal":    binary: {"auc", "rejection@0.3", ...} each {"value","low","high","std"}
                       multiclass: {"accuracy", "auc_ovr": {class: auc}, "auc_ovr_mean"}
                       regression: {"bin_edges", "count", "median_response", "resolution", "inclusive"}
         "per_view":   {view: the same metrics without uncertainties}
         "robustness": {view: {"kind": "matched" | "unmatched", "n_groups", "n_jets": {view: jets},
                               "wasserstein": {class: W1}, "wasserstein_interval": {class: {"low","high","std"}},
                               "wasserstein_null": {class: W1 floor of one distribution} (pairs swapped when matched),
                               "wasserstein_separation": W1(signal, background) on nominal (binary),
                               "wasserstein_normalised": {class: W1 / separation}, "..._interval" (binary),
                               "bkg_eff_shift_...@eps": ...}}}}},
     "robustness_ratio": {tagger: {view: {class: W1(tagger) / W1(supervised)}}},
     "robustness_ratio_normalised": the same for the normalised W1 (binary tasks),
     "label_efficiency": {tagger: {fraction: AUC | accuracy | resolution}}}

Fractions are written with ``format(f, "g")``: "0.01", "0.1", "1".
"""

from __future__ import annotations

import numpy as np

from . import metrics as m
from .robustness import view_shifts

__all__ = ["summarise_task", "fraction_key", "headline"]


def fraction_key(fraction: float) -> str:
    return format(float(fraction), "g")


def _scores(columns, kind, classes) -> np.ndarray:
    if kind == "binary":
        return np.asarray(columns["score"], dtype=np.float64)
    if kind == "multiclass":
        return np.stack([np.asarray(columns[f"score_{c}"], dtype=np.float64) for c in classes], axis=1)
    return np.asarray(columns["prediction"], dtype=np.float64) / np.asarray(columns["jet_energy"], dtype=np.float64)


def _plain(boot: dict) -> dict:
    return {k: v["value"] for k, v in boot.items()}


def _energy_edges(true, config) -> list[float]:
    if config.energy_bins:
        return list(config.energy_bins)
    edges = np.quantile(true, np.linspace(0.0, 1.0, config.n_energy_bins + 1))
    edges = np.unique(edges)
    if len(edges) < 2:
        edges = np.array([edges[0] * 0.99, edges[0] * 1.01])
    edges[-1] = np.nextafter(edges[-1], np.inf)  # keep the highest-energy jet in the last bin
    return edges.tolist()


def _metrics(kind, labels, scores, columns_sel, classes, config, *, boot: bool, seed: int, edges=None):
    if kind == "binary":
        if len(np.unique(labels)) < 2:
            return None
        if boot:
            return m.bootstrap_binary(labels, scores, config.signal_efficiencies, n_resamples=config.bootstrap,
                                      confidence=config.confidence, seed=seed)
        return m.binary_metrics(labels, scores, config.signal_efficiencies)
    if kind == "multiclass":
        return m.multiclass_metrics(labels, scores, classes)
    rr = m.response_resolution(columns_sel["prediction"], columns_sel["jet_energy"], edges)
    return rr if boot else rr["inclusive"]


def summarise_task(columns: dict, info: dict, config, *, class_names=None) -> dict:
    """The metrics of one task from its predictions.

    Args:
        columns, info: as returned by :func:`rs3l.evaluation.predictions.read_predictions`.
        config: the :class:`~rs3l.evaluation.config.EvaluateConfig` (working points,
            bootstrap, nominal view, views, energy bins).
        class_names: names of the original classes that ``label`` indexes in a
            regression file (for the per-class robustness); defaults to ``info["classes"]``.
    """
    kind, classes = info["kind"], list(info["classes"])
    robust_classes = list(class_names) if (class_names is not None and kind == "regression") else classes
    tagger_col = np.asarray(columns["tagger"])
    frac_col = np.asarray(columns["label_fraction"], dtype=np.float64)
    view_col = np.asarray(columns["view"])
    all_views = list(dict.fromkeys(view_col.tolist()))
    nominal = config.nominal_view
    others = [v for v in (config.views or all_views) if v != nominal]
    first = (tagger_col == tagger_col[0]) & (frac_col == frac_col[0])
    out = {"kind": kind, "classes": classes,
           "n_test": {v: int(np.sum(first & (view_col == v))) for v in all_views}, "results": {}}
    edges = _energy_edges(np.asarray(columns["jet_energy"])[view_col == nominal], config) if kind == "regression" else None
    for tagger in dict.fromkeys(tagger_col.tolist()):
        out["results"][tagger] = {}
        for fraction in sorted(set(frac_col[tagger_col == tagger].tolist())):
            rows = np.flatnonzero((tagger_col == tagger) & (frac_col == fraction))
            col = {k: np.asarray(v)[rows] for k, v in columns.items()}
            labels, scores, views = np.asarray(col["label"]), _scores(col, kind, classes), col["view"]
            entry = {"per_view": {}}
            nom = views == nominal
            entry["nominal"] = _metrics(kind, labels[nom], scores[nom], {k: v[nom] for k, v in col.items()},
                                        classes, config, boot=True, seed=config.seed, edges=edges)
            for v in [nominal, *others]:
                sel = views == v
                if sel.any():
                    entry["per_view"][v] = _metrics(kind, labels[sel], scores[sel], {k: x[sel] for k, x in col.items()},
                                                    classes, config, boot=False, seed=config.seed, edges=edges)
            if kind != "multiclass":
                entry["robustness"] = view_shifts(
                    col["group_id"], views, labels, scores, nominal=nominal, views=others,
                    class_names=robust_classes, signal_class=1 if kind == "binary" else None,
                    signal_efficiencies=config.signal_efficiencies, n_resamples=config.bootstrap,
                    confidence=config.confidence, seed=config.seed)
            out["results"][tagger][fraction_key(fraction)] = entry
    out["robustness_ratio"] = _robustness_ratio(out["results"])
    if kind == "binary":
        out["robustness_ratio_normalised"] = _robustness_ratio(out["results"], "wasserstein_normalised")
    out["label_efficiency"] = {t: {f: headline(kind, e["nominal"]) for f, e in r.items()} for t, r in out["results"].items()}
    return out


def headline(kind: str, nominal_metrics) -> float | None:
    """The one number a label-efficiency curve shows: AUC, accuracy or inclusive resolution."""
    if nominal_metrics is None:
        return None
    if kind == "binary":
        return nominal_metrics["auc"]["value"]
    if kind == "multiclass":
        return nominal_metrics["accuracy"]
    return nominal_metrics["inclusive"]["resolution"]


def _robustness_ratio(results: dict, measure: str = "wasserstein") -> dict:
    sup = [t for t in results if t.startswith("supervised")]
    if not sup:
        return {}
    ref_all = results[sup[0]]
    key = max(ref_all, key=float)  # the full label fraction
    ref = ref_all[key].get("robustness", {})
    out = {}
    for tagger, by_fraction in results.items():
        if tagger in sup or key not in by_fraction:
            continue
        rob = by_fraction[key].get("robustness", {})
        out[tagger] = {}
        for view, entry in rob.items():
            out[tagger][view] = {}
            for cls, w in (entry.get(measure) or {}).items():
                w_ref = (ref.get(view, {}).get(measure) or {}).get(cls)
                out[tagger][view][cls] = (w / w_ref) if w_ref else None
    return out
