"""Metrics against scikit-learn and numpy on tiny scores made here."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve as sk_roc_curve

from rs3l.evaluation import metrics


def _scores(n=400, seed=0, ties=False):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    scores = rng.normal(labels * 1.2, 1.0)
    if ties:
        scores = np.round(scores, 1)
    return labels, scores


@pytest.mark.parametrize("ties", [False, True])
def test_roc_and_auc_agree_with_sklearn(ties):
    labels, scores = _scores(ties=ties)
    eps_b, eps_s, thr = metrics.roc_curve(labels, scores)
    fpr, tpr, _ = sk_roc_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(eps_b, fpr)
    np.testing.assert_allclose(eps_s, tpr)
    assert metrics.auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert np.isinf(thr[0]) and np.all(np.diff(thr[1:]) < 0)


@pytest.mark.parametrize("eff", [0.3, 0.5, 0.7])
def test_rejection_agrees_with_sklearn_curve(eff):
    labels, scores = _scores(n=1000, seed=3)
    fpr, tpr, _ = sk_roc_curve(labels, scores, drop_intermediate=False)
    expected = 1.0 / np.interp(eff, tpr, fpr)
    assert metrics.rejection_at(labels, scores, eff) == pytest.approx(expected, rel=1e-12)
    assert metrics.binary_metrics(labels, scores, [eff])[f"rejection@{eff:g}"] == pytest.approx(expected)


def test_rejection_hand_computed():
    # signal 0.9, 0.8; background 0.7, 0.1: at eps_S = 0.5 nothing background passes.
    labels, scores = [1, 1, 0, 0], [0.9, 0.8, 0.7, 0.1]
    assert metrics.rejection_at(labels, scores, 0.5) == float("inf")
    assert metrics.auc(labels, scores) == 1.0
    # inverted tagger: eps_B = 1 at any eps_S > 0
    assert metrics.rejection_at(labels, -np.asarray(scores), 0.5) == pytest.approx(1.0)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="both classes"):
        metrics.auc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="0 \\(background\\) or 1"):
        metrics.auc([2, 0], [0.2, 0.3])
    with pytest.raises(ValueError, match="NaN"):
        metrics.auc([1, 0], [np.nan, 0.3])


def test_bootstrap_interval_is_sensible():
    labels, scores = _scores(n=2000, seed=1)
    boot = metrics.bootstrap_binary(labels, scores, [0.5], n_resamples=200, confidence=0.68, seed=4)
    auc = boot["auc"]
    assert auc["low"] < auc["value"] < auc["high"]
    # the AUC's standard error (Hanley-McNeil order of magnitude) for 2000 jets is ~0.01
    assert 0.002 < auc["std"] < 0.03
    assert auc["high"] - auc["low"] == pytest.approx(2 * auc["std"], rel=0.35)
    rej = boot["rejection@0.5"]
    assert rej["low"] < rej["value"] < rej["high"]
    again = metrics.bootstrap_binary(labels, scores, [0.5], n_resamples=200, confidence=0.68, seed=4)
    assert again == boot
    # more jets, narrower interval
    big = metrics.bootstrap_binary(*_scores(n=8000, seed=1), [0.5], n_resamples=200, seed=4)
    assert big["auc"]["std"] < auc["std"]


def test_bootstrap_without_resamples():
    boot = metrics.bootstrap_binary(*_scores(), n_resamples=0)
    assert boot["auc"]["low"] is None and boot["auc"]["value"] > 0.5


def test_multiclass_against_sklearn():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, 300)
    logits = rng.normal(size=(300, 3)) + np.eye(3)[labels]
    scores = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    out = metrics.multiclass_metrics(labels, scores, ["a", "b", "c"])
    assert out["accuracy"] == pytest.approx(np.mean(scores.argmax(1) == labels))
    for c, name in enumerate("abc"):
        assert out["auc_ovr"][name] == pytest.approx(roc_auc_score(labels == c, scores[:, c]))
    assert out["auc_ovr_mean"] == pytest.approx(roc_auc_score(labels, scores, multi_class="ovr", average="macro"))


def test_response_resolution_against_numpy_percentiles():
    rng = np.random.default_rng(5)
    true = rng.uniform(100, 1000, 5000)
    pred = true * rng.normal(1.05, 0.1, 5000)
    edges = [100, 400, 700, 1000]
    out = metrics.response_resolution(pred, true, edges)
    r = pred / true
    for b in range(3):
        sel = (true >= edges[b]) & (true < edges[b + 1])
        q16, q50, q84 = np.percentile(r[sel], [16, 50, 84])
        assert out["count"][b] == sel.sum()
        assert out["median_response"][b] == pytest.approx(q50)
        assert out["resolution"][b] == pytest.approx((q84 - q16) / 2 / q50)
    assert out["inclusive"]["median_response"] == pytest.approx(1.05, abs=0.01)
    assert out["inclusive"]["resolution"] == pytest.approx(0.1 / 1.05, rel=0.1)


def test_response_resolution_empty_bin_and_errors():
    out = metrics.response_resolution([1.0, 2.0], [1.0, 2.0], [0.5, 1.5, 10, 20])
    assert out["count"] == [1, 1, 0] and out["median_response"][2] is None
    with pytest.raises(ValueError, match="positive"):
        metrics.response_resolution([1.0], [0.0], [0, 1])
    with pytest.raises(ValueError, match="increase"):
        metrics.response_resolution([1.0], [1.0], [2, 1])
