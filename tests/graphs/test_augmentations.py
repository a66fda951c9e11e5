"""graphs.augmentations: each JetCLR augmentation does what it says, pT is conserved by splitting."""

from __future__ import annotations

import numpy as np
import pytest

from graphs.augmentations import CollinearSplit, Compose, Rotate, SoftSmear, Translate, augmentations_for_pair
from graphs.constituents import Constituents
from graphs.contract import AugmentationConfig


def jet(n=30, seed=0):
    rng = np.random.default_rng(seed)
    pt = rng.exponential(10.0, n) + 0.5
    eta = rng.normal(0.5, 0.2, n)
    phi = rng.normal(2.0, 0.2, n)
    mass = np.full(n, 0.14)
    return Constituents.from_cartesian(
        pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), np.sqrt((pt * np.cosh(eta)) ** 2 + mass**2),
        rng.choice([22, 211], n), rng.choice([0, 1], n), np.zeros(n), np.zeros(n),
    )  # fmt: skip


def test_rotation_keeps_distances_to_the_axis_and_pt():
    j = jet()
    r = Rotate()(j, np.random.default_rng(1))
    assert np.allclose(np.hypot(r.deta, r.dphi), np.hypot(j.deta, j.dphi))
    assert np.array_equal(r.pt, j.pt)
    assert not np.allclose(r.deta, j.deta)


def test_translation_is_one_shift_within_the_jet_extent():
    j = jet()
    t = Translate(width=1.0)(j, np.random.default_rng(2))
    shift_eta, shift_phi = t.deta - j.deta, t.dphi - j.dphi
    assert np.allclose(shift_eta, shift_eta[0]) and np.allclose(shift_phi, shift_phi[0])
    assert abs(shift_eta[0]) <= np.ptp(j.deta) and abs(shift_phi[0]) <= np.ptp(j.dphi)


def test_soft_smearing_width_follows_lambda_over_pt():
    n = 20000
    base = jet(n=n, seed=3)
    s = SoftSmear(strength=0.1, pt_min=0.1)(base, np.random.default_rng(4))
    pulls = (s.deta - base.deta) / (0.1 / np.maximum(base.pt, 0.1))
    assert abs(pulls.std() - 1.0) < 0.03 and abs(pulls.mean()) < 0.03


@pytest.mark.parametrize("n, max_nodes, max_splits, expected_splits", [(30, 50, 0, 20), (10, 50, 0, 10), (40, 50, 0, 10), (30, 50, 5, 5), (60, 50, 0, 0)])
def test_collinear_split_conserves_pt_for_any_filling(n, max_nodes, max_splits, expected_splits):
    j = jet(n=n, seed=5)
    s = CollinearSplit(max_nodes=max_nodes, max_splits=max_splits)(j, np.random.default_rng(6))
    assert len(s) == n + expected_splits
    assert np.isclose(s.pt.sum(), j.pt.sum(), rtol=1e-12)
    px, py = (s.pt * np.cos(s.dphi)).sum(), (s.pt * np.sin(s.dphi)).sum()
    assert np.isclose(px, (j.pt * np.cos(j.dphi)).sum()) and np.isclose(py, (j.pt * np.sin(j.dphi)).sum())
    # the new constituents sit exactly on their parents
    assert np.array_equal(s.deta[n:], j.deta[np.argsort(-j.pt, kind="stable")[:expected_splits]])


def test_pair_augmentations_from_config_and_determinism():
    config = AugmentationConfig(rotate=True, translate=True, smear=True, collinear_split=True)
    first, second = augmentations_for_pair(config, max_nodes=50)
    assert [type(a).__name__ for a in first.augmentations] == ["CollinearSplit", "Rotate", "Translate"]
    assert [type(a).__name__ for a in second.augmentations] == ["CollinearSplit", "Rotate", "SoftSmear", "Translate"]
    a = second(jet(), np.random.default_rng(7))
    b = second(jet(), np.random.default_rng(7))
    assert np.array_equal(a.deta, b.deta) and np.array_equal(a.pt, b.pt)
    none_first, none_second = augmentations_for_pair(AugmentationConfig(), max_nodes=50)
    assert len(none_first) == 0 and len(none_second) == 0
    assert isinstance(Compose([]), Compose)
