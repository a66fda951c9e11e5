"""One jet through the detector: tracks, calorimeter cells, topo-clusters split at local maxima, particle flow.

This is the function the generation driver calls once per (jet, detector replica):
the same truth particles with a different ``rng`` give a detector replica (REFERENCE
section 1), the same ``rng`` state gives the same bytes.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..event import Particles
from .calorimeter import _deposit_args, _deposit_kernel
from .card import DetectorCard
from .card_cache import per_card
from .cell_index import POSITION_COLUMNS
from .cell_window import _window_bins, _workspace, window_capacity
from .geometry import _wrap
from .pflow import PFLOW_COLUMNS, _flow_args, _flow_kernel
from .readout import _round_mantissa
from .topo_cluster import _cluster_kernel, _topo_args
from .tracker import _track_args, _track_kernel

__all__ = ["simulate_jet"]

#: Extra dR beyond the cell window within which particles are simulated: a 1 GeV
#: track turns by 0.3 rad on its way to the ECAL, a photon shower is < 0.05 wide.
_BEND_ALLOWANCE = 0.5
#: The columns :func:`_simulate_kernel` makes, in order: the cell index and energy the
#: schema stores, then the cell positions it derives from the index (``POSITION_COLUMNS``),
#: kept so that a test can check :func:`decode_cells` against the kernel.
_COLUMNS = ("cell_index", "cell_energy", *POSITION_COLUMNS,
            "track_pt", "track_eta", "track_phi", "track_charge", "track_d0", "track_z0",
            "track_eta_layer", "track_phi_layer") + PFLOW_COLUMNS


def simulate_jet(
    final: Particles,
    jet_eta: float,
    jet_phi: float,
    radius: float,
    card: DetectorCard,
    rng: np.random.Generator,
    *,
    cell_positions: bool = False,
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
        cell_positions: also return ``cell_layer``, ``cell_eta``, ``cell_phi``,
            ``cell_x``, ``cell_y``, ``cell_z`` (not stored: they follow from
            ``cell_index`` and the card, :func:`sim_pairs.detector.cell_index.decode_cells`).

    Returns:
        The ``detector`` and ``pflow`` columns of ``sim_pairs.schema`` for this jet:
        ``cell_index``, ``cell_energy`` (n_cells,; in increasing ``cell_index``, energies
        digitised to ``card.cell_energy_bits``), ``track_*`` (n_tracks,),
        ``track_eta_layer`` and ``track_phi_layer`` (n_tracks, 6) (NaN where a track
        curls up before a layer), ``pfc_*`` (n_candidates,), with the schema's dtypes.
    """
    half_width = radius + card.window_margin
    px, py, pz, e, vx, vy, vz = (np.ascontiguousarray(a, np.float64)
                                 for a in (final.px, final.py, final.pz, final.e, final.vx, final.vy, final.vz))
    pid, charge = np.ascontiguousarray(final.pid), np.ascontiguousarray(final.charge)
    idx, z0 = _near_jet(px, py, pz, vx, vy, vz, pid, float(jet_eta), float(jet_phi), half_width + _BEND_ALLOWANCE)
    # the draws of reconstruct_tracks, particle_deposits and simulate_cells, in that order
    n = idx.shape[0]
    uniform = rng.random(n)
    normal = rng.standard_normal((7, n))  # the same stream as (5, n) then (2, n), in one call
    track_normal, calo_normal = normal[:5], normal[5:]
    depth_int = rng.exponential(1.0, n)
    topo = _topo_args(card)
    columns = _simulate_kernel(
        idx, z0, px, py, pz, e, pid, charge, vx, vy, vz, uniform, track_normal, calo_normal, depth_int, rng,
        float(jet_eta), float(jet_phi), float(radius), float(half_width),
        _workspace(_capacity(card, half_width), topo.max_neighbours),
        # the card's numbers, grouped and named per stage
        _track_args(card), _deposit_args(card), topo, _flow_args(card),
    )
    out = dict(zip(_COLUMNS, columns))
    if not cell_positions:
        for name in POSITION_COLUMNS:
            del out[name]
    return out


