"""graphs.features and the particle features of graphs.particle_graph against a jet computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from graphs.constituents import Constituents
from graphs.features import Normalisation, feature_names, particle_type_onehot, wrap_phi
from graphs.particle_graph import particle_features


def test_wrap_phi_lands_in_half_open_interval():
    phi = np.array([np.pi, -np.pi, 3 * np.pi, 0.5, -0.5 - 2 * np.pi, 7.0])
    wrapped = wrap_phi(phi)
    assert np.all(wrapped > -np.pi) and np.all(wrapped <= np.pi)
    assert np.allclose(wrapped, [np.pi, np.pi, np.pi, 0.5, -0.5, 7.0 - 2 * np.pi])


def test_hand_computed_two_particle_jet():
    # a photon and a pi+ with pT 30 and 10 GeV at (eta, phi) = (0.1, 0.2) and (-0.2, -0.1)
    pt = np.array([30.0, 10.0])
    eta = np.array([0.1, -0.2])
    phi = np.array([0.2, -0.1])
    mass = np.array([0.0, 0.13957])
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    energy = np.sqrt(px**2 + py**2 + pz**2 + mass**2)
    jet = Constituents.from_cartesian(px, py, pz, energy, [22, 211], [0, 1], [0.0, 0.5], [0.0, -2.0])
    sx, sy, sz, se = px.sum(), py.sum(), pz.sum(), energy.sum()
    jet_pt, jet_eta, jet_phi = math.hypot(sx, sy), math.asinh(sz / math.hypot(sx, sy)), math.atan2(sy, sx)
    f = particle_features(jet)
    assert f.shape == (2, 15) and f.dtype == np.float32
    deta, dphi = eta - jet_eta, phi - jet_phi
    expected = np.column_stack(
        [
            np.log(pt), np.log(pt / jet_pt), deta, dphi, np.log(energy), np.log(energy / se),
            [0, 1], np.tanh([0.0, 0.5]), np.tanh([0.0, -2.0]), np.hypot(deta, dphi),
            [1, 0], [0, 0], [0, 0], [0, 1], [0, 0],
        ]
    )  # fmt: skip
    assert np.allclose(f, expected, atol=1e-5)
    assert np.allclose(jet.energy, energy)


def test_jet_at_phi_pi_has_small_dphi():
    # constituents on both sides of the phi = +-pi boundary
    phi = np.array([np.pi - 0.05, -np.pi + 0.05, np.pi])
    pt = np.array([20.0, 20.0, 5.0])
    jet = Constituents.from_cartesian(pt * np.cos(phi), pt * np.sin(phi), np.zeros(3), pt, [211] * 3, [1] * 3, [0] * 3, [0] * 3)
    assert abs(abs(jet.jet_phi) - np.pi) < 1e-9
    assert np.allclose(np.sort(np.abs(jet.dphi)), [0.0, 0.05, 0.05], atol=1e-9)
    assert np.all(jet.dphi > -np.pi) and np.all(jet.dphi <= np.pi)


def test_particle_types():
    onehot = particle_type_onehot(np.array([22, 13, -11, 211, 130, 2112, -321]), np.array([0, -1, 1, 1, 0, 0, -1]))
    assert onehot.argmax(1).tolist() == [0, 1, 2, 3, 4, 4, 3]
    assert onehot.sum(1).tolist() == [1] * 7


@pytest.mark.parametrize("norm", [Normalisation(), Normalisation(shift=1.5, scale=0.5), Normalisation(log=True, shift=2.0, scale=3.0)])
def test_normalisation_round_trip(norm):
    values = np.array([0.2, 1.0, 7.5, 300.0])
    assert np.allclose(norm.invert(norm.apply(values)), values)


def test_normalisation_clips():
    norm = Normalisation(shift=0.0, scale=2.0, clip=1.0)
    assert norm.apply(np.array([-10.0, 1.0, 10.0])).tolist() == [-1.0, 0.5, 1.0]


def test_feature_sets():
    assert len(feature_names("rs3l15", "particles")["particle"]) == 15
    assert feature_names("kinematic4", "pflow")["particle"] == ("log_pt", "log_pt_rel", "deta", "dphi")
    assert {k: len(v) for k, v in feature_names("detector", "detector").items()} == {"cell": 11, "track": 8}
    with pytest.raises(ValueError, match="no particle features"):
        feature_names("detector", "particles")


def test_normalisation_of_a_tensor_equals_that_of_an_array():
    import torch

    values = np.array([-1.0, 0.0, 1e-14, 0.5, 3.0, 1e4])
    for norm in (Normalisation(log=True, shift=1.0, scale=2.0, clip=3.0), Normalisation(shift=-0.5, scale=0.25)):
        out = norm.apply(torch.from_numpy(values))
        assert isinstance(out, torch.Tensor)
        np.testing.assert_array_equal(out.numpy(), norm.apply(values))
