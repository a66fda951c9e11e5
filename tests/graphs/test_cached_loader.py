"""graphs.cached_loader: batches equal the per-jet builder's, pairing rules, epochs, workers, ranks, select."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from graphs.builder import GraphBuilder
from graphs.cache import open_cache
from graphs.cached_loader import CachedJets, make_cached_loader
from graphs.contract import AugmentationConfig, DataContract
from graphs.shard_reader import ShardArrays
from graphs.splits import split_of
from graphs.synthetic import write_synthetic_dataset
from sim_pairs.io import shard_paths

VIEWS = ("nominal", "fsr_up", "fsr_down", "herwig")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_synthetic_dataset(tmp_path_factory.mktemp("cached"), n_shards=3, groups_per_shard=10, views=VIEWS,
                                   detector=True)


def _per_jet_graphs(data_dir, contract):
    """(group_id, view) -> the graph the per-jet builder makes (the reference path)."""
    build, out = GraphBuilder(contract), {}
    for path in shard_paths(data_dir):
        arrays = ShardArrays(path, contract.graph)
        for row in range(len(arrays)):
            label = contract.label_index(arrays.jet["label"][row])
            g = build(arrays, row, -1 if label is None else label)
            out[(int(g.group_id), g.view_name)] = g
    return out


def _edges(g):
    return sorted(map(tuple, g.edge_index.T.tolist()))


@pytest.mark.parametrize("graph", ["particles", "pflow", "detector"])
def test_a_batch_equals_the_per_jet_builders_graphs(data_dir, graph):
    contract = DataContract(graph=graph, pairing="anchor", num_workers=0)
    reference = _per_jet_graphs(data_dir, contract)
    loader = make_cached_loader(open_cache(data_dir, contract, progress=False), contract, "train", 7, mode="pairs")
    seen = 0
    for batch in loader:
        for side in (batch.a, batch.b):
            for g in side.to_data_list():
                ref = reference[(int(g.group_id), g.view_name)]
                assert torch.equal(g.x, ref.x) and torch.equal(g.pos, ref.pos)
                assert torch.equal(g.node_type, ref.node_type) and int(g.label) == int(ref.label)
                for name in ("jet_pt", "jet_eta", "jet_energy"):
                    assert torch.equal(g[name], ref[name])
                assert _edges(g) == _edges(ref)
                if graph == "detector":
                    order = lambda e: np.lexsort(e.edge_index.numpy()[::-1])  # noqa: E731
                    assert torch.equal(g.edge_type[order(g)], ref.edge_type[order(ref)])
                seen += 1
    assert seen == 2 * len(loader.dataset)


@pytest.mark.parametrize("mode", ["pairs", "groups", "single"])
def test_every_unit_once_per_epoch_with_the_pairing_rules(data_dir, mode):
    contract = DataContract(pairing="anchor", anchor_views=["nominal"], positive_views=["fsr_*"], num_workers=0)
    cache = open_cache(data_dir, contract, progress=False)
    loader = make_cached_loader(cache, contract, "train", 4, mode=mode, seed=3)
    train_groups = sorted({int(g) for g, s in zip(cache.group_id, split_of(np.asarray(cache.group_id), 0.1, 0.1))
                           if s == 0})
    seen = []
    for batch in loader:
        if mode == "pairs":
            assert torch.equal(batch.a.group_id, batch.b.group_id)
            assert set(batch.a.view_name) == {"nominal"} and set(batch.b.view_name) <= {"fsr_up", "fsr_down"}
            seen += batch.group_id.tolist()
        elif mode == "groups":
            assert Counter(batch.group.tolist()) == Counter({i: len(VIEWS) for i in range(len(batch))})
            seen += batch.group_id.tolist()
        else:
            seen += [(int(g), v) for g, v in zip(batch.group_id, batch.view_name)]
    if mode == "single":
        assert sorted(seen) == sorted((g, v) for g in train_groups for v in VIEWS)
    else:
        assert sorted(seen) == train_groups


def test_any_pairs_distinct_views_and_jetclr_one_row(data_dir):
    contract = DataContract(pairing="any", num_workers=0)
    for batch in make_cached_loader(open_cache(data_dir, contract, progress=False), contract, "train", 8):
        assert all(a != b for a, b in zip(batch.a.view_name, batch.b.view_name))
    jetclr = DataContract(pairing="jetclr", anchor_views=["herwig"], num_workers=0,
                          augment=AugmentationConfig(rotate=True))
    cache = open_cache(data_dir, jetclr, progress=False)
    ds = CachedJets(cache, jetclr, "train", 8)
    rows_a, rows_b = ds._plan(0)[1]
    assert np.array_equal(rows_a, rows_b) and {cache.views[v] for v in np.asarray(cache.view)[rows_a]} == {"herwig"}


def test_same_seed_same_batches_epochs_differ_and_workers_agree(data_dir):
    contract = DataContract(pairing="anchor")
    cache = open_cache(data_dir, contract, progress=False)

    def stream(epoch, workers, seed=0):
        loader = make_cached_loader(cache, contract, "train", 5, seed=seed, num_workers=workers)
        loader.sampler.set_epoch(epoch)
        return [(b.group_id.tolist(), b.a.view_name, b.b.view_name, b.a.x.sum().item()) for b in loader]

    first = stream(0, 0)
    assert first == stream(0, 0) == stream(0, 2)
    assert first != stream(1, 0) and first != stream(0, 0, seed=1)


def test_ranks_get_disjoint_equal_shares_and_select_is_applied(data_dir):
    contract = DataContract(num_workers=0)
    cache = open_cache(data_dir, contract, progress=False)
    shares = [CachedJets(cache, contract, "train", 4, rank=r, world_size=3) for r in range(3)]
    units = [set(s._plan(0)[0].tolist()) for s in shares]
    assert len({len(u) for u in units}) == 1 and not (units[0] & units[1] or units[1] & units[2] or units[0] & units[2])
    even = CachedJets(cache, contract, "train", 4, mode="single", select=lambda gid, label: gid % 2 == 0)
    assert len(even) and all(int(g) % 2 == 0 for g in np.asarray(cache.group_id)[even.units])


def test_a_gathered_batch_supports_pyg_index_select(data_dir):
    contract = DataContract(graph="detector", num_workers=0)
    batch = next(iter(make_cached_loader(open_cache(data_dir, contract, progress=False), contract, "train", 6,
                                         mode="single")))
    picked = Batch.from_data_list(batch.index_select(torch.tensor([1, 3])))
    whole = batch.to_data_list()
    for got, want in zip(picked.to_data_list(), (whole[1], whole[3])):
        assert torch.equal(got.x, want.x) and torch.equal(got.edge_index, want.edge_index)
        assert got.view_name == want.view_name
