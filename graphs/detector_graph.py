"""Detector graphs: calorimeter cells and tracks with typed edges (COCOA-style).

Following the detector-replica studies on COCOA (arXiv 2303.02101; Dreyer et al.),
a jet becomes a graph of topo-clustered calorimeter cells (node type 1) and
reconstructed tracks (node type 2), positioned at (d_eta, d_phi) to the jet axis.
Edge types (``Data.edge_type``), all directed ``source -> target``:

0. ``cell_cell``: each cell from its ``cell_k[l]`` nearest cells of its own layer l
   within ``cell_max_dr[l]``;
1. ``cell_layer``: each cell of layer l from its ``interlayer_k[l]`` nearest cells in
   each adjacent layer (l - 1 and l + 1), within the larger of the two layers' cuts;
2. ``cell_to_track``: each track from the ``track_k[l]`` nearest cells of layer l to
   its extrapolated position in that layer, within ``track_max_dr[l]``;
3. ``track_to_cell``: the same links reversed.

kNN runs per layer with :func:`graphs.knn.knn` in bounded chunks, so jets with
thousands of cells never build an all-pairs matrix larger than a chunk.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch
from torch_geometric.data import Data

from sim_pairs.schema import N_CALO_LAYERS

from .features import CELL_FEATURES, TRACK_FEATURES, Normalisation, wrap_phi
from .knn import knn, knn_graph
from .particle_graph import graph_attribute

__all__ = ["EDGE_TYPES", "detector_features", "build_detector_graph"]

EDGE_TYPES = ("cell_cell", "cell_layer", "cell_to_track", "track_to_cell")

_COCOA = {
    "cell_k": (8, 8, 8, 6, 6, 6),
    "cell_max_dr": (0.05, 0.07, 0.14, 0.30, 0.30, 0.60),
    "interlayer_k": (1, 2, 2, 2, 2, 1),
    "track_k": (4, 4, 4, 3, 3, 3),
    "track_max_dr": (0.15, 0.15, 0.4, 1.1, 1.1, 2.0),
}


def _axis(cell_energy, cell_eta, cell_phi, track_pt, track_eta, track_phi):
    """Jet (pT, eta, phi, E) from the cells' massless four-vectors (tracks when no cells)."""
    if len(cell_energy):
        e = np.maximum(cell_energy.astype(np.float64), 0.0)
        pt = e / np.cosh(cell_eta)
        eta, phi = cell_eta, cell_phi
    else:
        pt = track_pt.astype(np.float64)
        e = pt * np.cosh(track_eta)
        eta, phi = track_eta, track_phi
    px, py, pz = (pt * np.cos(phi)).sum(), (pt * np.sin(phi)).sum(), (pt * np.sinh(eta)).sum()
    jet_pt = float(np.hypot(px, py))
    jet_eta = float(np.arcsinh(pz / jet_pt)) if jet_pt > 0 else 0.0
    return jet_pt, jet_eta, float(np.arctan2(py, px)), float(e.sum())


def detector_features(inputs) -> dict:
    """Cell and track features (``CELL_FEATURES``, ``TRACK_FEATURES`` order) and positions.

    Args:
        inputs: one jet's cells and tracks (``graphs.shard_reader.DetectorInputs``).

    Returns:
        dict with ``cell_x`` [n_cells, 11], ``track_x`` [n_tracks, 8] (float32),
        ``cell_pos``, ``track_pos`` [n, 2], ``track_layer_pos`` [n_tracks, 6, 2] and
        the axis ``jet_pt``, ``jet_eta``, ``jet_phi``, ``jet_energy``.
    """
    jet_pt, jet_eta, jet_phi, jet_energy = _axis(
        inputs.cell_energy, inputs.cell_eta, inputs.cell_phi, inputs.track_pt, inputs.track_eta, inputs.track_phi
    )
    energy = np.maximum(inputs.cell_energy.astype(np.float64), 1e-3)  # noise makes some cells negative
    c_deta = inputs.cell_eta - jet_eta
    c_dphi = wrap_phi(inputs.cell_phi - jet_phi)
    layer = inputs.cell_layer.astype(np.int64)
    if np.any((layer < 0) | (layer >= N_CALO_LAYERS)):
        raise ValueError(f"cell_layer must be in 0..{N_CALO_LAYERS - 1}, got {sorted(set(layer.tolist()))}")
    onehot = np.eye(N_CALO_LAYERS)[layer]
    cell_x = np.column_stack(
        [np.log(energy), np.log(energy / max(jet_energy, 1e-3)), c_deta, c_dphi, np.hypot(c_deta, c_dphi), onehot]
    )
    pt = np.maximum(inputs.track_pt.astype(np.float64), 1e-3)
    t_deta = inputs.track_eta - jet_eta
    t_dphi = wrap_phi(inputs.track_phi - jet_phi)
    track_x = np.column_stack(
        [
            np.log(pt), np.log(pt / max(jet_pt, 1e-3)), t_deta, t_dphi, np.hypot(t_deta, t_dphi),
            inputs.track_charge.astype(np.float64), np.tanh(inputs.track_d0), np.tanh(inputs.track_z0),
        ]
    )  # fmt: skip
    layer_pos = np.stack(
        [inputs.track_eta_layer - jet_eta, wrap_phi(inputs.track_phi_layer - jet_phi)], axis=-1
    ).reshape(-1, N_CALO_LAYERS, 2)
    return {
        "cell_x": cell_x.reshape(-1, len(CELL_FEATURES)).astype(np.float32),
        "track_x": track_x.reshape(-1, len(TRACK_FEATURES)).astype(np.float32),
        "cell_pos": np.column_stack([c_deta, c_dphi]).reshape(-1, 2).astype(np.float32),
        "track_pos": np.column_stack([t_deta, t_dphi]).reshape(-1, 2).astype(np.float32),
        "track_layer_pos": layer_pos.astype(np.float32),
        "cell_layer": layer,
        "jet_pt": jet_pt,
        "jet_eta": jet_eta,
        "jet_phi": jet_phi,
        "jet_energy": jet_energy,
    }


