import numpy as np
import pytest

from sim_pairs.detector import load_card, simulate_jet
from sim_pairs.detector.cell_index import cell_index, decode_cells
from sim_pairs.detector.readout import digitise
from sim_pairs.event import Particles
from sim_pairs.schema import columns_of

MASS = {22: 0.0, 211: 0.13957, 13: 0.10566, 11: 0.000511, 12: 0.0, 130: 0.497611}
CHARGE = {22: 0, 211: 1, 13: -1, 11: -1, 12: 0, 130: 0}


def _particles(specs):
    """specs: (pid, energy GeV, eta, phi) per particle, produced at the origin."""
    rows = []
    for pid, energy, eta, phi in specs:
        p = np.sqrt(energy**2 - MASS[pid] ** 2)
        pt = p / np.cosh(eta)
        rows.append((pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), energy, pid, CHARGE[pid]))
    a = np.array(rows, dtype=float).reshape(-1, 6)
    n = len(a)
    return Particles(px=a[:, 0], py=a[:, 1], pz=a[:, 2], e=a[:, 3], pid=a[:, 4].astype(np.int32),
                     charge=a[:, 5].astype(np.int8), vx=np.zeros(n), vy=np.zeros(n), vz=np.zeros(n))


def _jet_like(rng, n=40):
    pids = rng.choice([22, 211, 130, 11, 13, 12], n, p=[0.35, 0.4, 0.15, 0.03, 0.02, 0.05])
    energy = rng.exponential(8.0, n) + 1.0
    return _particles(zip(pids, energy, 0.5 + rng.normal(0, 0.15, n), 1.0 + rng.normal(0, 0.15, n)))


@pytest.mark.parametrize("pid", [22, 211])
@pytest.mark.parametrize("energy", [10.0, 50.0, 200.0])
def test_single_particle_response_and_resolution_match_the_card(pid, energy):
    card = load_card("cocoa")
    section = card.ecal if pid == 22 else card.hcal
    sigmas = np.array(card.noise_sigmas())
    rng = np.random.default_rng(int(energy) + pid)
    n = 800
    response, noise_var = np.empty(n), np.empty(n)
    for i in range(n):
        eta, phi = rng.uniform(-1.2, 1.2), rng.uniform(-np.pi, np.pi)
        out = simulate_jet(_particles([(pid, energy, eta, phi)]), eta, phi, 0.4, card, rng, cell_positions=True)
        response[i] = out["cell_energy"].sum() / energy
        noise_var[i] = (sigmas[out["cell_layer"]] ** 2).sum()
    # the card's sampling terms, plus the noise of the cells the clustering kept
    expected = np.sqrt(section.stochastic**2 / energy + section.constant**2 + noise_var.mean() / energy**2)
    assert response.mean() == pytest.approx(1.0, rel=0.10)
    assert response.std() == pytest.approx(expected, rel=0.10)


def test_output_has_every_detector_and_pflow_column_with_schema_dtypes():
    card = load_card("cocoa")
    out = simulate_jet(_jet_like(np.random.default_rng(0)), 0.5, 1.0, 0.8, card, np.random.default_rng(1))
    expected = {c.name: c for c in columns_of("detector") + columns_of("pflow")}
    assert set(out) == set(expected)
    for name, column in expected.items():
        assert out[name].dtype == np.dtype(column.dtype), name
    n_tracks = len(out["track_pt"])
    assert n_tracks > 0 and out["track_eta_layer"].shape == (n_tracks, 6) == out["track_phi_layer"].shape
    assert len(out["cell_energy"]) > 20 and len(out["pfc_energy"]) > 0
    cells = decode_cells(card, out["cell_index"])
    assert set(np.unique(cells["cell_layer"])) <= set(range(6))
    # everything returned lies inside the jet
    dr = np.hypot(cells["cell_eta"] - 0.5, (cells["cell_phi"] - 1.0 + np.pi) % (2 * np.pi) - np.pi)
    assert dr.max() < 0.8


def test_same_seed_same_bytes_different_seed_a_different_replica():
    card = load_card("cocoa")
    particles = _jet_like(np.random.default_rng(3))
    a = simulate_jet(particles, 0.5, 1.0, 0.8, card, np.random.default_rng(7))
    b = simulate_jet(particles, 0.5, 1.0, 0.8, card, np.random.default_rng(7))
    c = simulate_jet(particles, 0.5, 1.0, 0.8, card, np.random.default_rng(8))
    for name in a:
        assert a[name].tobytes() == b[name].tobytes(), name
    assert a["cell_energy"].tobytes() != c["cell_energy"].tobytes()
    assert a["track_pt"].tobytes() != c["track_pt"].tobytes()
    # the replicas still see the same jet
    assert c["cell_energy"].sum() == pytest.approx(a["cell_energy"].sum(), rel=0.2)


def test_particle_types_reach_the_right_candidates():
    card = load_card("cocoa", {"tracker": {"efficiency": 1.0}})
    specs = [(11, 30.0, 0.0, 0.0), (13, 30.0, 0.2, 0.2), (211, 30.0, -0.2, -0.2), (22, 30.0, 0.2, -0.25), (12, 30.0, 0.0, 0.1)]
    out = simulate_jet(_particles(specs), 0.0, 0.0, 0.8, card, np.random.default_rng(4))
    pids = sorted(out["pfc_pid"].tolist())
    assert pids[:3] == [11, 13, 22] and 211 in pids
    charged = out["pfc_charge"] != 0
    assert sorted(out["pfc_pid"][charged].tolist()) == [11, 13, 211]


