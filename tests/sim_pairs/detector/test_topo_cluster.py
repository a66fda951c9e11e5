import numpy as np
import pytest
from scipy import ndimage, stats

from sim_pairs.typed_config import to_mapping
from sim_pairs.detector import load_card
from sim_pairs.detector.calorimeter import Deposits
from sim_pairs.detector.geometry import cell_centre, cell_size
from sim_pairs.detector.cell_window import window_bins as _window
from sim_pairs.detector.topo_cluster import seed_probability, simulate_cells

NO_TRACKS = np.zeros((0, 6))


def _deposits(layer=(), eta=(), phi=(), energy=(), width=()):
    arrays = [np.asarray(a, dtype=float) for a in (eta, phi, energy, width)]
    layer = np.asarray(layer, dtype=np.int64)
    return Deposits(layer, *arrays, np.zeros(len(layer), dtype=np.int64))


def _uniform_card(seed=3.0, n_cells=64):
    mapping = to_mapping(load_card("cocoa"))
    for layer in mapping["layers"]:
        layer["n_cells"] = n_cells
    return load_card("cocoa", {"layers": mapping["layers"], "topo": {"seed": seed}})


def _dense_reference_kept(card, n_eta, n_phi, rng):
    """Brute force: noise in every window cell, topo-clustering with scipy.ndimage."""
    sigma = np.array(card.noise_sigmas())[:, None, None]
    significance = rng.standard_normal((6, n_eta, n_phi)) * sigma / sigma
    structure = np.zeros((3, 3, 3), dtype=bool)
    structure[1] = True
    structure[0, 1, 1] = structure[2, 1, 1] = True
    growing = np.abs(significance) > card.topo.neighbour
    labels, _ = ndimage.label(growing, structure)
    seeded = np.unique(labels[(significance > card.topo.seed) & growing])
    clustered = np.isin(labels, seeded[seeded > 0])
    boundary = ndimage.binary_dilation(clustered, structure) & (np.abs(significance) >= card.topo.boundary)
    return int((clustered | boundary).sum())


def test_noise_only_clusters_match_a_dense_brute_force_topo_clustering():
    card = _uniform_card(seed=3.0)
    _, lo_eta, n_eta, lo_phi, n_phi = _window(card, 0.3, 1.0, 0.6)
    assert len(set(n_eta)) == 1 and len(set(n_phi)) == 1
    rng = np.random.default_rng(11)
    calls = 1500
    sparse = [len(simulate_cells(card, _deposits(), 0.3, 1.0, 0.6, NO_TRACKS, NO_TRACKS, rng).energy) for _ in range(calls)]
    dense = [_dense_reference_kept(card, n_eta[0], n_phi[0], rng) for _ in range(calls)]
    sparse, dense = np.array(sparse), np.array(dense)
    error = np.hypot(sparse.std(), dense.std()) / np.sqrt(calls)
    assert abs(sparse.mean() - dense.mean()) < 4 * error
    assert dense.mean() > 5  # the comparison has something in it


def test_noise_only_seed_rate_is_what_the_seed_threshold_implies():
    card = load_card("cocoa")
    _, _, n_eta, _, n_phi = _window(card, -0.4, 2.0, 1.0)
    expected = (n_eta * n_phi).sum() * seed_probability(card.topo.seed)
    rng = np.random.default_rng(12)
    calls = 20000
    clusters = sum(simulate_cells(card, _deposits(), -0.4, 2.0, 1.0, NO_TRACKS, NO_TRACKS, rng).n_clusters
                   for _ in range(calls))
    assert seed_probability(4.6) == pytest.approx(stats.norm.sf(4.6))
    assert clusters == pytest.approx(expected * calls, abs=4 * np.sqrt(expected * calls))


