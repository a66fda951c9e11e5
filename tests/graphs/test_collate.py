"""graphs.collate: pair rows stay aligned by group, edge indices are offset, batched kNN equals per-graph kNN."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graphs.knn import knn_graph
from graphs.collate import PairBatch, collate_groups, collate_pairs, collate_single
from graphs.constituents import Constituents
from graphs.particle_graph import build_particle_graph


def random_jet(rng, n):
    pt = rng.exponential(10.0, n) + 1.0
    eta = rng.normal(0.3, 0.2, n)
    phi = rng.normal(1.0, 0.2, n)
    return Constituents.from_cartesian(
        pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta),
        rng.choice([22, 211, -211, 130], n), rng.choice([0, 1, -1], n), np.zeros(n), np.zeros(n),
    )  # fmt: skip


def make_pairs(build_edges, sizes=((12, 30), (7, 3), (25, 19))):
    rng = np.random.default_rng(0)
    pairs = []
    for gid, (na, nb) in zip((101, 57, 3), sizes):
        views = []
        for n, view in ((na, "nominal"), (nb, "fsr_up")):
            views.append(build_particle_graph(random_jet(rng, n), k=5, build_edges=build_edges, group_id=gid, label=gid % 2, view_name=view))
        pairs.append(tuple(views))
    return pairs


@pytest.mark.parametrize("build_edges", [True, False], ids=["per-graph", "batched"])
def test_pair_rows_share_groups_and_edges_are_offset(build_edges):
    pairs = make_pairs(build_edges)
    batch = collate_pairs(pairs)
    assert isinstance(batch, PairBatch) and len(batch) == 3
    assert batch.group_id.tolist() == [101, 57, 3] and batch.label.tolist() == [1, 1, 1]
    for side, index in ((batch.a, 0), (batch.b, 1)):
        assert side.group_id.tolist() == batch.group_id.tolist()
        assert side.view_name == [["nominal", "fsr_up"][index]] * 3
        for i, pair in enumerate(pairs):
            graph = side.get_example(i)
            single = pair[index]
            expected = single.edge_index if build_edges else None
            if expected is not None:
                assert torch.equal(graph.edge_index, expected)
            # every edge stays inside its own graph after offsetting
            lo, hi = side.ptr[i], side.ptr[i + 1]
            edges = side.edge_index[:, (side.edge_index[1] >= lo) & (side.edge_index[1] < hi)]
            assert bool(((edges >= lo) & (edges < hi)).all())


def test_batched_knn_equals_per_graph_knn():
    # graphs built without edges get them for the whole batch (as the model does on its device)
    per_graph = collate_pairs(make_pairs(True))
    batched = collate_pairs(make_pairs(False))
    assert batched.a.edge_index.shape == (2, 0) and "knn_k" not in batched.a
    for ref, side in ((per_graph.a, batched.a), (per_graph.b, batched.b)):
        assert torch.equal(ref.edge_index, knn_graph(side.pos, 5, side.batch))


def test_group_batch_and_single_batch():
    pairs = make_pairs(True)
    groups = collate_groups([list(pairs[0]), [pairs[1][0]], list(pairs[2])])
    assert groups.group.tolist() == [0, 0, 1, 2, 2]
    assert groups.group_id.tolist() == [101, 57, 3]
    assert groups.view == ["nominal", "fsr_up", "nominal", "nominal", "fsr_up"]
    assert groups.graphs.num_graphs == 5
    single = collate_single([p[0] for p in pairs])
    assert single.num_graphs == 3 and single.label.tolist() == [1, 1, 1]


def test_to_moves_every_tensor():
    batch = collate_pairs(make_pairs(True)).to("cpu")
    assert batch.a.x.device.type == "cpu" and batch.group_id.device.type == "cpu"


def test_mismatched_groups_are_refused():
    pairs = make_pairs(True)
    with pytest.raises(ValueError, match="different groups"):
        collate_pairs([(pairs[0][0], pairs[1][1])])
