"""sim_pairs.jets against brute-force anti-kt and C/A soft-drop written out here."""

import numpy as np
import pytest

pytest.importorskip("fastjet")

from sim_pairs.event import Particles
from sim_pairs.jets import cluster_events, pt_eta_phi_mass, softdrop_mass, visible_mask


def _particles(pt, eta, phi, pid=None, mass=0.0):
    pt, eta, phi = (np.asarray(v, dtype=np.float64) for v in (pt, eta, phi))
    n = len(pt)
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    e = np.sqrt(px**2 + py**2 + pz**2 + mass**2)
    pid = np.full(n, 211, np.int32) if pid is None else np.asarray(pid, np.int32)
    zeros = np.zeros(n)
    return Particles(px, py, pz, e, pid, np.zeros(n, np.int8), zeros, zeros, zeros)


def _rapidity_phi(px, py, pz, e):
    return 0.5 * np.log((e + pz) / (e - pz)), np.arctan2(py, px)


def _brute_force(p, *, radius, p_exponent=-1, pt_min=0.0):
    """Generalised-kt by the book (O(n^3)): returns the inclusive jets as sets of particle indices."""
    objects = [({i}, np.array([p.px[i], p.py[i], p.pz[i], p.e[i]])) for i in range(len(p))]
    jets = []
    while objects:
        best, pair = np.inf, None
        for a, (_, va) in enumerate(objects):
            kta = np.hypot(va[0], va[1]) ** (2 * p_exponent)
            if kta < best:
                best, pair = kta, (a, None)
            ya, phia = _rapidity_phi(*va)
            for b in range(a + 1, len(objects)):
                vb = objects[b][1]
                yb, phib = _rapidity_phi(*vb)
                dphi = np.mod(phia - phib + np.pi, 2 * np.pi) - np.pi
                dij = min(kta, np.hypot(vb[0], vb[1]) ** (2 * p_exponent)) * ((ya - yb) ** 2 + dphi**2) / radius**2
                if dij < best:
                    best, pair = dij, (a, b)
        a, b = pair
        if b is None:
            members, v = objects.pop(a)
            if np.hypot(v[0], v[1]) >= pt_min:
                jets.append((frozenset(members), v))
        else:
            mb, vb = objects.pop(b)
            ma, va = objects[a]
            objects[a] = (ma | mb, va + vb)
    return jets


def test_anti_kt_matches_brute_force():
    rng = np.random.default_rng(3)
    # Three hard sprays plus soft wide-angle particles: overlapping cones included.
    centres = [(0.0, 0.0), (0.9, 0.4), (-1.0, 2.5)]
    pt, eta, phi = [], [], []
    for ce, cp in centres:
        k = 10
        pt += list(rng.exponential(30.0, k) + 1.0)
        eta += list(ce + rng.normal(0, 0.25, k))
        phi += list(cp + rng.normal(0, 0.25, k))
    pt += list(rng.exponential(2.0, 15) + 0.5)
    eta += list(rng.uniform(-2.5, 2.5, 15))
    phi += list(rng.uniform(-np.pi, np.pi, 15))
    p = _particles(pt, eta, phi, mass=0.14)
    clustered = cluster_events([p], radius=0.8, pt_min=10.0)
    expected = {members: v for members, v in _brute_force(p, radius=0.8, pt_min=10.0)}
    got = {frozenset(clustered.constituents_of(j).tolist()): j for j in range(len(clustered.px))}
    assert set(got) == set(expected)
    for members, j in got.items():
        np.testing.assert_allclose([clustered.px[j], clustered.py[j], clustered.pz[j], clustered.e[j]],
                                   expected[members], rtol=1e-12)


def test_neutrinos_are_not_clustered_and_events_stay_apart():
    hard = _particles([300.0, 200.0, 100.0, 50.0], [0.0, 0.05, -0.05, 1.0], [0.0, 0.05, 0.02, 3.0],
                      pid=[211, 12, -14, 22])
    assert visible_mask(hard).tolist() == [True, False, False, True]
    other = _particles([80.0], [0.3], [-1.0])
    clustered = cluster_events([hard, None, _particles([], [], []), other], radius=0.4, pt_min=20.0)
    assert clustered.jet_offsets.tolist() == [0, 2, 2, 2, 3]
    assert clustered.particle_offsets.tolist() == [0, 4, 4, 4, 5]
    members = sorted(clustered.constituents_of(j).tolist() for j in range(3))
    assert members == [[0], [3], [4]]
    lead = int(np.argmax(clustered.pt))
    assert clustered.pt[lead] == pytest.approx(300.0)


def test_cuts_on_particles_before_clustering():
    p = _particles([100.0, 0.5, 60.0], [0.0, 0.1, 4.5], [0.0, 0.0, 1.0])
    clustered = cluster_events([p], radius=0.8, pt_min=1.0, particle_pt_min=1.0, eta_max=4.0)
    assert [clustered.constituents_of(j).tolist() for j in range(len(clustered.px))] == [[0]]


