import numpy as np
import pytest

from sim_pairs.detector import load_card
from sim_pairs.detector.pflow import CHARGED_MASS, particle_flow


def _flow(card, tracks, cells, n_clusters, radius=0.8):
    names = ("pt", "eta", "phi", "charge", "d0", "z0", "pid", "cluster")
    t = {k: np.asarray(v) for k, v in zip(names, tracks)}
    c_eta, c_phi, c_layer, c_e, c_cluster = (np.asarray(v) for v in cells)
    return particle_flow(card, t["pt"], t["eta"], t["phi"], t["charge"].astype(np.int8), t["d0"], t["z0"],
                         t["pid"], t["cluster"].astype(np.int64), c_eta, c_phi, c_layer.astype(np.int64), c_e,
                         c_cluster.astype(np.int64), n_clusters, 0.0, 0.0, radius)


def test_cluster_energy_left_over_a_track_becomes_a_neutral_hadron():
    card = load_card("cocoa")
    # one track of p = 50 GeV (eta 0) into a cluster of 60 GeV, all in the HCAL
    out = _flow(card, ([50.0], [0.0], [0.1], [1], [0.02], [0.1], [211], [0]),
                ([0.0, 0.05], [0.1, 0.1], [3, 4], [30.0, 30.0], [0, 0]), 1)
    assert list(out["pfc_pid"]) == [211, 130]
    assert list(out["pfc_charge"]) == [1, 0]
    expected_sigma = np.sqrt(card.hcal.stochastic**2 * 50 + (card.hcal.constant * 50) ** 2)
    assert 10.0 > card.pflow.neutral_nsigma * expected_sigma
    assert out["pfc_energy"][1] == pytest.approx(10.0, rel=1e-6)
    assert out["pfc_energy"][0] == pytest.approx(np.hypot(50.0, CHARGED_MASS[211]), rel=1e-6)
    assert out["pfc_d0"][0] == pytest.approx(0.02) and out["pfc_d0"][1] == 0.0
    # massless neutral at the energy-weighted barycentre
    p = np.sqrt(out["pfc_px"] ** 2 + out["pfc_py"] ** 2 + out["pfc_pz"] ** 2)
    assert p[1] == pytest.approx(out["pfc_energy"][1], rel=1e-5)
    assert np.arcsinh(out["pfc_pz"][1] / np.hypot(out["pfc_px"][1], out["pfc_py"][1])) == pytest.approx(0.025, abs=1e-5)


def test_small_excess_within_the_track_resolution_makes_no_neutral():
    card = load_card("cocoa")
    out = _flow(card, ([50.0], [0.0], [0.1], [-1], [0.0], [0.0], [211], [0]),
                ([0.0], [0.1], [4], [52.0], [0]), 1)
    assert list(out["pfc_pid"]) == [211]


def test_em_cluster_without_track_is_a_photon_and_types_follow_the_truth():
    card = load_card("cocoa")
    out = _flow(card, ([20.0, 30.0], [0.1, -0.1], [0.0, 0.0], [1, -1], [0.0, 0.0], [0.0, 0.0], [11, 13], [-1, -1]),
                ([0.2, 0.2, 0.2], [0.3, 0.3, 0.3], [0, 1, 3], [2.0, 10.0, 0.5], [0, 0, 0]), 1)
    assert list(out["pfc_pid"]) == [11, 13, 22]
    assert out["pfc_energy"][2] == pytest.approx(12.5)


def test_candidates_outside_the_cone_are_dropped_and_dtypes_follow_the_schema():
    from sim_pairs.schema import columns_of

    card = load_card("cocoa")
    out = _flow(card, ([20.0], [1.0], [0.0], [1], [0.0], [0.0], [211], [-1]),
                ([1.2], [0.0], [1], [10.0], [0]), 1, radius=0.8)
    assert all(len(v) == 0 for v in out.values())
    for column in columns_of("pflow"):
        assert out[column.name].dtype == np.dtype(column.dtype)
