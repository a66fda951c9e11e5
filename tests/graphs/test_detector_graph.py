"""graphs.detector_graph: typed COCOA edges against a brute-force reference, node layout, big jets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graphs.detector_graph import EDGE_TYPES, build_detector_graph
from graphs.shard_reader import DetectorInputs, ShardArrays
from graphs.synthetic import write_synthetic_dataset

K = (8, 8, 8, 6, 6, 6)
DR = (0.05, 0.07, 0.14, 0.30, 0.30, 0.60)
INTER = (1, 2, 2, 2, 2, 1)
TK = (4, 4, 4, 3, 3, 3)
TDR = (0.15, 0.15, 0.4, 1.1, 1.1, 2.0)


def brute(points_x, points_y, k, cut, exclude_self):
    """Per query: its k nearest candidates within cut, ties by index -> set of (query, candidate).

    In float32 like the graph builder, so that ties on the cell grid are ties in both.
    """
    points_x, points_y = np.float32(points_x), np.float32(points_y)
    out = set()
    for i, q in enumerate(points_y):
        d = ((q - points_x) ** 2).sum(1)
        ranked = sorted((d[j], j) for j in range(len(points_x)) if not (exclude_self and j == i))
        out |= {(i, j) for dist, j in ranked[:k] if dist <= np.float32(cut * cut)}
    return out


@pytest.fixture(scope="module")
def jet_inputs(tmp_path_factory):
    data_dir = write_synthetic_dataset(tmp_path_factory.mktemp("det"), n_shards=1, groups_per_shard=2, n_particles=(60, 80))
    return ShardArrays(data_dir / "shard-00000.parquet", "detector").detector(0)


def test_node_layout_and_features(jet_inputs):
    g = build_detector_graph(jet_inputs, group_id=4)
    n_cells, n_tracks = len(jet_inputs.cell_energy), len(jet_inputs.track_pt)
    assert n_cells > 20 and n_tracks > 3
    assert g.x.shape == (n_cells + n_tracks, 11)
    assert g.node_type.tolist() == [1] * n_cells + [2] * n_tracks
    assert torch.all(g.x[n_cells:, 8:] == 0)  # tracks padded from 8 to 11 features
    assert torch.allclose(g.x[:n_cells, 5:].sum(1), torch.ones(n_cells))  # layer one-hot
    assert g.edge_type.shape == (g.edge_index.shape[1],) and set(g.edge_type.tolist()) <= set(range(len(EDGE_TYPES)))
    assert g.group_id.tolist() == [4]


def test_edges_match_brute_force(jet_inputs):
    g = build_detector_graph(jet_inputs, cell_k=K, cell_max_dr=DR, interlayer_k=INTER, track_k=TK, track_max_dr=TDR)
    n_cells = len(jet_inputs.cell_energy)
    pos = g.pos[:n_cells].numpy()
    layer = jet_inputs.cell_layer.astype(int)
    edges = {t: set(map(tuple, g.edge_index[:, g.edge_type == t].t().tolist())) for t in range(4)}
    same, inter, to_track = set(), set(), set()
    for l in range(6):
        cells = np.flatnonzero(layer == l)
        same |= {(cells[j], cells[i]) for i, j in brute(pos[cells], pos[cells], K[l], DR[l], True)}
        for other in (l - 1, l + 1):
            if 0 <= other < 6:
                nb = np.flatnonzero(layer == other)
                inter |= {(nb[j], cells[i]) for i, j in brute(pos[nb], pos[cells], INTER[l], max(DR[l], DR[other]), False)}
        # tracks: extrapolated position in this layer, relative to the same axis as the cells
        axis_eta = float(jet_inputs.cell_eta[0] - pos[0, 0])
        axis_phi = float(jet_inputs.cell_phi[0] - pos[0, 1])
        at = np.column_stack([jet_inputs.track_eta_layer[:, l] - axis_eta, jet_inputs.track_phi_layer[:, l] - axis_phi])
        at[:, 1] = np.pi - np.mod(np.pi - at[:, 1], 2 * np.pi)
        to_track |= {(cells[j], n_cells + i) for i, j in brute(pos[cells], at, TK[l], TDR[l], False)}
    to_int = lambda s: {(int(a), int(b)) for a, b in s}  # noqa: E731
    assert edges[0] == to_int(same)
    assert edges[1] == to_int(inter)
    assert edges[2] == to_int(to_track)
    assert edges[3] == {(b, a) for a, b in edges[2]}


def test_node_limits_keep_the_most_energetic(jet_inputs):
    g = build_detector_graph(jet_inputs, max_cells=10, max_tracks=2)
    assert g.node_type.tolist() == [1] * 10 + [2] * 2
    kept = np.sort(np.exp(g.x[:10, 0].numpy()))[::-1]
    assert np.allclose(kept, np.sort(jet_inputs.cell_energy)[::-1][:10], rtol=1e-5)


def test_a_jet_with_thousands_of_cells_builds():
    rng = np.random.default_rng(0)
    n = 6000
    layer = rng.integers(0, 6, n).astype(np.int8)
    inputs = DetectorInputs(
        cell_layer=layer, cell_eta=rng.normal(0, 0.4, n).astype(np.float32), cell_phi=rng.normal(0, 0.4, n).astype(np.float32),
        cell_energy=rng.exponential(1.0, n).astype(np.float32),
        track_pt=np.array([5.0], np.float32), track_eta=np.zeros(1, np.float32), track_phi=np.zeros(1, np.float32),
        track_charge=np.ones(1, np.int8), track_d0=np.zeros(1, np.float32), track_z0=np.zeros(1, np.float32),
        track_eta_layer=np.zeros((1, 6), np.float32), track_phi_layer=np.zeros((1, 6), np.float32),
    )  # fmt: skip
    g = build_detector_graph(inputs, max_cells=n)
    counts = torch.bincount(g.edge_index[1, g.edge_type == 0], minlength=n)
    assert g.num_nodes == n + 1 and int(counts.max()) <= 8