def test_noise_only_jet_and_neutrinos_leave_only_noise_clusters():
    card = load_card("cocoa")
    rng = np.random.default_rng(5)
    kept = [len(simulate_jet(_particles([(12, 100.0, 0.0, 0.0)]), 0.0, 0.0, 0.4, card, rng)["cell_energy"]) for _ in range(200)]
    assert np.mean(kept) < 1.0  # noise seeds are rare at 4.6 sigma


def test_endcap_jets_use_the_endcap_discs():
    card = load_card("cocoa")
    out = simulate_jet(_particles([(22, 100.0, 2.2, 0.3)]), 2.2, 0.3, 0.4, card, np.random.default_rng(6),
                       cell_positions=True)
    z_mid = {l: card.layers[l].z_mid for l in range(6)}
    np.testing.assert_allclose(np.abs(out["cell_z"]), [z_mid[l] for l in out["cell_layer"]], rtol=1e-6)


def _stage_by_stage(final, jet_eta, jet_phi, radius, card, rng):
    """simulate_jet spelled out with the public stage functions (the reference for the fused kernel)."""
    from sim_pairs.detector.calorimeter import particle_deposits
    from sim_pairs.detector.pflow import particle_flow
    from sim_pairs.detector.simulate import _BEND_ALLOWANCE, _in_cone, _near_jet
    from sim_pairs.detector.topo_cluster import simulate_cells
    from sim_pairs.detector.tracker import reconstruct_tracks

    half_width = radius + card.window_margin
    f64 = np.float64
    idx, z0 = _near_jet(*(np.asarray(a, f64) for a in (final.px, final.py, final.pz, final.vx, final.vy, final.vz)),
                        final.pid.astype(np.int64), jet_eta, jet_phi, half_width + _BEND_ALLOWANCE)
    px, py, pz, e, pid = final.px[idx], final.py[idx], final.pz[idx], final.e[idx], final.pid[idx]
    charge = final.charge[idx].astype(np.int64)
    tracks = reconstruct_tracks(card, px, py, pz, charge, final.vx[idx], final.vy[idx], final.vz[idx], rng)
    deposits = particle_deposits(card, px, py, pz, e, pid, charge, z0, rng)
    cells = simulate_cells(card, deposits, jet_eta, jet_phi, half_width, tracks.eta_layer, tracks.phi_layer, rng)
    apid = np.abs(pid[tracks.particle])
    track_pid = np.where(apid == 11, 11, np.where(apid == 13, 13, 211))
    out = particle_flow(card, tracks.pt, tracks.eta, tracks.phi, tracks.charge, tracks.d0, tracks.z0, track_pid,
                        cells.track_cluster, cells.eta, cells.phi, cells.layer, cells.energy, cells.cluster,
                        cells.n_clusters, jet_eta, jet_phi, radius, cell_subcluster=cells.subcluster,
                        cell_subcluster2=cells.subcluster2, cell_share=cells.share,
                        subcluster_offsets=cells.subcluster_offsets, track_subcluster=cells.track_subcluster)
    c_in = _in_cone(cells.eta, cells.phi, jet_eta, jet_phi, radius)
    t_in = _in_cone(tracks.eta, tracks.phi, jet_eta, jet_phi, radius)
    index = cell_index(card, cells.layer[c_in], cells.ieta[c_in], cells.iphi[c_in])
    order = np.argsort(index)
    out["cell_index"] = index[order]
    out["cell_layer"] = cells.layer[c_in][order].astype(np.int8)
    for name in ("eta", "phi", "x", "y", "z", "energy"):
        out[f"cell_{name}"] = getattr(cells, name)[c_in][order].astype(np.float32)
    out["cell_energy"] = digitise(out["cell_energy"], card.cell_energy_bits)
    for name in ("pt", "eta", "phi", "d0", "z0", "eta_layer", "phi_layer"):
        out[f"track_{name}"] = getattr(tracks, name)[t_in].astype(np.float32)
    out["track_charge"] = tracks.charge[t_in].astype(np.int8)
    return out


@pytest.mark.parametrize("card_name", ["cocoa", "coarse"])
def test_fused_kernel_gives_the_bytes_of_the_stage_functions(card_name):
    card = load_card(card_name)
    event_rng = np.random.default_rng(21)
    for seed in range(6):
        final = _jet_like(event_rng, n=60)
        # displaced vertices and a far particle: z0 and the near-jet selection matter
        final.vz[:10] = event_rng.normal(0, 20, 10)
        final.pz[-1] *= 40.0
        fused = simulate_jet(final, 0.5, 1.0, 0.8, card, np.random.default_rng(seed), cell_positions=True)
        reference = _stage_by_stage(final, 0.5, 1.0, 0.8, card, np.random.default_rng(seed))
        assert sorted(fused) == sorted(reference)
        for name in fused:
            assert fused[name].dtype == reference[name].dtype, name
            np.testing.assert_array_equal(fused[name], reference[name], err_msg=name)
