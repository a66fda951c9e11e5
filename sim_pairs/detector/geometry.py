"""Calorimeter cell geometry and the extrapolation of charged particles through the field.

Cells of a layer with granularity N are bins of width d_eta = 6 / N in eta over
[-3, 3] and d_phi = 2 pi / N in phi over [-pi, pi) (COCOA's segmentation). A cell's
centre sits on the layer's mid radius in the barrel (abs(eta) < barrel_abs_eta) and
on its mid abs(z) in the endcaps.

Charged particles follow a helix in the solenoid field B: at transverse radius r the
azimuth has turned by ``-q * asin(0.3 B r / (2 pT))`` (B in T, r in m, pT in GeV);
particles whose helix diameter is below r never reach it (NaN). The longitudinal
motion is a straight line in (r, z) from the production point.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from .card import DetectorCard
from .card_cache import per_card

__all__ = ["ETA_SPAN", "CellCentres", "cell_size", "cell_centre", "cell_xyz", "centre_tables", "layer_crossing",
           "wrap_phi"]

#: Cells cover eta in [-3, 3].
ETA_SPAN = 6.0


def wrap_phi(phi: np.ndarray) -> np.ndarray:
    """Azimuth mapped into [-pi, pi)."""
    return (np.asarray(phi) + np.pi) % (2 * np.pi) - np.pi


@numba.njit(cache=True, inline="always")
def _wrap(phi):
    """(phi + pi) % (2 pi) - pi, bit for bit, for the kernels.

    Numba's float modulo is a full divmod (~10 ns); phi + pi is nearly always in
    [0, 2 pi) already, where the modulo returns it unchanged (also for -0.0 and the
    ends). A difference of two azimuths lands in [-2 pi, 0) or [2 pi, 4 pi) next
    (cells across the phi = pi line from the jet axis): there the modulo is one
    addition or subtraction of 2 pi, exact in the second range (Sterbenz) and rounded
    once in the first, as the modulo does. The modulo is kept for the rest and NaN.
    """
    two_pi = 2.0 * math.pi
    shifted = phi + math.pi
    if 0.0 <= shifted < two_pi:
        return shifted - math.pi
    if -two_pi <= shifted < 0.0:
        return (shifted + two_pi) - math.pi
    if two_pi <= shifted < 2.0 * two_pi:
        return (shifted - two_pi) - math.pi
    return shifted % two_pi - math.pi


def cell_size(n_cells: int) -> tuple[float, float]:
    """(d_eta, d_phi) of a layer with granularity ``n_cells``."""
    return ETA_SPAN / n_cells, 2 * np.pi / n_cells


def cell_centre(n_cells: int, ieta: np.ndarray, iphi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre (eta, phi) of cells given their integer bin indices in a layer."""
    deta, dphi = cell_size(n_cells)
    return -0.5 * ETA_SPAN + (np.asarray(ieta) + 0.5) * deta, -np.pi + (np.asarray(iphi) + 0.5) * dphi


