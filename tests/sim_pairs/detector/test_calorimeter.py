import numpy as np
import pytest

from sim_pairs.detector import load_card
from sim_pairs.detector.calorimeter import _edges, particle_deposits
from sim_pairs.detector.shower_profile import _em_profile, _had_profile, _profile


def _particles(pid, energy, n, charge=0, mass=0.0, eta=0.4):
    p = np.sqrt(energy**2 - mass**2)
    pt = p / np.cosh(eta)
    phi = np.linspace(-3, 3, n)
    return (pt * np.cos(phi), pt * np.sin(phi), np.full(n, pt * np.sinh(eta)), np.full(n, energy),
            np.full(n, pid), np.full(n, charge), np.zeros(n))


def _per_particle(dep, n):
    out = np.zeros((n, 6))
    np.add.at(out, (dep.particle, dep.layer), dep.energy)
    return out


@pytest.mark.parametrize("pid, section", [(22, "ecal"), (11, "ecal"), (130, "hcal")])
def test_total_deposit_has_unit_response_and_card_resolution(pid, section):
    card = load_card("cocoa")
    response = getattr(card, section)
    energy, n = 40.0, 20000
    dep = particle_deposits(card, *_particles(pid, energy, n, charge=-1 if pid == 11 else 0), np.random.default_rng(1))
    total = _per_particle(dep, n).sum(axis=1) / energy
    expected = np.hypot(response.stochastic / np.sqrt(energy), response.constant)
    assert total.mean() == pytest.approx(1.0, abs=0.01)
    assert total.std() == pytest.approx(expected, rel=0.05)


def test_em_showers_stay_in_the_ecal_and_deepen_with_energy():
    card = load_card("cocoa")
    depth = []
    for energy in (2.0, 200.0):
        layers = _per_particle(particle_deposits(card, *_particles(22, energy, 2000), np.random.default_rng(2)), 2000)
        assert layers[:, :3].sum() / layers.sum() > 0.97
        depth.append((layers[:, :3] * np.arange(3)).sum() / layers[:, :3].sum())
    assert depth[1] > depth[0]


def test_hadrons_start_in_ecal_as_often_as_the_interaction_length_says():
    card = load_card("cocoa")
    n = 20000
    layers = _per_particle(particle_deposits(card, *_particles(130, 50.0, n), np.random.default_rng(3)), n)
    ecal_lambda = sum(l.depth_lambda for l in card.layers[:3])
    started_in_ecal = (layers[:, :3].sum(axis=1) > 0).mean()
    assert started_in_ecal == pytest.approx(1 - np.exp(-ecal_lambda), abs=0.015)
    assert layers[:, 3:].sum() > layers[:, :3].sum()


def test_muons_are_minimum_ionising_and_neutrinos_invisible():
    card = load_card("cocoa")
    mu = _per_particle(particle_deposits(card, *_particles(13, 50.0, 5000, charge=1, mass=0.1057), np.random.default_rng(4)), 5000)
    np.testing.assert_allclose(mu.mean(axis=0), [l.mip for l in card.layers], rtol=0.02)
    nu = particle_deposits(card, *_particles(14, 50.0, 100), np.random.default_rng(4))
    assert len(nu.energy) == 0


def test_low_pt_charged_particles_curl_up_before_the_calorimeter():
    card = load_card("cocoa")
    dep = particle_deposits(card, *_particles(211, 0.5, 100, charge=1, mass=0.1396, eta=0.0), np.random.default_rng(5))
    assert len(dep.energy) == 0


def test_tabulated_profiles_match_the_exact_integrals():
    from sim_pairs.detector.calorimeter import (_EM_B, _EM_SHAPE, _HAD_BEGIN_STEP, _HAD_SCALE, _HAD_SHAPE,
                                                _deposit_args)

    card = load_card("cocoa")
    tables = _deposit_args(card)
    x0_edges = _edges(card, "depth_x0", card.gap_depth_x0)
    out = np.empty(6)
    for shape in (1.07, 2.333, 5.5, 9.91):
        _em_profile(shape, tables.em_table, _EM_SHAPE[0], _EM_SHAPE[1], out)
        np.testing.assert_allclose(out, _profile(np.array([shape]), 1 / _EM_B, np.zeros(1), x0_edges)[0], atol=1e-3)
    for shape, begin in ((1.3, 0.05), (2.71, 0.9), (3.9, 2.345), (4.5, 7.0), (2.0, 20.0)):
        _had_profile(shape, begin, tables.had_table, _HAD_SHAPE[0], _HAD_SHAPE[1], 0.0, _HAD_BEGIN_STEP, out)
        exact = _profile(np.array([shape]), _HAD_SCALE, np.array([begin]), tables.l_edges)[0]
        np.testing.assert_allclose(out, exact, atol=1e-3)
