import numpy as np
import pytest

from sim_pairs.detector import load_card
from sim_pairs.detector.geometry import cell_centre, cell_size, cell_xyz, layer_crossing, wrap_phi


def test_cell_centres_fall_in_their_own_bins():
    for n in (256, 128, 64, 32):
        idx = np.arange(n)
        eta, phi = cell_centre(n, idx, idx)
        deta, dphi = cell_size(n)
        assert deta == pytest.approx(6 / n) and dphi == pytest.approx(2 * np.pi / n)
        np.testing.assert_array_equal(np.floor((eta + 3) / deta).astype(int), idx)
        np.testing.assert_array_equal(np.floor((phi + np.pi) / dphi).astype(int), idx)


def test_cell_positions_on_barrel_cylinder_and_endcap_disc():
    card = load_card("cocoa")
    eta = np.array([0.0, 0.7, -1.2, 2.0, -2.7])
    phi = np.array([0.1, -2.0, 3.0, 1.0, -0.5])
    for layer in range(6):
        x, y, z = cell_xyz(card, np.full(5, layer), eta, phi)
        rho = np.hypot(x, y)
        barrel = np.abs(eta) < 1.5
        np.testing.assert_allclose(rho[barrel], card.layers[layer].r_mid)
        np.testing.assert_allclose(np.abs(z[~barrel]), card.layers[layer].z_mid)
        np.testing.assert_allclose(np.arcsinh(z / rho), eta, atol=1e-12)
        np.testing.assert_allclose(np.arctan2(y, x), phi, atol=1e-12)


def _helix_phi_at_radius(pt, phi0, q, radius_mm, field):
    """Step along the circle in the transverse plane until the radius is reached (brute force)."""
    curvature_radius = pt / (0.3 * field) * 1000.0  # mm
    centre = q * curvature_radius * np.array([np.sin(phi0), -np.cos(phi0)])
    start_angle = np.arctan2(-centre[1], -centre[0])
    turn = np.linspace(0.0, np.pi, 2_000_001)
    pos = centre[:, None] + curvature_radius * np.stack(
        [np.cos(start_angle - q * turn), np.sin(start_angle - q * turn)])
    r = np.hypot(*pos)
    first = np.argmax(r >= radius_mm)
    return np.arctan2(pos[1, first], pos[0, first]) if r[first] >= radius_mm else np.nan


@pytest.mark.parametrize("pt, q, phi0", [(2.0, 1, 0.3), (5.0, -1, -2.5), (50.0, 1, 3.1)])
def test_charged_track_bends_like_a_brute_force_helix(pt, q, phi0):
    card = load_card("cocoa")
    eta_l, phi_l = layer_crossing(card, np.array([pt]), np.array([0.2]), np.array([phi0]), np.array([q]), np.zeros(1))
    for layer in (0, 3, 5):
        ref = _helix_phi_at_radius(pt, phi0, q, card.layers[layer].r_mid, card.field_tesla)
        assert wrap_phi(phi_l[0, layer] - ref) == pytest.approx(0.0, abs=2e-5)
        assert eta_l[0, layer] == pytest.approx(0.2)
    # positive tracks turn clockwise (phi decreases) in a field along +z
    assert np.sign(wrap_phi(phi_l[0, 0] - phi0)) == -q


def test_neutrals_go_straight_and_loopers_never_arrive():
    card = load_card("cocoa")
    eta_l, phi_l = layer_crossing(card, np.array([0.3, 0.3]), np.array([0.5, 0.5]), np.array([1.0, 1.0]),
                                  np.array([0, 1]), np.array([0.0, 0.0]))
    np.testing.assert_allclose(phi_l[0], 1.0)
    np.testing.assert_allclose(eta_l[0], 0.5)
    assert np.all(np.isnan(phi_l[1])) and np.all(np.isnan(eta_l[1]))  # 0.3 GeV curls up at r < 0.53 m


def test_displaced_origin_shifts_eta_at_the_layer():
    card = load_card("cocoa")
    eta_l, _ = layer_crossing(card, np.array([100.0]), np.array([0.0]), np.array([0.0]), np.array([0]), np.array([150.0]))
    np.testing.assert_allclose(eta_l[0, 0], np.arcsinh(150.0 / card.layers[0].r_mid))


def test_fast_wrap_is_the_modulo_bit_for_bit():
    from sim_pairs.detector.geometry import _wrap

    rng = np.random.default_rng(4)
    values = np.concatenate([rng.uniform(-20, 20, 2000), rng.uniform(-2 * np.pi, 2 * np.pi, 2000),
                             [0.0, -0.0, np.pi, -np.pi, 2 * np.pi, -2 * np.pi, np.nextafter(np.pi, 0),
                              np.nextafter(-np.pi, -4), 1e-300, -1e-300, 3 * np.pi, -3 * np.pi,
                              np.nextafter(3 * np.pi, 0), np.nextafter(3 * np.pi, 10), np.nextafter(-3 * np.pi, 0),
                              np.nextafter(-3 * np.pi, -10), -np.pi - 1e-17, np.pi - 1e-17]])
    for v in values:
        expected = (v + np.pi) % (2.0 * np.pi) - np.pi
        got = _wrap(v)
        assert got == expected and np.signbit(got) == np.signbit(expected), v
    assert np.isnan(_wrap(np.nan)) and np.isnan(_wrap(np.inf))


def test_centre_tables_agree_with_cell_centre_and_cell_xyz():
    from sim_pairs.detector.geometry import centre_tables

    card = load_card("cocoa")
    tables = centre_tables(card)
    for l, layer in enumerate(card.layers):
        bins = np.arange(layer.n_cells)
        eta, phi = cell_centre(layer.n_cells, bins, bins)
        np.testing.assert_allclose(tables.eta[l, : layer.n_cells], eta, rtol=0, atol=1e-12)
        np.testing.assert_allclose(tables.phi[l, : layer.n_cells], phi, rtol=0, atol=1e-12)
        x, y, z = cell_xyz(card, np.full(len(bins), l), eta, phi)
        rho = tables.rho[l, : layer.n_cells]
        np.testing.assert_allclose(rho * tables.cos_phi[l, : layer.n_cells], x, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(rho * tables.sin_phi[l, : layer.n_cells], y, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(tables.z[l, : layer.n_cells], z, rtol=1e-12, atol=1e-9)
