import numpy as np
import pytest

from sim_pairs.detector import load_card, simulate_jet
from sim_pairs.detector.readout import digitise
from sim_pairs.event import Particles


def _nearest_with_bits(x: np.ndarray, bits: int) -> np.ndarray:
    """The reference: x rounded to ``bits`` mantissa bits with frexp, ties away from zero."""
    mantissa, exponent = np.frexp(x.astype(np.float64))  # x = m 2^e, 0.5 <= |m| < 1
    scale = 2.0 ** (bits + 1)
    rounded = np.sign(mantissa) * np.floor(np.abs(mantissa) * scale + 0.5) / scale
    return np.ldexp(rounded, exponent).astype(np.float32)


@pytest.mark.parametrize("bits", [1, 8, 10, 16, 22])
def test_digitise_rounds_to_the_nearest_value_with_that_many_mantissa_bits(bits):
    rng = np.random.default_rng(bits)
    x = np.concatenate([rng.normal(0, 0.05, 3000), rng.exponential(20.0, 3000), -rng.exponential(1e-3, 100),
                        [0.0, -0.0, 1.0, 1.5, np.float32(1.9999999)]]).astype(np.float32)
    got = digitise(x, bits)
    np.testing.assert_array_equal(got, _nearest_with_bits(x, bits))
    assert got.dtype == np.float32
    nonzero = x != 0
    assert np.all(np.abs(got[nonzero] / x[nonzero] - 1) <= 2.0 ** -(bits + 1))
    np.testing.assert_array_equal(digitise(got, bits), got)  # idempotent
    assert np.signbit(digitise(np.float32([-0.0]), bits)[0])


def test_digitise_keeps_float32_whole_at_23_bits_and_refuses_other_counts():
    x = np.random.default_rng(0).normal(size=100).astype(np.float32)
    np.testing.assert_array_equal(digitise(x, 23), x)
    assert np.isnan(digitise(np.float32([np.nan]), 5)[0]) and np.isinf(digitise(np.float32([np.inf]), 5)[0])
    for bad in (0, 24):
        with pytest.raises(ValueError, match="cell_energy_bits"):
            digitise(x, bad)
    with pytest.raises(ValueError, match="cell_energy_bits"):
        load_card("cocoa", {"cell_energy_bits": 30})


def test_stored_cells_are_in_index_order_with_digitised_energies():
    rng = np.random.default_rng(5)
    n = 40
    eta, phi = rng.normal(0.3, 0.1, n), rng.normal(1.0, 0.1, n)
    pt = rng.exponential(20.0, n) + 1.0
    zero = np.zeros(n)
    particles = Particles(px=pt * np.cos(phi), py=pt * np.sin(phi), pz=pt * np.sinh(eta), e=pt * np.cosh(eta),
                          pid=np.where(rng.random(n) < 0.5, 22, 130).astype(np.int32), charge=np.zeros(n, np.int8),
                          vx=zero, vy=zero.copy(), vz=zero.copy())
    fine = simulate_jet(particles, 0.3, 1.0, 0.8, load_card("cocoa", {"cell_energy_bits": 23}), np.random.default_rng(1))
    coarse = simulate_jet(particles, 0.3, 1.0, 0.8, load_card("cocoa"), np.random.default_rng(1))
    assert len(fine["cell_index"]) > 50 and np.all(np.diff(fine["cell_index"]) > 0)
    np.testing.assert_array_equal(coarse["cell_index"], fine["cell_index"])  # digitisation comes last
    np.testing.assert_array_equal(coarse["cell_energy"], digitise(fine["cell_energy"], 9))
    assert not np.array_equal(coarse["cell_energy"], fine["cell_energy"])
