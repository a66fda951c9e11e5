import numpy as np
import pytest

from sim_pairs.detector import load_card
from sim_pairs.detector.tracker import impact_parameters, reconstruct_tracks


def _pions(n, pt, eta=0.5, rng=None, vertex=(0.0, 0.0, 0.0)):
    rng = rng or np.random.default_rng(0)
    phi = rng.uniform(-np.pi, np.pi, n)
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), np.full(n, pt * np.sinh(eta))
    v = [np.full(n, c) for c in vertex]
    return px, py, pz, np.ones(n, dtype=np.int64), *v


@pytest.mark.parametrize("pt", [5.0, 100.0, 500.0])
def test_track_pt_resolution_and_efficiency_match_the_card(pt):
    card = load_card("cocoa")
    n = 20000
    tracks = reconstruct_tracks(card, *_pions(n, pt), np.random.default_rng(1))
    assert len(tracks) / n == pytest.approx(card.tracker.efficiency, abs=0.01)
    expected = np.hypot(card.tracker.pt_slope * pt, card.tracker.pt_constant)
    # the curvature is smeared, so use a robust width (half the 68% interval) of the curvature
    rel = pt / tracks.pt - 1.0
    width = 0.5 * np.diff(np.percentile(rel, [15.865, 84.135]))[0]
    assert width == pytest.approx(expected, rel=0.05)
    d0_expected = np.hypot(card.tracker.d0_constant, card.tracker.d0_slope / pt)
    assert np.std(tracks.d0) == pytest.approx(d0_expected, rel=0.05)
    z0_expected = np.hypot(card.tracker.z0_constant, card.tracker.z0_slope / pt)
    assert np.std(tracks.z0) == pytest.approx(z0_expected, rel=0.05)


def test_acceptance_cuts():
    card = load_card("cocoa")
    rng = np.random.default_rng(2)
    assert len(reconstruct_tracks(card, *_pions(500, 0.3), rng)) == 0  # below pt_min
    assert len(reconstruct_tracks(card, *_pions(500, 10.0, eta=2.8), rng)) == 0  # outside coverage
    # produced outside the 5th-last silicon layer: too few hits
    far = card.tracker.layer_radii[-card.tracker.min_hits] + 1.0
    assert len(reconstruct_tracks(card, *_pions(500, 10.0, vertex=(far, 0.0, 0.0)), rng)) == 0
    px, py, pz, q, vx, vy, vz = _pions(500, 10.0)
    assert len(reconstruct_tracks(card, px, py, pz, q * 0, vx, vy, vz, rng)) == 0  # neutral


def test_impact_parameters_match_closest_approach_by_brute_force():
    rng = np.random.default_rng(3)
    v = rng.normal(0, 5.0, (3, 20))
    p = rng.normal(0, 10.0, (3, 20))
    d0, z0 = impact_parameters(*v, *p)
    for i in range(20):
        s = np.linspace(-50, 50, 200001) / np.hypot(p[0, i], p[1, i])  # path parameter along the line
        x, y = v[0, i] + s * p[0, i], v[1, i] + s * p[1, i]
        k = np.argmin(np.hypot(x, y))
        assert abs(d0[i]) == pytest.approx(np.hypot(x[k], y[k]), abs=1e-3)
        assert z0[i] == pytest.approx(v[2, i] + s[k] * p[2, i], abs=5e-3)
        # sign: positive when the momentum turns counter-clockwise around the beam from the point of closest approach
        assert np.sign(d0[i]) == np.sign(x[k] * p[1, i] - y[k] * p[0, i])


def test_same_rng_same_tracks():
    card = load_card("cocoa")
    a = reconstruct_tracks(card, *_pions(100, 20.0), np.random.default_rng(5))
    b = reconstruct_tracks(card, *_pions(100, 20.0), np.random.default_rng(5))
    np.testing.assert_array_equal(a.pt, b.pt)
    np.testing.assert_array_equal(a.phi_layer, b.phi_layer)
