"""Longitudinal shower profiles: a gamma distribution in depth, integrated over the calorimeter layers.

A shower whose energy deposition follows dE/dt ~ t^(a-1) e^(-t / scale) from depth
``begin`` (Longo and Sestili; PDG review 34.5) leaves in each layer the difference of
the regularised incomplete gamma function P(a, t / scale) at the layer's ends. The
parts in the iron gap or behind the last layer are shared out over the layers (the
calibration corrects dead material on average), so the fractions sum to 1.

``_em_table`` / ``_had_table`` tabulate the fractions once per card on fine grids of
(shape) and (shape, begin); ``_em_profile`` / ``_had_profile`` interpolate them
linearly in the per-particle kernel, within 1e-3 of the exact integrals.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, error_model="numpy")
def _gammainc(a, x):
    """Regularised lower incomplete gamma P(a, x) (series below a + 1, continued fraction above)."""
    if x <= 0.0:
        return 0.0
    log_prefactor = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:
        ap, term = a, 1.0 / a
        total = term
        for _ in range(500):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return total * math.exp(log_prefactor)
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 500):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < tiny:
            d = tiny
        c = b + an / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return 1.0 - math.exp(log_prefactor) * h


@numba.njit(cache=True, error_model="numpy")
def _fill_profile(shape, scale, begin, edges, out):
    """out[l] = fraction of a gamma(shape, scale) profile starting at ``begin`` in layer l; sums to 1 (or 0)."""
    total = 0.0
    for l in range(edges.shape[1]):
        lo = max(edges[0, l] - begin, 0.0) / scale
        hi = max(edges[1, l] - begin, 0.0) / scale
        out[l] = _gammainc(shape, hi) - _gammainc(shape, lo) if hi > 0.0 else 0.0
        total += out[l]
    for l in range(edges.shape[1]):
        out[l] = out[l] / total if total > 0.0 else 0.0


@numba.njit(cache=True, error_model="numpy")
def _profiles(shape, scale, begin, edges):
    out = np.empty((shape.shape[0], edges.shape[1]))
    for i in range(shape.shape[0]):
        _fill_profile(shape[i], scale, begin[i], edges, out[i])
    return out


def _profile(shape: np.ndarray, scale: float, begin: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Fraction of a gamma(shape, scale) profile starting at depth ``begin`` in each layer.

    Args:
        shape: gamma shape per particle, (n,).
        scale: gamma scale (depth units).
        begin: where each profile starts, (n,).
        edges: (2, 6) layer start and end depths.

    Returns:
        (n, 6) fractions; rows sum to 1 (the part in the gap or behind the last layer
        is shared out in proportion), or 0 where the profile starts behind the calorimeter.
    """
    return _profiles(np.asarray(shape, np.float64), float(scale), np.asarray(begin, np.float64), np.asarray(edges, np.float64))


@numba.njit(cache=True, error_model="numpy")
def _em_table(shapes, scale, edges):
    out = np.empty((shapes.shape[0], edges.shape[1]))
    for i in range(shapes.shape[0]):
        _fill_profile(shapes[i], scale, 0.0, edges, out[i])
    return out


@numba.njit(cache=True, error_model="numpy")
def _had_table(shapes, begins, scale, edges):
    out = np.empty((shapes.shape[0], begins.shape[0], edges.shape[1]))
    for i in range(shapes.shape[0]):
        for j in range(begins.shape[0]):
            _fill_profile(shapes[i], scale, begins[j], edges, out[i, j])
    return out


@numba.njit(cache=True, error_model="numpy")
def _grid_position(value, lo, step, n):
    """(index, weight) for linear interpolation on a uniform grid, clamped to its ends."""
    x = (value - lo) / step
    if x <= 0.0:
        return 0, 0.0
    if x >= n - 1:
        return n - 2, 1.0
    i = int(x)
    return i, x - i


@numba.njit(cache=True, error_model="numpy")
def _em_profile(shape, table, lo, step, out):
    i, w = _grid_position(shape, lo, step, table.shape[0])
    for l in range(out.shape[0]):
        out[l] = (1.0 - w) * table[i, l] + w * table[i + 1, l]


@numba.njit(cache=True, error_model="numpy")
def _had_profile(shape, begin, table, s_lo, s_step, b_lo, b_step, out):
    i, wi = _grid_position(shape, s_lo, s_step, table.shape[0])
    j, wj = _grid_position(begin, b_lo, b_step, table.shape[1])
    if begin > b_lo + b_step * (table.shape[1] - 1):
        for l in range(out.shape[0]):
            out[l] = 0.0
        return
    for l in range(out.shape[0]):
        out[l] = ((1.0 - wi) * ((1.0 - wj) * table[i, j, l] + wj * table[i, j + 1, l])
                  + wi * ((1.0 - wj) * table[i + 1, j, l] + wj * table[i + 1, j + 1, l]))
