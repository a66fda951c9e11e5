import numpy as np
import pytest

from sim_pairs.typed_config import to_mapping
from sim_pairs.detector import load_card
from sim_pairs.detector.cell_window import _local, _overlap_map, window_bins
from sim_pairs.detector.geometry import cell_centre, wrap_phi


@pytest.mark.parametrize("jet_eta, jet_phi", [(0.0, 0.0), (2.4, 3.1), (-2.9, -3.1)])
def test_window_holds_every_cell_near_the_axis(jet_eta, jet_phi):
    card = load_card("cocoa")
    half = 1.0
    n_cells, lo_eta, n_eta, lo_phi, n_phi = window_bins(card, jet_eta, jet_phi, half)
    offset = np.concatenate([[0], np.cumsum(n_eta * n_phi)])
    for l, n in enumerate(n_cells):
        ieta, iphi = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        eta, phi = cell_centre(n, ieta, iphi)
        near = (np.abs(eta - jet_eta) < half) & (np.abs(wrap_phi(phi - jet_phi)) < half)
        local = np.array([_local(e, p, n_cells[l], lo_eta[l], n_eta[l], lo_phi[l], n_phi[l], offset[l])
                          for e, p in zip(ieta[near], iphi[near])])
        assert np.all(local >= offset[l]) and np.all(local < offset[l + 1])
        assert len(np.unique(local)) == len(local)
    assert _local(-1, 0, n_cells[0], lo_eta[0], n_eta[0], lo_phi[0], n_phi[0], offset[0]) == -1


def test_overlap_map_matches_interval_intersection():
    mapping = to_mapping(load_card("cocoa"))
    for layer, n in zip(mapping["layers"], [96, 64, 40, 32, 24, 16]):
        layer["n_cells"] = n  # ratios that are not powers of two
    card = load_card("cocoa", {"layers": mapping["layers"]})
    overlap = _overlap_map(card)
    n = [l.n_cells for l in card.layers]
    for l in range(6):
        for side, l2 in enumerate((l - 1, l + 1)):
            if not 0 <= l2 < 6:
                continue
            for g in range(n[l]):
                lo, hi = g / n[l], (g + 1) / n[l]
                touching = [k for k in range(n[l2]) if k / n[l2] < hi - 1e-12 and (k + 1) / n[l2] > lo + 1e-12]
                assert (overlap[l, side, g, 0], overlap[l, side, g, 1]) == (touching[0], touching[-1])


@pytest.mark.parametrize("card_name", ["cocoa", "coarse"])
@pytest.mark.parametrize("half_width", [0.5, 1.0, 1.37])
def test_capacity_bounds_every_window(card_name, half_width):
    from sim_pairs.detector.cell_window import window_capacity

    card = load_card(card_name)
    capacity = window_capacity(card, half_width)
    rng = np.random.default_rng(2)
    sizes = [(n_eta * n_phi).sum() for n_eta, n_phi in
             (window_bins(card, e, p, half_width)[2::2] for e, p in zip(rng.uniform(-3, 3, 400), rng.uniform(-4, 4, 400)))]
    assert max(sizes) <= capacity
