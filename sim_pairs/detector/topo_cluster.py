"""Cells, noise and topological clustering around one jet (one numba-compiled kernel).

The kernel works on a dense (eta, phi) window of cells per layer around the jet,
half-width ``radius + window_margin``; a cluster cannot grow past the window edge.

1. **Lateral spread.** Each deposit spreads over the cells of its layer with a 2D
   Gaussian profile of the card's lateral width, integrated exactly over each cell
   (error functions) out to 2.5 widths (at most 6 cells each side); cells that would
   get less than 1e-3 of the deposit or less than 0.1 sigma of noise are skipped and
   the rest renormalised, so the deposit's energy is conserved exactly. A deposit
   smaller than the layer's noise sigma (about half the deposits of a jet, 0.1% of
   its energy: profile tails, soft particles) goes into the cell it points at. Shower-to-shower
   fluctuations enter through the profile's centre, which is displaced by a Gaussian
   of sigma width / sqrt(spots_per_deposit): the centroid fluctuation of a shower
   made of that many independent energy spots.
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
   through growing cells are one cluster (no splitting at local maxima). Neighbours
   are the 8 surrounding cells in a layer and the overlapping cells in the layers
   directly before and after (ECAL3 and HCAL1 are adjacent).
4. **Track matching.** The cluster holding a track's extrapolated position in the
   first layer where there is one (order ECAL2, ECAL1, ECAL3, HCAL1-3).

Randomness comes from numba's own generator seeded per call by the caller's numpy
Generator, so a call is deterministic given that Generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from .calorimeter import Deposits
from .card import DetectorCard
from .cell_noise import _gauss_between, _gauss_tail, _geometric, _noise_at, _significance, _upper_tail, seed_probability
from .cell_window import _layer_of, _local, _overlap_map, _workspace, window_bins
from .geometry import ETA_SPAN

__all__ = ["Cells", "seed_probability", "simulate_cells"]

_MATCH_ORDER = np.array([1, 0, 2, 3, 4, 5], dtype=np.int64)
_MAX_HALF = 6  # cells on each side of a deposit's centre cell that its profile may reach
_CUT_SIGMAS = 2.5  # profile integrated out to this many widths, then renormalised
_MIN_FRACTION = 1e-3  # cells getting less than this fraction of a deposit are skipped...
_MIN_NOISE_FRACTION = 0.1  # ...or less than this fraction of the layer's noise sigma
_POINT_NOISE_FRACTION = 1.0  # deposits below this many noise sigmas go into one cell, unspread
_THINNING_SIGNIFICANCE = 1.0  # cells with less signal than this (in sigmas) are seeded by thinning


@dataclass
class Cells:
    """Cells kept by topo-clustering in the window (arrays of length n_cells).

    ``ieta``, ``iphi`` are the cell's bins in its layer, ``eta``, ``phi``, ``x``, ``y``,
    ``z`` (mm) its centre; ``cluster`` numbers the clusters 0..n_clusters-1;
    ``track_cluster`` is, per track, the cluster it points at (-1 for none).
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


