"""One jet through the detector: tracks, calorimeter cells, topo-clusters and particle flow.

This is the function the generation driver calls once per (jet, detector replica):
the same truth particles with a different ``rng`` give a detector replica (REFERENCE
section 1), the same ``rng`` state gives the same bytes.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..event import Particles
from .calorimeter import particle_deposits
from .card import DetectorCard
from .pflow import particle_flow
from .topo_cluster import simulate_cells
from .tracker import reconstruct_tracks

__all__ = ["simulate_jet"]

#: Extra dR beyond the cell window within which particles are simulated: a 1 GeV
#: track turns by 0.3 rad on its way to the ECAL, a photon shower is < 0.05 wide.
_BEND_ALLOWANCE = 0.5


def simulate_jet(
    final: Particles,
    jet_eta: float,
    jet_phi: float,
    radius: float,
    card: DetectorCard,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Simulate the detector response to the particles around one jet.

    Cells are simulated in a window of half-width radius + ``card.window_margin``
    around the jet axis and particles within dR < radius + window_margin + 0.5 of it
    (at the production point), so showers, bent tracks and clusters spilling into the
    jet are included; the output holds the cells, tracks and candidates inside the jet,
    dR < radius of the axis (cell centres, track directions at the vertex,
    candidate directions).

    Args:
        final: all final-state particles of the event (GeV, mm; neutrinos included).
        jet_eta, jet_phi: jet axis.
        radius: jet radius R.
        card: the detector card (:func:`sim_pairs.detector.load_card`).
        rng: randomness of this replica.

    Returns:
        The ``detector`` and ``pflow`` columns of ``sim_pairs.schema`` for this jet:
        ``cell_*`` (n_cells,), ``track_*`` (n_tracks,), ``track_eta_layer`` and
        ``track_phi_layer`` (n_tracks, 6) (NaN where a track curls up before a
        layer), ``pfc_*`` (n_candidates,), with the schema's dtypes.
    """
    half_width = radius + card.window_margin
    arrays = [np.ascontiguousarray(a, np.float64) for a in (final.px, final.py, final.pz, final.vx, final.vy, final.vz)]
    idx, z0 = _near_jet(*arrays, np.ascontiguousarray(final.pid, np.int64), float(jet_eta), float(jet_phi),
                        half_width + _BEND_ALLOWANCE)
    px, py, pz, e = final.px[idx], final.py[idx], final.pz[idx], final.e[idx]
    pid, charge = final.pid[idx], np.asarray(final.charge, np.int64)[idx]

    tracks = reconstruct_tracks(card, px, py, pz, charge, final.vx[idx], final.vy[idx], final.vz[idx], rng)
    deposits = particle_deposits(card, px, py, pz, e, pid, charge, z0, rng)
    cells = simulate_cells(card, deposits, jet_eta, jet_phi, half_width, tracks.eta_layer, tracks.phi_layer, rng)

    apid = np.abs(pid[tracks.particle])
    track_pid = np.where(apid == 11, 11, np.where(apid == 13, 13, 211))
    pflow = particle_flow(
        card, tracks.pt, tracks.eta, tracks.phi, tracks.charge, tracks.d0, tracks.z0, track_pid, cells.track_cluster,
        cells.eta, cells.phi, cells.layer, cells.energy, cells.cluster, cells.n_clusters,
        jet_eta, jet_phi, radius,
    )

    in_jet = _in_cone(cells.eta, cells.phi, jet_eta, jet_phi, radius)
    t_in = _in_cone(tracks.eta, tracks.phi, jet_eta, jet_phi, radius)
    f32 = np.float32
    out = {
        "cell_layer": cells.layer[in_jet].astype(np.int8),
        "cell_eta": cells.eta[in_jet].astype(f32),
        "cell_phi": cells.phi[in_jet].astype(f32),
        "cell_x": cells.x[in_jet].astype(f32),
        "cell_y": cells.y[in_jet].astype(f32),
        "cell_z": cells.z[in_jet].astype(f32),
        "cell_energy": cells.energy[in_jet].astype(f32),
        "track_pt": tracks.pt[t_in].astype(f32),
        "track_eta": tracks.eta[t_in].astype(f32),
        "track_phi": tracks.phi[t_in].astype(f32),
        "track_charge": tracks.charge[t_in].astype(np.int8),
        "track_d0": tracks.d0[t_in].astype(f32),
        "track_z0": tracks.z0[t_in].astype(f32),
        "track_eta_layer": tracks.eta_layer[t_in].astype(f32),
        "track_phi_layer": tracks.phi_layer[t_in].astype(f32),
    }
    out.update(pflow)
    return out


@numba.njit(cache=True)
def _near_jet(px, py, pz, vx, vy, vz, pid, jet_eta, jet_phi, reach):
    """Indices of visible particles within dR < reach of the axis, and their straight-line z0 (mm)."""
    n = px.shape[0]
    idx = np.empty(n, dtype=np.int64)
    z0 = np.empty(n)
    count = 0
    for i in range(n):
        apid = abs(pid[i])
        if apid == 12 or apid == 14 or apid == 16 or apid == 1000022 or apid == 1000039:
            continue
        pt2 = px[i] * px[i] + py[i] * py[i]
        if pt2 <= 0.0:
            continue
        pt = math.sqrt(pt2)
        deta = math.asinh(pz[i] / pt) - jet_eta
        dphi = (math.atan2(py[i], px[i]) - jet_phi + math.pi) % (2.0 * math.pi) - math.pi
        if deta * deta + dphi * dphi >= reach * reach:
            continue
        idx[count] = i
        z0[count] = vz[i] - (vx[i] * px[i] + vy[i] * py[i]) * pz[i] / pt2
        count += 1
    return idx[:count], z0[:count]


@numba.njit(cache=True)
def _in_cone(eta, phi, jet_eta, jet_phi, radius):
    out = np.empty(eta.shape[0], dtype=np.bool_)
    for i in range(eta.shape[0]):
        dphi = (phi[i] - jet_phi + math.pi) % (2.0 * math.pi) - math.pi
        out[i] = (eta[i] - jet_eta) ** 2 + dphi * dphi < radius * radius
    return out
