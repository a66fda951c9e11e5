"""Energy deposits of truth particles in the calorimeter layers (a parametric shower model).

Per particle, vectorised over all particles of a jet:

* photons and electrons: an EM shower. The deposited energy is smeared with the
  ECAL resolution a/sqrt(E) (+) c and shared among the layers by the longitudinal
  profile dE/dt ~ t^(a-1) e^(-b t) (t in X0, b = 0.5, t_max = (a-1)/b = ln(E/E_c) - 0.5
  for electrons, + 0.5 for photons, E_c = 7.3 MeV for lead; Longo and Sestili, PDG
  review 34.5), with a 10% per-shower fluctuation of t_max.
* (both profiles are tabulated per card on fine grids and interpolated, to within
  1e-3 of the exact incomplete-gamma integrals: ``shower_profile``)
* hadrons: the first interaction happens at a depth t_int ~ Exp(1) in lambda_int
  from the calorimeter front, so a hadron starts showering in the ECAL or the HCAL;
  charged hadrons leave a MIP signal in the layers they cross before it. The shower
  is smeared with the HCAL resolution and shared among layers by a gamma profile in
  lambda after t_int (shape 2 + 0.3 ln E, scale 0.6 lambda), and spreads laterally
  with the HCAL lateral width (half of it in the ECAL layers, where it starts).
* muons: the card's MIP energy per layer with a 20% Gaussian spread.
* neutrinos (and other invisible particles) leave nothing.

Calibration: deposits are stored at the calibrated scale (visible energy divided
by the sampling fraction, then the hadronic calibration); the fractions of a profile
that fall into the iron gap or leak out of the back are given back to the active
layers in proportion, i.e. the calibration corrects dead material and leakage on
average. The mean response is therefore 1 for both EM particles and hadrons before
noise and clustering; the spread is the card's resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np

from .card import DetectorCard
from .card_cache import per_card
from .geometry import crossing
from .shower_profile import _em_profile, _em_table, _had_profile, _had_table

__all__ = ["Deposits", "INVISIBLE_PIDS", "is_invisible", "particle_deposits"]

#: Neutrinos and the lightest neutralino / gravitino: no calorimeter signal.
INVISIBLE_PIDS = (12, 14, 16, 1000022, 1000039)
_CRITICAL_ENERGY = 0.0073  # GeV, lead
_EM_B = 0.5
_HAD_SCALE = 0.6  # lambda
# Longitudinal profiles are tabulated once per card and interpolated linearly:
# EM over the gamma shape a (first value, step, count; a = 1 + t_max / 2 <= 12 covers 10 TeV),
# hadronic over the shape (2 + 0.3 ln E in [1.2, 4.9]) and the interaction depth (step in lambda).
_EM_SHAPE = (1.0, 0.01, 1101)
_HAD_SHAPE = (1.2, 0.05, 75)
_HAD_BEGIN_STEP = 0.02
#: A hadronic shower's core is narrower where it starts: its lateral width in the ECAL
#: layers is this fraction of the HCAL one.
_HAD_ECAL_WIDTH = np.array([0.5, 0.5, 0.5, 1.0, 1.0, 1.0])


@dataclass
class Deposits:
    """Energy deposited by particles, one row per (particle, layer) with energy > 0.

    Attributes (length n_deposits): layer (int64 0-5), eta, phi (where the particle
    crosses the layer), energy (calibrated GeV), width (Gaussian lateral width in
    (eta, phi) units), particle (index of the truth particle).
    """

    layer: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    energy: np.ndarray
    width: np.ndarray
    particle: np.ndarray


def is_invisible(abs_pid: np.ndarray) -> np.ndarray:
    """True for particles that leave no signal (abs(PDG id) in INVISIBLE_PIDS)."""
    out = abs_pid == INVISIBLE_PIDS[0]
    for pid in INVISIBLE_PIDS[1:]:
        out |= abs_pid == pid
    return out


def _edges(card: DetectorCard, attr: str, gap: float) -> np.ndarray:
    """(2, 6) start and end depth (X0 or lambda) of each layer from the calorimeter front, the gap before layer 3."""
    depth = np.array([getattr(layer, attr) for layer in card.layers])
    start = np.concatenate([[0.0], np.cumsum(depth)[:-1]])
    start[3:] += gap
    return np.stack([start, start + depth])


@numba.njit(cache=True, error_model="numpy")
def _smear(energy, stochastic, constant, normal):
    sigma = math.sqrt(stochastic * stochastic / max(energy, 1e-9) + constant * constant)
    return max(energy * (1.0 + sigma * normal), 0.0)


@numba.njit(cache=True, error_model="numpy")
def _deposit_kernel(px, py, pz, e, pid, charge, z0, normal, depth_int, calo):
    """The deposits of the particles (see :func:`particle_deposits`); ``calo`` is the card's :class:`_DepositArgs`."""
    r_mid, z_mid, barrel_abs_eta, abs_eta_max, field_tesla = (calo.r_mid, calo.z_mid, calo.barrel_abs_eta,
                                                              calo.abs_eta_max, calo.field_tesla)
    em_table, had_table, l_edges, mips = calo.em_table, calo.had_table, calo.l_edges, calo.mips
    em_stochastic, em_constant, em_width = calo.em_stochastic, calo.em_constant, calo.em_width
    had_stochastic, had_constant, had_width = calo.had_stochastic, calo.had_constant, calo.had_width
    n = px.shape[0]
    n_layers = r_mid.shape[0]
    out_layer = np.empty(n * n_layers, dtype=np.int64)
    out_eta = np.empty(n * n_layers)
    out_phi = np.empty(n * n_layers)
    out_e = np.empty(n * n_layers)
    out_w = np.empty(n * n_layers)
    out_p = np.empty(n * n_layers, dtype=np.int64)
    eta_l = np.empty(n_layers)
    phi_l = np.empty(n_layers)
    energy = np.empty(n_layers)
    width = np.empty(n_layers)
    profile = np.empty(n_layers)
    count = 0
    for i in range(n):
        apid = abs(pid[i])
        if apid == 12 or apid == 14 or apid == 16 or apid == 1000022 or apid == 1000039:
            continue
        pt = math.hypot(px[i], py[i])
        eta = math.asinh(pz[i] / max(pt, 1e-12))
        phi = math.atan2(py[i], px[i])
        crossing(pt, eta, phi, charge[i], z0[i], r_mid, z_mid, barrel_abs_eta, field_tesla, eta_l, phi_l)
        if apid == 11 or apid == 22:
            e_sm = _smear(e[i], em_stochastic, em_constant, normal[0, i])
            t_max = math.log(max(e[i], 2 * _CRITICAL_ENERGY) / _CRITICAL_ENERGY) + (0.5 if apid == 22 else -0.5)
            t_max = max(t_max * (1.0 + 0.1 * normal[1, i]), 0.1)
            _em_profile(_EM_B * t_max + 1.0, em_table, _EM_SHAPE[0], _EM_SHAPE[1], energy)
            for l in range(n_layers):
                energy[l] *= e_sm
                width[l] = em_width
        elif apid == 13:
            scale = max(1.0 + 0.2 * normal[0, i], 0.0)
            for l in range(n_layers):
                energy[l] = mips[l] * scale
                width[l] = 0.2 * em_width
        else:
            e_sm = _smear(e[i], had_stochastic, had_constant, normal[0, i])
            mip_sum = 0.0
            for l in range(n_layers):
                mip = mips[l] if (charge[i] != 0 and l_edges[1, l] <= depth_int[i]) else 0.0
                width[l] = had_width[l]
                energy[l] = mip
                mip_sum += mip
            if mip_sum > e_sm:
                for l in range(n_layers):
                    energy[l] *= e_sm / mip_sum
                mip_sum = e_sm
            shape = max(2.0 + 0.3 * math.log(max(e[i], 1e-3)), 1.2)
            _had_profile(shape, depth_int[i], had_table, _HAD_SHAPE[0], _HAD_SHAPE[1], 0.0, _HAD_BEGIN_STEP, profile)
            for l in range(n_layers):
                energy[l] += (e_sm - mip_sum) * profile[l]
        for l in range(n_layers):
            if energy[l] > 0.0 and not math.isnan(phi_l[l]) and abs(eta_l[l]) < abs_eta_max:
                out_layer[count] = l
                out_eta[count] = eta_l[l]
                out_phi[count] = phi_l[l]
                out_e[count] = energy[l]
                out_w[count] = width[l]
                out_p[count] = i
                count += 1
    return out_layer[:count], out_eta[:count], out_phi[:count], out_e[:count], out_w[:count], out_p[:count]


