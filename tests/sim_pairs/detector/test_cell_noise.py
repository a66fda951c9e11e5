import numba
import numpy as np
import pytest
from scipy import stats

from sim_pairs.detector.cell_noise import _gauss_between, _gauss_tail, _geometric, _normal_below, seed_probability


@numba.njit
def _draw_with(rng, kind, a, b, n):
    out = np.empty(n)
    for i in range(n):
        if kind == 0:
            out[i] = _gauss_tail(rng, a)
        elif kind == 1:
            out[i] = _gauss_between(rng, a, b)
        else:
            out[i] = _geometric(rng, a)
    return out


def _draw(kind, a, b, n, seed):
    return _draw_with(np.random.default_rng(seed), kind, a, b, n)


@numba.njit
def _below_with(rng, bound, n):
    out = np.empty(n)
    for i in range(n):
        out[i] = _normal_below(rng, bound)
    return out


def _below(bound, n, seed):
    return _below_with(np.random.default_rng(seed), bound, n)


@pytest.mark.parametrize("a", [0.0, 2.0, 4.6])
def test_gaussian_tail_matches_scipy_truncnorm(a):
    sample = _draw(0, a, 0.0, 20000, 1)
    assert sample.min() >= a
    assert stats.kstest(sample, stats.truncnorm(a, np.inf).cdf).pvalue > 1e-3


@pytest.mark.parametrize("a, b", [(0.5, 1.0), (3.6, 4.6), (4.5, 4.6)])
def test_gaussian_between_matches_scipy_truncnorm(a, b):
    sample = _draw(1, a, b, 20000, 2)
    assert a <= sample.min() and sample.max() <= b
    assert stats.kstest(sample, stats.truncnorm(a, b).cdf).pvalue > 1e-3


def test_geometric_counts_failures_before_a_success():
    p = 0.01
    sample = _draw(2, p, 0.0, 50000, 3)
    assert sample.mean() == pytest.approx((1 - p) / p, rel=0.03)
    assert stats.kstest(sample + 1, stats.geom(p).cdf).statistic < 0.02


def test_lazy_noise_is_a_normal_truncated_below_the_bound():
    sample = _below(1.5, 20000, 4)
    assert sample.max() <= 1.5
    assert stats.kstest(sample, stats.truncnorm(-np.inf, 1.5).cdf).pvalue > 1e-3


def test_seed_probability_is_the_normal_upper_tail():
    for t in (0.0, 2.0, 4.6):
        assert seed_probability(t) == pytest.approx(stats.norm.sf(t), rel=1e-12)
