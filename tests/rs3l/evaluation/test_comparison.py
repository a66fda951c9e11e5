"""rs3l.evaluation.comparison: alignment by group, figures against scipy/scikit-learn, seeds and ratios."""

import math

import numpy as np
import pytest
from scipy.stats import wasserstein_distance
from sklearn.metrics import roc_auc_score

from rs3l.evaluation.comparison import MissingRun, SeedComparison, align_predictions, figures


def _columns(seed=0, n=400, shift=0.1, tagger="t", fraction=1.0, drop_vincia=(), squeeze=1.0):
    """Prediction columns of one tagger: nominal and vincia views of n groups, rows shuffled."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    nominal = rng.normal(label * 2.0, 1.0) * squeeze
    vincia = nominal + np.where(label == 1, shift, 0.0) * squeeze + rng.normal(0, 0.05, n) * squeeze
    keep = np.setdiff1d(np.arange(n), drop_vincia)
    gid = np.r_[np.arange(n), keep] + 1000
    rows = rng.permutation(len(gid))
    return {"tagger": np.full(len(gid), tagger)[rows], "label_fraction": np.full(len(gid), fraction)[rows],
            "group_id": gid[rows], "view": np.r_[["nominal"] * n, ["vincia"] * len(keep)][rows],
            "label": np.r_[label, label[keep]][rows], "score": np.r_[nominal, vincia[keep]][rows]}


def test_alignment_goes_by_group_and_marks_missing_views():
    cols = _columns(drop_vincia=[3, 7])
    pred = align_predictions(cols, tagger="t", fraction=1.0, nominal="nominal", views=["vincia"])
    assert pred.group_id.tolist() == list(range(1000, 1400))
    assert np.isnan(pred.scores["vincia"][[3, 7]]).all() and np.isfinite(np.delete(pred.scores["vincia"], [3, 7])).all()
    for i in (0, 55, 399):
        rows = cols["group_id"] == 1000 + i
        by_view = dict(zip(cols["view"][rows], cols["score"][rows]))
        assert pred.scores["nominal"][i] == by_view["nominal"]
        if i not in (3, 7):
            assert pred.scores["vincia"][i] == by_view["vincia"]
    with pytest.raises(MissingRun, match="no rows of tagger 'other'"):
        align_predictions(cols, tagger="other", fraction=1.0, nominal="nominal", views=["vincia"])


def test_figures_agree_with_scipy_and_sklearn():
    cols = _columns(drop_vincia=[1, 2, 3])
    pred = align_predictions(cols, tagger="t", fraction=1.0, nominal="nominal", views=["vincia"])
    f = figures(pred, "nominal", ["vincia"])
    s, lab, v = pred.scores["nominal"], pred.label, pred.scores["vincia"]
    assert f["auc"] == pytest.approx(roc_auc_score(lab, s), rel=1e-12)
    cut = np.quantile(s[lab == 1], 0.5)
    assert f["r50"] == pytest.approx(1 / np.mean(s[lab == 0] >= cut))
    both = np.isfinite(v) & (lab == 1)
    w1 = wasserstein_distance(s[both], v[both])
    assert f["w1@vincia"] == pytest.approx(w1, rel=1e-10)
    assert f["nw1@vincia"] == pytest.approx(w1 / wasserstein_distance(s[lab == 1], s[lab == 0]), rel=1e-10)
    bkg = np.isfinite(v) & (lab == 0)
    eb_n, eb_v = np.mean(s[bkg] >= cut), np.mean(v[bkg] >= cut)
    assert f["shift@vincia"] == pytest.approx((eb_v - eb_n) / eb_n)


def test_rejection_is_floored_at_one_background_jet():
    label = np.r_[np.ones(50), np.zeros(50)].astype(int)
    score = np.r_[np.full(50, 10.0), np.zeros(50)]  # perfect separation: no background passes
    from rs3l.evaluation.comparison import AlignedPredictions

    pred = AlignedPredictions(np.arange(100), label, {"nominal": score})
    assert figures(pred, "nominal", [])["r50"] == 50.0


def _comparison(n_resamples=100, **columns):
    cols = _columns(**columns)
    pred = align_predictions(cols, tagger="t", fraction=1.0, nominal="nominal", views=["vincia"])
    return SeedComparison(pred.group_id, "nominal", ["vincia"], n_resamples=n_resamples, seed=1), pred


def test_estimates_are_seed_means_and_identical_runs_have_ratio_one_unresolved():
    comp, _ = _comparison()
    values = []
    for seed in range(3):
        pred = align_predictions(_columns(seed=0, shift=0.1 + 0.05 * seed), tagger="t", fraction=1.0,
                                 nominal="nominal", views=["vincia"])
        comp.add("a", seed, pred)
        comp.add("copy", seed, pred)
        values.append(figures(pred, "nominal", ["vincia"])["w1@vincia"])
    est = comp.estimate("a", "w1@vincia")
    assert est.mean == pytest.approx(np.mean(values))
    assert est.seed_std == pytest.approx(np.std(values, ddof=1))
    assert est.seed_sem == pytest.approx(est.seed_std / math.sqrt(3))
    assert est.n_seeds == 3 and est.boot_std > 0 and est.error == pytest.approx(math.hypot(est.seed_sem, est.boot_std))
    r = comp.ratio("a", "copy", "w1@vincia")
    assert r.value == pytest.approx(1.0) and r.boot_std == pytest.approx(0.0, abs=1e-12) and not r.resolved


def test_a_clear_difference_is_resolved_and_a_squeezed_output_is_not_more_robust():
    comp, _ = _comparison()
    for seed in range(3):
        for key, shift, squeeze in (("robust", 0.05, 1.0), ("fragile", 0.6, 1.0), ("squeezed", 0.6, 0.1)):
            pred = align_predictions(_columns(seed=0, shift=shift, squeeze=squeeze), tagger="t", fraction=1.0,
                                     nominal="nominal", views=["vincia"])
            comp.add(key, seed, pred)
    clear = comp.ratio("robust", "fragile", "nw1@vincia")
    assert clear.value < 0.2 and clear.resolved
    # 10x smaller raw W1, same normalised W1: only the normalised figure sees through the squeeze
    assert comp.ratio("squeezed", "fragile", "w1@vincia").value == pytest.approx(0.1, rel=0.05)
    same = comp.ratio("squeezed", "fragile", "nw1@vincia")
    assert same.value == pytest.approx(1.0, abs=0.05) and not same.resolved


def test_a_run_on_other_groups_is_refused_with_the_file_named():
    comp, _ = _comparison()
    other = align_predictions(_columns(n=300), tagger="t", fraction=1.0, nominal="nominal", views=["vincia"])
    with pytest.raises(ValueError, match=r"other\.parquet: run 'b' \(seed 0\) has 300 test groups"):
        comp.add("b", 0, other, source="other.parquet")


def test_floors_sit_under_pure_resimulation_noise_and_far_below_a_real_shift():
    from rs3l.evaluation.comparison import floors
    from rs3l.evaluation.robustness import wasserstein_null

    noise_only = align_predictions(_columns(shift=0.0), tagger="t", fraction=1.0, nominal="nominal", views=["vincia"])
    f, fl = figures(noise_only, "nominal", ["vincia"]), floors(noise_only, "nominal", ["vincia"], seed=2)
    assert 0 < fl["null@vincia"] and f["w1@vincia"] < 3 * fl["null@vincia"]
    assert fl["nnull@vincia"] == pytest.approx(fl["null@vincia"] / (f["w1@vincia"] / f["nw1@vincia"]))
    sig = noise_only.label == 1
    assert fl["null@vincia"] == wasserstein_null(noise_only.scores["nominal"][sig], noise_only.scores["vincia"][sig],
                                                 n_resamples=50, seed=2, paired=True)
    shifted = align_predictions(_columns(shift=0.6), tagger="t", fraction=1.0, nominal="nominal", views=["vincia"])
    assert figures(shifted, "nominal", ["vincia"])["w1@vincia"] > 5 * floors(shifted, "nominal", ["vincia"])["null@vincia"]
    comp, _ = _comparison(n_resamples=5)
    for seed in range(2):
        comp.add("a", seed, noise_only)
    est = comp.floor("a", "null@vincia")
    assert est.n_seeds == 2 and est.seed_std == 0.0 and math.isnan(est.boot_std)
