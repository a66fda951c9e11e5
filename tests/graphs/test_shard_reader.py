"""ShardArrays: the cell positions it derives from cell_index and the cards in metadata.json."""

import json

import awkward as ak
import numpy as np
import pytest

from graphs.shard_reader import INPUT_COLUMNS, ShardArrays
from graphs.synthetic import write_synthetic_dataset
from sim_pairs.detector import load_card
from sim_pairs.detector.cell_index import card_record, decode_cells
from sim_pairs.io import DatasetError, read_metadata, read_shard, shard_name, write_metadata, write_shard


def _two_replica_dataset(tmp_path):
    """Two rows per group seen by two different cards: the same index means different cells."""
    rng = np.random.default_rng(0)
    cards = {"fine": load_card("cocoa"), "coarse": load_card("coarse")}
    rows = {"detector_view": [], "cell_index": [], "cell_energy": []}
    for g in range(4):
        for replica in cards:
            n = int(rng.integers(1, 30))
            rows["detector_view"].append(replica)
            rows["cell_index"].append(rng.integers(0, 30000, n).astype(np.int32))
            rows["cell_energy"].append(rng.exponential(1.0, n).astype(np.float32))
    n_rows = len(rows["cell_index"])
    columns = {
        "group_id": np.repeat(np.arange(4), 2), "event_number": np.repeat(np.arange(4), 2),
        "view": [f"nominal@{r}" for r in rows["detector_view"]], "shower_view": ["nominal"] * n_rows,
        "process": ["qcd"] * n_rows, "label": ["quark"] * n_rows, "parton_pid": np.ones(n_rows),
        **{f"jet_{k}": np.ones(n_rows) for k in ("pt", "eta", "phi", "energy", "mass", "sdmass", "nparticles")},
        **{f"parton_{k}": np.ones(n_rows) for k in ("px", "py", "pz", "energy")},
        **{f"track_{k}": [np.zeros(1)] * n_rows for k in ("pt", "eta", "phi", "charge", "d0", "z0")},
        **{f"track_{k}_layer": [np.zeros((1, 6))] * n_rows for k in ("eta", "phi")},
        **rows,
    }  # fmt: skip
    path = write_shard(columns, tmp_path / shard_name(0))
    write_metadata(tmp_path, {"generator": "test", "detector_cards": {k: card_record(c) for k, c in cards.items()}})
    return path, cards, rows


def test_positions_come_from_each_rows_own_card(tmp_path):
    path, cards, rows = _two_replica_dataset(tmp_path)
    arrays = ShardArrays(path, "detector")
    for row, (replica, index) in enumerate(zip(rows["detector_view"], rows["cell_index"])):
        expected = decode_cells(cards[replica], index)
        jet = arrays.detector(row)
        for name in ("cell_layer", "cell_eta", "cell_phi"):
            assert getattr(jet, name).tobytes() == expected[name].tobytes(), (row, name)
        np.testing.assert_array_equal(jet.cell_energy, rows["cell_energy"][row])
    # the fine and the coarse card place the same index differently
    assert not np.array_equal(decode_cells(cards["fine"], [20000])["cell_eta"], decode_cells(cards["coarse"], [20000])["cell_eta"])


def test_interface_is_unchanged_for_graph_builders(tmp_path):
    path, _, _ = _two_replica_dataset(tmp_path)
    jet = ShardArrays(path, "detector").detector(0)
    assert set(jet.__dict__) == set(INPUT_COLUMNS["detector"])
    assert jet.cell_layer.dtype == np.int8 and jet.cell_eta.dtype == np.float32


def test_a_replica_missing_from_the_metadata_is_named(tmp_path):
    path, cards, _ = _two_replica_dataset(tmp_path)
    meta = read_metadata(tmp_path)
    del meta["detector_cards"]["coarse"]
    write_metadata(tmp_path, meta)
    with pytest.raises(DatasetError, match="detector_view 'coarse'.*'detector_cards' has no such replica"):
        ShardArrays(path, "detector")
    meta.pop("detector_cards")
    write_metadata(tmp_path, meta)
    with pytest.raises(DatasetError, match="field 'detector_cards' is missing"):
        ShardArrays(path, "detector")


def test_synthetic_detector_dataset_reads_back(tmp_path):
    write_synthetic_dataset(tmp_path, n_shards=1, groups_per_shard=3, views=("nominal", "fsr_up"))
    arrays = ShardArrays(tmp_path / shard_name(0), "detector")
    stored = read_shard(tmp_path / shard_name(0), ["cell_index"])
    for row in range(len(arrays)):
        decoded = decode_cells(load_card("cocoa"), ak.to_numpy(stored["cell_index"][row]))
        np.testing.assert_array_equal(arrays.detector(row).cell_eta, decoded["cell_eta"])
    assert json.loads((tmp_path / "metadata.json").read_text())["detector_cards"][""]["card"]["name"] == "cocoa"
