"""Splitting topo-clusters at local maxima, one sub-cluster per shower (numba; step 4 of ``topo_cluster``).

A topo-cluster grows through every cell above twice the noise, so in a jet it
often holds several showers: the photons of a few pi0s, a neutral hadron and the
showers of charged pions. Particle flow needs them apart, or the neutral energy of
the whole cluster lands at one barycentre and the jet loses its mass. This follows
ATLAS's cluster splitter (ATLAS, "Topological cell clustering in the ATLAS
calorimeters and its performance in LHC Run 1", Eur. Phys. J. C 77 (2017) 490,
arXiv 1603.02934, section 5.1.2; athena's ``CaloTopoClusterSplitter``), with the
card's ``split`` settings:

1. **Local maxima.** A growing cell of a primary layer (ECAL2, ECAL3; ATLAS: the EM
   middle and back samplings) with E > ``min_energy``, at least ``min_neighbours``
   neighbours in its cluster and more energy than each neighbour in a primary or
   secondary layer (other layers count as empty, as in ATLAS). Cells of secondary
   layers (HCAL1-3) are maxima by the same rule, kept only where no primary
   maximum of the cluster overlaps them in (eta, phi). Here "overlaps" reaches
   ``merge_margin`` cells beyond the cell (of the coarser layer), and maxima of two
   layers of the same kind obey the same rule, the more energetic counting: one
   hadron whose ECAL core and HCAL shower, or whose HCAL1 and HCAL2 showers, fall on
   two sides of an HCAL cell edge stays one sub-cluster (with ATLAS's strict
   overlap, a 50 GeV neutral hadron made two sub-clusters in a quarter of showers).
2. **Re-clustering from the maxima.** In a cluster with two or more maxima, each
   maximum grows one ring of neighbours per step through the cells of its parent
   cluster, with no thresholds and no merging. A cell reached by two sub-clusters in
   the same step is *shared* by the two with the most energy and grows no further.
   Growth goes through the parent's growing cells (abs(E) > neighbour threshold),
   whose neighbours the clustering recorded, so boundary cells are reached but grow
   no further. Cells that only shared cells lead to are shared by the same two
   sub-clusters (ATLAS makes them a rest cluster; here they stay with the two
   showers they lie between).
3. **Sharing.** A shared cell goes to its two sub-clusters with weights
   w1 = E1 / (E1 + r E2), w2 = 1 - w1, r = exp(d1 - d2): E the sub-clusters' energies
   without shared cells, d the (eta, phi) distance of the cell from each one's
   energy-weighted centroid in units of ``share_scale``.

A cluster with fewer than two maxima is one sub-cluster. Sub-clusters are numbered
cluster after cluster (cluster k owns ``offsets[k]:offsets[k + 1]``, the most
energetic maximum's first), and a cluster's energy is the sum of its sub-clusters'
(cells are shared, never copied). Nothing here is
random: two replicas of a jet differ only by the detector's randomness upstream.

Tracks are given the sub-cluster of their topo-cluster that holds the most energy in
the cells the track crosses (one per layer), so a pion that showers in the HCAL
behind a photon goes with its own shower, not with the photon its ECAL cell touches.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .cell_window import _local
from .geometry import ETA_SPAN, _wrap

__all__ = ["split_kinds"]

#: The values of :func:`split_kinds`, per layer.
NOT_A_MAXIMUM, PRIMARY, SECONDARY = 0, 1, 2
#: A kept cell's owner while the sub-clusters grow, before it has one (one array looked at in the walk).
UNREACHED, SHARED = -1, -2


def split_kinds(primary_layers, secondary_layers, n_layers: int) -> np.ndarray:
    """Per layer: 0 no maxima, 1 primary maxima, 2 secondary maxima (int64, n_layers)."""
    kinds = np.zeros(n_layers, dtype=np.int64)
    kinds[list(primary_layers)] = PRIMARY
    kinds[list(secondary_layers)] = SECONDARY
    return kinds


@numba.njit(cache=True, inline="always")
def _cell_at(eta, phi, n_cells, lo_eta, n_eta, lo_phi, n_phi, offset):
    """Window index of the cell holding (eta, phi), or -1 outside the window (or NaN); the layer's numbers as in ``_local``."""
    if not (np.isfinite(eta) and np.isfinite(phi)):
        return -1
    geta = int(math.floor((eta + 0.5 * ETA_SPAN) / (ETA_SPAN / n_cells)))
    gphi = int(math.floor((phi + np.pi) / (2.0 * np.pi / n_cells))) % n_cells
    return _local(geta, gphi, n_cells, lo_eta, n_eta, lo_phi, n_phi, offset)


