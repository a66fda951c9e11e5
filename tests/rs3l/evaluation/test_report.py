"""Predictions -> summary -> metrics.json, figures and report.html on tiny synthetic predictions."""

import json

import numpy as np
import pytest

from rs3l.evaluation.config import EvaluateConfig
from rs3l.evaluation.metrics import auc
from rs3l.evaluation.predictions import PredictionsError, read_predictions, write_predictions
from rs3l.evaluation.report import write_metrics_json, write_report
from rs3l.evaluation.summary import summarise_task
from rs3l.evaluation.task_figures import task_figures
from rs3l.evaluation.robustness import wasserstein_1

VIEWS = ["nominal", "fsr_up", "herwig"]


def _binary_predictions(n=300, seed=0):
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    cols = {k: [] for k in ("tagger", "label_fraction", "group_id", "view", "label", "score")}
    for tagger, sep, shift in (("frozen_linear", 1.0, 0.02), ("supervised_mlp", 1.5, 0.1)):
        for fraction in (0.1, 1.0):
            base = rng.normal(label * sep * fraction, 1.0)
            for i, view in enumerate(VIEWS):
                cols["tagger"] += [tagger] * n
                cols["label_fraction"] += [fraction] * n
                cols["group_id"] += list(range(100, 100 + n))
                cols["view"] += [view] * n
                cols["label"] += label.tolist()
                cols["score"] += (1 / (1 + np.exp(-(base + i * shift)))).tolist()
    return {k: np.asarray(v) for k, v in cols.items()}


def _regression_predictions(n=200, seed=1):
    rng = np.random.default_rng(seed)
    true = rng.uniform(500, 1500, n)
    cls = rng.integers(0, 2, n)
    cols = {k: [] for k in ("tagger", "label_fraction", "group_id", "view", "label", "prediction", "jet_energy")}
    for view in VIEWS[:2]:
        cols["tagger"] += ["frozen_mlp"] * n
        cols["label_fraction"] += [1.0] * n
        cols["group_id"] += list(range(n))
        cols["view"] += [view] * n
        cols["label"] += cls.tolist()
        cols["prediction"] += (true * rng.normal(1.0, 0.1, n)).tolist()
        cols["jet_energy"] += true.tolist()
    return {k: np.asarray(v) for k, v in cols.items()}


def test_predictions_round_trip_and_errors(tmp_path):
    cols = _binary_predictions(n=20)
    path = write_predictions(tmp_path / "p" / "t.parquet", cols, task="hbb_vs_qcd", kind="binary", classes=["qcd", "Hbb"])
    back, info = read_predictions(path)
    assert info == {"task": "hbb_vs_qcd", "kind": "binary", "classes": ["qcd", "Hbb"]}
    for k, v in cols.items():
        if k in ("tagger", "view"):
            assert back[k].tolist() == v.tolist()
        else:
            np.testing.assert_allclose(back[k], v, rtol=1e-6)
    assert back["score"].dtype == np.float32 and back["group_id"].dtype == np.int64
    bad = dict(cols)
    del bad["score"]
    with pytest.raises(PredictionsError, match="missing prediction columns \\['score'\\]"):
        write_predictions(tmp_path / "bad.parquet", bad, task="t", kind="binary", classes=["a", "b"])
    assert not (tmp_path / "bad.parquet").exists()