@numba.njit(cache=True, error_model="numpy")
def _simulate_kernel(idx, z0, px, py, pz, e, pid, charge, vx, vy, vz, uniform, track_normal, calo_normal, depth_int,
                     rng, jet_eta, jet_phi, radius, half_width, workspace, track_args, deposit_args, topo_args,
                     flow_args):
    """Tracks, deposits, cells and particle flow of one jet in one compiled call (no Python between the stages).

    The same kernels as :func:`reconstruct_tracks`, :func:`particle_deposits`,
    :func:`simulate_cells` and :func:`particle_flow`, given the random numbers those
    draw, so the output is the same bytes; returns the arrays of ``_COLUMNS``.
    """
    px, py, pz, e, vx, vy, vz = px[idx], py[idx], pz[idx], e[idx], vx[idx], vy[idx], vz[idx]
    pid = pid[idx].astype(np.int64)
    charge = charge[idx].astype(np.int64)
    t_pt, t_eta, t_phi, t_charge, t_d0, t_z0, t_eta_layer, t_phi_layer, t_particle = _track_kernel(
        px, py, pz, charge, vx, vy, vz, uniform, track_normal, track_args)
    d_layer, d_eta, d_phi, d_e, d_width, _ = _deposit_kernel(
        px, py, pz, e, pid, charge, z0, calo_normal, depth_int, deposit_args)
    lo_eta, n_eta, lo_phi, n_phi = _window_bins(topo_args.n_cells, jet_eta, jet_phi, half_width)
    (c_layer, c_ieta, c_iphi, c_e, c_cluster, n_clusters, t_cluster, c_eta, c_phi,
     c_sub1, c_sub2, c_share, sub_offsets, t_sub) = _cluster_kernel(
        rng, lo_eta, n_eta, lo_phi, n_phi, d_layer, d_eta, d_phi, d_e, d_width, t_eta_layer, t_phi_layer, workspace,
        topo_args)

    n_t = t_pt.shape[0]
    t_pid = np.empty(n_t, dtype=np.int64)
    for t in range(n_t):
        apid = abs(pid[t_particle[t]])
        t_pid[t] = apid if apid == 11 or apid == 13 else 211
    pfc = _flow_kernel(t_pt, t_eta, t_phi, t_charge, t_d0, t_z0, t_pid, t_cluster, t_sub,
                       c_eta, c_phi, c_layer, c_e, c_cluster, n_clusters, c_sub1, c_sub2, c_share, sub_offsets,
                       jet_eta, jet_phi, radius, flow_args)

    # cells and tracks inside the jet, as float32 (the schema's dtypes); cell positions from the card's
    # tables; cells in increasing index (their indices then compress to a third), energies digitised
    centres = topo_args.centres
    n_cells = topo_args.n_cells
    first = np.zeros(n_cells.shape[0], dtype=np.int64)  # index of each layer's first cell (cell_index.py)
    for l in range(1, n_cells.shape[0]):
        first[l] = first[l - 1] + n_cells[l - 1] * n_cells[l - 1]
    cells = _index_order(np.nonzero(_in_cone(c_eta, c_phi, jet_eta, jet_phi, radius))[0], c_layer, c_ieta, c_iphi,
                         lo_eta, n_eta)
    n_c = cells.shape[0]
    cell_index = np.empty(n_c, dtype=np.int32)
    cell_layer = np.empty(n_c, dtype=np.int8)
    cell_f32 = np.empty((6, n_c), dtype=np.float32)  # eta, phi, x, y, z, energy
    for j in range(n_c):
        i = cells[j]
        l = c_layer[i]
        rho = centres.rho[l, c_ieta[i]]
        cell_index[j] = first[l] + c_ieta[i] * n_cells[l] + c_iphi[i]
        cell_layer[j] = l
        cell_f32[0, j] = c_eta[i]
        cell_f32[1, j] = c_phi[i]
        cell_f32[2, j] = rho * centres.cos_phi[l, c_iphi[i]]
        cell_f32[3, j] = rho * centres.sin_phi[l, c_iphi[i]]
        cell_f32[4, j] = centres.z[l, c_ieta[i]]
        cell_f32[5, j] = c_e[i]
    _round_mantissa(cell_f32[5], topo_args.energy_bits)
    tracks = np.nonzero(_in_cone(t_eta, t_phi, jet_eta, jet_phi, radius))[0]
    f32 = np.float32
    return (cell_index, cell_f32[5], cell_layer, cell_f32[0], cell_f32[1], cell_f32[2], cell_f32[3], cell_f32[4],
            t_pt[tracks].astype(f32), t_eta[tracks].astype(f32), t_phi[tracks].astype(f32), t_charge[tracks],
            t_d0[tracks].astype(f32), t_z0[tracks].astype(f32),
            t_eta_layer[tracks].astype(f32), t_phi_layer[tracks].astype(f32), *pfc)


