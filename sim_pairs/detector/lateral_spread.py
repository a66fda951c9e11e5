"""Lateral spread of calorimeter deposits over the cells of the jet's window (numba, step 1 of topo_cluster).

Each deposit spreads over the cells of its layer with a 2D Gaussian profile of the
card's lateral width, integrated exactly over each cell (error functions) out to 2.5
widths (at most 6 cells each side); cells that would get less than 1e-3 of the
deposit or less than 0.1 sigma of noise are skipped and the rest renormalised, so the
deposit's energy is conserved exactly. A deposit smaller than the layer's noise
sigma (about half the deposits of a jet, 0.1% of its energy: profile tails, soft
particles) goes into the cell it points at. Shower-to-shower fluctuations enter
through the profile's centre, which is displaced by a Gaussian of sigma
width / sqrt(spots_per_deposit): the centroid fluctuation of a shower made of that
many independent energy spots.

The functions draw from the numpy Generator ``rng`` they are given.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .cell_window import _local
from .geometry import ETA_SPAN

_MAX_HALF = 6  # cells on each side of a deposit's centre cell that its profile may reach
_CUT_SIGMAS = 2.5  # profile integrated out to this many widths, then renormalised
_MIN_FRACTION = 1e-3  # cells getting less than this fraction of a deposit are skipped...
_MIN_NOISE_FRACTION = 0.1  # ...or less than this fraction of the layer's noise sigma
_POINT_NOISE_FRACTION = 1.0  # deposits below this many noise sigmas go into one cell, unspread


@numba.njit(cache=True, error_model="numpy")
def _spread_deposits(rng, dep_layer, dep_eta, dep_phi, dep_e, dep_width, n_spots, n_cells, sigma,
                     lo_eta, n_eta, lo_phi, n_phi, offset, signal, candidate, cand_list, cand_layer):
    """Add every deposit's energy to ``signal`` (window-indexed) and list the cells it touched.

    Fills cand_list, cand_layer (at least one entry more than the window has cells)
    with the touched cells in first-touch order and their layers, marks them in
    ``candidate``, and returns their number.
    """
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
            c = _local(geta, gphi, n_cells[l], lo_eta[l], n_eta[l], lo_phi[l], n_phi[l], offset[l])
            if c >= 0:
                signal[c] += dep_e[d]
                cand_list[n_cand] = c  # a branch-free append of a newly touched cell, as below
                cand_layer[n_cand] = l
                n_cand += 1 - candidate[c]
                candidate[c] = True
            continue
        jitter = width / math.sqrt(n_spots)
        eta0 = dep_eta[d] + jitter * rng.standard_normal()
        phi0 = dep_phi[d] + jitter * rng.standard_normal()
        ce = int(math.floor((eta0 + 0.5 * ETA_SPAN) / deta))
        cp = int(math.floor((phi0 + np.pi) / dphi))
        half = min(_MAX_HALF, int(math.ceil(_CUT_SIGMAS * width / min(deta, dphi))))
        # rows and columns of the window the profile reaches; a deposit that reaches
        # none (one in seven: particles near the window's corners) needs no integrals
        n_rows = 0
        n_cols = 0
        for k in range(2 * half + 1):
            ge = ce - half + k
            row[k] = ge - lo_eta[l] if (0 <= ge < n_cells[l] and 0 <= ge - lo_eta[l] < n_eta[l]) else -1
            ip = cp - half + k - lo_phi[l]  # Python's modulo n, which is a division; this is a turn or so away
            while ip < 0:
                ip += n_cells[l]
            while ip >= n_cells[l]:
                ip -= n_cells[l]
            col[k] = ip if ip < n_phi[l] else -1
            n_rows += row[k] >= 0
            n_cols += col[k] >= 0
        if n_rows == 0 or n_cols == 0:
            continue
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
    return n_cand