@numba.njit(cache=True, error_model="numpy")
def _local_maxima(n_kept, member, adj, adj_lo, adj_hi, cluster, energy, layer, eta, phi, n_cells, kinds,
                  min_energy, min_neighbours, margin):
    """Positions in the kept list of the local maxima that seed sub-clusters (step 1)."""
    found = np.empty(n_kept, dtype=np.int64)
    n_found = 0
    for i in range(n_kept):
        if kinds[layer[i]] == NOT_A_MAXIMUM or energy[i] <= min_energy:
            continue
        count = 0
        highest = True
        for m in range(adj_lo[i], adj_hi[i]):
            j = member[adj[m]]
            if j < 0 or cluster[j] != cluster[i]:
                continue
            count += 1
            if kinds[layer[j]] != NOT_A_MAXIMUM and energy[j] >= energy[i]:
                highest = False
                break
        if highest and count >= min_neighbours:
            found[n_found] = i
            n_found += 1
    # One shower can make maxima in two layers (a hadron's ECAL core and its HCAL shower, an HCAL
    # shower across a cell corner in HCAL1 and HCAL2): a maximum counts only if no maximum of
    # another layer of its cluster, primary ones first, then by energy, lies within its cell or
    # ``margin`` cells around it (cells of the coarser layer).
    order = np.argsort(-energy[found[:n_found]], kind="mergesort")
    ranked = np.empty(n_found, dtype=np.int64)
    n_ranked = 0
    for kind in (PRIMARY, SECONDARY):
        for a in range(n_found):
            if kinds[layer[found[order[a]]]] == kind:
                ranked[n_ranked] = found[order[a]]
                n_ranked += 1
    out = np.empty(n_found, dtype=np.int64)
    n_out = 0
    for a in range(n_ranked):
        i = ranked[a]
        keep = True
        for b in range(n_out):
            j = out[b]
            if cluster[j] != cluster[i] or layer[j] == layer[i]:
                continue
            cells = (0.5 + margin) / min(n_cells[layer[i]], n_cells[layer[j]])
            if abs(eta[j] - eta[i]) < cells * ETA_SPAN and abs(_wrap(phi[j] - phi[i])) < cells * 2.0 * np.pi:
                keep = False
                break
        if keep:
            out[n_out] = i
            n_out += 1
    return out[:n_out]


