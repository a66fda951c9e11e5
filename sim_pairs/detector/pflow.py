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

import numpy as np

from .card import DetectorCard
from .geometry import wrap_phi

__all__ = ["CHARGED_MASS", "particle_flow"]

#: Mass (GeV) given to a charged candidate by its type.
CHARGED_MASS = {11: 0.000511, 13: 0.10566, 211: 0.13957}


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
    pf = card.pflow
    p = track_pt * np.cosh(track_eta)
    mass = np.where(track_pid == 11, CHARGED_MASS[11], np.where(track_pid == 13, CHARGED_MASS[13], CHARGED_MASS[211]))
    in_cone = np.hypot(track_eta - jet_eta, wrap_phi(track_phi - jet_phi)) < radius

    mip_sum = sum(layer.mip for layer in card.layers)
    expected = np.where(track_pid == 13, mip_sum, p)
    response = np.where(track_pid == 11, 1, 0)
    a = np.where(response == 1, card.ecal.stochastic, card.hcal.stochastic)
    c = np.where(response == 1, card.ecal.constant, card.hcal.constant)
    variance = np.where(track_pid == 13, 0.0, a**2 * p + (c * p) ** 2)
    matched = track_cluster >= 0
    cl_expected = np.bincount(track_cluster[matched], expected[matched], minlength=n_clusters)
    cl_variance = np.bincount(track_cluster[matched], variance[matched], minlength=n_clusters)

    cl_energy = np.bincount(cell_cluster, cell_energy, minlength=n_clusters)
    cl_ecal = np.bincount(cell_cluster, np.where(cell_layer < 3, cell_energy, 0.0), minlength=n_clusters)
    weight = np.maximum(cell_energy, 0.0)
    cl_weight = np.bincount(cell_cluster, weight, minlength=n_clusters)
    safe = np.where(cl_weight > 0, cl_weight, 1.0)
    cl_eta = np.bincount(cell_cluster, weight * cell_eta, minlength=n_clusters) / safe
    cl_phi = jet_phi + np.bincount(cell_cluster, weight * wrap_phi(cell_phi - jet_phi), minlength=n_clusters) / safe
    residual = cl_energy - cl_expected
    neutral = (
        (cl_weight > 0)
        & (residual > pf.neutral_e_min)
        & (residual > pf.neutral_nsigma * np.sqrt(cl_variance))
        & (np.hypot(cl_eta - jet_eta, wrap_phi(cl_phi - jet_phi)) < radius)
    )
    n_e, n_eta, n_phi = residual[neutral], cl_eta[neutral], wrap_phi(cl_phi[neutral])
    n_pid = np.where(cl_ecal[neutral] >= pf.photon_em_fraction * cl_energy[neutral], 22, 130)

    t_pt, t_eta, t_phi = track_pt[in_cone], track_eta[in_cone], track_phi[in_cone]
    n_pt = n_e / np.cosh(n_eta)
    pt = np.concatenate([t_pt, n_pt])
    eta = np.concatenate([t_eta, n_eta])
    phi = np.concatenate([t_phi, n_phi])
    energy = np.concatenate([np.sqrt((t_pt * np.cosh(t_eta)) ** 2 + mass[in_cone] ** 2), n_e])
    zeros = np.zeros(len(n_e))
    return {
        "pfc_px": (pt * np.cos(phi)).astype(np.float32),
        "pfc_py": (pt * np.sin(phi)).astype(np.float32),
        "pfc_pz": (pt * np.sinh(eta)).astype(np.float32),
        "pfc_energy": energy.astype(np.float32),
        "pfc_pid": np.concatenate([track_pid[in_cone], n_pid]).astype(np.int32),
        "pfc_charge": np.concatenate([track_charge[in_cone], zeros]).astype(np.int8),
        "pfc_d0": np.concatenate([track_d0[in_cone], zeros]).astype(np.float32),
        "pfc_dz": np.concatenate([track_z0[in_cone], zeros]).astype(np.float32),
    }
