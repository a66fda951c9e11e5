"""One jet through the detector: tracks, calorimeter cells, topo-clusters and particle flow.

This is the function the generation driver calls once per (jet, detector replica):
the same truth particles with a different ``rng`` give a detector replica (REFERENCE
section 1), the same ``rng`` state gives the same bytes.
"""

from __future__ import annotations

import numpy as np

from ..event import Particles
from .calorimeter import is_invisible, particle_deposits
from .card import DetectorCard
from .geometry import cell_centre, cell_xyz, wrap_phi
from .pflow import particle_flow
from .topo_cluster import simulate_cells
from .tracker import impact_parameters, reconstruct_tracks

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
    particle_reach = half_width + _BEND_ALLOWANCE
    pt = np.hypot(final.px, final.py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(final.pz / np.maximum(pt, 1e-12))
    phi = np.arctan2(final.py, final.px)
    near = (
        (pt > 0)
        & (np.hypot(eta - jet_eta, wrap_phi(phi - jet_phi)) < particle_reach)
        & ~is_invisible(np.abs(final.pid))
    )
    p = final.select(near)
    px, py, pz, e = (np.asarray(a, dtype=np.float64) for a in (p.px, p.py, p.pz, p.e))
    charge = np.asarray(p.charge, dtype=np.int64)
    vx, vy, vz = (np.asarray(a, dtype=np.float64) for a in (p.vx, p.vy, p.vz))

    tracks = reconstruct_tracks(card, px, py, pz, charge, vx, vy, vz, rng)
    _, z0 = impact_parameters(vx, vy, vz, px, py, pz)
    deposits = particle_deposits(card, px, py, pz, e, p.pid, charge, z0, rng)
    cells = simulate_cells(card, deposits, jet_eta, jet_phi, half_width, tracks.eta_layer, tracks.phi_layer, rng)

    n_per_layer = np.array([layer.n_cells for layer in card.layers])[cells.layer]
    cell_eta, cell_phi = cell_centre(n_per_layer, cells.ieta, cells.iphi)
    apid = np.abs(p.pid[tracks.particle])
    track_pid = np.where(apid == 11, 11, np.where(apid == 13, 13, 211))
    pflow = particle_flow(
        card, tracks.pt, tracks.eta, tracks.phi, tracks.charge, tracks.d0, tracks.z0, track_pid, cells.track_cluster,
        cell_eta, cell_phi, cells.layer, cells.energy, cells.cluster, cells.n_clusters,
        jet_eta, jet_phi, radius,
    )

    in_jet = np.hypot(cell_eta - jet_eta, wrap_phi(cell_phi - jet_phi)) < radius
    cell_eta, cell_phi, layer = cell_eta[in_jet], cell_phi[in_jet], cells.layer[in_jet]
    x, y, z = cell_xyz(card, layer, cell_eta, cell_phi)
    t_in = np.hypot(tracks.eta - jet_eta, wrap_phi(tracks.phi - jet_phi)) < radius
    f32 = np.float32
    out = {
        "cell_layer": layer.astype(np.int8),
        "cell_eta": cell_eta.astype(f32),
        "cell_phi": cell_phi.astype(f32),
        "cell_x": x.astype(f32),
        "cell_y": y.astype(f32),
        "cell_z": z.astype(f32),
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
