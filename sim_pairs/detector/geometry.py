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

import numpy as np

from .card import DetectorCard

__all__ = ["ETA_SPAN", "cell_size", "cell_centre", "cell_xyz", "layer_crossing", "wrap_phi"]

#: Cells cover eta in [-3, 3].
ETA_SPAN = 6.0


def wrap_phi(phi: np.ndarray) -> np.ndarray:
    """Azimuth mapped into [-pi, pi)."""
    return (np.asarray(phi) + np.pi) % (2 * np.pi) - np.pi


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
    pt, eta, phi, z0 = (np.asarray(a, dtype=np.float64)[:, None] for a in (pt, eta, phi, z0))
    charge = np.asarray(charge, dtype=np.float64)[:, None]
    r_mid = np.array([l.r_mid for l in card.layers])[None, :]
    z_mid = np.array([l.z_mid for l in card.layers])[None, :]
    sinh = np.sinh(eta)
    z_barrel = z0 + r_mid * sinh
    eta_barrel = np.arcsinh(z_barrel / r_mid)
    endcap = np.abs(eta_barrel) >= card.barrel_abs_eta
    with np.errstate(divide="ignore", invalid="ignore"):
        z_end = np.sign(eta) * z_mid
        rho_end = np.abs((z_end - z0) / sinh)
        eta_end = np.arcsinh(z_end / rho_end)
        rho = np.where(endcap, rho_end, r_mid)
        eta_layer = np.where(endcap, eta_end, eta_barrel)
        bend = 0.3 * card.field_tesla * (rho * 1e-3) / (2.0 * pt)
        turn = np.where(bend <= 1.0, np.arcsin(np.minimum(bend, 1.0)), np.nan)
        turn = np.where(charge == 0, 0.0, turn)
    phi_layer = wrap_phi(phi - charge * turn)
    eta_layer = np.where(np.isnan(phi_layer), np.nan, eta_layer)
    return eta_layer, phi_layer