def build_detector_graph(
    inputs,
    *,
    cell_features: Sequence[str] = CELL_FEATURES,
    track_features: Sequence[str] = TRACK_FEATURES,
    normalise: Mapping[str, Normalisation] | None = None,
    max_cells: int = 4000,
    max_tracks: int = 200,
    cell_k: Sequence[int] = _COCOA["cell_k"],
    cell_max_dr: Sequence[float] = _COCOA["cell_max_dr"],
    interlayer_k: Sequence[int] = _COCOA["interlayer_k"],
    track_k: Sequence[int] = _COCOA["track_k"],
    track_max_dr: Sequence[float] = _COCOA["track_max_dr"],
    **graph_attributes,
) -> Data:
    """One jet's cells and tracks as a typed PyG graph.

    Args:
        inputs: cells and tracks of one jet (``graphs.shard_reader.DetectorInputs``).
        cell_features, track_features: which features to keep, in order.
        normalise: ``"cell.<name>"`` / ``"track.<name>"`` / ``"<name>"`` -> normalisation.
        max_cells: keep the most energetic cells; max_tracks: the highest-pT tracks.
        cell_k, cell_max_dr, interlayer_k, track_k, track_max_dr: per-layer edge
            settings (six values each; COCOA's defaults).
        graph_attributes: extra graph-level attributes (numbers -> tensors of shape [1]).

    Returns:
        ``Data`` with x [N, F] (cells first, then tracks; padded with zeros to the
        wider type), pos [N, 2], node_type [N] (1 cell, 2 track), edge_index [2, E],
        edge_type [E] (index into ``EDGE_TYPES``), ``jet_pt``/``jet_eta``/``jet_energy``.
    """
    feats = detector_features(_limit(inputs, max_cells, max_tracks))
    cell_x = _select(feats["cell_x"], CELL_FEATURES, cell_features, "cell", normalise)
    track_x = _select(feats["track_x"], TRACK_FEATURES, track_features, "track", normalise)
    n_cells, n_tracks = len(cell_x), len(track_x)
    width = max(cell_x.shape[1], track_x.shape[1])
    x = np.zeros((n_cells + n_tracks, width), dtype=np.float32)
    x[:n_cells, : cell_x.shape[1]] = cell_x
    x[n_cells:, : track_x.shape[1]] = track_x

    cell_pos = torch.from_numpy(feats["cell_pos"])
    layer = torch.from_numpy(feats["cell_layer"])
    track_layer_pos = torch.from_numpy(feats["track_layer_pos"])
    edges, types = [], []
    # One kNN call per edge family, with the layer as the batch index: each query takes
    # the largest k and cut, then keeps its own layer's k nearest within its own cut
    # (the same edges as per-layer calls; ties by index either way).
    k_of = lambda values: torch.tensor(values, dtype=torch.long)  # noqa: E731
    cut_of = lambda values: torch.tensor([v * v for v in values], dtype=torch.float32)  # noqa: E731
    if n_cells > 1 and max(cell_k) > 0:
        src, dst = knn_graph(cell_pos, max(cell_k), layer, max_distance=max(cell_max_dr))
        keep = _per_query(dst, src, cell_pos, cell_pos, k_of(cell_k)[layer[dst]], cut_of(cell_max_dr)[layer[dst]])
        edges.append(torch.stack([src[keep], dst[keep]]))
        types.append(0)
    for step in (-1, 1):  # neighbours in the layer below, then above
        queries = torch.nonzero((layer + step >= 0) & (layer + step < N_CALO_LAYERS)).flatten()
        candidates = torch.nonzero((layer - step >= 0) & (layer - step < N_CALO_LAYERS)).flatten()
        if len(queries) == 0 or len(candidates) == 0 or max(interlayer_k) == 0:
            continue
        # a candidate in layer m is offered to queries in layer m - step
        q, c = knn(cell_pos[candidates], cell_pos[queries], max(interlayer_k), layer[candidates] - step, layer[queries],
                   max_distance=max(cell_max_dr))  # fmt: skip
        q, c = queries[q], candidates[c]
        cuts = torch.maximum(cut_of(cell_max_dr)[layer[q]], cut_of(cell_max_dr)[layer[c]])
        keep = _per_query(q, c, cell_pos, cell_pos, k_of(interlayer_k)[layer[q]], cuts)
        edges.append(torch.stack([c[keep], q[keep]]))
        types.append(1)
    if n_tracks > 0 and n_cells > 0 and max(track_k) > 0:
        # queries: every track at every layer it reaches, batched by layer
        reached = torch.isfinite(track_layer_pos).all(dim=-1)  # [n_tracks, layers]
        track_id, track_layer = torch.nonzero(reached, as_tuple=True)
        points = track_layer_pos[track_id, track_layer]
        q, c = knn(cell_pos, points, max(track_k), layer, track_layer, max_distance=max(track_max_dr))
        keep = _per_query(q, c, points, cell_pos, k_of(track_k)[track_layer[q]], cut_of(track_max_dr)[track_layer[q]])
        track_node, cell = n_cells + track_id[q[keep]], c[keep]
        edges.append(torch.stack([cell, track_node]))
        types.append(2)
        edges.append(torch.stack([track_node, cell]))
        types.append(3)

    edge_index = torch.cat(edges, dim=1) if edges else torch.empty(2, 0, dtype=torch.long)
    edge_type = (
        torch.cat([torch.full((e.size(1),), t, dtype=torch.long) for e, t in zip(edges, types)])
        if edges
        else torch.empty(0, dtype=torch.long)
    )
    pos = torch.cat([cell_pos, torch.from_numpy(feats["track_pos"])])
    node_type = torch.cat([torch.full((n_cells,), 1, dtype=torch.long), torch.full((n_tracks,), 2, dtype=torch.long)])
    data = Data(x=torch.from_numpy(x), pos=pos, edge_index=edge_index, edge_type=edge_type, node_type=node_type)
    data.num_nodes = n_cells + n_tracks
    data.jet_pt = torch.tensor([feats["jet_pt"]], dtype=torch.float32)
    data.jet_eta = torch.tensor([feats["jet_eta"]], dtype=torch.float32)
    data.jet_energy = torch.tensor([feats["jet_energy"]], dtype=torch.float32)
    for name, value in graph_attributes.items():
        data[name] = graph_attribute(value)
    return data