@numba.njit(cache=True, error_model="numpy")
def _kernel(seed, n_cells, sigma, lo_eta, n_eta, lo_phi, n_phi,
            dep_layer, dep_eta, dep_phi, dep_e, dep_width, n_spots,
            seed_thr, nbr_thr, bnd_thr, q_seed, trk_eta, trk_phi, match_order, r_mid, z_mid, barrel_abs_eta,
            overlap, signal, noise, drawn, candidate, label, queue, kept, visited):
    np.random.seed(seed)
    n_layers = n_cells.shape[0]
    offset = np.zeros(n_layers + 1, dtype=np.int64)
    for l in range(n_layers):
        offset[l + 1] = offset[l] + n_eta[l] * n_phi[l]
    size = offset[n_layers]
    cand_list = np.empty(4 * dep_e.shape[0] + 64, dtype=np.int64)
    cand_layer = np.empty(4 * dep_e.shape[0] + 64, dtype=np.int64)
    n_cand = 0

    frac_eta = np.empty(2 * _MAX_HALF + 1)
    frac_phi = np.empty(2 * _MAX_HALF + 1)
    row = np.empty(2 * _MAX_HALF + 1, dtype=np.int64)
    col = np.empty(2 * _MAX_HALF + 1, dtype=np.int64)
    for d in range(dep_e.shape[0]):
        l = dep_layer[d]
        deta = ETA_SPAN / n_cells[l]
        dphi = 2.0 * np.pi / n_cells[l]
        width = dep_width[d]
        if dep_e[d] < _POINT_NOISE_FRACTION * sigma[l]:
            geta = int(math.floor((dep_eta[d] + 0.5 * ETA_SPAN) / deta))
            gphi = int(math.floor((dep_phi[d] + np.pi) / dphi)) % n_cells[l]
            c = _local(l, geta, gphi, n_cells, lo_eta, n_eta, lo_phi, n_phi, offset)
            if c >= 0:
                signal[c] += dep_e[d]
                if not candidate[c]:
                    candidate[c] = True
                    if n_cand == cand_list.shape[0]:
                        cand_list = np.concatenate((cand_list, np.empty(cand_list.shape[0], dtype=np.int64)))
                        cand_layer = np.concatenate((cand_layer, np.empty(cand_layer.shape[0], dtype=np.int64)))
                    cand_list[n_cand] = c
                    cand_layer[n_cand] = l
                    n_cand += 1
            continue
        jitter = width / math.sqrt(n_spots)
        eta0 = dep_eta[d] + jitter * np.random.standard_normal()
        phi0 = dep_phi[d] + jitter * np.random.standard_normal()
        ce = int(math.floor((eta0 + 0.5 * ETA_SPAN) / deta))
        cp = int(math.floor((phi0 + np.pi) / dphi))
        half = min(_MAX_HALF, int(math.ceil(_CUT_SIGMAS * width / min(deta, dphi))))
        scale = 1.0 / (math.sqrt(2.0) * width)
        norm_e = 0.0
        norm_p = 0.0
        lo_e = math.erf(((ce - half) * deta - 0.5 * ETA_SPAN - eta0) * scale)
        lo_p = math.erf(((cp - half) * dphi - np.pi - phi0) * scale)
        for k in range(2 * half + 1):
            hi_e = math.erf(((ce - half + k + 1) * deta - 0.5 * ETA_SPAN - eta0) * scale)
            hi_p = math.erf(((cp - half + k + 1) * dphi - np.pi - phi0) * scale)
            frac_eta[k] = 0.5 * (hi_e - lo_e)
            frac_phi[k] = 0.5 * (hi_p - lo_p)
            norm_e += frac_eta[k]
            norm_p += frac_phi[k]
            lo_e = hi_e
            lo_p = hi_p
        e_min = max(_MIN_FRACTION * dep_e[d], _MIN_NOISE_FRACTION * sigma[l]) / dep_e[d]
        kept_frac = 0.0
        for k in range(2 * half + 1):
            frac_eta[k] /= norm_e
            frac_phi[k] /= norm_p
            ge = ce - half + k
            row[k] = ge - lo_eta[l] if (0 <= ge < n_cells[l] and 0 <= ge - lo_eta[l] < n_eta[l]) else -1
            ip = (cp - half + k - lo_phi[l]) % n_cells[l]
            col[k] = ip if ip < n_phi[l] else -1
        for ke in range(2 * half + 1):
            for kp in range(2 * half + 1):
                f = frac_eta[ke] * frac_phi[kp]
                if f >= e_min:
                    kept_frac += f
        if kept_frac <= 0.0:
            continue
        e_dep = dep_e[d] / kept_frac
        base = offset[l]
        stride = n_phi[l]
        need = n_cand + (2 * half + 1) ** 2
        if need > cand_list.shape[0]:
            grow = max(need, 2 * cand_list.shape[0])
            cand_list = np.concatenate((cand_list, np.empty(grow - cand_list.shape[0], dtype=np.int64)))
            cand_layer = np.concatenate((cand_layer, np.empty(grow - cand_layer.shape[0], dtype=np.int64)))
        for ke in range(2 * half + 1):
            if row[ke] < 0:
                continue
            row_base = base + row[ke] * stride
            for kp in range(2 * half + 1):
                f = frac_eta[ke] * frac_phi[kp]
                if col[kp] < 0 or f < e_min:
                    continue
                c = row_base + col[kp]
                signal[c] += e_dep * f
                # branch-free append of a newly touched cell (the write is harmless otherwise)
                cand_list[n_cand] = c
                cand_layer[n_cand] = l
                n_cand += 1 - candidate[c]
                candidate[c] = True

    for l in range(n_layers):
        n_window = n_eta[l] * n_phi[l]
        if n_window == 0 or sigma[l] <= 0.0:
            continue
        for _ in range(np.random.poisson(n_window * q_seed)):
            c = offset[l] + np.random.randint(0, n_window)
            noise[c] = sigma[l] * _gauss_tail(seed_thr)
            drawn[c] = True
            if not candidate[c]:
                candidate[c] = True
                if n_cand == cand_list.shape[0]:
                    cand_list = np.concatenate((cand_list, np.empty(cand_list.shape[0], dtype=np.int64)))
                    cand_layer = np.concatenate((cand_layer, np.empty(cand_layer.shape[0], dtype=np.int64)))
                cand_list[n_cand] = c
                cand_layer[n_cand] = l
                n_cand += 1

    # Seeds among the cells with signal. A cell whose signal s (in sigmas) is below
    # s_cut becomes a seed only if its noise lands in (seed - s, seed), probability
    # p(s) <= p_max ~ 1e-4: decide that by thinning (geometric skips at rate p_max, then
    # accept with p(s) / p_max) instead of drawing every such cell's noise; a cell not
    # made a seed keeps noise truncated below seed - s, drawn when clustering reaches it.
    seeds = np.empty(n_cand, dtype=np.int64)
    seed_sig = np.empty(n_cand)
    n_seeds = 0
    s_cut = min(_THINNING_SIGNIFICANCE, seed_thr)
    q_thr = _upper_tail(seed_thr)
    p_max = (_upper_tail(seed_thr - s_cut) - q_thr) / (1.0 - q_thr)
    next_trial = _geometric(p_max)
    n_low = 0
    for i in range(n_cand):
        c = cand_list[i]
        sigma_c = sigma[cand_layer[i]]
        if drawn[c] or sigma_c <= 0.0 or signal[c] >= s_cut * sigma_c:
            s = _significance(signal[c] + _noise_at(c, sigma_c, noise, drawn, seed_thr), sigma_c)
        else:
            s = -np.inf
            if n_low == next_trial:
                s_low = signal[c] / sigma_c
                p_low = (_upper_tail(seed_thr - s_low) - q_thr) / (1.0 - q_thr)
                if np.random.random() * p_max < p_low:
                    noise[c] = sigma_c * _gauss_between(seed_thr - s_low, seed_thr)
                    drawn[c] = True
                    s = s_low + noise[c] / sigma_c
                next_trial += 1 + _geometric(p_max)
            n_low += 1
        if s > seed_thr:
            seeds[n_seeds] = c
            seed_sig[n_seeds] = s
            n_seeds += 1
    order = np.argsort(-seed_sig[:n_seeds], kind="mergesort")

    n_visited = 0
    n_kept = 0
    n_clusters = 0
    nb = np.empty(64, dtype=np.int64)
    nb_layer = np.empty(64, dtype=np.int64)
    for k in range(n_seeds):
        c0 = seeds[order[k]]
        if label[c0] >= 0:
            continue
        cluster = n_clusters
        n_clusters += 1
        label[c0] = cluster
        kept[n_kept] = c0
        n_kept += 1
        head = 0
        tail = 0
        queue[tail] = c0
        tail += 1
        while head < tail:
            c = queue[head]
            head += 1
            l = _layer_of(c, offset)
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
                    nb[n_nb] = offset[l] + ie2 * n_phi[l] + ip2
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
                for e2 in range(e_lo, e_hi + 1):
                    for p2 in range(p_lo, p_hi + 1):
                        if n_nb == nb.shape[0]:
                            nb = np.concatenate((nb, np.empty(nb.shape[0], dtype=np.int64)))
                            nb_layer = np.concatenate((nb_layer, np.empty(nb_layer.shape[0], dtype=np.int64)))
                        nb[n_nb] = _local(l2, e2, p2, n_cells, lo_eta, n_eta, lo_phi, n_phi, offset)
                        nb_layer[n_nb] = l2
                        n_nb += 1
            for i in range(n_nb):
                c2 = nb[i]
                if c2 < 0 or label[c2] >= 0:
                    continue
                if not drawn[c2] and not candidate[c2]:
                    visited[n_visited] = c2
                    n_visited += 1
                sigma_c = sigma[nb_layer[i]]
                bound = seed_thr
                if sigma_c > 0.0 and signal[c2] < s_cut * sigma_c:
                    bound = seed_thr - signal[c2] / sigma_c
                s = _significance(signal[c2] + _noise_at(c2, sigma_c, noise, drawn, bound), sigma_c)
                if abs(s) > nbr_thr:
                    label[c2] = cluster
                    kept[n_kept] = c2
                    n_kept += 1
                    queue[tail] = c2
                    tail += 1
                elif abs(s) >= bnd_thr:
                    label[c2] = cluster
                    kept[n_kept] = c2
                    n_kept += 1

    out_layer = np.empty(n_kept, dtype=np.int64)
    out_eta = np.empty(n_kept, dtype=np.int64)
    out_phi = np.empty(n_kept, dtype=np.int64)
    out_e = np.empty(n_kept)
    out_label = np.empty(n_kept, dtype=np.int64)
    centre = np.empty((5, n_kept))
    for i in range(n_kept):
        c = kept[i]
        l = _layer_of(c, offset)
        rel = c - offset[l]
        out_layer[i] = l
        out_eta[i] = lo_eta[l] + rel // n_phi[l]
        out_phi[i] = (lo_phi[l] + rel % n_phi[l]) % n_cells[l]
        out_e[i] = signal[c] + noise[c]
        out_label[i] = label[c]
        eta = -0.5 * ETA_SPAN + (out_eta[i] + 0.5) * ETA_SPAN / n_cells[l]
        phi = -np.pi + (out_phi[i] + 0.5) * 2.0 * np.pi / n_cells[l]
        if abs(eta) < barrel_abs_eta:
            rho = r_mid[l]
            z = rho * math.sinh(eta)
        else:
            z = math.copysign(z_mid[l], eta)
            rho = z_mid[l] / abs(math.sinh(eta))
        centre[0, i] = eta
        centre[1, i] = phi
        centre[2, i] = rho * math.cos(phi)
        centre[3, i] = rho * math.sin(phi)
        centre[4, i] = z

    track_cluster = np.full(trk_eta.shape[0], -1, dtype=np.int64)
    for t in range(trk_eta.shape[0]):
        for l in match_order:
            if not (np.isfinite(trk_eta[t, l]) and np.isfinite(trk_phi[t, l])):
                continue
            geta = int(math.floor((trk_eta[t, l] + 0.5 * ETA_SPAN) / (ETA_SPAN / n_cells[l])))
            gphi = int(math.floor((trk_phi[t, l] + np.pi) / (2.0 * np.pi / n_cells[l]))) % n_cells[l]
            c = _local(l, geta, gphi, n_cells, lo_eta, n_eta, lo_phi, n_phi, offset)
            if c >= 0 and label[c] >= 0:
                track_cluster[t] = label[c]
                break

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
    return out_layer, out_eta, out_phi, out_e, out_label, n_clusters, track_cluster, centre


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
    """Cells with noise, topo-clustered, in a window around a jet axis.

    Args:
        card: the detector card (granularity, noise, thresholds, spots).
        deposits: particle deposits from :func:`sim_pairs.detector.calorimeter.particle_deposits`.
        jet_eta, jet_phi: window centre.
        half_width: window half-width in eta and in phi.
        track_eta_layer, track_phi_layer: track positions per layer, (n_tracks, 6),
            matched to clusters.
        rng: source of randomness (one integer is drawn to seed the kernel).

    Returns:
        The kept cells with their cluster index, and each track's cluster.
    """
    n_cells, lo_eta, n_eta, lo_phi, n_phi = window_bins(card, jet_eta, jet_phi, half_width)
    topo = card.topo
    out = _kernel(
        int(rng.integers(0, 2**31 - 1)), n_cells, np.array(card.noise_sigmas(), dtype=np.float64),
        lo_eta, n_eta, lo_phi, n_phi,
        deposits.layer, deposits.eta.astype(np.float64), deposits.phi.astype(np.float64),
        deposits.energy.astype(np.float64), deposits.width.astype(np.float64), int(card.spots_per_deposit),
        float(topo.seed), float(topo.neighbour), float(topo.boundary), seed_probability(topo.seed),
        np.ascontiguousarray(track_eta_layer, dtype=np.float64).reshape(-1, 6),
        np.ascontiguousarray(track_phi_layer, dtype=np.float64).reshape(-1, 6),
        _MATCH_ORDER, np.array([l.r_mid for l in card.layers]), np.array([l.z_mid for l in card.layers]),
        float(card.barrel_abs_eta), _overlap_map(card), *_workspace(int((n_eta * n_phi).sum())),
    )
    layer, ieta, iphi, energy, cluster, n_clusters, track_cluster, centre = out
    return Cells(layer, ieta, iphi, energy, cluster, int(n_clusters), track_cluster, *centre)
