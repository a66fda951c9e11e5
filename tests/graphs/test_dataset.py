"""graphs.dataset: streaming pairs over shards, splits, workers, DDP ranks, pairing rules, bad shards."""

from __future__ import annotations

from collections import Counter

import awkward as ak
import numpy as np
import pytest
import torch

from graphs.contract import AugmentationConfig, DataContract, MissingColumnsError
from graphs.dataset import PairDataset, make_loader, split_of
from graphs.synthetic import synthetic_columns, write_synthetic_dataset
from sim_pairs.io import DatasetError, read_shard, write_shard

VIEWS = ("nominal", "fsr_up", "fsr_down", "herwig")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_synthetic_dataset(tmp_path_factory.mktemp("pairs"), n_shards=3, groups_per_shard=12, views=VIEWS, detector=False)


def all_group_ids(data_dir):
    return sorted({int(g) for s in range(3) for g in read_shard(data_dir / f"shard-0000{s}.parquet", ["group_id"])["group_id"]})


def test_splits_are_disjoint_cover_everything_and_keep_groups_whole(data_dir):
    contract = DataContract(val_fraction=0.25, test_fraction=0.25)
    seen = {}
    for split in ("train", "val", "test"):
        for batch in make_loader(data_dir, contract, split, 5, mode="groups", num_workers=0):
            for gid in batch.group_id.tolist():
                assert gid not in seen, f"group {gid} in {seen.get(gid)} and {split}"
                seen[gid] = split
            assert Counter(batch.group.tolist()) == Counter({i: len(VIEWS) for i in range(len(batch))})
    assert sorted(seen) == all_group_ids(data_dir)
    assert set(seen.values()) == {"train", "val", "test"}
    # the hash is stable: the same ids always land in the same split
    ids = np.array(sorted(seen))
    assert [("train", "val", "test")[s] for s in split_of(ids, 0.25, 0.25)] == [seen[i] for i in ids]


def test_two_workers_yield_every_group_once_with_aligned_rows(data_dir):
    contract = DataContract(shuffle_buffer=4)
    loader = make_loader(data_dir, contract, "train", 4, num_workers=2, seed=3)
    ids = []
    for batch in loader:
        assert torch.equal(batch.a.group_id, batch.b.group_id) and torch.equal(batch.group_id, batch.a.group_id)
        assert all(va != vb for va, vb in zip(batch.a.view_name, batch.b.view_name))
        ids += batch.group_id.tolist()
    train = [g for g, s in zip(all_group_ids(data_dir), split_of(np.array(all_group_ids(data_dir)), 0.1, 0.1)) if s == 0]
    assert sorted(ids) == train and len(ids) == len(loader.dataset)


def test_same_seed_same_stream_and_epochs_differ(data_dir):
    def stream(epoch, seed=0):
        ds = PairDataset(data_dir, DataContract(shuffle_buffer=8), "train", seed=seed)
        ds.set_epoch(epoch)
        return [(a.group_id.item(), a.view_name, b.view_name, a.x.sum().item()) for a, b in ds]

    first = stream(0)
    assert first == stream(0)
    assert first != stream(1)
    assert sorted(g for g, *_ in first) == sorted(g for g, *_ in stream(1))


def test_ddp_ranks_get_disjoint_equal_shares(data_dir):
    shares = []
    for rank in range(2):
        ds = PairDataset(data_dir, DataContract(), "train", rank=rank, world_size=2)
        shares.append([a.group_id.item() for a, _ in ds])
        assert len(shares[-1]) == len(ds)
    assert len(shares[0]) == len(shares[1])
    assert not set(shares[0]) & set(shares[1])


def test_anchor_pairing_and_view_filter(data_dir):
    contract = DataContract(pairing="anchor", anchor_views=["nominal"], views=["nominal", "fsr_*"])
    pairs = list(PairDataset(data_dir, contract, "train"))
    assert pairs and all(a.view_name == "nominal" and b.view_name in ("fsr_up", "fsr_down") for a, b in pairs)
    assert {b.view_name for _, b in pairs} == {"fsr_up", "fsr_down"}


def test_jetclr_pairs_augment_the_same_nominal_jet(data_dir):
    contract = DataContract(pairing="jetclr", augment=AugmentationConfig(rotate=True))
    a, b = next(iter(PairDataset(data_dir, contract, "train")))
    assert a.view_name == b.view_name == "nominal" and a.num_nodes == b.num_nodes
    # rotation keeps each constituent's distance to the axis (feature 'dr') but moves it
    assert torch.allclose(a.x[:, 9], b.x[:, 9], atol=1e-5) and not torch.allclose(a.pos, b.pos)


