"""Robustness measures against scipy and hand-built views."""

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

from rs3l.evaluation.robustness import matched_groups, view_shifts, wasserstein_1


@pytest.mark.parametrize("n,m,seed", [(1, 1, 0), (10, 10, 1), (57, 300, 2), (500, 31, 3)])
def test_wasserstein_agrees_with_scipy(n, m, seed):
    rng = np.random.default_rng(seed)
    u, v = rng.normal(0, 1, n), rng.exponential(1.0, m)
    assert wasserstein_1(u, v) == pytest.approx(wasserstein_distance(u, v), rel=1e-10, abs=1e-12)


def test_wasserstein_with_ties_and_shift():
    u = np.array([0.0, 0.0, 1.0, 1.0])
    assert wasserstein_1(u, u + 0.25) == pytest.approx(0.25)
    assert wasserstein_1(u, u) == 0.0
    assert wasserstein_1(u, [0.0, 1.0, 1.0]) == pytest.approx(wasserstein_distance(u, [0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="non-empty"):
        wasserstein_1([], [1.0])


def test_matched_groups_aligns_rows():
    gid = np.array([5, 3, 3, 5, 7, 9])
    view = np.array(["nominal", "nominal", "fsr", "fsr", "nominal", "fsr"])
    a, b = matched_groups(gid, view, "nominal", "fsr")
    assert gid[a].tolist() == gid[b].tolist() == [3, 5]
    assert set(view[a]) == {"nominal"} and set(view[b]) == {"fsr"}


def _two_views(shift):
    rng = np.random.default_rng(0)
    n = 2000
    labels = rng.integers(0, 2, n)
    nominal = rng.normal(labels * 2.0, 1.0)
    other = nominal + np.where(labels == 0, shift, 0.0)
    gid = np.r_[np.arange(n), np.arange(n)]
    view = np.r_[["nominal"] * n, ["herwig"] * n]
    # shuffle the rows: matching must go through group ids, not positions
    perm = rng.permutation(2 * n)
    return gid[perm], view[perm], np.r_[labels, labels][perm], np.r_[nominal, other][perm]


def test_view_shifts_per_class():
    gid, view, labels, scores = _two_views(shift=0.5)
    out = view_shifts(gid, view, labels, scores, nominal="nominal", views=["nominal", "herwig"],
                      class_names=["qcd", "hbb"], signal_class=1, signal_efficiencies=[0.5])
    assert list(out) == ["herwig"]
    h = out["herwig"]
    assert h["n_groups"] == 2000
    assert h["wasserstein"]["qcd"] == pytest.approx(0.5)
    assert h["wasserstein"]["hbb"] == pytest.approx(0.0, abs=1e-12)
    # background moved up at a fixed cut: more background passes
    assert h["bkg_eff_shift_fixed_cut@0.5"] > 0.5
    assert h["bkg_eff_shift_fixed_eff@0.5"] == pytest.approx(h["bkg_eff_shift_fixed_cut@0.5"], rel=0.05)


def test_view_shifts_identical_views_are_zero():
    gid, view, labels, scores = _two_views(shift=0.0)
    h = view_shifts(gid, view, labels, scores, nominal="nominal", views=["herwig"],
                    class_names=["qcd", "hbb"], signal_class=1)["herwig"]
    assert h["wasserstein"] == {"qcd": 0.0, "hbb": 0.0}
    assert h["bkg_eff_shift_fixed_cut@0.3"] == 0.0


def _unmatched(shift, n=3000, m=2000, seed=1):
    """Two views of different events: their own group ids, labels and sizes."""
    rng = np.random.default_rng(seed)
    ln, lo = rng.integers(0, 2, n), rng.integers(0, 2, m)
    sn = rng.normal(ln * 2.0, 1.0)
    so = rng.normal(lo * 2.0, 1.0) + np.where(lo == 0, shift, 0.0)
    gid = np.r_[np.arange(n), 10**6 + np.arange(m)]
    view = np.r_[["pythia"] * n, ["herwig"] * m]
    return gid, view, np.r_[ln, lo], np.r_[sn, so]


def test_unmatched_views_compare_all_jets_per_class_with_bootstrap():
    gid, view, labels, scores = _unmatched(shift=0.5)
    h = view_shifts(gid, view, labels, scores, nominal="pythia", views=["herwig"], class_names=["gluon", "quark"],
                    signal_class=1, signal_efficiencies=[0.5], n_resamples=200, seed=3)["herwig"]
    assert h["kind"] == "unmatched" and h["n_groups"] == 0 and h["n_jets"] == {"pythia": 3000, "herwig": 2000}
    for c, name in enumerate(["gluon", "quark"]):
        u = scores[(view == "pythia") & (labels == c)]
        v = scores[(view == "herwig") & (labels == c)]
        assert h["wasserstein"][name] == pytest.approx(wasserstein_distance(u, v), rel=1e-10)
        # the null floor of samples this size is ~sqrt(1/n + 1/m) times the spread
        assert 0.0 < h["wasserstein_null"][name] < 0.1
    gluon = h["wasserstein_interval"]["gluon"]
    assert 0.38 < gluon["low"] <= h["wasserstein"]["gluon"] <= gluon["high"] < 0.62
    # near zero the bootstrap of W1 is biased up (resampling adds its own distance): read it against the null
    assert h["wasserstein_interval"]["quark"]["low"] > 0
    assert h["wasserstein"]["quark"] < 0.1 and h["wasserstein"]["quark"] <= 3 * h["wasserstein_null"]["quark"]
    assert h["bkg_eff_shift_fixed_cut@0.5"] > 0.5


def test_matched_views_keep_kind_and_pairs_in_bootstrap():
    gid, view, labels, scores = _two_views(shift=0.5)
    h = view_shifts(gid, view, labels, scores, nominal="nominal", views=["herwig"], class_names=["qcd", "hbb"],
                    n_resamples=50)["herwig"]
    assert h["kind"] == "matched"
    # every pair moved by exactly 0.5: resampling pairs cannot change W1
    assert h["wasserstein_interval"]["qcd"]["low"] == pytest.approx(0.5)
    assert h["wasserstein_interval"]["qcd"]["high"] == pytest.approx(0.5)


def test_normalised_wasserstein_from_saved_predictions_matches_scipy(tmp_path):
    """W1 / W1(signal, background), recomputed with scipy from the predictions file evaluate writes."""
    from rs3l.evaluation.config import EvaluateConfig
    from rs3l.evaluation.predictions import read_predictions, write_predictions
    from rs3l.evaluation.summary import summarise_task

    rng = np.random.default_rng(4)
    n = 600
    labels = rng.integers(0, 2, n)
    nominal = 1 / (1 + np.exp(-rng.normal(labels * 2.5 - 1.2, 1.0)))
    vincia = np.clip(nominal + rng.normal(0.04, 0.03, n), 0, 1)
    columns = {"tagger": np.array(["frozen_linear"] * 2 * n), "label_fraction": np.ones(2 * n, np.float32),
               "group_id": np.r_[np.arange(n), np.arange(n)].astype(np.int64),
               "view": np.array(["nominal"] * n + ["vincia"] * n), "label": np.r_[labels, labels].astype(np.int64),
               "score": np.r_[nominal, vincia].astype(np.float32)}
    path = write_predictions(tmp_path / "hbb_vs_qcd.parquet", columns, task="hbb_vs_qcd", kind="binary",
                             classes=["QCD", "Hbb"])
    cols, info = read_predictions(path)
    config = EvaluateConfig(nominal_view="nominal", views=["nominal", "vincia"], bootstrap=40, signal_efficiencies=[0.5])
    entry = summarise_task(cols, info, config)["results"]["frozen_linear"]["1"]["robustness"]["vincia"]

    score, view, label = cols["score"].astype(np.float64), cols["view"], cols["label"]
    nom_sig, nom_bkg = score[(view == "nominal") & (label == 1)], score[(view == "nominal") & (label == 0)]
    separation = wasserstein_distance(nom_sig, nom_bkg)
    w1_sig = wasserstein_distance(nom_sig, score[(view == "vincia") & (label == 1)])
    assert entry["wasserstein_separation"] == pytest.approx(separation, rel=1e-9)
    assert entry["wasserstein_normalised"]["Hbb"] == pytest.approx(w1_sig / separation, rel=1e-9)
    interval = entry["wasserstein_normalised_interval"]["Hbb"]
    assert interval["low"] < entry["wasserstein_normalised"]["Hbb"] < interval["high"] and interval["std"] > 0

    # the comparison module's figure is the same number
    from rs3l.evaluation.comparison import figures, read_aligned

    pred = read_aligned(path, tagger="frozen_linear", fraction=1.0, nominal="nominal", views=["vincia"])
    assert figures(pred, "nominal", ["vincia"])["nw1@vincia"] == pytest.approx(w1_sig / separation, rel=1e-9)


def test_squeezing_the_output_leaves_the_normalised_wasserstein_unchanged():
    """A tagger that compresses its output range by 10 moves 10x less between views, but separates 10x less."""
    gid, view, labels, scores = _two_views(shift=0.5)
    kw = dict(nominal="nominal", views=["herwig"], class_names=["qcd", "hbb"], signal_class=1)
    wide = view_shifts(gid, view, labels, scores, **kw)["herwig"]
    narrow = view_shifts(gid, view, labels, scores / 10, **kw)["herwig"]
    assert narrow["wasserstein"]["qcd"] == pytest.approx(wide["wasserstein"]["qcd"] / 10)
    assert narrow["wasserstein_normalised"]["qcd"] == pytest.approx(wide["wasserstein_normalised"]["qcd"])


def test_paired_null_is_the_floor_of_exchangeable_views_and_zero_for_identical_ones():
    """Re-simulation noise with no shift: W1 sits at its swap null; a real shift stands far above it."""
    rng = np.random.default_rng(5)
    n = 800
    u = rng.normal(0.0, 1.0, n)
    noisy = u + rng.normal(0.0, 0.3, n)  # same distribution family, each jet moved at random
    from rs3l.evaluation.robustness import wasserstein_null

    null = wasserstein_null(u, noisy, n_resamples=200, seed=1, paired=True)
    assert 0.0 < null and wasserstein_1(u, noisy) < 3 * null
    shifted = u + 0.5
    assert wasserstein_1(u, shifted) > 10 * wasserstein_null(u, shifted, n_resamples=50, seed=1, paired=True)
    assert wasserstein_null(u, u, n_resamples=10, paired=True) == 0.0
