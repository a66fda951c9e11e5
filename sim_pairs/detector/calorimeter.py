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
  lambda after t_int (shape 2 + 0.3 ln E, scale 0.6 lambda).
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

__all__ = ["Deposits", "INVISIBLE_PIDS", "particle_deposits"]

#: Neutrinos and the lightest neutralino / gravitino: no calorimeter signal.
INVISIBLE_PIDS = (12, 14, 16, 1000022, 1000039)
_EM_PIDS = (11, 22)
_CRITICAL_ENERGY = 0.0073  # GeV, lead
_EM_B = 0.5


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


def _boundaries(card: DetectorCard, attr: str, gap: float) -> tuple[np.ndarray, np.ndarray]:
    """Start and end depth of each layer (X0 or lambda) from the calorimeter front."""
    depth = np.array([getattr(layer, attr) for layer in card.layers])
    start = np.concatenate([[0.0], np.cumsum(depth)[:-1]])
    start[3:] += gap
    return start, start + depth


def _profile(shape: np.ndarray, scale: np.ndarray, begin: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Fraction of a gamma(shape, scale) profile beginning at ``begin`` in each layer, (n, 6), rows sum to 1."""
    lo = np.maximum(start[None, :] - begin[:, None], 0.0) / scale[:, None]
    hi = np.maximum(end[None, :] - begin[:, None], 0.0) / scale[:, None]
    frac = gammainc(shape[:, None], hi) - gammainc(shape[:, None], lo)
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

    is_em = np.isin(apid, _EM_PIDS)
    is_mu = apid == 13
    is_had = ~(is_em | is_mu | np.isin(apid, INVISIBLE_PIDS))
    normal = rng.standard_normal((3, n))
    depth_int = rng.exponential(1.0, n)
    mips = np.array([layer.mip for layer in card.layers])
    energy = np.zeros((n, 6))

    # EM showers
    x0_start, x0_end = _boundaries(card, "depth_x0", card.gap_depth_x0)
    e_em = _smear(e, card.ecal.stochastic, card.ecal.constant, normal[0])
    t_max = np.log(np.maximum(e, 2 * _CRITICAL_ENERGY) / _CRITICAL_ENERGY) + np.where(apid == 22, 0.5, -0.5)
    t_max = np.maximum(t_max * (1.0 + 0.1 * normal[1]), 0.1)
    shape = _EM_B * t_max + 1.0
    em_frac = _profile(shape, np.full(n, 1.0 / _EM_B), np.zeros(n), x0_start, x0_end)
    energy = np.where(is_em[:, None], e_em[:, None] * em_frac, energy)

    # hadronic showers, MIP before the first interaction
    l_start, l_end = _boundaries(card, "depth_lambda", card.gap_depth_lambda)
    e_had = _smear(e, card.hcal.stochastic, card.hcal.constant, normal[0])
    crossed = (l_end[None, :] <= depth_int[:, None]) & (charge != 0)[:, None]
    mip_part = np.where(crossed, mips[None, :], 0.0)
    mip_part *= np.minimum(1.0, e_had / np.maximum(mip_part.sum(axis=1), 1e-12))[:, None]
    shower_e = e_had - mip_part.sum(axis=1)
    had_shape = np.maximum(2.0 + 0.3 * np.log(np.maximum(e, 1e-3)), 1.2)
    had_frac = _profile(had_shape, np.full(n, 0.6), depth_int, l_start, l_end)
    had_energy = mip_part + shower_e[:, None] * had_frac
    energy = np.where(is_had[:, None], had_energy, energy)

    # muons
    mu_energy = mips[None, :] * np.maximum(1.0 + 0.2 * normal[2], 0.0)[:, None]
    energy = np.where(is_mu[:, None], mu_energy, energy)

    width = np.where(is_em, card.ecal.lateral_width, np.where(is_mu, 0.2 * card.ecal.lateral_width, card.hcal.lateral_width))
    keep = (energy > 0) & np.isfinite(phi_layer) & (np.abs(eta_layer) < card.abs_eta_max)
    part, layer = np.nonzero(keep)
    return Deposits(
        layer=layer.astype(np.int64),
        eta=eta_layer[part, layer],
        phi=phi_layer[part, layer],
        energy=energy[part, layer],
        width=width[part],
        particle=part.astype(np.int64),
    )
