"""graphs.particle_graph: node limit, feature subsets, normalisation, kNN edges in (d_eta, d_phi)."""

from __future__ import annotations

import numpy as np
import torch

from graphs.constituents import Constituents
from graphs.features import PARTICLE_FEATURES, Normalisation
from graphs.knn import knn_graph
from graphs.particle_graph import build_particle_graph, particle_features
from graphs.shard_reader import ShardArrays
from graphs.synthetic import synthetic_columns, write_synthetic_dataset


def test_graph_from_a_shard_row(tmp_path):
    data_dir = write_synthetic_dataset(tmp_path, n_shards=1, groups_per_shard=3, detector=False)
    shard = ShardArrays(data_dir / "shard-00000.parquet", "particles")
    jet = shard.constituents(0)
    graph = build_particle_graph(jet, k=5, max_nodes=10, group_id=7, label=2, view_name="nominal")
    assert graph.x.shape == (10, 15) and graph.pos.shape == (10, 2)
    assert graph.node_type.tolist() == [0] * 10
    assert graph.group_id.tolist() == [7] and graph.label.tolist() == [2] and graph.view_name == "nominal"
    # the 10 highest-pT constituents are kept, in decreasing pT
    expected = np.sort(jet.pt)[::-1][:10]
    assert np.allclose(np.exp(graph.x[:, 0].numpy()), expected, rtol=1e-5)
    # edges: 5 nearest in (d_eta, d_phi), same as a direct kNN call on pos
    assert torch.equal(graph.edge_index, knn_graph(graph.pos, 5))
    assert torch.allclose(graph.pos, graph.x[:, 2:4])
    # the jet is the sum of all constituents, before the node limit
    assert abs(float(graph.jet_pt) - jet.jet_pt) < 1e-3 * jet.jet_pt


def test_feature_subset_and_normalisation(tmp_path):
    data_dir = write_synthetic_dataset(tmp_path, n_shards=1, groups_per_shard=1, detector=False)
    jet = ShardArrays(data_dir / "shard-00000.parquet", "particles").constituents(0)
    norm = Normalisation(shift=1.0, scale=2.0)
    graph = build_particle_graph(jet, features=PARTICLE_FEATURES[:4], normalise={"log_pt": norm}, build_edges=False, k=7)
    raw = particle_features(jet.top(200))
    assert graph.x.shape[1] == 4
    assert np.allclose(graph.x[:, 0].numpy(), (raw[:, 0] - 1.0) / 2.0, atol=1e-6)
    assert np.allclose(graph.x[:, 1:].numpy(), raw[:, 1:4], atol=1e-6)
    assert graph.edge_index.shape == (2, 0) and "knn_k" not in graph


def test_a_jet_at_phi_pi_gives_the_same_graph_as_the_jet_turned_to_phi_zero(tmp_path):
    columns = synthetic_columns(1, ("nominal",), detector=False, jet_phi=np.pi)
    px, py = np.array(columns["part_px"][0], dtype=np.float64), np.array(columns["part_py"][0], dtype=np.float64)
    rest = [np.array(columns[f"part_{n}"][0]) for n in ("pz", "energy", "pid", "charge", "d0", "dz")]
    at_pi = Constituents.from_cartesian(px, py, *rest)
    at_zero = Constituents.from_cartesian(-px, -py, *rest)  # rotated by pi about the beam
    assert abs(abs(at_pi.jet_phi) - np.pi) < 0.3 and np.all(np.abs(at_pi.dphi) < 1.5)
    g_pi, g_zero = build_particle_graph(at_pi, k=8), build_particle_graph(at_zero, k=8)
    assert torch.allclose(g_pi.x, g_zero.x, atol=1e-5)
    assert torch.equal(g_pi.edge_index, g_zero.edge_index)
