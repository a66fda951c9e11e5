"""JetCLR augmentations on a whole batch at once, in torch, on whatever device the batch is on.

The same four augmentations as :mod:`graphs.augmentations` (Dillon et al., arXiv
2108.04253), in the same order (collinear split, rotation, soft smearing on the second
view only, translation), acting on the raw constituents of every jet of a batch with
one tensor operation each instead of one numpy call per jet. The node features are
then computed as :func:`graphs.particle_graph.particle_features` computes them
(:func:`particle_features_torch`), normalised, and each jet keeps its ``max_nodes``
leading constituents, ordered as the per-jet builder orders them.

Inputs per node (the cache's ``raw`` array): pT (GeV), d_eta, d_phi (rad), mass (GeV),
PDG id, charge, d0, dz (mm); per jet the axis (pT, eta, E) the features are relative
to. Random numbers come from one ``torch.Generator`` per batch, so a batch is the same
whichever worker builds it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .features import PARTICLE_FEATURES

__all__ = ["BatchAugmentations", "ViewAugmentation", "particle_features_torch"]


def _wrap(phi: Tensor) -> Tensor:
    return math.pi - torch.remainder(math.pi - phi, 2 * math.pi)


def _per_jet(values: Tensor, batch: Tensor, n_graphs: int, reduce: str) -> Tensor:
    out = values.new_zeros(n_graphs)
    return out.scatter_reduce(0, batch, values, reduce, include_self=False)


def particle_features_torch(raw: Tensor, axis: Tensor, batch: Tensor) -> Tensor:
    """The 15 RS3L features of every node, as :func:`graphs.particle_graph.particle_features`.

    Shapes: raw [N, 8] (the cache's columns), axis [B, 3] (jet pT, eta, E), batch [N] -> [N, 15].
    """
    pt, deta, dphi, mass, pid, charge, d0, dz = raw.double().unbind(1)
    jet_pt, jet_eta, jet_energy = (a[batch] for a in axis.double().unbind(1))
    energy = torch.sqrt(pt**2 + (pt * torch.sinh(jet_eta + deta)) ** 2 + mass**2)
    pt_c, e_c = pt.clamp(min=1e-9), energy.clamp(min=1e-9)
    apid = pid.abs()
    photon, muon, electron = apid == 22, apid == 13, apid == 11
    charged = (charge != 0) & ~muon & ~electron
    neutral = (charge == 0) & ~photon & ~muon & ~electron
    columns = [torch.log(pt_c), torch.log(pt_c / jet_pt), deta, dphi, torch.log(e_c), torch.log(e_c / jet_energy),
               charge, torch.tanh(d0), torch.tanh(dz), torch.hypot(deta, dphi),
               photon.double(), muon.double(), electron.double(), charged.double(), neutral.double()]
    return torch.stack(columns, dim=1).float()


@dataclass
class ViewAugmentation:
    """The augmentations of one view, then features and the node limit.

    Args:
        features: feature names kept, in order (from ``PARTICLE_FEATURES``).
        normalise: feature name -> normalisation.
        max_nodes: nodes kept per jet; keep_by: ``pt`` or ``energy``.
        split, max_splits: collinear splitting (``max_splits`` 0 fills up to ``max_nodes``).
        rotate: rotation about the jet axis; smear, smear_strength (GeV), smear_pt_min (GeV): soft smearing;
        translate, translate_width: translation by U(-w, w) times the jet's extent.
    """

    features: tuple[str, ...]
    normalise: dict
    max_nodes: int
    keep_by: str = "pt"
    split: bool = False
    max_splits: int = 0
    rotate: bool = False
    smear: bool = False
    smear_strength: float = 0.1
    smear_pt_min: float = 0.1
    translate: bool = False
    translate_width: float = 1.0

    def __call__(self, raw: Tensor, batch: Tensor, axis: Tensor, generator: torch.Generator | None = None):
        """Augmented features. Shapes: raw [N, 8], batch [N], axis [B, 3] -> (x [N', F], pos [N', 2], batch [N'])."""
        n_graphs = axis.size(0)
        raw = raw.clone()
        if self.split:
            raw, batch = self._split(raw, batch, n_graphs, generator)
        pt, deta, dphi = raw[:, 0], raw[:, 1], raw[:, 2]
        if self.rotate:
            angle = torch.rand(n_graphs, generator=generator, dtype=torch.float64).to(raw.device)[batch] * (2 * math.pi)
            c, s = torch.cos(angle), torch.sin(angle)
            d_eta, d_phi = deta.double(), dphi.double()
            deta, dphi = (c * d_eta - s * d_phi).float(), _wrap(s * d_eta + c * d_phi).float()
        if self.smear:
            sigma = self.smear_strength / pt.clamp(min=self.smear_pt_min)
            noise = torch.randn(2, len(pt), generator=generator).to(raw.device)
            deta, dphi = deta + noise[0] * sigma, _wrap(dphi + noise[1] * sigma)
        if self.translate:
            width = lambda v: _per_jet(v, batch, n_graphs, "amax") - _per_jet(v, batch, n_graphs, "amin")  # noqa: E731
            u = (torch.rand(2, n_graphs, generator=generator) * 2 - 1).to(raw.device) * self.translate_width
            deta, dphi = deta + (u[0] * width(deta))[batch], _wrap(dphi + (u[1] * width(dphi))[batch])
        raw[:, 1], raw[:, 2] = deta, dphi
        raw, batch = self._leading(raw, batch, axis, n_graphs)
        all_features = particle_features_torch(raw, axis, batch)
        x = all_features[:, [PARTICLE_FEATURES.index(name) for name in self.features]]
        for j, name in enumerate(self.features):
            if self.normalise.get(name) is not None:
                x[:, j] = self.normalise[name].apply(x[:, j])
        return x.contiguous(), raw[:, 1:3].contiguous(), batch

    def _split(self, raw: Tensor, batch: Tensor, n_graphs: int, generator) -> tuple[Tensor, Tensor]:
        n = torch.bincount(batch, minlength=n_graphs)
        count = n.clamp(max=self.max_splits) if self.max_splits > 0 else torch.minimum(n, (self.max_nodes - n).clamp(min=0))
        order = _order_in_jets(raw[:, 0], batch)  # by jet, then decreasing pT
        start = torch.cumsum(n, 0) - n
        rank = torch.empty_like(batch)
        rank[order] = torch.arange(len(batch), device=batch.device) - start[batch[order]]
        chosen = rank < count[batch]
        r = torch.rand(int(chosen.sum()), generator=generator).to(raw.device)
        extra = raw[chosen].clone()
        extra[:, 0] *= 1 - r
        extra[:, 3] *= 1 - r
        raw[chosen, 0] *= r
        raw[chosen, 3] *= r
        return torch.cat([raw, extra]), torch.cat([batch, batch[chosen]])

    def _leading(self, raw: Tensor, batch: Tensor, axis: Tensor, n_graphs: int) -> tuple[Tensor, Tensor]:
        """Each jet's ``max_nodes`` leading nodes by ``keep_by``, grouped by jet in decreasing order."""
        key = raw[:, 0].double()
        if self.keep_by == "energy":
            pz = key * torch.sinh(axis[batch, 1].double() + raw[:, 1].double())
            key = torch.sqrt(key**2 + pz**2 + raw[:, 3].double() ** 2)
        order = _order_in_jets(key, batch)
        n = torch.bincount(batch, minlength=n_graphs)
        rank = torch.arange(len(batch), device=batch.device) - (torch.cumsum(n, 0) - n)[batch[order]]
        order = order[rank < self.max_nodes]
        return raw[order], batch[order]


def _order_in_jets(key: Tensor, batch: Tensor) -> Tensor:
    """Indices sorting nodes by jet, then by decreasing ``key`` (ties keep their order)."""
    order = torch.sort(key, descending=True, stable=True).indices
    return order[torch.sort(batch[order], stable=True).indices]


@dataclass
class BatchAugmentations:
    """The first and second view's :class:`ViewAugmentation` of a data contract."""

    first: ViewAugmentation
    second: ViewAugmentation

    @classmethod
    def from_contract(cls, contract) -> "BatchAugmentations":
        a = contract.augment
        names = contract.feature_names()["particle"]
        common = dict(features=names, normalise={n: contract.normalisation("particle", n) for n in names},
                      max_nodes=contract.max_particles, keep_by=contract.keep_by, split=a.collinear_split,
                      max_splits=a.split_max, rotate=a.rotate, translate=a.translate, translate_width=a.translate_width)
        return cls(ViewAugmentation(**common),
                   ViewAugmentation(**common, smear=a.smear, smear_strength=a.smear_strength, smear_pt_min=a.smear_pt_min))
