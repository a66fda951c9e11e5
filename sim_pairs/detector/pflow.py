"""Particle flow: charged candidates from tracks, neutral candidates from what clusters keep over them.

A simplified version of the CMS / ATLAS particle-flow idea (CMS, arXiv 1706.04965):

* every track is a charged candidate, with the pion mass unless its truth particle
  is an electron (pid 11) or muon (13);
* every track points at (at most) one topo-cluster (``Cells.track_cluster``); the
  energy the matched tracks are expected to leave (their momentum; the MIP sum for
  muons) is subtracted from the cluster's energy, cluster by cluster. What is left
  is neutral energy when it exceeds both ``neutral_e_min`` and ``neutral_nsigma``
  times the expected spread of the tracks' deposits (the card's calorimeter
  resolution at the track momenta, EM for electrons, hadronic otherwise);
* a cluster split at local maxima (``cluster_split``) shares that neutral energy
  among its sub-clusters in proportion to each one's excess over its own tracks
  (the sub-cluster of each track: ``Cells.track_subcluster``), one neutral candidate
  per sub-cluster with at least ``neutral_e_min``: the photons and neutral hadrons of
  a jet keep their spread, and the total neutral energy is the cluster's, as without
  splitting. The same subtraction per sub-cluster alone would turn upward shower
  fluctuations into neutrals and drop downward ones, biasing the jet energy;
* a neutral candidate is massless, points at its (sub-)cluster's energy-weighted
  barycentre, and is a photon (22) when at least ``photon_em_fraction`` of that
  energy is in the ECAL, else a neutral hadron (130).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from .card import DetectorCard
from .card_cache import per_card
from .geometry import _wrap

__all__ = ["CHARGED_MASS", "particle_flow"]

#: Mass (GeV) given to a charged candidate by its type.
CHARGED_MASS = {11: 0.000511, 13: 0.10566, 211: 0.13957}
_MASSES = np.array([CHARGED_MASS[11], CHARGED_MASS[13], CHARGED_MASS[211]])
#: Names of the arrays :func:`_flow_kernel` returns, in order (the schema's ``pflow`` columns).
PFLOW_COLUMNS = ("pfc_px", "pfc_py", "pfc_pz", "pfc_energy", "pfc_pid", "pfc_charge", "pfc_d0", "pfc_dz")


@numba.njit(cache=True, error_model="numpy")
def _neutral_shares(residual, lo, hi, s_energy, s_expected, s_variance, s_weight, nsigma, e_min, out):
    """Share a cluster's neutral energy among its sub-clusters lo..hi-1 into ``out``; False if none has any excess.

    Each sub-cluster's excess is its energy minus its tracks' expected energy and
    ``nsigma`` times their spread (or, if no sub-cluster has such an excess, minus
    the expected energy alone); the residual goes to the sub-clusters in proportion,
    those whose share would fall below ``e_min`` giving theirs to the others.
    """
    total = 0.0
    for loose in range(2):
        total = 0.0
        for s in range(lo, hi):
            x = s_energy[s] - s_expected[s] - (nsigma * math.sqrt(s_variance[s]) if loose == 0 else 0.0)
            out[s] = x if x > 0.0 and s_weight[s] > 0.0 else 0.0
            total += out[s]
        if total > 0.0:
            break
    if total <= 0.0:
        return False
    kept = 0.0
    best = lo
    for s in range(lo, hi):
        if out[s] > out[best]:
            best = s
        if residual * out[s] >= e_min * total:
            kept += out[s]
    if kept <= 0.0:
        kept = out[best]
    for s in range(lo, hi):
        keep = residual * out[s] >= e_min * total or s == best
        out[s] = residual * out[s] / kept if keep else 0.0
    return True


@numba.njit(cache=True, error_model="numpy")
def _flow_kernel(t_pt, t_eta, t_phi, t_charge, t_d0, t_z0, t_pid, t_cluster, t_sub,
                 c_eta, c_phi, c_layer, c_energy, c_cluster, n_clusters, c_sub1, c_sub2, c_share, sub_offsets,
                 jet_eta, jet_phi, radius, flow):
    """The candidates (see :func:`particle_flow`); ``flow`` is the card's :class:`_FlowArgs` (GeV)."""
    mip_sum, e_min, nsigma, photon_fraction, masses = (flow.mip_sum, flow.neutral_e_min, flow.neutral_nsigma,
                                                       flow.photon_em_fraction, flow.masses)
    em_a, em_c, had_a, had_c = flow.em_stochastic, flow.em_constant, flow.had_stochastic, flow.had_constant
    n_t = t_pt.shape[0]
    n_sub = sub_offsets[n_clusters]
    cl_expected = np.zeros(n_clusters)
    cl_variance = np.zeros(n_clusters)
    s_expected = np.zeros(n_sub)
    s_variance = np.zeros(n_sub)
    for t in range(n_t):
        if t_cluster[t] < 0:
            continue
        p = t_pt[t] * math.cosh(t_eta[t])
        if t_pid[t] == 13:
            expected, variance = mip_sum, 0.0
        else:
            a, c = (em_a, em_c) if t_pid[t] == 11 else (had_a, had_c)
            expected, variance = p, a * a * p + (c * p) ** 2
        cl_expected[t_cluster[t]] += expected
        cl_variance[t_cluster[t]] += variance
        s_expected[t_sub[t]] += expected
        s_variance[t_sub[t]] += variance
    cl_energy = np.zeros(n_clusters)
    cl_ecal = np.zeros(n_clusters)
    cl_weight = np.zeros(n_clusters)
    cl_eta = np.zeros(n_clusters)
    cl_dphi = np.zeros(n_clusters)
    s_energy = np.zeros(n_sub)
    s_ecal = np.zeros(n_sub)
    s_weight = np.zeros(n_sub)
    s_eta = np.zeros(n_sub)
    s_dphi = np.zeros(n_sub)
    for i in range(c_energy.shape[0]):
        k = c_cluster[i]
        ecal = c_layer[i] < 3
        dphi = _wrap(c_phi[i] - jet_phi)
        cl_energy[k] += c_energy[i]
        if ecal:
            cl_ecal[k] += c_energy[i]
        w = max(c_energy[i], 0.0)
        cl_weight[k] += w
        cl_eta[k] += w * c_eta[i]
        cl_dphi[k] += w * dphi
        if sub_offsets[k + 1] - sub_offsets[k] > 1:
            for side in range(2):
                s = c_sub1[i] if side == 0 else c_sub2[i]
                if s < 0:
                    continue
                f = c_share[i] if side == 0 else 1.0 - c_share[i]
                s_energy[s] += f * c_energy[i]
                if ecal:
                    s_ecal[s] += f * c_energy[i]
                s_weight[s] += f * w
                s_eta[s] += f * w * c_eta[i]
                s_dphi[s] += f * w * dphi

    n_out = n_t + n_sub
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
    share = np.zeros(n_sub)
    for k in range(n_clusters):
        residual = cl_energy[k] - cl_expected[k]
        if cl_weight[k] <= 0.0 or residual <= e_min or residual <= nsigma * math.sqrt(cl_variance[k]):
            continue
        lo, hi = sub_offsets[k], sub_offsets[k + 1]
        if hi - lo > 1 and _neutral_shares(residual, lo, hi, s_energy, s_expected, s_variance, s_weight, nsigma,
                                           e_min, share):
            for s in range(lo, hi):
                if share[s] > 0.0:
                    photon = s_ecal[s] >= photon_fraction * s_energy[s]
                    count = _neutral(share[s], s_eta[s] / s_weight[s], _wrap(jet_phi + s_dphi[s] / s_weight[s]),
                                     photon, jet_eta, jet_phi, radius, count, px, py, pz, energy, pid, charge, d0, dz)
        else:  # one shower, or no sub-cluster stands out: the cluster's barycentre
            photon = cl_ecal[k] >= photon_fraction * cl_energy[k]
            count = _neutral(residual, cl_eta[k] / cl_weight[k], _wrap(jet_phi + cl_dphi[k] / cl_weight[k]),
                             photon, jet_eta, jet_phi, radius, count, px, py, pz, energy, pid, charge, d0, dz)
    return px[:count], py[:count], pz[:count], energy[:count], pid[:count], charge[:count], d0[:count], dz[:count]


