"""Tests of rs3l.diagnostics against loops over pairs and analytic cases."""

import itertools
import json
import math

import numpy as np
import pytest
import torch

from rs3l.diagnostics import pair_diagnostics, write_diagnostics


def _unit(v):
    return v / np.linalg.norm(v)


def test_pair_diagnostics_equal_loops_over_pairs():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    ua, ub = [_unit(v) for v in a], [_unit(v) for v in b]
    d = pair_diagnostics(torch.tensor(a), torch.tensor(b), views_b=["x", "y", "x", "y", "y", "x"])
    assert d["alignment"] == pytest.approx(np.mean([np.sum((p - q) ** 2) for p, q in zip(ua, ub)]))
    everything = ua + ub
    pairs = [np.sum((p - q) ** 2) for p, q in itertools.combinations(everything, 2)]
    assert d["uniformity"] == pytest.approx(math.log(np.mean(np.exp(-2.0 * np.array(pairs)))))
    assert d["cosine_positive"] == pytest.approx(np.mean([p @ q for p, q in zip(ua, ub)]))
    assert d["cosine_negative"] == pytest.approx(np.mean([ua[i] @ ub[j] for i in range(6) for j in range(6) if i != j]))
    pos = [np.linalg.norm(a[i] - b[i]) for i in range(6)]
    neg = [np.linalg.norm(a[i] - b[j]) for i in range(6) for j in range(6) if i != j]
    assert d["invariance"]["distance_positive"] == pytest.approx(np.mean(pos))
    assert d["invariance"]["distance_negative"] == pytest.approx(np.mean(neg))
    rows_x = [0, 2, 5]
    assert d["invariance_by_view"]["x"]["distance_positive"] == pytest.approx(np.mean([pos[i] for i in rows_x]))
    assert d["invariance_by_view"]["x"]["distance_negative"] == pytest.approx(
        np.mean([np.linalg.norm(a[i] - b[j]) for i in rows_x for j in range(6) if j != i]))


def test_identical_views_have_zero_alignment_and_unit_positive_cosine():
    z = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
    d = pair_diagnostics(z, z.clone())
    assert d["alignment"] == pytest.approx(0.0, abs=1e-12)
    assert d["cosine_positive"] == pytest.approx(1.0)
    assert d["invariance"]["ratio"] == pytest.approx(0.0, abs=1e-12)


def test_write_diagnostics_writes_json(tmp_path):
    from torch_geometric.data import Batch, Data
    from graphs.collate import PairBatch

    def batch(seed):
        g = torch.Generator().manual_seed(seed)
        return Batch.from_data_list([Data(x=torch.randn(3, 2, generator=g)) for _ in range(4)])

    pairs = [PairBatch(batch(0), batch(1), torch.arange(4), torch.zeros(4, dtype=torch.long))]
    class SumOfNodes(torch.nn.Module):
        def forward(self, b):
            return torch.stack([b.x[b.batch == i].sum(0) for i in range(b.num_graphs)])

    model = SumOfNodes()
    result = write_diagnostics(model, pairs, tmp_path / "d.json")
    assert json.loads((tmp_path / "d.json").read_text())["n_pairs"] == 4 == result["n_pairs"]


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="shape"):
        pair_diagnostics(torch.zeros(3, 2), torch.zeros(2, 2))