_capacity = per_card(window_capacity)  # remembered per card and half-width


@numba.njit(cache=True, error_model="numpy")
def _index_order(cells, layer, ieta, iphi, lo_eta, n_eta):
    """``cells`` reordered by increasing card index, i.e. by (layer, ieta, iphi).

    A counting sort by (layer, eta row of the window), then an insertion sort by phi
    within each row (a few cells each): linear in the cells, where numba's argsort of
    ~1200 indices took 45 us, 10% of the detector.
    """
    n_layers = lo_eta.shape[0]
    row0 = np.zeros(n_layers + 1, dtype=np.int64)
    for l in range(n_layers):
        row0[l + 1] = row0[l] + n_eta[l]
    start = np.zeros(row0[n_layers] + 1, dtype=np.int64)
    for i in cells:
        start[row0[layer[i]] + ieta[i] - lo_eta[layer[i]] + 1] += 1
    for r in range(row0[n_layers]):
        start[r + 1] += start[r]
    fill = start[:-1].copy()
    out = np.empty(cells.shape[0], dtype=np.int64)
    for i in cells:
        r = row0[layer[i]] + ieta[i] - lo_eta[layer[i]]
        out[fill[r]] = i
        fill[r] += 1
    for r in range(row0[n_layers]):
        for j in range(start[r] + 1, start[r + 1]):
            cell = out[j]
            k = j - 1
            while k >= start[r] and iphi[out[k]] > iphi[cell]:
                out[k + 1] = out[k]
                k -= 1
            out[k + 1] = cell
    return out


@numba.njit(cache=True, error_model="numpy")
def _near_jet(px, py, pz, vx, vy, vz, pid, jet_eta, jet_phi, reach):
    """Indices of visible particles within dR < reach of the axis, and their straight-line z0 (mm)."""
    n = px.shape[0]
    idx = np.empty(n, dtype=np.int64)
    z0 = np.empty(n)
    count = 0
    # Most particles of an event are far from the jet in eta: rule them out on pz / pT
    # against bounds a hair wider than the reach, before the asinh and atan2 that decide.
    ratio_lo = math.sinh(jet_eta - reach - 1e-6)
    ratio_hi = math.sinh(jet_eta + reach + 1e-6)
    for i in range(n):
        apid = abs(pid[i])
        if apid == 12 or apid == 14 or apid == 16 or apid == 1000022 or apid == 1000039:
            continue
        pt2 = px[i] * px[i] + py[i] * py[i]
        if pt2 <= 0.0:
            continue
        pt = math.sqrt(pt2)
        ratio = pz[i] / pt
        if ratio < ratio_lo or ratio > ratio_hi:
            continue
        deta = math.asinh(ratio) - jet_eta
        if deta * deta >= reach * reach:
            continue
        dphi = _wrap(math.atan2(py[i], px[i]) - jet_phi)
        if deta * deta + dphi * dphi >= reach * reach:
            continue
        idx[count] = i
        z0[count] = vz[i] - (vx[i] * px[i] + vy[i] * py[i]) * pz[i] / pt2
        count += 1
    return idx[:count], z0[:count]


@numba.njit(cache=True, error_model="numpy")
def _in_cone(eta, phi, jet_eta, jet_phi, radius):
    out = np.empty(eta.shape[0], dtype=np.bool_)
    for i in range(eta.shape[0]):
        dphi = _wrap(phi[i] - jet_phi)
        out[i] = (eta[i] - jet_eta) ** 2 + dphi * dphi < radius * radius
    return out
