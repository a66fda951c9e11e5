"""Gaussian cell noise, drawn only where it can matter (used by the topo-clustering kernel).

Every cell carries noise N(0, sigma). A cell's noise is drawn the first time the
clustering needs it, truncated below the bound that the seeding already accounted
for; the seeds themselves come from the exact tail of the Gaussian. See
``topo_cluster`` for how these pieces make every cell's noise exactly Gaussian.
All functions are numba-compiled and draw from the numpy Generator ``rng`` they are given.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["seed_probability"]


def seed_probability(threshold: float) -> float:
    """Q = P(Z > threshold) for a standard normal Z: the noise-only seed rate per cell."""
    return 0.5 * math.erfc(threshold / math.sqrt(2.0))


@numba.njit(cache=True, error_model="numpy")
def _gauss_tail(rng, a):
    if a <= 0.0:
        return abs(rng.standard_normal())
    while True:
        x = math.sqrt(a * a - 2.0 * math.log(1.0 - rng.random()))
        if rng.random() * x < a:
            return x


@numba.njit(cache=True, error_model="numpy")
def _upper_tail(x):
    return 0.5 * math.erfc(x / math.sqrt(2.0))


@numba.njit(cache=True, error_model="numpy")
def _geometric(rng, p):
    """Failures before the first success of Bernoulli(p) trials."""
    if p <= 0.0:
        return 2**62
    if p >= 1.0:
        return 0
    return int(math.log(1.0 - rng.random()) / math.log1p(-p))


@numba.njit(cache=True, error_model="numpy")
def _gauss_between(rng, a, b):
    """Standard normal truncated to (a, b), 0 <= a < b, by uniform proposals."""
    while True:
        z = a + (b - a) * rng.random()
        if rng.random() < math.exp(-0.5 * (z * z - a * a)):
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


@numba.njit(cache=True, error_model="numpy")
def _normal_below(rng, bound):
    """A standard normal truncated below ``bound``: a cell's noise in sigmas, drawn the first time it is needed.

    The callers keep the noise (``noise``, ``drawn``): a helper taking those arrays
    would be reference-counted on every call.
    """
    z = rng.standard_normal()
    while z > bound:
        z = rng.standard_normal()
    return z


@numba.njit(cache=True, error_model="numpy")
def _add_noise_seeds(rng, n_window, offset, sigma, seed_thr, q_seed, noise, drawn, candidate, cand_list, cand_layer, n_cand):
    """Pure-noise seeds: Poisson(n_window * Q) per layer at uniform cells, values from the tail above the seed.

    Appends them to the candidate list (where not already there); returns its new length.
    """
    for l in range(n_window.shape[0]):
        if n_window[l] == 0 or sigma[l] <= 0.0:
            continue
        for _ in range(rng.poisson(n_window[l] * q_seed)):
            c = offset[l] + rng.integers(0, n_window[l])
            noise[c] = sigma[l] * _gauss_tail(rng, seed_thr)
            drawn[c] = True
            cand_list[n_cand] = c
            cand_layer[n_cand] = l
            n_cand += 1 - candidate[c]
            candidate[c] = True
    return n_cand


@numba.njit(cache=True, error_model="numpy")
def _find_seeds(rng, cand_list, cand_layer, n_cand, sigma, seed_thr, s_cut, signal, noise, drawn):
    """The candidate cells above the seed threshold, in decreasing significance.

    A cell whose signal s (in sigmas) is below s_cut becomes a seed only if its noise
    lands in (seed - s, seed), probability p(s) <= p_max ~ 1e-4: decide that by
    thinning (geometric skips at rate p_max, then accept with p(s) / p_max) instead of
    drawing every such cell's noise; a cell not made a seed keeps noise truncated
    below seed - s, drawn when clustering reaches it.
    """
    seeds = np.empty(n_cand, dtype=np.int64)
    seed_sig = np.empty(n_cand)
    n_seeds = 0
    q_thr = _upper_tail(seed_thr)
    p_max = (_upper_tail(seed_thr - s_cut) - q_thr) / (1.0 - q_thr)
    next_trial = _geometric(rng, p_max)
    n_low = 0
    for i in range(n_cand):
        c = cand_list[i]
        sigma_c = sigma[cand_layer[i]]
        if drawn[c] or sigma_c <= 0.0 or signal[c] >= s_cut * sigma_c:
            if not drawn[c]:
                noise[c] = sigma_c * _normal_below(rng, seed_thr)
                drawn[c] = True
            s = _significance(signal[c] + noise[c], sigma_c)
        else:
            s = -np.inf
            if n_low == next_trial:
                s_low = signal[c] / sigma_c
                p_low = (_upper_tail(seed_thr - s_low) - q_thr) / (1.0 - q_thr)
                if rng.random() * p_max < p_low:
                    noise[c] = sigma_c * _gauss_between(rng, seed_thr - s_low, seed_thr)
                    drawn[c] = True
                    s = s_low + noise[c] / sigma_c
                next_trial += 1 + _geometric(rng, p_max)
            n_low += 1
        if s > seed_thr:
            seeds[n_seeds] = c
            seed_sig[n_seeds] = s
            n_seeds += 1
    return seeds[:n_seeds][np.argsort(-seed_sig[:n_seeds], kind="mergesort")]