def test_single_mode_yields_every_allowed_row_once(data_dir):
    contract = DataContract(views=["nominal", "herwig"])
    rows = [(int(g), v) for batch in make_loader(data_dir, contract, "test", 7, mode="single", num_workers=0, shuffle=False)
            for g, v in zip(batch.group_id.tolist(), batch.view_name)]  # fmt: skip
    assert len(rows) == len(set(rows)) and {v for _, v in rows} == {"nominal", "herwig"}
    test_groups = {g for g, s in zip(all_group_ids(data_dir), split_of(np.array(all_group_ids(data_dir)), 0.1, 0.1)) if s == 2}
    assert {g for g, _ in rows} == test_groups and len(rows) == 2 * len(test_groups)


def test_select_keeps_only_the_chosen_groups_before_batching(data_dir):
    contract = DataContract(views=["nominal"])
    everything = [int(g) for b in make_loader(data_dir, contract, "train", 5, mode="single", num_workers=0, shuffle=False)
                  for g in b.group_id]  # fmt: skip
    odd = make_loader(data_dir, contract, "train", 5, mode="single", num_workers=0, shuffle=False,
                      select=lambda gid, label: gid % 2 == 1)
    kept = [batch.group_id.tolist() for batch in odd]
    assert [g for b in kept for g in b] == [g for g in everything if g % 2 == 1]
    assert all(len(b) == 5 for b in kept[:-1])  # filtered before batching: full batches
    with pytest.raises(ValueError, match="mask of shape"):
        PairDataset(data_dir, contract, "train", mode="single", select=lambda gid, label: np.ones(1, bool))


def test_labels_index_the_contract_classes(data_dir):
    contract = DataContract(labels=["gluon", "quark"])
    graphs = list(PairDataset(data_dir, contract, "train", mode="single"))
    assert graphs and {int(g.label) for g in graphs} == {0, 1}
    names = {int(g.group_id): int(g.label) for g in graphs}
    assert all(["quark", "gluon", "Hbb", "Wqq", "Zqq", "top"][gid % 6] == ["gluon", "quark"][lab] for gid, lab in names.items())


def test_a_shard_missing_a_feature_column_names_it(tmp_path):
    columns = synthetic_columns(3, VIEWS, detector=False)
    # part_d0 is optional (imported public datasets lack it): features that need it refuse the shard
    write_shard({k: v for k, v in columns.items() if k != "part_d0"}, tmp_path / "shard-00000.parquet")
    with pytest.raises(MissingColumnsError, match="part_d0"):
        list(PairDataset(tmp_path, DataContract(val_fraction=0.0, test_fraction=0.0), "train"))
    # part_px is required: the reader refuses the shard
    table = ak.zip({k: v for k, v in columns.items() if k != "part_px"}, depth_limit=1)
    ak.to_parquet(table, tmp_path / "shard-00000.parquet")
    with pytest.raises(DatasetError, match="part_px"):
        list(PairDataset(tmp_path, DataContract(val_fraction=0.0, test_fraction=0.0), "train"))


def test_pflow_graphs_need_pflow_columns(tmp_path):
    write_shard(synthetic_columns(3, VIEWS, detector=False), tmp_path / "shard-00000.parquet")
    with pytest.raises(DatasetError, match="pfc_px"):
        list(PairDataset(tmp_path, DataContract(graph="pflow", val_fraction=0.0, test_fraction=0.0), "train"))


def test_a_group_split_over_two_shards_is_refused(tmp_path):
    write_shard(synthetic_columns(2, VIEWS, detector=False), tmp_path / "shard-00000.parquet")
    write_shard(synthetic_columns(2, VIEWS, detector=False, seed=1), tmp_path / "shard-00001.parquet")
    with pytest.raises(DatasetError, match="span shards"):
        PairDataset(tmp_path, DataContract(val_fraction=0.0, test_fraction=0.0), "train")


def test_detector_pairs(tmp_path):
    data_dir = write_synthetic_dataset(tmp_path, n_shards=1, groups_per_shard=4, views=("replica0", "replica1"))
    contract = DataContract(graph="detector", val_fraction=0.0, test_fraction=0.0)
    batch = next(iter(make_loader(data_dir, contract, "train", 4, num_workers=0)))
    assert len(batch) == 4 and batch.a.edge_type.numel() == batch.a.edge_index.size(1)
    assert set(batch.a.node_type.tolist()) == {1, 2} and batch.a.x.size(1) == 11


def test_split_hash_is_the_published_splitmix64():
    # splitmix64(0) = 0xE220A8397B1DCDAF, the first output of the reference generator seeded with 0
    u = 0xE220A8397B1DCDAF >> 11
    fraction = u / 2.0**53
    assert split_of(np.array([0]), 0.0, fraction + 1e-12).tolist() == [2]
    assert split_of(np.array([0]), 0.0, fraction - 1e-12).tolist() == [0]
    ids = np.arange(20000)
    counts = np.bincount(split_of(ids, 0.2, 0.1), minlength=3) / len(ids)
    assert np.allclose(counts, [0.7, 0.2, 0.1], atol=0.02)