def _mass(px, py, pz, e):
    return pt_eta_phi_mass(px.sum(), py.sum(), pz.sum(), e.sum())[3]


def _ca_softdrop_reference(p, *, z_cut, beta=0.0, r0=0.8):
    """C/A clustering into one jet by the book, then mMDT declustering."""
    nodes = [(np.array([p.px[i], p.py[i], p.pz[i], p.e[i]]), None) for i in range(len(p))]
    while len(nodes) > 1:
        best, pair = np.inf, None
        for a in range(len(nodes)):
            ya, pa = _rapidity_phi(*nodes[a][0])
            for b in range(a + 1, len(nodes)):
                yb, pb = _rapidity_phi(*nodes[b][0])
                d = (ya - yb) ** 2 + (np.mod(pa - pb + np.pi, 2 * np.pi) - np.pi) ** 2
                if d < best:
                    best, pair = d, (a, b)
        a, b = pair
        nb = nodes.pop(b)
        na = nodes[a]
        nodes[a] = (na[0] + nb[0], (na, nb))
    node = nodes[0]
    while node[1] is not None:
        one, two = node[1]
        pt1, pt2 = np.hypot(*one[0][:2]), np.hypot(*two[0][:2])
        y1, f1 = _rapidity_phi(*one[0])
        y2, f2 = _rapidity_phi(*two[0])
        dr = np.hypot(y1 - y2, np.mod(f1 - f2 + np.pi, 2 * np.pi) - np.pi)
        if min(pt1, pt2) / (pt1 + pt2) > z_cut * (dr / r0) ** beta:
            break
        node = one if pt1 > pt2 else two
    v = node[0]
    return np.sqrt(max(v[3] ** 2 - v[0] ** 2 - v[1] ** 2 - v[2] ** 2, 0.0))


def test_softdrop_two_prong_keeps_both_prongs_and_drops_soft_radiation():
    # Two prongs at dR = 0.4 sharing pT 70/30 (z = 0.3 > 0.1) plus a soft wide-angle particle (z ~ 0.01).
    prongs = _particles([350.0, 150.0], [0.0, 0.4], [0.0, 0.0], mass=4.7)
    soft = _particles([5.0], [-0.7], [0.3])
    jet = Particles(**{k: np.concatenate([getattr(prongs, k), getattr(soft, k)]) for k in prongs.__dict__})
    got = softdrop_mass(jet.px, jet.py, jet.pz, jet.e, [3])
    assert got[0] == pytest.approx(_mass(prongs.px, prongs.py, prongs.pz, prongs.e), rel=1e-9)
    assert _mass(jet.px, jet.py, jet.pz, jet.e) > got[0] + 1.0

    # A 95/5 split fails z_cut = 0.1: only the hard prong's mass is left.
    lopsided = _particles([475.0, 25.0], [0.0, 0.4], [0.0, 0.0], mass=4.7)
    got = softdrop_mass(lopsided.px, lopsided.py, lopsided.pz, lopsided.e, [2])
    assert got[0] == pytest.approx(4.7, rel=1e-6)


def test_softdrop_matches_reference_on_random_jets_and_handles_empty_jets():
    rng = np.random.default_rng(7)
    jets, counts = [], []
    for n in (12, 1, 0, 20):
        jets.append(_particles(rng.exponential(40.0, n) + 1, rng.normal(0, 0.3, n), rng.normal(0, 0.3, n), mass=0.14))
        counts.append(n)
    flat = {k: np.concatenate([getattr(j, k) for j in jets]) for k in ("px", "py", "pz", "e")}
    got = softdrop_mass(flat["px"], flat["py"], flat["pz"], flat["e"], counts)
    expected = [_ca_softdrop_reference(j, z_cut=0.1) if len(j) else 0.0 for j in jets]
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-6)


def test_softdrop_matches_fastjet_contrib_softdrop():
    import awkward as ak
    import fastjet

    rng = np.random.default_rng(11)
    counts = rng.integers(2, 150, 40)
    n = counts.sum()
    pt = rng.exponential(8.0, n) + 0.2
    eta, phi = rng.normal(0.5, 0.25, n), rng.normal(3.0, 0.25, n)  # phi crosses pi
    p = _particles(pt, eta, phi, mass=0.14)
    for beta, z_cut in ((0.0, 0.1), (1.0, 0.2)):
        got = softdrop_mass(p.px, p.py, p.pz, p.e, counts, beta=beta, z_cut=z_cut, r0=0.8)
        jets = ak.unflatten(ak.zip({"px": p.px, "py": p.py, "pz": p.pz, "E": p.e}), counts)
        sequence = fastjet.ClusterSequence(jets, fastjet.JetDefinition(fastjet.cambridge_algorithm, 1000.0))
        expected = sequence.exclusive_jets_softdrop_grooming(njets=1, beta=beta, symmetry_cut=z_cut, R0=0.8).msoftdrop
        np.testing.assert_allclose(got, ak.to_numpy(expected), rtol=1e-9, atol=1e-9)