def cell_xyz(card: DetectorCard, layer: np.ndarray, eta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cartesian centre (mm) of cells given their layer index and (eta, phi) centre."""
    layer = np.asarray(layer, dtype=np.int64)
    r_mid = np.array([l.r_mid for l in card.layers])[layer]
    z_mid = np.array([l.z_mid for l in card.layers])[layer]
    barrel = np.abs(eta) < card.barrel_abs_eta
    sinh = np.sinh(eta)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(barrel, r_mid, z_mid / np.abs(np.where(barrel, 1.0, sinh)))
    z = np.where(barrel, r_mid * sinh, np.sign(eta) * z_mid)
    return rho * np.cos(phi), rho * np.sin(phi), z


@numba.njit(cache=True, error_model="numpy")
def _centre_tables(n_cells, r_mid, z_mid, barrel_abs_eta):
    out = np.zeros((6, n_cells.shape[0], n_cells.max()))
    for l in range(n_cells.shape[0]):
        for g in range(n_cells[l]):
            eta = -0.5 * ETA_SPAN + (g + 0.5) * ETA_SPAN / n_cells[l]
            phi = -np.pi + (g + 0.5) * 2.0 * np.pi / n_cells[l]
            if abs(eta) < barrel_abs_eta:
                rho = r_mid[l]
                z = rho * math.sinh(eta)
            else:
                z = math.copysign(z_mid[l], eta)
                rho = z_mid[l] / abs(math.sinh(eta))
            out[0, l, g] = eta
            out[1, l, g] = phi
            out[2, l, g] = rho
            out[3, l, g] = z
            out[4, l, g] = math.cos(phi)
            out[5, l, g] = math.sin(phi)
    return out


class CellCentres(NamedTuple):
    """Cell centres by bin, each (n_layers, max N): ``eta[l, g]`` and ``phi[l, g]`` of bin g
    of layer l, by eta bin ``rho`` and ``z`` (mm), by phi bin ``cos_phi`` and ``sin_phi``,
    so that a cell's centre is (rho cos_phi, rho sin_phi, z) without a transcendental
    call per cell."""

    eta: np.ndarray
    phi: np.ndarray
    rho: np.ndarray
    z: np.ndarray
    cos_phi: np.ndarray
    sin_phi: np.ndarray


@per_card
def centre_tables(card: DetectorCard) -> CellCentres:
    """The card's :class:`CellCentres`, computed once per card."""
    table = _centre_tables(np.array([l.n_cells for l in card.layers], dtype=np.int64),
                           np.array([l.r_mid for l in card.layers]), np.array([l.z_mid for l in card.layers]),
                           float(card.barrel_abs_eta))
    return CellCentres(*table)


@numba.njit(cache=True, error_model="numpy")
def _cell_xyz(layer, ieta, iphi, centres):
    """Cartesian centres (mm) of cells by their bins, from the card's centre tables."""
    n = layer.shape[0]
    x = np.empty(n)
    y = np.empty(n)
    z = np.empty(n)
    for i in range(n):
        rho = centres.rho[layer[i], ieta[i]]
        x[i] = rho * centres.cos_phi[layer[i], iphi[i]]
        y[i] = rho * centres.sin_phi[layer[i], iphi[i]]
        z[i] = centres.z[layer[i], ieta[i]]
    return x, y, z


@numba.njit(cache=True, error_model="numpy")
def crossing(pt, eta, phi, charge, z0, r_mid, z_mid, barrel_abs_eta, field_tesla, eta_out, phi_out):
    """Numba kernel of :func:`layer_crossing` for one particle: fills eta_out, phi_out (6,)."""
    sinh = math.sinh(eta)
    for l in range(r_mid.shape[0]):
        eta_l = math.asinh((z0 + r_mid[l] * sinh) / r_mid[l])
        rho = r_mid[l]
        if abs(eta_l) >= barrel_abs_eta and sinh != 0.0:
            z_end = math.copysign(z_mid[l], eta)
            rho = abs((z_end - z0) / sinh)
            eta_l = math.asinh(z_end / rho)
        turn = 0.0
        if charge != 0:
            bend = 0.3 * field_tesla * (rho * 1e-3) / (2.0 * pt)
            if bend > 1.0:
                eta_out[l] = np.nan
                phi_out[l] = np.nan
                continue
            turn = math.asin(bend)
        eta_out[l] = eta_l
        phi_out[l] = _wrap(phi - charge * turn)


@numba.njit(cache=True, error_model="numpy")
def _crossings(pt, eta, phi, charge, z0, r_mid, z_mid, barrel_abs_eta, field_tesla):
    n = pt.shape[0]
    eta_out = np.empty((n, r_mid.shape[0]))
    phi_out = np.empty((n, r_mid.shape[0]))
    for i in range(n):
        crossing(pt[i], eta[i], phi[i], charge[i], z0[i], r_mid, z_mid, barrel_abs_eta, field_tesla, eta_out[i], phi_out[i])
    return eta_out, phi_out


def layer_crossing(card: DetectorCard, pt, eta, phi, charge, z0) -> tuple[np.ndarray, np.ndarray]:
    """Where particles cross the middle of each calorimeter layer.

    Args:
        card: the detector (layer radii and z, field).
        pt: transverse momentum in GeV, shape (n,).
        eta, phi: direction at the production point, shape (n,).
        charge: electric charge in e (0 for neutrals: straight line), shape (n,).
        z0: longitudinal position of the production point (mm), shape (n,).

    Returns:
        (eta_layer, phi_layer), each of shape (n, 6): the position seen from the
        origin where the particle crosses each layer's mid radius (barrel) or mid
        abs(z) (endcap); NaN where a charged particle curls up before the layer.
    """
    f64 = np.float64
    return _crossings(
        np.asarray(pt, f64), np.asarray(eta, f64), np.asarray(phi, f64), np.asarray(charge, f64), np.asarray(z0, f64),
        np.array([l.r_mid for l in card.layers]), np.array([l.z_mid for l in card.layers]),
        float(card.barrel_abs_eta), float(card.field_tesla),
    )
