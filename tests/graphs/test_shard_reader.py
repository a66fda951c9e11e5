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


def _jet_particles(rng, n=50):
    from sim_pairs.event import Particles

    eta, phi = rng.normal(0.5, 0.2, n), rng.normal(1.0, 0.2, n)
    pt = np.concatenate([rng.exponential(15.0, n - 5) + 0.6, [0.55, 0.7, 0.8, 1.0, 1.2]])  # soft ones curl up
    zero = np.zeros(n)
    return Particles(px=pt * np.cos(phi), py=pt * np.sin(phi), pz=pt * np.sinh(eta), e=np.hypot(pt * np.cosh(eta), 0.14),
                     pid=np.where(rng.random(n) < 0.5, 211, -211).astype(np.int32),
                     charge=np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8),
                     vx=zero, vy=zero.copy(), vz=rng.normal(0, 30, n))


def test_track_crossings_not_stored_are_rebuilt_bit_for_bit(tmp_path):
    from sim_pairs.detector import simulate_jet

    cards = {"replica0": load_card("cocoa"), "replica1": load_card("coarse")}
    rng = np.random.default_rng(3)
    outs, views = [], []
    for g in range(3):
        final = _jet_particles(rng)
        for replica, card in cards.items():
            outs.append(simulate_jet(final, 0.5, 1.0, 0.8, card, np.random.default_rng(10 * g + len(views))))
            views.append(replica)
    n_rows = len(outs)
    assert sum(np.isnan(o["track_eta_layer"]).any(axis=1).sum() for o in outs) > 0  # some curl up before a layer
    columns = {
        "group_id": np.repeat(np.arange(3), 2), "event_number": np.repeat(np.arange(3), 2),
        "view": [f"nominal@{r}" for r in views], "shower_view": ["nominal"] * n_rows, "detector_view": views,
        "process": ["qcd"] * n_rows, "label": ["quark"] * n_rows, "parton_pid": np.ones(n_rows),
        **{f"jet_{k}": np.ones(n_rows) for k in ("pt", "eta", "phi", "energy", "mass", "sdmass", "nparticles")},
        **{f"parton_{k}": np.ones(n_rows) for k in ("px", "py", "pz", "energy")},
        **{name: [o[name] for o in outs] for name in outs[0] if not name.endswith("_layer")},
    }  # fmt: skip
    path = write_shard(columns, tmp_path / shard_name(0))
    write_metadata(tmp_path, {"generator": "test", "detector_cards": {k: card_record(c) for k, c in cards.items()}})
    assert "track_eta_layer" not in read_shard(path).fields
    arrays = ShardArrays(path, "detector")
    for row, out in enumerate(outs):
        jet = arrays.detector(row)
        assert len(out["track_pt"]) > 5
        for name in ("track_eta_layer", "track_phi_layer"):
            assert getattr(jet, name).dtype == np.float32
            assert getattr(jet, name).tobytes() == out[name].tobytes(), (row, name)


def test_stored_track_crossings_are_read_as_stored(tmp_path):
    path, _, _ = _two_replica_dataset(tmp_path)  # an importer's shard: crossings stored (zeros here)
    jet = ShardArrays(path, "detector").detector(0)
    np.testing.assert_array_equal(jet.track_eta_layer, np.zeros((1, 6), dtype=np.float32))