@numba.njit(cache=True, inline="always")
def _neutral(e, eta, phi, photon, jet_eta, jet_phi, radius, count, px, py, pz, energy, pid, charge, d0, dz):
    """Append a massless neutral candidate of energy e at (eta, phi) if it is inside the cone; the new count."""
    if math.hypot(eta - jet_eta, _wrap(phi - jet_phi)) >= radius:
        return count
    pt = e / math.cosh(eta)
    px[count] = pt * math.cos(phi)
    py[count] = pt * math.sin(phi)
    pz[count] = pt * math.sinh(eta)
    energy[count] = e
    pid[count] = 22 if photon else 130
    charge[count] = 0
    d0[count] = 0.0
    dz[count] = 0.0
    return count + 1


def particle_flow(
    card: DetectorCard,
    track_pt, track_eta, track_phi, track_charge, track_d0, track_z0, track_pid, track_cluster,
    cell_eta, cell_phi, cell_layer, cell_energy, cell_cluster, n_clusters: int,
    jet_eta: float, jet_phi: float, radius: float,
    *, cell_subcluster=None, cell_subcluster2=None, cell_share=None, subcluster_offsets=None, track_subcluster=None,
) -> dict[str, np.ndarray]:
    """Particle-flow candidates within dR < radius of the jet axis.

    Args:
        card: detector card (``pflow`` settings, resolutions, MIP energies).
        track_*: reconstructed tracks, shape (n_tracks,); ``track_pid`` is 11, 13 or 211;
            ``track_cluster`` the cluster each track points at (-1 none).
        cell_*: the kept cells of every cluster (also those outside the jet), shape (n_cells,).
        n_clusters: number of clusters.
        jet_eta, jet_phi, radius: jet axis and the cone the candidates must lie in.
        cell_subcluster, cell_subcluster2, cell_share, subcluster_offsets, track_subcluster:
            the sub-clusters of :class:`sim_pairs.detector.topo_cluster.Cells`; all None
            (the default): every cluster is one sub-cluster.

    Returns:
        The schema's ``pflow`` columns (``pfc_px`` ... ``pfc_dz``), charged candidates first.
    """
    f64, i64 = np.float64, np.int64
    cell_cluster = np.asarray(cell_cluster, i64)
    track_cluster = np.asarray(track_cluster, i64)
    if subcluster_offsets is None:
        cell_subcluster, cell_subcluster2 = cell_cluster, np.full(len(cell_cluster), -1, dtype=i64)
        cell_share, subcluster_offsets, track_subcluster = np.ones(len(cell_cluster)), np.arange(int(n_clusters) + 1), track_cluster
    out = _flow_kernel(
        np.asarray(track_pt, f64), np.asarray(track_eta, f64), np.asarray(track_phi, f64),
        np.asarray(track_charge, i64), np.asarray(track_d0, f64), np.asarray(track_z0, f64),
        np.asarray(track_pid, i64), track_cluster, np.asarray(track_subcluster, i64),
        np.asarray(cell_eta, f64), np.asarray(cell_phi, f64), np.asarray(cell_layer, i64),
        np.asarray(cell_energy, f64), cell_cluster, int(n_clusters), np.asarray(cell_subcluster, i64),
        np.asarray(cell_subcluster2, i64), np.asarray(cell_share, f64), np.asarray(subcluster_offsets, i64),
        float(jet_eta), float(jet_phi), float(radius), _flow_args(card),
    )
    return dict(zip(PFLOW_COLUMNS, out))


class _FlowArgs(NamedTuple):
    """The card's numbers :func:`_flow_kernel` uses, by name (GeV)."""

    mip_sum: float
    em_stochastic: float
    em_constant: float
    had_stochastic: float
    had_constant: float
    neutral_e_min: float
    neutral_nsigma: float
    photon_em_fraction: float
    masses: np.ndarray


@per_card
def _flow_args(card: DetectorCard) -> _FlowArgs:
    """The card's arguments of :func:`_flow_kernel`, built once per card."""
    pf = card.pflow
    return _FlowArgs(
        float(sum(layer.mip for layer in card.layers)),
        float(card.ecal.stochastic), float(card.ecal.constant), float(card.hcal.stochastic), float(card.hcal.constant),
        float(pf.neutral_e_min), float(pf.neutral_nsigma), float(pf.photon_em_fraction), _MASSES,
    )