def test_summary_numbers_recompute_from_predictions(tmp_path):
    cols = _binary_predictions()
    config = EvaluateConfig(bootstrap=20)
    info = {"task": "hbb_vs_qcd", "kind": "binary", "classes": ["qcd", "Hbb"]}
    s = summarise_task(cols, info, config)
    assert set(s["results"]) == {"frozen_linear", "supervised_mlp"}
    assert set(s["results"]["frozen_linear"]) == {"0.1", "1"}
    entry = s["results"]["supervised_mlp"]["1"]
    rows = (cols["tagger"] == "supervised_mlp") & (cols["label_fraction"] == 1.0)
    nom = rows & (cols["view"] == "nominal")
    assert entry["nominal"]["auc"]["value"] == pytest.approx(auc(cols["label"][nom], cols["score"][nom]))
    her = rows & (cols["view"] == "herwig")
    sig = cols["label"] == 1
    assert entry["robustness"]["herwig"]["wasserstein"]["Hbb"] == pytest.approx(
        wasserstein_1(cols["score"][nom & sig], cols["score"][her & sig]))
    ratio = s["robustness_ratio"]["frozen_linear"]["herwig"]["qcd"]
    assert ratio == pytest.approx(s["results"]["frozen_linear"]["1"]["robustness"]["herwig"]["wasserstein"]["qcd"]
                                  / entry["robustness"]["herwig"]["wasserstein"]["qcd"])
    assert ratio < 1  # the frozen tagger was built to move less
    assert s["label_efficiency"]["frozen_linear"]["0.1"] < s["label_efficiency"]["frozen_linear"]["1"]
    assert s["n_test"] == {v: 300 for v in VIEWS}


def test_metrics_json_and_report_written(tmp_path):
    config = EvaluateConfig(bootstrap=10)
    metrics = {"schema": "rs3l-metrics/1", "nominal_view": "nominal", "views": VIEWS, "tasks": {},
               "training": {"hbb_vs_qcd": {"supervised_mlp": {
                   "0.1": {"epochs": 12, "steps": 204, "stopped_early": False},
                   "1": {"epochs": 7, "steps": 231, "stopped_early": True}}}}}
    figures = {}
    for cols, info in ((_binary_predictions(), {"task": "hbb_vs_qcd", "kind": "binary", "classes": ["qcd", "Hbb"]}),
                       (_regression_predictions(), {"task": "energy", "kind": "regression", "classes": ["quark", "gluon"]})):
        path = write_predictions(tmp_path / "predictions" / f"{info['task']}.parquet", cols, **info)
        cols, info = read_predictions(path)
        metrics["tasks"][info["task"]] = summarise_task(cols, info, config)
        figures[info["task"]] = task_figures(cols, info, metrics["tasks"][info["task"]], tmp_path / "plots")
    write_metrics_json(metrics, tmp_path / "metrics.json")
    report = write_report(metrics, tmp_path, figures)
    loaded = json.loads((tmp_path / "metrics.json").read_text())
    assert set(loaded["tasks"]) == {"hbb_vs_qcd", "energy"}
    b = loaded["tasks"]["hbb_vs_qcd"]
    assert set(b) == {"kind", "classes", "n_test", "results", "robustness_ratio", "robustness_ratio_normalised",
                      "label_efficiency"}
    e = b["results"]["frozen_linear"]["1"]
    assert set(e) == {"nominal", "per_view", "robustness"}
    assert set(e["nominal"]) == {"auc", "rejection@0.3", "rejection@0.5", "rejection@0.7"}
    assert set(e["nominal"]["auc"]) == {"value", "low", "high", "std"}
    assert set(e["robustness"]) == {"fsr_up", "herwig"}
    r = loaded["tasks"]["energy"]["results"]["frozen_mlp"]["1"]["nominal"]
    assert set(r) == {"bin_edges", "count", "median_response", "resolution", "inclusive"}
    assert sum(r["count"]) == 200
    for stem in ("hbb_vs_qcd_roc", "hbb_vs_qcd_outputs_frozen_linear", "hbb_vs_qcd_label_efficiency",
                 "energy_response", "energy_outputs_frozen_mlp"):
        for ext in ("png", "pdf"):
            assert (tmp_path / "plots" / f"{stem}.{ext}").stat().st_size > 1000
    text = report.read_text()
    assert text.count("data:image/png;base64,") == len(figures["hbb_vs_qcd"]) + len(figures["energy"])
    assert "frozen backbone, linear head" in text and "supervised from scratch, MLP head" in text
    assert "W<sub>1</sub> herwig" in text
    # how long each tagger trained is in the report, not only in metrics.json
    assert "<td>204 steps, 12 epochs</td><td>231 steps, 7 epochs (stopped early)</td>" in text


