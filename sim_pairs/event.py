"""In-memory records passed between the stages of generation.

``HardRecord`` is the hard-process record of one event as it stands in the LHE
file (the partons every view shares); ``Particles`` holds final-state particles of
one showered view; ``ShoweredEvent`` ties them together. Plain numpy arrays, so the
jet, matching and detector stages never touch Pythia objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["HardRecord", "Particles", "ShoweredEvent"]


@dataclass
class HardRecord:
    """Hard-process particles of one event, in LHE order.

    Attributes (arrays of equal length n):
        pid: PDG id (int32).
        status: LHE status: -1 incoming, 1 outgoing, 2 intermediate resonance (int32).
        mother1, mother2: 0-based index of the mothers, -1 for none (int32).
        px, py, pz, e: four-momentum in GeV (float64).
    """

    pid: np.ndarray
    status: np.ndarray
    mother1: np.ndarray
    mother2: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    e: np.ndarray

    def __len__(self) -> int:
        return len(self.pid)

    def same_partons(self, other: "HardRecord") -> bool:
        """Exact equality of ids and four-vectors (the RS3L matching rule)."""
        return all(np.array_equal(getattr(self, f), getattr(other, f)) for f in ("pid", "status", "px", "py", "pz", "e"))


@dataclass
class Particles:
    """Final-state particles of one view of one event.

    Attributes (arrays of equal length n):
        px, py, pz, e: four-momentum in GeV (float64).
        pid: PDG id (int32).
        charge: electric charge in units of e (int8).
        vx, vy, vz: production vertex in mm (float64).
    """

    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    e: np.ndarray
    pid: np.ndarray
    charge: np.ndarray
    vx: np.ndarray
    vy: np.ndarray
    vz: np.ndarray

    def __len__(self) -> int:
        return len(self.px)

    def select(self, mask: np.ndarray) -> "Particles":
        return Particles(**{k: v[mask] for k, v in self.__dict__.items()})


@dataclass
class ShoweredEvent:
    """One view of one hard event: the shared hard record and this view's final state.

    ``final`` holds every final-state particle, neutrinos included; the jet stage
    removes invisible ones.
    """

    event_number: int
    hard: HardRecord
    final: Particles