def particle_deposits(card: DetectorCard, px, py, pz, e, pid, charge, z0, rng: np.random.Generator) -> Deposits:
    """Calorimeter deposits of particles.

    Args:
        card: the detector card.
        px, py, pz, e: truth four-momenta in GeV, shape (n,).
        pid: PDG ids, shape (n,).
        charge: charges in e, shape (n,).
        z0: longitudinal impact parameter in mm (where the straight line starts), shape (n,).
        rng: source of randomness.

    Returns:
        The deposits, particle by particle and layer by layer.
    """
    f64 = np.float64
    n = len(px)
    normal = rng.standard_normal((2, n))
    depth_int = rng.exponential(1.0, n)
    out = _deposit_kernel(
        np.asarray(px, f64), np.asarray(py, f64), np.asarray(pz, f64), np.asarray(e, f64),
        np.asarray(pid, np.int64), np.asarray(charge, f64), np.asarray(z0, f64), normal, depth_int, _deposit_args(card),
    )
    return Deposits(*out)


class _DepositArgs(NamedTuple):
    """The card's numbers :func:`_deposit_kernel` uses, by name (lengths, tables per layer)."""

    r_mid: np.ndarray
    z_mid: np.ndarray
    barrel_abs_eta: float
    abs_eta_max: float
    field_tesla: float
    em_table: np.ndarray
    had_table: np.ndarray
    l_edges: np.ndarray
    mips: np.ndarray
    em_stochastic: float
    em_constant: float
    em_width: float
    had_stochastic: float
    had_constant: float
    had_width: np.ndarray