def test_tsne_separates_clusters_and_plots(tmp_path):
    from rs3l.evaluation.embedding_plot import plot_embedding, tsne_2d

    rng = np.random.default_rng(0)
    centres = np.eye(8)[:2] * 5
    labels = np.repeat([0, 1], 40)
    z = centres[labels] + rng.normal(0, 0.3, (80, 8))
    xy = tsne_2d(z, perplexity=10, seed=1)
    assert xy.shape == (80, 2)
    d0 = np.linalg.norm(xy[labels == 0].mean(0) - xy[labels == 1].mean(0))
    spread = max(xy[labels == c].std(0).max() for c in (0, 1))
    assert d0 > 3 * spread
    np.testing.assert_array_equal(xy, tsne_2d(z, perplexity=10, seed=1))
    views = np.where(rng.random(80) < 0.5, "nominal", "fsr_up")
    paths = plot_embedding(z, labels, views, ["quark", "gluon"], tmp_path / "emb", max_points=50, formats=("png",))
    assert paths[0].stat().st_size > 1000


def test_report_marks_infinite_rejection(tmp_path):
    task = {"kind": "binary", "classes": ["qcd", "Hbb"], "n_test": {"nominal": 4},
            "results": {"frozen_linear": {"1": {"nominal": {
                "auc": {"value": 1.0, "low": 1.0, "high": 1.0, "std": 0.0},
                "rejection@0.5": {"value": None, "low": 12.0, "high": None, "std": 3.0}},
                "per_view": {}, "robustness": {}}}},
            "robustness_ratio": {"frozen_linear": {}}, "label_efficiency": {}}
    path = write_report({"nominal_view": "nominal", "views": ["nominal"], "confidence": 0.68,
                         "tasks": {"hbb_vs_qcd": task}}, tmp_path)
    text = path.read_text()
    assert "<td>&infin; <small>[12, &infin;]</small></td>" in text
    assert "68% bootstrap intervals" in text and "ratio per class" not in text
    write_metrics_json({"x": float("inf"), "y": [float("nan"), np.float32(2.5)]}, tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text()) == {"x": None, "y": [None, 2.5]}


def test_unmatched_views_are_summarised_and_labelled_in_the_report(tmp_path):
    """Pythia and Herwig q/g samples: different events per view, so W1 over all jets of each view."""
    cols = _binary_predictions(n=200)
    herwig = cols["view"] == "herwig"
    cols["group_id"] = np.where(herwig, cols["group_id"] + 10**6, cols["group_id"])  # no group in both views
    config = EvaluateConfig(bootstrap=20)
    info = {"task": "q_vs_g", "kind": "binary", "classes": ["gluon", "quark"]}
    path = write_predictions(tmp_path / "q_vs_g.parquet", cols, **info)
    cols, info = read_predictions(path)
    task = summarise_task(cols, info, config)
    rob = task["results"]["supervised_mlp"]["1"]["robustness"]
    assert rob["fsr_up"]["kind"] == "matched" and rob["herwig"]["kind"] == "unmatched"
    assert rob["herwig"]["n_groups"] == 0 and rob["herwig"]["n_jets"] == {"nominal": 200, "herwig": 200}
    assert set(rob["herwig"]["wasserstein_null"]) == set(rob["fsr_up"]["wasserstein_null"]) == {"gluon", "quark"}
    sel = (cols["tagger"] == "supervised_mlp") & (cols["label_fraction"] == 1.0) & (cols["label"] == 1)
    expected = wasserstein_1(cols["score"][sel & (cols["view"] == "nominal")], cols["score"][sel & (cols["view"] == "herwig")])
    assert rob["herwig"]["wasserstein"]["quark"] == pytest.approx(expected)
    text = write_report({"nominal_view": "nominal", "views": VIEWS, "tasks": {"q_vs_g": task}}, tmp_path).read_text()
    assert "W<sub>1</sub> herwig (unmatched)" in text and "W<sub>1</sub> fsr_up (matched)" in text
    assert "<b>unmatched</b>: between all jets of each view" in text