@numba.njit(cache=True, error_model="numpy")
def _split_clusters(n_kept, member, adj, adj_lo, adj_hi, cluster, n_clusters, energy, layer, eta, phi, n_cells,
                    kinds, min_energy, min_neighbours, margin, share_scale):
    """Sub-clusters of the kept cells (steps 1-3).

    Args: per kept cell, in the kept order, its ``cluster``, ``energy`` (GeV),
    ``layer``, ``eta``, ``phi``; the neighbours of the i-th kept cell, if it grew its
    cluster, are the window cells ``adj[adj_lo[i]:adj_hi[i]]`` and ``member`` maps a
    window cell to its position in the kept list (-1: not kept), as the clustering
    left them; ``n_cells`` per layer; the card's ``split`` settings (``kinds`` from
    :func:`split_kinds`). Sub-clusters grow through the growing cells of the parent
    cluster, as it did; a boundary cell is reached from them and grows no further.

    Returns:
        (sub1, sub2, share, offsets): per kept cell its sub-cluster, the second one of a
        shared cell (-1 otherwise) and the first one's weight; per cluster the range
        of its sub-clusters (n_clusters + 1).
    """
    maxima = _local_maxima(n_kept, member, adj, adj_lo, adj_hi, cluster, energy, layer, eta, phi, n_cells, kinds,
                           min_energy, min_neighbours, margin)
    # maxima cluster by cluster, the most energetic first (a stable order: same input, same numbering)
    maxima = maxima[np.argsort(-energy[maxima], kind="mergesort")]
    maxima = maxima[np.argsort(cluster[maxima], kind="mergesort")]
    n_max = np.zeros(n_clusters, dtype=np.int64)
    for i in maxima:
        n_max[cluster[i]] += 1
    offsets = np.zeros(n_clusters + 1, dtype=np.int64)
    for k in range(n_clusters):
        offsets[k + 1] = offsets[k] + max(n_max[k], 1)
    n_sub = offsets[n_clusters]

    owner = np.full(n_kept, -1, dtype=np.int64)
    sub2 = np.full(n_kept, -1, dtype=np.int64)
    share = np.ones(n_kept)
    sub_e = np.zeros(n_sub)
    frontier = np.empty(n_kept, dtype=np.int64)
    n_front = 0
    rank = np.zeros(n_clusters, dtype=np.int64)
    ref_phi = np.zeros(n_clusters)  # phi is measured from each split cluster's first maximum
    for i in maxima:
        k = cluster[i]
        if n_max[k] >= 2:
            owner[i] = offsets[k] + rank[k]
            if rank[k] == 0:
                ref_phi[k] = phi[i]
            rank[k] += 1
            sub_e[owner[i]] = energy[i]
            frontier[n_front] = i
            n_front += 1
    for i in range(n_kept):
        if n_max[cluster[i]] < 2:
            owner[i] = offsets[cluster[i]]
    if n_front == 0:  # nothing to split
        return owner, sub2, share, offsets

    # step 2: all split clusters grow together, one ring per step (they never meet: cells keep their cluster)
    claim1 = np.full(n_kept, -1, dtype=np.int64)
    claim2 = np.full(n_kept, -1, dtype=np.int64)
    reached = np.empty(n_kept, dtype=np.int64)
    shared = np.empty(n_kept, dtype=np.int64)
    n_shared = 0
    while n_front > 0:
        n_reached = 0
        for f in range(n_front):
            i = frontier[f]
            s = owner[i]
            for m in range(adj_lo[i], adj_hi[i]):
                j = member[adj[m]]
                if j < 0 or owner[j] != UNREACHED or cluster[j] != cluster[i]:
                    continue
                if claim1[j] < 0:
                    claim1[j] = s
                    reached[n_reached] = j
                    n_reached += 1
                elif claim1[j] == s or claim2[j] == s:
                    continue
                elif claim2[j] < 0:
                    claim2[j] = s
                else:  # a third claimant: keep the two with the most energy
                    low = claim1[j] if sub_e[claim1[j]] < sub_e[claim2[j]] else claim2[j]
                    if sub_e[s] > sub_e[low]:
                        if low == claim1[j]:
                            claim1[j] = s
                        else:
                            claim2[j] = s
        n_front = 0
        for q in range(n_reached):
            j = reached[q]
            if claim2[j] < 0:
                owner[j] = claim1[j]
                frontier[n_front] = j
                n_front += 1
            else:
                sub2[j] = claim2[j]
                owner[j] = SHARED
                shared[n_shared] = j
                n_shared += 1
        for f in range(n_front):  # energies at the start of the next step (ATLAS: the current energies)
            sub_e[owner[frontier[f]]] += energy[frontier[f]]
    # cells that only shared cells lead to (the other layers around a border, mostly) are shared
    # by the same two sub-clusters, each with its own weights: ATLAS keeps them in a rest cluster
    q = 0
    while q < n_shared:
        i = shared[q]
        q += 1
        for m in range(adj_lo[i], adj_hi[i]):
            j = member[adj[m]]
            if j < 0 or owner[j] != UNREACHED or cluster[j] != cluster[i]:
                continue
            claim1[j] = claim1[i]
            sub2[j] = sub2[i]
            owner[j] = SHARED
            shared[n_shared] = j
            n_shared += 1
    sub1 = claim1  # shared cells: their first claimant; owned cells: their owner
    for i in range(n_kept):
        if sub2[i] >= 0:
            continue
        if owner[i] < 0:  # unreachable (no growing cell leads there): the cluster's first sub-cluster
            owner[i] = offsets[cluster[i]]
            sub_e[owner[i]] += energy[i]
        sub1[i] = owner[i]

    # step 3: centroids of the owned cells with E > 0
    weight = np.zeros(n_sub)
    c_eta = np.zeros(n_sub)
    c_dphi = np.zeros(n_sub)
    for i in range(n_kept):
        if sub2[i] >= 0 or energy[i] <= 0.0 or n_max[cluster[i]] < 2:
            continue
        s = sub1[i]
        weight[s] += energy[i]
        c_eta[s] += energy[i] * eta[i]
        c_dphi[s] += energy[i] * _wrap(phi[i] - ref_phi[cluster[i]])
    for s in range(n_sub):
        if weight[s] > 0.0:
            c_eta[s] /= weight[s]
            c_dphi[s] /= weight[s]
    for i in range(n_kept):
        if sub2[i] < 0:
            continue
        a, b = sub1[i], sub2[i]
        dphi = _wrap(phi[i] - ref_phi[cluster[i]])
        d_a = math.hypot(eta[i] - c_eta[a], dphi - c_dphi[a]) / share_scale if weight[a] > 0.0 else 0.0
        d_b = math.hypot(eta[i] - c_eta[b], dphi - c_dphi[b]) / share_scale if weight[b] > 0.0 else 0.0
        e_a = max(sub_e[a], 1e-9)
        e_b = max(sub_e[b], 1e-9)
        share[i] = e_a / (e_a + math.exp(d_a - d_b) * e_b)
    return sub1, sub2, share, offsets


