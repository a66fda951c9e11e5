"""Track reconstruction: acceptance, efficiency and parametric smearing of charged particles.

A charged particle becomes a track when it is inside the tracker (abs(eta) below
the card's coverage, pT above its threshold), was produced inside enough silicon
layers (at least ``min_hits`` layers at larger radius) and passes the efficiency.
The curvature 1/pT is smeared with sigma(pT)/pT = pt_slope * pT (+) pt_constant;
d0 and z0 with constant (+) slope / pT; eta and phi with ``angle_resolution``.

Impact parameters of the truth particle are those of a straight line from the
production vertex (the field bends tracks by far less than a vertex resolution over
the few mm of a decay length): d0 = (vx py - vy px) / pT, z0 = vz - (vx px + vy py) pz / pT^2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .card import DetectorCard
from .geometry import layer_crossing, wrap_phi

__all__ = ["Tracks", "impact_parameters", "reconstruct_tracks"]


@dataclass
class Tracks:
    """Reconstructed tracks (arrays of length n_tracks; per-layer arrays (n_tracks, 6)).

    ``particle`` is the index of the truth particle each track came from (in the
    ``Particles`` given to :func:`reconstruct_tracks`).
    """

    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    charge: np.ndarray
    d0: np.ndarray
    z0: np.ndarray
    eta_layer: np.ndarray
    phi_layer: np.ndarray
    particle: np.ndarray

    def __len__(self) -> int:
        return len(self.pt)


def impact_parameters(vx, vy, vz, px, py, pz) -> tuple[np.ndarray, np.ndarray]:
    """Straight-line (d0, z0) in mm of particles produced at (vx, vy, vz) mm with momentum p."""
    pt2 = np.maximum(px * px + py * py, 1e-30)
    d0 = (vx * py - vy * px) / np.sqrt(pt2)
    z0 = vz - (vx * px + vy * py) * pz / pt2
    return d0, z0


def reconstruct_tracks(card: DetectorCard, px, py, pz, charge, vx, vy, vz, rng: np.random.Generator) -> Tracks:
    """Tracks from charged truth particles.

    Args:
        card: the detector; ``card.tracker`` and ``card.field_tesla`` are used.
        px, py, pz: truth momenta in GeV, shape (n,).
        charge: truth charge in e, shape (n,).
        vx, vy, vz: production vertices in mm, shape (n,).
        rng: source of randomness (efficiency and smearing).

    Returns:
        The reconstructed tracks with their truth particle index.
    """
    t = card.tracker
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(pz / np.maximum(pt, 1e-12))
    rho = np.hypot(vx, vy)
    max_rho = t.layer_radii[len(t.layer_radii) - t.min_hits]
    n = len(pt)
    accepted = (charge != 0) & (pt > t.pt_min) & (np.abs(eta) < t.abs_eta_max) & (rho < max_rho)
    found = accepted & (rng.random(n) < t.efficiency)
    idx = np.flatnonzero(found)
    pt, eta = pt[idx], eta[idx]
    phi = np.arctan2(py[idx], px[idx])
    q = charge[idx].astype(np.int8)
    d0, z0 = impact_parameters(vx[idx], vy[idx], vz[idx], px[idx], py[idx], pz[idx])
    noise = rng.standard_normal((5, len(idx)))
    rel = np.hypot(t.pt_slope * pt, t.pt_constant)
    pt_reco = pt / np.abs(1.0 + rel * noise[0])
    eta_reco = eta + t.angle_resolution * noise[1]
    phi_reco = wrap_phi(phi + t.angle_resolution * noise[2])
    d0_reco = d0 + np.hypot(t.d0_constant, t.d0_slope / pt) * noise[3]
    z0_reco = z0 + np.hypot(t.z0_constant, t.z0_slope / pt) * noise[4]
    eta_layer, phi_layer = layer_crossing(card, pt_reco, eta_reco, phi_reco, q, z0_reco)
    return Tracks(
        pt=pt_reco, eta=eta_reco, phi=phi_reco, charge=q, d0=d0_reco, z0=z0_reco,
        eta_layer=eta_layer, phi_layer=phi_layer, particle=idx,
    )
