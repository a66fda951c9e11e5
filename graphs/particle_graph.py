"""Particle graphs: one node per jet constituent (truth particle or particle-flow candidate).

RS3L (Harris et al., arXiv 2403.07066): nodes carry the 15 particle features (or the
4 kinematic ones, see :mod:`graphs.features`), positions are (d_eta, d_phi) to the
jet axis, and edges join each node to its k nearest neighbours in that plane.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
import torch
from torch_geometric.data import Data

from .constituents import Constituents
from .features import PARTICLE_FEATURES, Normalisation, particle_type_onehot
from .knn import knn_graph

__all__ = ["particle_features", "build_particle_graph", "graph_attribute"]


def particle_features(jet: Constituents) -> np.ndarray:
    """The 15 RS3L features of every constituent, float32 [n, 15], in ``PARTICLE_FEATURES`` order."""
    pt = np.maximum(jet.pt, 1e-9)
    energy = np.maximum(jet.energy, 1e-9)
    columns = [
        np.log(pt),
        np.log(pt / jet.jet_pt),
        jet.deta,
        jet.dphi,
        np.log(energy),
        np.log(energy / jet.jet_energy),
        jet.charge.astype(np.float64),
        np.tanh(jet.d0),
        np.tanh(jet.dz),
        np.hypot(jet.deta, jet.dphi),
    ]
    return np.concatenate([np.stack(columns, axis=1), particle_type_onehot(jet.pid, jet.charge)], axis=1).astype(np.float32)


def build_particle_graph(
    jet: Constituents,
    *,
    k: int = 16,
    features: tuple[str, ...] = PARTICLE_FEATURES,
    normalise: Mapping[str, Normalisation] | None = None,
    max_nodes: int = 200,
    keep_by: str = "pt",
    build_edges: bool = True,
    augment: Callable[[Constituents, np.random.Generator], Constituents] | None = None,
    rng: np.random.Generator | None = None,
    **graph_attributes,
) -> Data:
    """One jet as a PyG graph.

    Args:
        jet: the constituents.
        k: kNN neighbours in the (d_eta, d_phi) plane.
        features: which of ``PARTICLE_FEATURES`` to keep, in order.
        normalise: feature name -> normalisation (others unchanged).
        max_nodes: keep at most this many constituents, the highest by ``keep_by``;
            nodes are ordered by decreasing ``keep_by``.
        keep_by: ``pt`` or ``energy``.
        build_edges: False leaves ``edge_index`` empty: the model builds the kNN graph it
            needs on its own device, for a whole batch (``model.position_k``).
        augment: ``augment(jet, rng)``, applied to the constituents before the node
            limit and the features (see :mod:`graphs.augmentations`).
        rng: the random generator handed to ``augment``.
        graph_attributes: extra graph-level attributes (``group_id``, ``label``,
            ``view``, ...); numbers become tensors of shape [1].

    Returns:
        ``Data`` with x [N, F] float32, pos [N, 2] (d_eta, d_phi), edge_index [2, E],
        node_type [N] (all 0), num_nodes N, plus ``jet_pt``, ``jet_eta``, ``jet_energy``
        of the original jet and the extra attributes.
    """
    if augment is not None:
        jet = augment(jet, rng if rng is not None else np.random.default_rng())
    jet = jet.top(max_nodes, keep_by)  # also orders nodes by decreasing pT (or energy)
    all_features = particle_features(jet)
    columns = [PARTICLE_FEATURES.index(name) for name in features]
    x = all_features[:, columns]
    for j, name in enumerate(features):
        norm = (normalise or {}).get(name)
        if norm is not None:
            x[:, j] = norm.apply(x[:, j])
    pos = torch.from_numpy(np.stack([jet.deta, jet.dphi], axis=1).astype(np.float32))
    data = Data(x=torch.from_numpy(np.ascontiguousarray(x)), pos=pos, num_nodes=len(jet))
    data.node_type = torch.zeros(len(jet), dtype=torch.long)
    if build_edges:
        data.edge_index = knn_graph(pos, k)
    else:
        data.edge_index = torch.empty(2, 0, dtype=torch.long)
    data.jet_pt = torch.tensor([jet.jet_pt], dtype=torch.float32)
    data.jet_eta = torch.tensor([jet.jet_eta], dtype=torch.float32)
    data.jet_energy = torch.tensor([jet.jet_energy], dtype=torch.float32)
    for name, value in graph_attributes.items():
        data[name] = graph_attribute(value)
    return data


def graph_attribute(value):
    """A graph-level attribute: numbers become tensors of shape [1] so batching stacks them."""
    if isinstance(value, (bool, int, np.integer)):
        return torch.tensor([int(value)], dtype=torch.long)
    if isinstance(value, (float, np.floating)):
        return torch.tensor([float(value)], dtype=torch.float32)
    return value
