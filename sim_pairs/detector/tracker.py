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

import math
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np

from .card import DetectorCard
from .card_cache import per_card
from .geometry import _wrap, crossing

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


@numba.njit(cache=True, inline="always")
def _f32(x):
    """x rounded to float32 and back to float64: the value a dataset stores (float() would stay float32 here)."""
    return np.float64(np.float32(x))


@numba.njit(cache=True, error_model="numpy")
def _track_kernel(px, py, pz, charge, vx, vy, vz, uniform, normal, tracker):
    """The tracks of the particles (see :func:`reconstruct_tracks`); ``tracker`` is the card's :class:`_TrackArgs`."""
    max_rho, pt_min, abs_eta_max, efficiency = tracker.max_rho, tracker.pt_min, tracker.abs_eta_max, tracker.efficiency
    pt_slope, pt_constant, angle_resolution = tracker.pt_slope, tracker.pt_constant, tracker.angle_resolution
    d0_constant, d0_slope, z0_constant, z0_slope = tracker.d0_constant, tracker.d0_slope, tracker.z0_constant, tracker.z0_slope
    r_mid, z_mid, barrel_abs_eta, field_tesla = tracker.r_mid, tracker.z_mid, tracker.barrel_abs_eta, tracker.field_tesla
    n = px.shape[0]
    n_layers = r_mid.shape[0]
    pt_out = np.empty(n)
    eta_out = np.empty(n)
    phi_out = np.empty(n)
    q_out = np.empty(n, dtype=np.int8)
    d0_out = np.empty(n)
    z0_out = np.empty(n)
    eta_layer = np.empty((n, n_layers))
    phi_layer = np.empty((n, n_layers))
    particle = np.empty(n, dtype=np.int64)
    count = 0
    for i in range(n):
        if charge[i] == 0:
            continue
        pt2 = px[i] * px[i] + py[i] * py[i]
        pt = math.sqrt(pt2)
        if pt <= pt_min:
            continue
        eta = math.asinh(pz[i] / pt)
        if abs(eta) >= abs_eta_max or math.hypot(vx[i], vy[i]) >= max_rho or uniform[i] >= efficiency:
            continue
        d0 = (vx[i] * py[i] - vy[i] * px[i]) / pt
        z0 = vz[i] - (vx[i] * px[i] + vy[i] * py[i]) * pz[i] / pt2
        rel = math.hypot(pt_slope * pt, pt_constant)
        pt_reco = pt / abs(1.0 + rel * normal[0, i])
        eta_reco = eta + angle_resolution * normal[1, i]
        phi_reco = _wrap(math.atan2(py[i], px[i]) + angle_resolution * normal[2, i])
        z0_reco = z0 + math.hypot(z0_constant, z0_slope / pt) * normal[4, i]
        pt_out[count] = pt_reco
        eta_out[count] = eta_reco
        phi_out[count] = phi_reco
        q_out[count] = charge[i]
        d0_out[count] = d0 + math.hypot(d0_constant, d0_slope / pt) * normal[3, i]
        z0_out[count] = z0_reco
        # from the parameters as stored (float32), so that a reader rebuilds the crossings bit for bit
        # (graphs.shard_reader: datasets do not store them)
        crossing(_f32(pt_reco), _f32(eta_reco), _f32(phi_reco), charge[i], _f32(z0_reco), r_mid, z_mid,
                 barrel_abs_eta, field_tesla, eta_layer[count], phi_layer[count])
        particle[count] = i
        count += 1
    return (pt_out[:count], eta_out[:count], phi_out[:count], q_out[:count], d0_out[:count], z0_out[:count],
            eta_layer[:count], phi_layer[:count], particle[:count])


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
    f64 = np.float64
    n = len(px)
    uniform = rng.random(n)
    normal = rng.standard_normal((5, n))
    out = _track_kernel(
        np.asarray(px, f64), np.asarray(py, f64), np.asarray(pz, f64), np.asarray(charge, np.int64),
        np.asarray(vx, f64), np.asarray(vy, f64), np.asarray(vz, f64), uniform, normal, _track_args(card),
    )
    return Tracks(*out)


class _TrackArgs(NamedTuple):
    """The card's numbers :func:`_track_kernel` uses, by name (mm, GeV, T)."""

    max_rho: float
    pt_min: float
    abs_eta_max: float
    efficiency: float
    pt_slope: float
    pt_constant: float
    d0_constant: float
    d0_slope: float
    z0_constant: float
    z0_slope: float
    angle_resolution: float
    r_mid: np.ndarray
    z_mid: np.ndarray
    barrel_abs_eta: float
    field_tesla: float


@per_card
def _track_args(card: DetectorCard) -> _TrackArgs:
    """The card's arguments of :func:`_track_kernel`, built once per card."""
    t = card.tracker
    return _TrackArgs(
        float(t.layer_radii[len(t.layer_radii) - t.min_hits]), float(t.pt_min), float(t.abs_eta_max),
        float(t.efficiency), float(t.pt_slope), float(t.pt_constant), float(t.d0_constant), float(t.d0_slope),
        float(t.z0_constant), float(t.z0_slope), float(t.angle_resolution),
        np.array([l.r_mid for l in card.layers]), np.array([l.z_mid for l in card.layers]),
        float(card.barrel_abs_eta), float(card.field_tesla),
    )