@per_card
def _deposit_args(card: DetectorCard) -> _DepositArgs:
    """The card's arguments of :func:`_deposit_kernel`, built once per card."""
    l_edges = _edges(card, "depth_lambda", card.gap_depth_lambda)
    x0_edges = _edges(card, "depth_x0", card.gap_depth_x0)
    em_shapes = _EM_SHAPE[0] + _EM_SHAPE[1] * np.arange(_EM_SHAPE[2])
    had_shapes = _HAD_SHAPE[0] + _HAD_SHAPE[1] * np.arange(_HAD_SHAPE[2])
    n_begin = int(np.ceil(l_edges.max() / _HAD_BEGIN_STEP)) + 2
    return _DepositArgs(
        np.array([l.r_mid for l in card.layers]), np.array([l.z_mid for l in card.layers]),
        float(card.barrel_abs_eta), float(card.abs_eta_max), float(card.field_tesla),
        _em_table(em_shapes, 1.0 / _EM_B, x0_edges),
        _had_table(had_shapes, _HAD_BEGIN_STEP * np.arange(n_begin), _HAD_SCALE, l_edges),
        l_edges, np.array([l.mip for l in card.layers]),
        float(card.ecal.stochastic), float(card.ecal.constant), float(card.ecal.lateral_width),
        float(card.hcal.stochastic), float(card.hcal.constant), card.hcal.lateral_width * _HAD_ECAL_WIDTH,
    )
