import numpy as np
import pytest
from scipy import stats

from sim_pairs.detector import load_card
from sim_pairs.detector.calorimeter import _edges
from sim_pairs.detector.shower_profile import _profile


def test_profile_matches_scipy_gamma_integrals():
    card = load_card("cocoa")
    edges = _edges(card, "depth_lambda", card.gap_depth_lambda)
    shape = np.array([1.5, 2.7, 4.0])
    begin = np.array([0.0, 0.4, 2.0])
    got = _profile(shape, 0.6, begin, edges)
    for i in range(3):
        ref = np.array([stats.gamma.cdf(max(e - begin[i], 0), shape[i], scale=0.6)
                        - stats.gamma.cdf(max(s - begin[i], 0), shape[i], scale=0.6) for s, e in edges.T])
        np.testing.assert_allclose(got[i], ref / ref.sum(), rtol=1e-9, atol=1e-13)
    assert edges[0, 3] == pytest.approx(edges[1, 2] + card.gap_depth_lambda)
