"""A jet's constituents in jet-relative coordinates, the input of features and augmentations.

Constituents are kept as (pT, d_eta, d_phi, mass) relative to a fixed jet axis, plus
their per-particle attributes; the axis, jet pT and jet energy are those of the
original jet (the four-vector sum of all its constituents), so augmentations that
move constituents (JetCLR's translation) are seen by the features, not undone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .features import wrap_phi

__all__ = ["Constituents", "jet_axis"]


@dataclass
class Constituents:
    """One jet's constituents (arrays of equal length n) and its axis.

    Attributes:
        pt: transverse momentum, GeV, float64 [n].
        deta: eta - jet eta [n].
        dphi: phi - jet phi wrapped into (-pi, pi], rad [n].
        mass: invariant mass, GeV (>= 0) [n].
        pid: PDG id (candidate type for particle flow) [n].
        charge: electric charge, e [n].
        d0, dz: impact parameters, mm [n].
        jet_pt, jet_eta, jet_phi, jet_energy: the jet (sum of the original constituents).
    """

    pt: np.ndarray
    deta: np.ndarray
    dphi: np.ndarray
    mass: np.ndarray
    pid: np.ndarray
    charge: np.ndarray
    d0: np.ndarray
    dz: np.ndarray
    jet_pt: float
    jet_eta: float
    jet_phi: float
    jet_energy: float

    def __len__(self) -> int:
        return len(self.pt)

    @classmethod
    def from_cartesian(cls, px, py, pz, energy, pid, charge, d0, dz) -> "Constituents":
        """Build from four-momenta (GeV); the jet axis is the sum of all of them."""
        px, py, pz, energy = (np.asarray(a, dtype=np.float64) for a in (px, py, pz, energy))
        jet_pt, jet_eta, jet_phi, jet_energy = jet_axis(px, py, pz, energy)
        pt = np.hypot(px, py)
        eta = np.arcsinh(pz / np.maximum(pt, 1e-9))
        phi = np.arctan2(py, px)
        mass = np.sqrt(np.maximum(energy**2 - pt**2 - pz**2, 0.0))
        return cls(
            pt=pt,
            deta=eta - jet_eta,
            dphi=wrap_phi(phi - jet_phi),
            mass=mass,
            pid=np.asarray(pid),
            charge=np.asarray(charge),
            d0=np.asarray(d0, dtype=np.float64),
            dz=np.asarray(dz, dtype=np.float64),
            jet_pt=jet_pt,
            jet_eta=jet_eta,
            jet_phi=jet_phi,
            jet_energy=jet_energy,
        )

    @property
    def energy(self) -> np.ndarray:
        """Energy, GeV, from pT, eta = jet eta + d_eta and the mass."""
        pz = self.pt * np.sinh(self.jet_eta + self.deta)
        return np.sqrt(self.pt**2 + pz**2 + self.mass**2)

    def take(self, index: np.ndarray) -> "Constituents":
        """The constituents at ``index`` (same jet axis)."""
        return replace(self, **{name: getattr(self, name)[index] for name in _PER_PARTICLE})

    def top(self, n: int, by: str = "pt") -> "Constituents":
        """The n constituents with the highest pT (``by='pt'``) or energy, in that order."""
        key = self.pt if by == "pt" else self.energy
        order = np.argsort(-key, kind="stable")[:n]
        return self.take(order)


_PER_PARTICLE = ("pt", "deta", "dphi", "mass", "pid", "charge", "d0", "dz")


def jet_axis(px, py, pz, energy) -> tuple[float, float, float, float]:
    """(pT, eta, phi, E) of the four-vector sum; GeV and rad."""
    sx, sy, sz, se = float(np.sum(px)), float(np.sum(py)), float(np.sum(pz)), float(np.sum(energy))
    pt = float(np.hypot(sx, sy))
    eta = float(np.arcsinh(sz / pt)) if pt > 0 else 0.0
    phi = float(np.arctan2(sy, sx))
    return pt, eta, phi, se