def test_noiseless_cells_hold_the_exact_gaussian_integral_of_a_deposit():
    card = load_card("cocoa", {"noise_scale": 0.0, "spots_per_deposit": 10**12})
    eta0, phi0, width, energy = 0.31, -0.52, 0.012, 80.0
    cells = simulate_cells(card, _deposits([1], [eta0], [phi0], [energy], [width]), 0.3, -0.5, 0.6,
                           NO_TRACKS, NO_TRACKS, np.random.default_rng(0))
    assert cells.n_clusters == 1
    signal = cells.energy > 0
    assert cells.energy.sum() == pytest.approx(energy, rel=1e-9)
    deta, dphi = cell_size(256)
    eta_c, phi_c = cell_centre(256, cells.ieta[signal], cells.iphi[signal])
    ref = (np.diff(stats.norm.cdf([eta_c - deta / 2, eta_c + deta / 2], eta0, width), axis=0)[0]
           * np.diff(stats.norm.cdf([phi_c - dphi / 2, phi_c + dphi / 2], phi0, width), axis=0)[0])
    np.testing.assert_allclose(cells.energy[signal] / energy, ref / ref.sum(), rtol=1e-5)
    assert ref.sum() > 0.995  # the skipped tails are tiny
    np.testing.assert_array_equal(cells.energy[~signal], 0.0)  # boundary cells: no noise, no signal


def test_a_shower_is_clustered_with_its_energy_and_tracks_find_it():
    card = load_card("cocoa")
    deposits = _deposits([0, 1, 2, 3], [0.2] * 4, [0.1] * 4, [5.0, 30.0, 2.0, 3.0], [0.012, 0.012, 0.012, 0.05])
    tracks_eta = np.array([[0.2] * 6, [0.6] * 6])
    tracks_phi = np.array([[0.1] * 6, [0.5] * 6])
    totals = []
    for seed in range(200):
        cells = simulate_cells(card, deposits, 0.0, 0.0, 1.0, tracks_eta, tracks_phi, np.random.default_rng(seed))
        main = np.bincount(cells.cluster, cells.energy).argmax()
        totals.append(cells.energy[cells.cluster == main].sum())
        assert cells.track_cluster[0] == main and cells.track_cluster[1] == -1
    assert np.mean(totals) == pytest.approx(40.0, rel=0.01)


def test_same_seed_same_cells_other_seed_other_cells():
    card = load_card("cocoa")
    deposits = _deposits([1, 4], [0.0, 0.0], [0.0, 0.0], [20.0, 20.0], [0.012, 0.05])
    a, b, c = (simulate_cells(card, deposits, 0.0, 0.0, 0.8, NO_TRACKS, NO_TRACKS, np.random.default_rng(s)) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.energy, b.energy)
    np.testing.assert_array_equal(a.ieta, b.ieta)
    assert len(a.energy) != len(c.energy) or not np.array_equal(a.energy, c.energy)


@pytest.mark.parametrize("significance", [0.3, 0.9, 2.5])
def test_cells_with_small_signal_become_seeds_as_often_as_the_gaussian_says(significance):
    # seeds of low-signal cells are decided by thinning, of larger ones by drawing the noise
    card = load_card("cocoa", {"topo": {"seed": 3.0}})
    sigma = card.noise_sigmas()[3]
    n = card.layers[3].n_cells
    idx = np.arange(0, 21, 3) + n // 2 - 10
    ieta, iphi = np.meshgrid(idx, idx)
    eta, phi = cell_centre(n, ieta.ravel(), iphi.ravel())
    deposits = _deposits(np.full(eta.size, 3), eta, phi, np.full(eta.size, significance * sigma), np.full(eta.size, 1e-6))
    rng = np.random.default_rng(int(10 * significance))
    calls, seeds = 500, 0
    for _ in range(calls):
        cells = simulate_cells(card, deposits, 0.0, 0.0, 1.0, NO_TRACKS, NO_TRACKS, rng)
        at_deposit = (cells.layer == 3) & np.isin(cells.ieta * n + cells.iphi, (ieta * n + iphi).ravel())
        seeds += int((cells.energy[at_deposit] > card.topo.seed * sigma).sum())
    expected = calls * eta.size * stats.norm.sf(card.topo.seed - significance)
    assert seeds == pytest.approx(expected, abs=4 * np.sqrt(expected))
