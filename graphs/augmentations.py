"""JetCLR augmentations of a jet's constituents (Dillon et al., arXiv 2108.04253).

Each augmentation is a small callable ``aug(jet, rng) -> jet`` acting on
:class:`graphs.constituents.Constituents` (jet-relative coordinates) before node
features are computed, so it composes with any re-simulation view. The jet axis, pT
and energy used by the features stay those of the original jet, as in JetCLR, where
the network sees the augmented constituents in the original jet's frame.

* :class:`Rotate`: one angle ~ U(0, 2 pi) per jet, in the (d_eta, d_phi) plane.
* :class:`Translate`: shift ~ U(-w, w) * (max - min) of d_eta and of d_phi.
* :class:`SoftSmear`: d_eta, d_phi += N(0, Lambda / max(pT, pT_min)); Lambda = 0.1 GeV.
* :class:`CollinearSplit`: split constituents into pT fractions r and 1 - r,
  r ~ U(0, 1), same direction. pT is conserved for every jet; JetCLR's version loses
  it for jets that fill fewer than half their slots, which this does not copy.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from .constituents import Constituents
from .features import wrap_phi

__all__ = ["Rotate", "Translate", "SoftSmear", "CollinearSplit", "Compose", "augmentations_for_pair"]

Augmentation = Callable[[Constituents, np.random.Generator], Constituents]


@dataclass(frozen=True)
class Rotate:
    """Rotate all constituents about the jet axis by one angle ~ U(0, 2 pi)."""

    def __call__(self, jet: Constituents, rng: np.random.Generator) -> Constituents:
        angle = rng.uniform(0.0, 2.0 * np.pi)
        c, s = np.cos(angle), np.sin(angle)
        return replace(jet, deta=c * jet.deta - s * jet.dphi, dphi=wrap_phi(s * jet.deta + c * jet.dphi))


@dataclass(frozen=True)
class Translate:
    """Shift the jet by U(-width, width) times its extent (max - min) in d_eta and d_phi."""

    width: float = 1.0

    def __call__(self, jet: Constituents, rng: np.random.Generator) -> Constituents:
        if len(jet) == 0:
            return jet
        shift_eta = rng.uniform(-self.width, self.width) * np.ptp(jet.deta)
        shift_phi = rng.uniform(-self.width, self.width) * np.ptp(jet.dphi)
        return replace(jet, deta=jet.deta + shift_eta, dphi=wrap_phi(jet.dphi + shift_phi))


@dataclass(frozen=True)
class SoftSmear:
    """Move soft constituents more: d_eta, d_phi += N(0, strength / max(pT, pt_min)); GeV."""

    strength: float = 0.1
    pt_min: float = 0.1

    def __call__(self, jet: Constituents, rng: np.random.Generator) -> Constituents:
        sigma = self.strength / np.maximum(jet.pt, self.pt_min)
        deta = jet.deta + rng.normal(size=len(jet)) * sigma
        dphi = jet.dphi + rng.normal(size=len(jet)) * sigma
        return replace(jet, deta=deta, dphi=wrap_phi(dphi))


@dataclass(frozen=True)
class CollinearSplit:
    """Split the leading constituents into two collinear ones carrying r and 1 - r of the four-momentum.

    Args:
        max_nodes: the node limit of the graph; with ``max_splits = 0`` the jet is
            filled up to it (JetCLR), i.e. ``min(n, max_nodes - n)`` splits.
        max_splits: when > 0, split ``min(n, max_splits)`` constituents instead.
    """

    max_nodes: int = 200
    max_splits: int = 0

    def __call__(self, jet: Constituents, rng: np.random.Generator) -> Constituents:
        n = len(jet)
        count = min(n, self.max_splits) if self.max_splits > 0 else max(0, min(n, self.max_nodes - n))
        if count == 0:
            return jet
        split = np.argsort(-jet.pt, kind="stable")[:count]
        r = rng.uniform(0.0, 1.0, size=count)
        pt, mass = jet.pt.copy(), jet.mass.copy()
        pt[split] *= r
        mass[split] *= r
        extra = {
            "pt": jet.pt[split] * (1.0 - r),
            "mass": jet.mass[split] * (1.0 - r),
        }
        merged = {}
        for name in ("pt", "deta", "dphi", "mass", "pid", "charge", "d0", "dz"):
            base = {"pt": pt, "mass": mass}.get(name, getattr(jet, name))
            added = extra.get(name, getattr(jet, name)[split])
            merged[name] = np.concatenate([base, added])
        return replace(jet, **merged)


class Compose:
    """Apply augmentations in order."""

    def __init__(self, augmentations: Sequence[Augmentation]):
        self.augmentations = list(augmentations)

    def __call__(self, jet: Constituents, rng: np.random.Generator) -> Constituents:
        for aug in self.augmentations:
            jet = aug(jet, rng)
        return jet

    def __len__(self) -> int:
        return len(self.augmentations)

    def __repr__(self) -> str:
        return f"Compose({self.augmentations!r})"


def augmentations_for_pair(config, max_nodes: int) -> tuple[Compose, Compose]:
    """(first view, second view) augmentations from an ``AugmentationConfig``.

    The order follows JetCLR: collinear split, rotation, soft smearing (second view
    only), translation. Both are empty when every switch is off.
    """
    first: list[Augmentation] = []
    if config.collinear_split:
        first.append(CollinearSplit(max_nodes=max_nodes, max_splits=config.split_max))
    if config.rotate:
        first.append(Rotate())
    second = list(first)
    if config.smear:
        second.append(SoftSmear(config.smear_strength, config.smear_pt_min))
    if config.translate:
        first.append(Translate(config.translate_width))
        second.append(Translate(config.translate_width))
    return Compose(first), Compose(second)
