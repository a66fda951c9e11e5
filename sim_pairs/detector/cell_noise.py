"""Gaussian cell noise, drawn only where it can matter (used by the topo-clustering kernel).

Every cell carries noise N(0, sigma). A cell's noise is drawn the first time the
clustering needs it, truncated below the bound that the seeding already accounted
for; the seeds themselves come from the exact tail of the Gaussian. See
``topo_cluster`` for how these pieces make every cell's noise exactly Gaussian.
All functions are numba-compiled and draw from numba's generator, which the kernel
seeds once per call.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["seed_probability"]


def seed_probability(threshold: float) -> float:
    """Q = P(Z > threshold) for a standard normal Z: the noise-only seed rate per cell."""
    return 0.5 * math.erfc(threshold / math.sqrt(2.0))


@numba.njit(cache=True)
def _gauss_tail(a):
    if a <= 0.0:
        return abs(np.random.standard_normal())
    while True:
        x = math.sqrt(a * a - 2.0 * math.log(1.0 - np.random.random()))
        if np.random.random() * x < a:
            return x


@numba.njit(cache=True)
def _upper_tail(x):
    return 0.5 * math.erfc(x / math.sqrt(2.0))


@numba.njit(cache=True)
def _geometric(p):
    """Failures before the first success of Bernoulli(p) trials."""
    if p <= 0.0:
        return 2**62
    if p >= 1.0:
        return 0
    return int(math.log(1.0 - np.random.random()) / math.log1p(-p))


@numba.njit(cache=True)
def _gauss_between(a, b):
    """Standard normal truncated to (a, b), 0 <= a < b, by uniform proposals."""
    while True:
        z = a + (b - a) * np.random.random()
        if np.random.random() < math.exp(-0.5 * (z * z - a * a)):
            return z


@numba.njit(cache=True, inline="always")
def _significance(energy, sigma):
    if sigma > 0.0:
        return energy / sigma
    if energy > 0.0:
        return np.inf
    if energy < 0.0:
        return -np.inf
    return 0.0


@numba.njit(cache=True, inline="always")
def _noise_at(c, sigma_c, noise, drawn, bound):
    """The cell's noise, drawn on first use from N(0, sigma) truncated below ``bound`` sigmas."""
    if not drawn[c]:
        z = np.random.standard_normal()
        while z > bound:
            z = np.random.standard_normal()
        noise[c] = sigma_c * z
        drawn[c] = True
    return noise[c]
