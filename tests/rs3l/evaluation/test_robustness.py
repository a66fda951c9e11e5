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