def _per_query(query, neighbour, query_pos, neighbour_pos, k, cut2):
    """Mask of edges that are among their query's first ``k`` and within its squared cut.

    Edges come grouped by query, nearest first (``graphs.knn`` order); ``k`` and
    ``cut2`` are per edge (the values of the edge's query).
    """
    if query.numel() == 0:
        return torch.zeros(0, dtype=torch.bool)
    new_query = torch.ones_like(query, dtype=torch.bool)
    new_query[1:] = query[1:] != query[:-1]
    start = torch.cummax(torch.where(new_query, torch.arange(len(query)), 0), dim=0).values
    rank = torch.arange(len(query)) - start
    dist = (query_pos[query] - neighbour_pos[neighbour]).square().sum(-1)
    return (rank < k) & (dist <= cut2)


def _limit(inputs, max_cells: int, max_tracks: int):
    """Keep the most energetic cells and the highest-pT tracks."""
    from .shard_reader import DetectorInputs

    arrays = dict(inputs.__dict__)
    if len(inputs.cell_energy) > max_cells:
        keep = np.sort(np.argsort(-inputs.cell_energy, kind="stable")[:max_cells])
        for name in ("cell_layer", "cell_eta", "cell_phi", "cell_energy"):
            arrays[name] = arrays[name][keep]
    if len(inputs.track_pt) > max_tracks:
        keep = np.sort(np.argsort(-inputs.track_pt, kind="stable")[:max_tracks])
        for name in arrays:
            if name.startswith("track_"):
                arrays[name] = arrays[name][keep]
    return DetectorInputs(**arrays)


def _select(x, all_names, names, node_type, normalise):
    columns = [all_names.index(n) for n in names]
    out = x[:, columns]
    for j, name in enumerate(names):
        norm = (normalise or {}).get(f"{node_type}.{name}", (normalise or {}).get(name))
        if norm is not None:
            out[:, j] = norm.apply(out[:, j])
    return out

