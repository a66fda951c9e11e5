"""Cells, noise and topological clustering around one jet (one numba-compiled kernel).

The kernel works on a dense (eta, phi) window of cells per layer around the jet,
half-width ``radius + window_margin``; a cluster cannot grow past the window edge.

1. **Lateral spread** of the deposits over the cells (``lateral_spread``): a 2D
   Gaussian profile integrated over each cell, its centre fluctuating.
2. **Noise, only where it matters.** Every cell carries Gaussian noise N(0, sigma),
   but a cell's noise can change the output only if the cell is a seed
   (E > seed * sigma) or is reached by a growing cluster. So the kernel draws
   (a) the number of pure-noise seeds in each layer's window from Poisson(n_cells * Q)
   with Q = P(Z > seed), at uniformly chosen cells, with values from the Gaussian tail
   above the seed threshold (Marsaglia's tail method), and (b) the noise of every
   other cell lazily, the first time the clustering looks at it, from the Gaussian
   truncated below the seed threshold. A cell with a small signal s < 1 sigma is a
   seed only if its noise falls in (seed - s, seed) (probability below 2e-4); that is
   decided by thinning, without drawing the noise of every such cell, and a cell not
   made a seed draws its noise later truncated below seed - s. This is exact too. Each cell's noise is then distributed as the
   full Gaussian (up to the Poisson approximation of Binomial(n_cells, Q), and
   ignoring two seeds drawn in one cell, a 1e-11 effect), at a cost proportional to
   the cells near energy rather than to the window size. The noise-only cell rate is
   therefore n_window_cells * Q seeds per layer, each grown into a cluster by the
   same rules as signal.
3. **Topo-clustering** (ATLAS, arXiv 1603.02934): seeds in decreasing significance;
   a cluster grows through neighbours with abs(E) > neighbour * sigma and takes in the
   boundary cells with abs(E) >= boundary * sigma around them. Clusters that touch
   through growing cells are one cluster. Neighbours are the 8 surrounding cells in
   a layer and the overlapping cells in the layers directly before and after (ECAL3
   and HCAL1 are adjacent).
4. **Splitting at local maxima** (``cluster_split``, ATLAS's splitter): a cluster with
   several local maxima becomes as many sub-clusters, cells on their borders shared.
5. **Track matching.** The cluster holding a track's extrapolated position in the
   first layer where there is one (order ECAL2, ECAL1, ECAL3, HCAL1-3), and within it
   the sub-cluster with the most energy along the track.

Randomness comes from the caller's numpy Generator itself, passed into the kernel
(numba implements its methods with numpy's algorithms, so a draw there is the draw
numpy would make), so a call is deterministic given that Generator's state. Numba's
own legacy generator (``np.random.*``) was 10% slower for the detector (its Gaussian
is a polar method, numpy's Generator a ziggurat) and is global to the thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np

from .calorimeter import Deposits
from .card import DetectorCard
from .card_cache import per_card
from .cell_noise import _add_noise_seeds, _find_seeds, _normal_below, _significance, seed_probability
from .cell_window import _local, _overlap_map, _window_bins, _workspace, max_neighbours, window_capacity
from .cluster_split import _cell_at, _split_clusters, _track_subclusters, split_kinds
from .geometry import CellCentres, _cell_xyz, centre_tables
from .lateral_spread import _spread_deposits

__all__ = ["Cells", "seed_probability", "simulate_cells"]

_MATCH_ORDER = np.array([1, 0, 2, 3, 4, 5], dtype=np.int64)
_THINNING_SIGNIFICANCE = 1.0  # cells with less signal than this (in sigmas) are seeded by thinning


@dataclass
class Cells:
    """Cells kept by topo-clustering in the window (arrays of length n_cells).

    ``ieta``, ``iphi`` are the cell's bins in its layer, ``eta``, ``phi``, ``x``, ``y``,
    ``z`` (mm) its centre; ``cluster`` numbers the clusters 0..n_clusters-1;
    ``track_cluster`` is, per track, the cluster it points at (-1 for none).
    Sub-clusters (``cluster_split``): a cell belongs to ``subcluster`` with weight
    ``share`` and, when shared, to ``subcluster2`` with 1 - share (-1: not shared);
    cluster k's sub-clusters are ``subcluster_offsets[k]:subcluster_offsets[k + 1]``
    (n_clusters + 1); ``track_subcluster`` is each track's sub-cluster (-1 for none).
    """

    layer: np.ndarray
    ieta: np.ndarray
    iphi: np.ndarray
    energy: np.ndarray
    cluster: np.ndarray
    n_clusters: int
    track_cluster: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    subcluster: np.ndarray
    subcluster2: np.ndarray
    share: np.ndarray
    subcluster_offsets: np.ndarray
    track_subcluster: np.ndarray


@numba.njit(cache=True, error_model="numpy")
def _grow(rng, seeds, n_cells, sigma, lo_eta, n_eta, lo_phi, n_phi, offset, overlap, seed_thr, s_cut, nbr_thr, bnd_thr,
          max_nb, signal, noise, drawn, candidate, label, queue, kept, visited, member, adj, adj_lo, adj_hi):
    """Topo-clusters from the seeds; returns (n_kept, n_clusters, n_visited).

    Fills label, kept, visited and member (a cell's position in ``kept``); the
    neighbours of the i-th kept cell, if it grew the cluster, are the window cells
    ``adj[adj_lo[i]:adj_hi[i]]`` (empty for boundary cells): the splitter walks the
    cluster again through them instead of listing them a second time. ``adj`` holds
    ``max_nb`` (a cell's most neighbours) per window cell.

    Neighbours are looked at in a fixed order (8 in the layer, then the overlapping
    cells of the layer before and after), so the lazily drawn noise is reproducible.
    They are listed first and judged in a second loop: measured 20% faster than
    judging each as it is found (tighter loops), with the same order of draws. The
    listing also records every neighbour in ``adj`` for the splitter (a helper shared
    with it that listed labelled cells for judging too cost 6% of the detector's time).
    """
    n_layers = n_cells.shape[0]
    n_visited = 0
    n_kept = 0
    n_clusters = 0
    n_adj = 0
    nb = np.empty(max_nb, dtype=np.int64)
    nb_layer = np.empty(max_nb, dtype=np.int64)
    for k in range(seeds.shape[0]):
        c0 = seeds[k]
        if label[c0] >= 0:
            continue
        cluster = n_clusters
        n_clusters += 1
        label[c0] = cluster
        kept[n_kept] = c0
        member[c0] = n_kept
        adj_lo[n_kept] = 0
        adj_hi[n_kept] = 0
        n_kept += 1
        head = 0
        tail = 0
        queue[tail] = c0
        tail += 1
        while head < tail:
            c = queue[head]
            head += 1
            # every neighbour goes into adj (the splitter walks them again), the unlabelled ones into nb
            pos = member[c]
            adj_lo[pos] = n_adj
            l = 0
            while c >= offset[l + 1]:
                l += 1
            rel = c - offset[l]
            ie = rel // n_phi[l]
            ip = rel - ie * n_phi[l]
            geta = lo_eta[l] + ie
            gphi = lo_phi[l] + ip
            if gphi >= n_cells[l]:
                gphi -= n_cells[l]
            ring = n_phi[l] == n_cells[l]
            n_nb = 0
            for de in range(-1, 2):
                ie2 = ie + de
                if ie2 < 0 or ie2 >= n_eta[l]:
                    continue
                for dp in range(-1, 2):
                    if de == 0 and dp == 0:
                        continue
                    ip2 = ip + dp
                    if ring:
                        ip2 = ip2 % n_phi[l]
                    elif ip2 < 0 or ip2 >= n_phi[l]:
                        continue
                    c2 = offset[l] + ie2 * n_phi[l] + ip2
                    adj[n_adj] = c2
                    n_adj += 1
                    if label[c2] < 0:
                        nb[n_nb] = c2
                        nb_layer[n_nb] = l
                        n_nb += 1
            for side in range(2):
                l2 = l - 1 + 2 * side
                if l2 < 0 or l2 >= n_layers:
                    continue
                e_lo = overlap[l, side, geta, 0]
                e_hi = overlap[l, side, geta, 1]
                p_lo = overlap[l, side, gphi, 0]
                p_hi = overlap[l, side, gphi, 1]
                n2, lo_e2, n_e2, lo_p2, n_p2, off2 = n_cells[l2], lo_eta[l2], n_eta[l2], lo_phi[l2], n_phi[l2], offset[l2]
                for e2 in range(e_lo, e_hi + 1):
                    for p2 in range(p_lo, p_hi + 1):
                        c2 = _local(e2, p2, n2, lo_e2, n_e2, lo_p2, n_p2, off2)
                        if c2 >= 0:
                            adj[n_adj] = c2
                            n_adj += 1
                            if label[c2] < 0:
                                nb[n_nb] = c2
                                nb_layer[n_nb] = l2
                                n_nb += 1
            adj_hi[pos] = n_adj
            for i in range(n_nb):
                c2 = nb[i]
                if label[c2] >= 0:  # taken in by an earlier neighbour (a cell can be listed twice on a ring)
                    continue
                sigma_c = sigma[nb_layer[i]]
                if not drawn[c2]:
                    if not candidate[c2]:
                        visited[n_visited] = c2
                        n_visited += 1
                    bound = seed_thr
                    if sigma_c > 0.0 and signal[c2] < s_cut * sigma_c:
                        bound = seed_thr - signal[c2] / sigma_c
                    noise[c2] = sigma_c * _normal_below(rng, bound)
                    drawn[c2] = True
                s = _significance(signal[c2] + noise[c2], sigma_c)
                if abs(s) >= bnd_thr:
                    label[c2] = cluster
                    kept[n_kept] = c2
                    member[c2] = n_kept
                    adj_lo[n_kept] = 0
                    adj_hi[n_kept] = 0
                    n_kept += 1
                    if abs(s) > nbr_thr:
                        queue[tail] = c2
                        tail += 1
    return n_kept, n_clusters, n_visited


@numba.njit(cache=True, error_model="numpy")
def _cluster_kernel(rng, lo_eta, n_eta, lo_phi, n_phi, dep_layer, dep_eta, dep_phi, dep_e, dep_width,
                    trk_eta, trk_phi, workspace, topo):
    """Spread, noise, clustering, splitting and track matching in one window; returns the kept cells.

    Returns (layer, ieta, iphi, energy, cluster, n_clusters, track_cluster, eta, phi,
    subcluster, subcluster2, share, subcluster_offsets, track_subcluster) of the kept
    cells, in the order clustering took them in (see :class:`Cells`). ``topo`` holds
    the card's numbers (:class:`_TopoArgs`).
    """
    n_cells, sigma, n_spots, match_order, overlap, centres = (topo.n_cells, topo.sigma, topo.n_spots,
                                                              topo.match_order, topo.overlap, topo.centres)
    seed_thr, nbr_thr, bnd_thr, q_seed = topo.seed_thr, topo.nbr_thr, topo.bnd_thr, topo.q_seed
    split_kinds, split_min_energy, split_min_neighbours = topo.split_kinds, topo.split_min_energy, topo.split_min_neighbours
    split_margin, share_scale = topo.split_margin, topo.share_scale
    (signal, noise, drawn, candidate, label, queue, kept, visited, member, adj, adj_lo, adj_hi,
     cand_list, cand_layer) = workspace
    n_layers = n_cells.shape[0]
    n_window = n_eta * n_phi
    offset = np.zeros(n_layers + 1, dtype=np.int64)
    for l in range(n_layers):
        offset[l + 1] = offset[l] + n_window[l]

    n_cand = _spread_deposits(rng, dep_layer, dep_eta, dep_phi, dep_e, dep_width, n_spots, n_cells, sigma,
                              lo_eta, n_eta, lo_phi, n_phi, offset, signal, candidate, cand_list, cand_layer)
    n_cand = _add_noise_seeds(rng, n_window, offset, sigma, seed_thr, q_seed, noise, drawn, candidate,
                              cand_list, cand_layer, n_cand)
    s_cut = min(_THINNING_SIGNIFICANCE, seed_thr)
    seeds = _find_seeds(rng, cand_list, cand_layer, n_cand, sigma, seed_thr, s_cut, signal, noise, drawn)
    n_kept, n_clusters, n_visited = _grow(rng, seeds, n_cells, sigma, lo_eta, n_eta, lo_phi, n_phi, offset, overlap,
                                          seed_thr, s_cut, nbr_thr, bnd_thr, topo.max_neighbours, signal, noise, drawn,
                                          candidate, label, queue, kept, visited, member, adj, adj_lo, adj_hi)

    out_layer = np.empty(n_kept, dtype=np.int64)
    out_ieta = np.empty(n_kept, dtype=np.int64)
    out_iphi = np.empty(n_kept, dtype=np.int64)
    out_e = np.empty(n_kept)
    out_label = np.empty(n_kept, dtype=np.int64)
    out_eta = np.empty(n_kept)
    out_phi = np.empty(n_kept)
    for i in range(n_kept):
        c = kept[i]
        l = 0
        while c >= offset[l + 1]:
            l += 1
        rel = c - offset[l]
        ie = rel // n_phi[l]
        gphi = lo_phi[l] + rel - ie * n_phi[l]
        if gphi >= n_cells[l]:
            gphi -= n_cells[l]
        out_layer[i] = l
        out_ieta[i] = lo_eta[l] + ie
        out_iphi[i] = gphi
        out_e[i] = signal[c] + noise[c]
        out_label[i] = label[c]
        out_eta[i] = centres.eta[l, out_ieta[i]]
        out_phi[i] = centres.phi[l, gphi]

    sub1, sub2, share, sub_offsets = _split_clusters(
        n_kept, member, adj, adj_lo, adj_hi, out_label, n_clusters, out_e, out_layer, out_eta, out_phi, n_cells,
        split_kinds, split_min_energy, split_min_neighbours, split_margin, share_scale)

    track_cluster = np.full(trk_eta.shape[0], -1, dtype=np.int64)
    for t in range(trk_eta.shape[0]):
        for l in match_order:
            c = _cell_at(trk_eta[t, l], trk_phi[t, l], n_cells[l], lo_eta[l], n_eta[l], lo_phi[l], n_phi[l], offset[l])
            if c >= 0 and label[c] >= 0:
                track_cluster[t] = label[c]
                break
    track_sub = _track_subclusters(track_cluster, trk_eta, trk_phi, member, out_e, sub1, sub2, share, sub_offsets,
                                   n_cells, lo_eta, n_eta, lo_phi, n_phi, offset)

    # leave the workspace as found: cost proportional to the cells touched, not the window
    for i in range(n_cand):
        c = cand_list[i]
        signal[c] = 0.0
        drawn[c] = False
        candidate[c] = False
        label[c] = -1
    for i in range(n_visited):
        c = visited[i]
        drawn[c] = False
        label[c] = -1
    for i in range(n_kept):
        member[kept[i]] = -1
    return (out_layer, out_ieta, out_iphi, out_e, out_label, n_clusters, track_cluster, out_eta, out_phi,
            sub1, sub2, share, sub_offsets, track_sub)


class _TopoArgs(NamedTuple):
    """The card's numbers :func:`_cluster_kernel` uses, by name."""

    n_cells: np.ndarray
    sigma: np.ndarray
    n_spots: int
    seed_thr: float
    nbr_thr: float
    bnd_thr: float
    q_seed: float
    match_order: np.ndarray
    overlap: np.ndarray
    max_neighbours: int
    split_kinds: np.ndarray
    split_min_energy: float
    split_min_neighbours: int
    split_margin: float
    share_scale: float
    centres: CellCentres
    energy_bits: int


@per_card
def _topo_args(card: DetectorCard) -> _TopoArgs:
    """The card's arguments of :func:`_cluster_kernel`, built once per card."""
    topo = card.topo
    return _TopoArgs(
        np.array([layer.n_cells for layer in card.layers], dtype=np.int64),
        np.array(card.noise_sigmas(), dtype=np.float64), int(card.spots_per_deposit),
        float(topo.seed), float(topo.neighbour), float(topo.boundary), seed_probability(topo.seed),
        _MATCH_ORDER, _overlap_map(card), max_neighbours(card),
        split_kinds(card.split.primary_layers, card.split.secondary_layers, len(card.layers)),
        float(card.split.min_energy), int(card.split.min_neighbours), float(card.split.merge_margin),
        float(card.split.share_scale),
        centre_tables(card), int(card.cell_energy_bits),
    )


def simulate_cells(
    card: DetectorCard,
    deposits: Deposits,
    jet_eta: float,
    jet_phi: float,
    half_width: float,
    track_eta_layer: np.ndarray,
    track_phi_layer: np.ndarray,
    rng: np.random.Generator,
) -> Cells:
    """Cells with noise, topo-clustered and split at local maxima, in a window around a jet axis.

    Args:
        card: the detector card (granularity, noise, thresholds, spots).
        deposits: particle deposits from :func:`sim_pairs.detector.calorimeter.particle_deposits`.
        jet_eta, jet_phi: window centre.
        half_width: window half-width in eta and in phi.
        track_eta_layer, track_phi_layer: track positions per layer, (n_tracks, 6),
            matched to clusters.
        rng: source of randomness (drawn from inside the kernel).

    Returns:
        The kept cells with their cluster and sub-cluster, and each track's cluster and sub-cluster.
    """
    args = _topo_args(card)
    f64 = np.float64
    out = _cluster_kernel(
        rng, *_window_bins(args.n_cells, float(jet_eta), float(jet_phi), float(half_width)),
        np.asarray(deposits.layer, np.int64), np.asarray(deposits.eta, f64), np.asarray(deposits.phi, f64),
        np.asarray(deposits.energy, f64), np.asarray(deposits.width, f64),
        np.ascontiguousarray(track_eta_layer, dtype=f64).reshape(-1, 6),
        np.ascontiguousarray(track_phi_layer, dtype=f64).reshape(-1, 6),
        _workspace(window_capacity(card, half_width), args.max_neighbours), args,
    )
    layer, ieta, iphi, energy, cluster, n_clusters, track_cluster, eta, phi, sub1, sub2, share, offsets, track_sub = out
    return Cells(layer, ieta, iphi, energy, cluster, int(n_clusters), track_cluster, eta, phi,
                 *_cell_xyz(layer, ieta, iphi, args.centres), sub1, sub2, share, offsets, track_sub)
