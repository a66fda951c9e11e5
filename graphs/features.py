"""Node features of jet graphs: the named feature sets and their normalisation.

Feature sets (the order is the column order of ``Data.x``):

* ``rs3l15``: the 15 particle features of RS3L (Harris et al., arXiv 2403.07066):
  log pT, log(pT / pT_jet), d_eta, d_phi, log E, log(E / E_jet), charge, tanh(d0),
  tanh(dz), dR, one-hot type (photon, muon, electron, charged hadron, neutral hadron).
* ``kinematic4``: the first four of a node type's features ("kinematics only").
* ``detector``: calorimeter cells (11: log E, log(E / E_jet), d_eta, d_phi, dR,
  one-hot layer 0-5) and tracks (8: log pT, log(pT / pT_jet), d_eta, d_phi, dR,
  charge, tanh(d0), tanh(z0)).

pT and E in GeV, d0 / dz / z0 in mm, angles in rad; d_eta, d_phi are relative to the
jet axis (the sum of the jet's own nodes, so no truth information leaks into
detector-level graphs), with d_phi wrapped into (-pi, pi].

Normalisation of one feature: ``y = clip((log(x) if log else x) - shift) / scale)``,
with ``clip`` bounding abs(y) when set (weaver-core's convention, with a divisor).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "NODE_TYPES",
    "PARTICLE_FEATURES",
    "CELL_FEATURES",
    "TRACK_FEATURES",
    "FEATURE_SETS",
    "Normalisation",
    "feature_names",
    "wrap_phi",
    "particle_type_onehot",
]

#: Node types by index (``Data.node_type``).
NODE_TYPES = ("particle", "cell", "track")

PARTICLE_FEATURES = (
    "log_pt", "log_pt_rel", "deta", "dphi", "log_e", "log_e_rel", "charge", "tanh_d0", "tanh_dz", "dr",
    "is_photon", "is_muon", "is_electron", "is_charged_hadron", "is_neutral_hadron",
)  # fmt: skip
CELL_FEATURES = ("log_e", "log_e_rel", "deta", "dphi", "dr") + tuple(f"layer_{i}" for i in range(6))
TRACK_FEATURES = ("log_pt", "log_pt_rel", "deta", "dphi", "dr", "charge", "tanh_d0", "tanh_z0")

#: feature set -> graph kind -> node type -> feature names.
FEATURE_SETS = {
    "rs3l15": {"particle": PARTICLE_FEATURES},
    "kinematic4": {"particle": PARTICLE_FEATURES[:4], "cell": CELL_FEATURES[:4], "track": TRACK_FEATURES[:4]},
    "detector": {"cell": CELL_FEATURES, "track": TRACK_FEATURES},
}


def feature_names(feature_set: str, graph: str) -> dict[str, tuple[str, ...]]:
    """Node type -> feature names for a feature set on a graph kind.

    Args:
        feature_set: ``rs3l15``, ``kinematic4`` or ``detector``.
        graph: ``particles``, ``pflow`` (one node type, ``particle``) or ``detector``
            (``cell`` and ``track``).
    """
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"unknown feature set '{feature_set}'; known: {', '.join(FEATURE_SETS)}")
    types = ("cell", "track") if graph == "detector" else ("particle",)
    sets = FEATURE_SETS[feature_set]
    missing = [t for t in types if t not in sets]
    if missing:
        usable = [name for name, s in FEATURE_SETS.items() if all(t in s for t in types)]
        raise ValueError(f"feature set '{feature_set}' has no {missing[0]} features; for {graph} graphs use one of {usable}")
    return {t: sets[t] for t in types}


@dataclass
class Normalisation:
    """How one input feature is normalised: ``clip((log(x) if log else x) - shift) / scale)``.

    Attributes:
        log: take the natural log first (of ``max(x, 1e-12)``).
        shift: subtracted after the log.
        scale: divisor (> 0).
        clip: when set, the result is clipped into [-clip, clip].
    """

    log: bool = False
    shift: float = 0.0
    scale: float = 1.0
    clip: float | None = None

    def __post_init__(self):
        if not self.scale > 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")
        if self.clip is not None and not self.clip > 0:
            raise ValueError(f"clip must be > 0 or null, got {self.clip}")

    def apply(self, values):
        """Normalised ``values``: a numpy array, or a torch tensor on any device (the batched augmentations)."""
        lib = np
        if type(values).__module__.startswith("torch"):
            import torch as lib
        out = lib.log(lib.clip(values, 1e-12, None)) if self.log else values
        out = (out - self.shift) / self.scale
        if self.clip is not None:
            out = lib.clip(out, -self.clip, self.clip)
        return out

    def invert(self, values: np.ndarray) -> np.ndarray:
        """The raw value back from a normalised one (exact where nothing was clipped)."""
        out = values * self.scale + self.shift
        return np.exp(out) if self.log else out


def wrap_phi(phi: np.ndarray) -> np.ndarray:
    """Wrap angles (rad) into (-pi, pi]."""
    return np.pi - np.mod(np.pi - phi, 2 * np.pi)


def particle_type_onehot(pid: np.ndarray, charge: np.ndarray) -> np.ndarray:
    """One-hot (photon, muon, electron, charged hadron, neutral hadron), shape [n, 5]."""
    apid = np.abs(pid)
    photon = apid == 22
    muon = apid == 13
    electron = apid == 11
    charged = (charge != 0) & ~muon & ~electron
    neutral = (charge == 0) & ~photon & ~muon & ~electron
    return np.stack([photon, muon, electron, charged, neutral], axis=1).astype(np.float32)