@numba.njit(cache=True, error_model="numpy")
def _track_subclusters(track_cluster, trk_eta, trk_phi, member, energy, sub1, sub2, share, offsets,
                       n_cells, lo_eta, n_eta, lo_phi, n_phi, offset):
    """Per track, the sub-cluster of its cluster with the most energy in the cells it crosses (-1: no cluster)."""
    n_layers = n_cells.shape[0]
    out = np.full(track_cluster.shape[0], -1, dtype=np.int64)
    widest = 1
    for k in range(offsets.shape[0] - 1):
        widest = max(widest, offsets[k + 1] - offsets[k])
    score = np.zeros(widest)
    for t in range(track_cluster.shape[0]):
        k = track_cluster[t]
        if k < 0:
            continue
        lo, hi = offsets[k], offsets[k + 1]
        out[t] = lo
        if hi - lo == 1:
            continue
        score[: hi - lo] = 0.0
        first = -1
        for l in range(n_layers):
            c = _cell_at(trk_eta[t, l], trk_phi[t, l], n_cells[l], lo_eta[l], n_eta[l], lo_phi[l], n_phi[l], offset[l])
            j = member[c] if c >= 0 else -1
            if j < 0 or not lo <= sub1[j] < hi:
                continue
            if first < 0:
                first = sub1[j] if share[j] >= 0.5 else sub2[j]
            e = max(energy[j], 0.0)
            score[sub1[j] - lo] += share[j] * e
            if sub2[j] >= 0:
                score[sub2[j] - lo] += (1.0 - share[j]) * e
        best = 0
        for s in range(1, hi - lo):
            if score[s] > score[best]:
                best = s
        out[t] = lo + best if score[best] > 0.0 else (first if first >= 0 else lo)
    return out
