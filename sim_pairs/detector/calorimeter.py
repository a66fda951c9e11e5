"""Energy deposits of truth particles in the calorimeter layers (a parametric shower model).

Per particle, vectorised over all particles of a jet:

* photons and electrons: an EM shower. The deposited energy is smeared with the
  ECAL resolution a/sqrt(E) (+) c and shared among the layers by the longitudinal
  profile dE/dt ~ t^(a-1) e^(-b t) (t in X0, b = 0.5, t_max = (a-1)/b = ln(E/E_c) - 0.5
  for electrons, + 0.5 for photons, E_c = 7.3 MeV for lead; Longo and Sestili, PDG
  review 34.5), with a 10% per-shower fluctuation of t_max.
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

from dataclasses import dataclass

import numpy as np
from scipy.special import gammainc

from .card import DetectorCard
from .geometry import layer_crossing

__all__ = ["Deposits", "INVISIBLE_PIDS", "is_invisible", "particle_deposits"]

#: Neutrinos and the lightest neutralino / gravitino: no calorimeter signal.
INVISIBLE_PIDS = (12, 14, 16, 1000022, 1000039)
_CRITICAL_ENERGY = 0.0073  # GeV, lead
_EM_B = 0.5
#: A hadronic shower's core is narrower where it starts: its lateral width in the ECAL
#: layers is this fraction of the HCAL one.
_HAD_ECAL_WIDTH = np.array([0.5, 0.5, 0.5, 1.0, 1.0, 1.0])


@dataclass
class Deposits:
    """Energy deposited by particles, one row per (particle, layer) with energy > 0.

    Attributes (length n_deposits): layer (int64 0-5), eta, phi (where the particle
    crosses the layer), energy (calibrated GeV), width (Rayleigh lateral width in
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


def _profile(shape: np.ndarray, scale: float, begin: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Fraction of a gamma(shape, scale) profile starting at depth ``begin`` in each layer.

    Args:
        shape: gamma shape per particle, (n,).
        scale: gamma scale (depth units).
        begin: where each profile starts, (n,).
        edges: (2, 6) layer start and end depths.

    Returns:
        (n, 6) fractions; rows sum to 1 (the part in the gap or behind the last layer
        is shared out in proportion), or 0 where the profile starts behind the calorimeter.
    """
    depth = np.maximum(edges.reshape(1, 12) - begin[:, None], 0.0) / scale
    cdf = gammainc(np.repeat(shape, 12).reshape(-1, 12), depth)
    frac = cdf[:, 6:] - cdf[:, :6]
    total = frac.sum(axis=1, keepdims=True)
    return np.divide(frac, total, out=np.zeros_like(frac), where=total > 0)


def _smear(energy: np.ndarray, stochastic: float, constant: float, normal: np.ndarray) -> np.ndarray:
    sigma = np.sqrt(stochastic**2 / np.maximum(energy, 1e-9) + constant**2)
    return np.maximum(energy * (1.0 + sigma * normal), 0.0)


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
    n = len(px)
    apid = np.abs(pid)
    pt = np.hypot(px, py)
    eta = np.arcsinh(pz / np.maximum(pt, 1e-12))
    phi = np.arctan2(py, px)
    eta_layer, phi_layer = layer_crossing(card, pt, eta, phi, charge, z0)

    is_em = (apid == 11) | (apid == 22)
    is_mu = apid == 13
    is_had = ~(is_em | is_mu | is_invisible(apid))
    normal = rng.standard_normal((2, n))
    depth_int = rng.exponential(1.0, n)
    mips = np.array([layer.mip for layer in card.layers])
    energy = np.zeros((n, 6))
    width = np.zeros((n, 6))

    # EM showers
    em = np.flatnonzero(is_em)
    e_em = _smear(e[em], card.ecal.stochastic, card.ecal.constant, normal[0, em])
    t_max = np.log(np.maximum(e[em], 2 * _CRITICAL_ENERGY) / _CRITICAL_ENERGY) + np.where(apid[em] == 22, 0.5, -0.5)
    t_max = np.maximum(t_max * (1.0 + 0.1 * normal[1, em]), 0.1)
    x0_edges = _edges(card, "depth_x0", card.gap_depth_x0)
    energy[em] = e_em[:, None] * _profile(_EM_B * t_max + 1.0, 1.0 / _EM_B, np.zeros(len(em)), x0_edges)
    width[em] = card.ecal.lateral_width

    # hadronic showers, MIP before the first interaction
    had = np.flatnonzero(is_had)
    e_had = _smear(e[had], card.hcal.stochastic, card.hcal.constant, normal[0, had])
    l_edges = _edges(card, "depth_lambda", card.gap_depth_lambda)
    crossed = (l_edges[1][None, :] <= depth_int[had, None]) & (charge[had] != 0)[:, None]
    mip_part = np.where(crossed, mips[None, :], 0.0)
    mip_part *= np.minimum(1.0, e_had / np.maximum(mip_part.sum(axis=1), 1e-12))[:, None]
    shower_e = e_had - mip_part.sum(axis=1)
    had_shape = np.maximum(2.0 + 0.3 * np.log(np.maximum(e[had], 1e-3)), 1.2)
    energy[had] = mip_part + shower_e[:, None] * _profile(had_shape, 0.6, depth_int[had], l_edges)
    width[had] = card.hcal.lateral_width * _HAD_ECAL_WIDTH

    # muons
    mu = np.flatnonzero(is_mu)
    energy[mu] = mips[None, :] * np.maximum(1.0 + 0.2 * normal[0, mu], 0.0)[:, None]
    width[mu] = 0.2 * card.ecal.lateral_width

    keep = (energy > 0) & np.isfinite(phi_layer) & (np.abs(eta_layer) < card.abs_eta_max)
    part, layer = np.nonzero(keep)
    return Deposits(
        layer=layer.astype(np.int64),
        eta=eta_layer[part, layer],
        phi=phi_layer[part, layer],
        energy=energy[part, layer],
        width=width[part, layer],
        particle=part.astype(np.int64),
    )
