"""Tests of rs3l.losses.vicreg against a numpy transcription of the paper's formulas."""

import numpy as np
import pytest
import torch

from rs3l.losses.vicreg import VICRegLoss


def _numpy_reference(a, b, lam=25.0, mu=25.0, nu=1.0, eps=1e-4):
    a, b = a.astype(np.float64), b.astype(np.float64)
    n, d = a.shape
    inv = np.mean((a - b) ** 2)
    var = sum(np.mean(np.maximum(0.0, 1.0 - np.sqrt(z.var(axis=0, ddof=1) + eps))) / 2 for z in (a, b))
    cov = 0.0
    for z in (a, b):
        c = np.cov(z, rowvar=False)
        cov += (np.sum(c ** 2) - np.sum(np.diag(c) ** 2)) / d
    return lam * inv + mu * var + nu * cov


@pytest.mark.parametrize("n, d, scale", [(2, 3, 1.0), (16, 8, 0.3), (40, 4, 2.0)])
def test_vicreg_equals_the_numpy_reference(n, d, scale):
    rng = np.random.default_rng(n)
    a, b = rng.normal(size=(n, d)) * scale, rng.normal(size=(n, d)) * scale
    ours = VICRegLoss()(torch.tensor(a, dtype=torch.float32), torch.tensor(b, dtype=torch.float32)).item()
    assert ours == pytest.approx(_numpy_reference(a, b), rel=1e-4)


def test_vicreg_terms_vanish_for_identical_decorrelated_unit_variance_views():
    # two identical views whose dimensions are uncorrelated with variance above 1
    z = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.0], [0.0, -2.0]])
    assert VICRegLoss()(z, z.clone()).item() == pytest.approx(0.0, abs=1e-6)


def test_vicreg_rejects_one_jet_and_bad_weights():
    with pytest.raises(ValueError, match="at least 2"):
        VICRegLoss()(torch.zeros(1, 3), torch.zeros(1, 3))
    with pytest.raises(ValueError, match="variance_weight"):
        VICRegLoss(variance_weight=-1)
