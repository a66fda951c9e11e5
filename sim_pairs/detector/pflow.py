"""Particle flow: charged candidates from tracks, neutral candidates from what clusters keep over them.

A simplified version of the CMS / ATLAS particle-flow idea (CMS, arXiv 1706.04965):

* every track is a charged candidate, with the pion mass unless its truth particle
  is an electron (pid 11) or muon (13);
* every track points at (at most) one topo-cluster (``Cells.track_cluster``); the
  energy the matched tracks are expected to leave (their momentum; the MIP sum for
  muons) is subtracted from the cluster's energy, cluster by cluster. What is left
  becomes a neutral candidate when it exceeds both ``neutral_e_min`` and
  ``neutral_nsigma`` times the expected spread of the tracks' deposits (the card's
  calorimeter resolution at the track momenta, EM for electrons, hadronic otherwise);
* a neutral candidate is massless, points at the cluster's energy-weighted
  barycentre, and is a photon (22) when at least ``photon_em_fraction`` of the
  cluster's energy is in the ECAL, else a neutral hadron (130).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from .card import DetectorCard
from .geometry import _wrap

__all__ = ["CHARGED_MASS", "particle_flow"]

#: Mass (GeV) given to a charged candidate by its type.
CHARGED_MASS = {11: 0.000511, 13: 0.10566, 211: 0.13957}
_MASSES = np.array([CHARGED_MASS[11], CHARGED_MASS[13], CHARGED_MASS[211]])
#: Names of the arrays :func:`_flow_kernel` returns, in order (the schema's ``pflow`` columns).
PFLOW_COLUMNS = ("pfc_px", "pfc_py", "pfc_pz", "pfc_energy", "pfc_pid", "pfc_charge", "pfc_d0", "pfc_dz")


@numba.njit(cache=True, error_model="numpy")
def _flow_kernel(t_pt, t_eta, t_phi, t_charge, t_d0, t_z0, t_pid, t_cluster,
                 c_eta, c_phi, c_layer, c_energy, c_cluster, n_clusters, jet_eta, jet_phi, radius,
                 mip_sum, em_a, em_c, had_a, had_c, e_min, nsigma, photon_fraction, masses):
    n_t = t_pt.shape[0]
    cl_expected = np.zeros(n_clusters)
    cl_variance = np.zeros(n_clusters)
    for t in range(n_t):
        if t_cluster[t] < 0:
            continue
        p = t_pt[t] * math.cosh(t_eta[t])
        if t_pid[t] == 13:
            cl_expected[t_cluster[t]] += mip_sum
        else:
            a, c = (em_a, em_c) if t_pid[t] == 11 else (had_a, had_c)
            cl_expected[t_cluster[t]] += p
            cl_variance[t_cluster[t]] += a * a * p + (c * p) ** 2
    cl_energy = np.zeros(n_clusters)
    cl_ecal = np.zeros(n_clusters)
    cl_weight = np.zeros(n_clusters)
    cl_eta = np.zeros(n_clusters)
    cl_dphi = np.zeros(n_clusters)
    for i in range(c_energy.shape[0]):
        k = c_cluster[i]
        cl_energy[k] += c_energy[i]
        if c_layer[i] < 3:
            cl_ecal[k] += c_energy[i]
        w = max(c_energy[i], 0.0)
        cl_weight[k] += w
        cl_eta[k] += w * c_eta[i]
        cl_dphi[k] += w * _wrap(c_phi[i] - jet_phi)

    n_out = n_t + n_clusters
    px = np.empty(n_out, dtype=np.float32)
    py = np.empty(n_out, dtype=np.float32)
    pz = np.empty(n_out, dtype=np.float32)
    energy = np.empty(n_out, dtype=np.float32)
    pid = np.empty(n_out, dtype=np.int32)
    charge = np.empty(n_out, dtype=np.int8)
    d0 = np.empty(n_out, dtype=np.float32)
    dz = np.empty(n_out, dtype=np.float32)
    count = 0
    for t in range(n_t):
        if math.hypot(t_eta[t] - jet_eta, _wrap(t_phi[t] - jet_phi)) >= radius:
            continue
        mass = masses[0] if t_pid[t] == 11 else (masses[1] if t_pid[t] == 13 else masses[2])
        px[count] = t_pt[t] * math.cos(t_phi[t])
        py[count] = t_pt[t] * math.sin(t_phi[t])
        pz[count] = t_pt[t] * math.sinh(t_eta[t])
        energy[count] = math.sqrt((t_pt[t] * math.cosh(t_eta[t])) ** 2 + mass * mass)
        pid[count] = t_pid[t]
        charge[count] = t_charge[t]
        d0[count] = t_d0[t]
        dz[count] = t_z0[t]
        count += 1
    for k in range(n_clusters):
        residual = cl_energy[k] - cl_expected[k]
        if cl_weight[k] <= 0.0 or residual <= e_min or residual <= nsigma * math.sqrt(cl_variance[k]):
            continue
        eta = cl_eta[k] / cl_weight[k]
        phi = _wrap(jet_phi + cl_dphi[k] / cl_weight[k])
        if math.hypot(eta - jet_eta, _wrap(phi - jet_phi)) >= radius:
            continue
        pt = residual / math.cosh(eta)
        px[count] = pt * math.cos(phi)
        py[count] = pt * math.sin(phi)
        pz[count] = pt * math.sinh(eta)
        energy[count] = residual
        pid[count] = 22 if cl_ecal[k] >= photon_fraction * cl_energy[k] else 130
        charge[count] = 0
        d0[count] = 0.0
        dz[count] = 0.0
        count += 1
    return px[:count], py[:count], pz[:count], energy[:count], pid[:count], charge[:count], d0[:count], dz[:count]


def particle_flow(
    card: DetectorCard,
    track_pt, track_eta, track_phi, track_charge, track_d0, track_z0, track_pid, track_cluster,
    cell_eta, cell_phi, cell_layer, cell_energy, cell_cluster, n_clusters: int,
    jet_eta: float, jet_phi: float, radius: float,
) -> dict[str, np.ndarray]:
    """Particle-flow candidates within dR < radius of the jet axis.

    Args:
        card: detector card (``pflow`` settings, resolutions, MIP energies).
        track_*: reconstructed tracks, shape (n_tracks,); ``track_pid`` is 11, 13 or 211;
            ``track_cluster`` the cluster each track points at (-1 none).
        cell_*: the kept cells of every cluster (also those outside the jet), shape (n_cells,).
        n_clusters: number of clusters.
        jet_eta, jet_phi, radius: jet axis and the cone the candidates must lie in.

    Returns:
        The schema's ``pflow`` columns (``pfc_px`` ... ``pfc_dz``), charged candidates first.
    """
    f64 = np.float64
    out = _flow_kernel(
        np.asarray(track_pt, f64), np.asarray(track_eta, f64), np.asarray(track_phi, f64),
        np.asarray(track_charge, np.int64), np.asarray(track_d0, f64), np.asarray(track_z0, f64),
        np.asarray(track_pid, np.int64), np.asarray(track_cluster, np.int64),
        np.asarray(cell_eta, f64), np.asarray(cell_phi, f64), np.asarray(cell_layer, np.int64),
        np.asarray(cell_energy, f64), np.asarray(cell_cluster, np.int64), int(n_clusters),
        float(jet_eta), float(jet_phi), float(radius), *_flow_args(card),
    )
    return dict(zip(PFLOW_COLUMNS, out))


class _FlowArgs(NamedTuple):
    """The card's arguments of :func:`_flow_kernel`, in its order (GeV)."""

    mip_sum: float
    em_stochastic: float
    em_constant: float
    had_stochastic: float
    had_constant: float
    neutral_e_min: float
    neutral_nsigma: float
    photon_em_fraction: float
    masses: np.ndarray


def _flow_args(card: DetectorCard) -> _FlowArgs:
    """The card's arguments of :func:`_flow_kernel`, built once per card (cards are read-only)."""
    cached = card.__dict__.get("_flow_args")
    if cached is None:
        pf = card.pflow
        cached = _FlowArgs(
            float(sum(layer.mip for layer in card.layers)),
            float(card.ecal.stochastic), float(card.ecal.constant), float(card.hcal.stochastic), float(card.hcal.constant),
            float(pf.neutral_e_min), float(pf.neutral_nsigma), float(pf.photon_em_fraction), _MASSES,
        )
        card.__dict__["_flow_args"] = cached
    return cached
