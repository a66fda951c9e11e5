"""Digitisation of cell energies: the precision a calorimeter's readout reports them with.

A real calorimeter does not report a cell's energy to float32's 24 significant bits:
ATLAS's liquid-argon readout digitises each cell with a 12-bit ADC in one of three
gains (1, 10, 100), a relative step between about 0.024% (top of a gain's range) and
0.24% (bottom), i.e. 8.7 to 12 significant bits. The card's ``cell_energy_bits``
keeps that many bits of a cell energy's float32 mantissa (rounded to nearest, ties
away from zero). The COCOA card's 9 bits are a relative step of 2^-9 (0.2%, finer than
the coarsest step of that readout): an error of at most 0.1% and 0.06% rms, which widens
the 1.4% resolution of a 100 GeV ECAL cell (1% stochastic and 1% constant terms) by
0.08% of itself and is under a thousandth of the noise for a cell at noise level. The dropped
bits were the simulation's own rounding noise, which no compression removes: they took
1.9 KB of a quickstart row of 7.1 KB (docs/generation.md#cell-order-and-digitisation-schema-version-3-rs3l-021).
23 keeps float32 as it is. Particle flow and clustering use the energies before
digitisation (a difference of at most 0.1% per cell).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["FLOAT32_MANTISSA_BITS", "digitise"]

#: Explicit mantissa bits of a float32: ``cell_energy_bits`` of 23 changes nothing.
FLOAT32_MANTISSA_BITS = 23


@numba.njit(cache=True)
def _round_mantissa(values, bits):
    """Round float32 ``values`` in place to ``bits`` explicit mantissa bits (nearest, ties away from zero)."""
    drop = FLOAT32_MANTISSA_BITS - bits
    if drop <= 0:
        return
    raw = values.view(np.uint32)
    half = np.uint32(1 << (drop - 1))
    keep = np.uint32(0xFFFFFFFF ^ ((1 << drop) - 1))
    for i in range(raw.shape[0]):
        if (raw[i] & np.uint32(0x7F800000)) == np.uint32(0x7F800000):
            continue  # inf and NaN stay as they are
        # adding half a step to the magnitude carries into the exponent when it should
        raw[i] = (raw[i] + half) & keep


def digitise(energy, bits: int) -> np.ndarray:
    """Cell energies as float32 rounded to ``bits`` (1-23) explicit mantissa bits; a new array."""
    if not 1 <= bits <= FLOAT32_MANTISSA_BITS:
        raise ValueError(f"cell_energy_bits must be in 1..{FLOAT32_MANTISSA_BITS}, got {bits}")
    out = np.array(energy, dtype=np.float32, copy=True).reshape(-1)
    _round_mantissa(out, bits)
    return out.reshape(np.shape(energy))
