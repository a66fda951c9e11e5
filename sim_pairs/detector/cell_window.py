"""The window of calorimeter cells around a jet: bin ranges, indexing, neighbours across layers, workspace.

Cells of layer l inside the window are numbered ``offset[l] + ie * n_phi[l] + ip``
with ie, ip the eta and phi bins counted from the window's first bin (phi wraps
around). The topo-clustering kernel works on these numbers.
"""

from __future__ import annotations

import math
import threading

import numba
import numpy as np

from .card import DetectorCard
from .card_cache import per_card
from .geometry import ETA_SPAN

__all__ = ["max_neighbours", "window_bins", "window_capacity"]


@numba.njit(cache=True, inline="always")
def _local(geta, gphi, n_cells, lo_eta, n_eta, lo_phi, n_phi, offset):
    """Window index of a cell given by global bin indices, or -1 outside the window.

    The numbers of the cell's layer come as scalars (its granularity, its window's
    first bins and counts, its offset): an array argument of a helper costs an atomic
    reference count increment and decrement per call, which in the kernels' inner
    loops took a third of the detector's time.
    """
    ie = geta - lo_eta
    if ie < 0 or ie >= n_eta or geta < 0 or geta >= n_cells:
        return -1
    ip = gphi - lo_phi  # gphi is in [0, n_cells): a modulo would cost a division
    if ip < 0:
        ip += n_cells
    if ip >= n_phi:
        return -1
    return offset + ie * n_phi + ip


@per_card
def _overlap_map(card: DetectorCard) -> np.ndarray:
    """overlap[l, side, g] = (first, last) bin of layer l - 1 (side 0) or l + 1 (side 1)
    overlapping bin g of layer l; the same for eta and phi (both have N bins per layer)."""
    n = [layer.n_cells for layer in card.layers]
    overlap = np.zeros((len(n), 2, max(n), 2), dtype=np.int64)
    for l in range(len(n)):
        for side, l2 in enumerate((l - 1, l + 1)):
            if 0 <= l2 < len(n):
                g = np.arange(n[l])
                overlap[l, side, : n[l], 0] = (g * n[l2]) // n[l]
                overlap[l, side, : n[l], 1] = ((g + 1) * n[l2] - 1) // n[l]
    return overlap


@per_card
def max_neighbours(card: DetectorCard) -> int:
    """The most neighbours a cell can have: 8 in its layer and the overlapping cells of the layers beside it."""
    overlap = _overlap_map(card)
    span = overlap[:, :, :, 1] - overlap[:, :, :, 0] + 1  # per layer, side and bin; 1 where there is no layer
    return int(8 + (span.max(axis=2) ** 2).sum(axis=1).max())


_WORKSPACE = threading.local()


def _workspace(size: int, neighbours: int) -> tuple[np.ndarray, ...]:
    """Per-thread cell arrays the kernel reuses from call to call (it resets what it touched).

    One entry per window cell (``size`` bounds their number): signal, noise (GeV),
    drawn, candidate (bool), label (cluster, -1 none), queue, kept, visited (cell
    lists), member (position in the kept list, -1 none), adj_lo, adj_hi (per kept
    cell, where its neighbours are in adj), cand_list, cand_layer (the cells deposits
    and noise seeds touched, and their layers; one more entry for a branch-free
    append); and adj, every growing cell's neighbours for the splitter (at most
    ``neighbours`` per cell). All are sized for the worst case so that no list grows
    inside a kernel: an array that may be replaced inside a loop is reference-counted
    on every pass. Pages never written take no memory.
    """
    arrays = getattr(_WORKSPACE, "arrays", None)
    if arrays is None or arrays[0].shape[0] < size or arrays[9].shape[0] < size * neighbours:
        size = max(size, 1024)
        arrays = (
            np.zeros(size), np.zeros(size), np.zeros(size, dtype=np.bool_), np.zeros(size, dtype=np.bool_),
            np.full(size, -1, dtype=np.int64), np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64),
            np.empty(size, dtype=np.int64), np.full(size, -1, dtype=np.int32),
            np.empty(size * max(neighbours, 8), dtype=np.int32), np.empty(size, dtype=np.int32),
            np.empty(size, dtype=np.int32), np.empty(size + 1, dtype=np.int64), np.empty(size + 1, dtype=np.int64),
        )
        _WORKSPACE.arrays = arrays
    return arrays


@numba.njit(cache=True, error_model="numpy")
def _window_bins(n_cells, jet_eta, jet_phi, half_width):
    n_layers = n_cells.shape[0]
    lo_eta = np.empty(n_layers, dtype=np.int64)
    n_eta = np.empty(n_layers, dtype=np.int64)
    lo_phi = np.empty(n_layers, dtype=np.int64)
    n_phi = np.empty(n_layers, dtype=np.int64)
    for l in range(n_layers):
        n = n_cells[l]
        deta, dphi = ETA_SPAN / n, 2 * math.pi / n
        lo = max(0, math.floor((jet_eta - half_width + 0.5 * ETA_SPAN) / deta))
        hi = min(n - 1, math.floor((jet_eta + half_width + 0.5 * ETA_SPAN) / deta))
        lo_eta[l], n_eta[l] = lo, max(0, hi - lo + 1)
        lo_phi[l] = math.floor((jet_phi - half_width + math.pi) / dphi) % n
        n_phi[l] = min(n, math.floor(2 * half_width / dphi) + 2)
    return lo_eta, n_eta, lo_phi, n_phi


def window_bins(card: DetectorCard, jet_eta: float, jet_phi: float, half_width: float):
    """Per layer: granularity, first eta bin and count, first phi bin and count of the window."""
    n_cells = np.array([layer.n_cells for layer in card.layers], dtype=np.int64)
    return (n_cells, *_window_bins(n_cells, float(jet_eta), float(jet_phi), float(half_width)))


def window_capacity(card: DetectorCard, half_width: float) -> int:
    """An upper bound on the number of window cells for any jet axis (sizes the workspace).

    Two floors of arguments 2 * half_width / d_eta apart differ by at most that plus one;
    one more covers rounding.
    """
    total = 0
    for layer in card.layers:
        n = layer.n_cells
        total += min(n, math.floor(2 * half_width * n / ETA_SPAN) + 3) * min(n, math.floor(2 * half_width / (2 * math.pi / n)) + 2)
    return total
