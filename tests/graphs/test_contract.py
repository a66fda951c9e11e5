"""graphs.contract: defaults, YAML round trip through sim_pairs.typed_config, validation, input sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphs.contract import DataContract
from graphs.features import PARTICLE_FEATURES
from sim_pairs.typed_config import ConfigError, from_mapping, load_yaml, to_mapping

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "data"


def test_defaults_build_and_report_input_sizes():
    contract = DataContract()
    assert contract.input_dims() == {"particle": 15}
    assert contract.feature_names()["particle"] == PARTICLE_FEATURES
    assert from_mapping(DataContract, {"features": "kinematic4"}).input_dims() == {"particle": 4}
    detector = from_mapping(DataContract, {"graph": "detector"})
    assert detector.input_dims() == {"cell": 11, "track": 8}
    assert detector.node_type_index() == {"cell": 1, "track": 2}


def test_round_trip_through_a_mapping():
    contract = from_mapping(DataContract, {"max_particles": 24, "normalise": {"log_pt": {"shift": 1.0, "scale": 2.0}}})
    again = from_mapping(DataContract, to_mapping(contract))
    assert again == contract
    assert again.normalisation("particle", "log_pt").scale == 2.0
    assert again.normalisation("particle", "deta") is None


@pytest.mark.parametrize(
    "mapping, message",
    [
        ({"graph": "detector", "features": "rs3l15"}, "no cell features"),
        ({"normalise": {"log_ptt": {}}}, "unknown feature 'log_ptt'"),
        ({"normalise": {"log_pt": {"scale": 0}}}, "scale must be > 0"),
        ({"val_fraction": 0.6, "test_fraction": 0.5}, "sum below 1"),
        ({"pairing": "jetclr"}, "needs at least one augmentation"),
        ({"graph": "detector", "augment": {"rotate": True}}, "act on constituents"),
        ({"max_particles": 0}, "max_particles must be >= 1"),
        ({"max_particle": 3}, "did you mean 'max_particles'"),
        ({"detector_edges": {"cell_k": [8, 8]}}, "needs 6 values"),
    ],
)
def test_bad_values_name_the_field(mapping, message):
    with pytest.raises(ConfigError, match=message):
        from_mapping(DataContract, mapping, source="data.yaml")


def test_view_patterns():
    contract = from_mapping(DataContract, {"pairing": "anchor", "anchor_views": ["nominal"], "views": ["nominal", "fsr*"]})
    assert contract.view_allowed("fsr_up") and not contract.view_allowed("herwig")
    assert contract.is_anchor("nominal") and not contract.is_positive("nominal") and contract.is_positive("fsr_up")


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_presets_load(path):
    contract = from_mapping(DataContract, load_yaml(path), source=str(path))
    assert sum(contract.input_dims().values()) > 0


def _imported_qg(tmp_path):
    """A q/g dataset as `rs3l import qg` writes it: no part_d0 / part_dz."""
    import numpy as np

    from sim_pairs.importers import import_qg

    rng = np.random.default_rng(0)
    x = np.zeros((40, 6, 4))
    for j in range(40):
        n = rng.integers(2, 7)
        x[j, :n] = np.stack([rng.exponential(30, n) + 1, rng.normal(0, 0.2, n), rng.normal(0, 0.2, n),
                             rng.choice([22, 211, -211, 130], n)], axis=1)
    np.savez(tmp_path / "qg.npz", X=x, y=np.arange(40) % 2)
    return import_qg([tmp_path / "qg.npz"], tmp_path / "data", view="pythia", chunk_size=20, progress=False).out


def test_imported_dataset_without_impact_parameters_is_refused_by_features_that_need_them(tmp_path):
    from graphs.contract import MissingColumnsError
    from graphs.dataset import make_loader

    data = _imported_qg(tmp_path)
    full = DataContract(graph="particles", features="rs3l15", num_workers=0, cache_dir=str(tmp_path / "cache"))
    assert full.required_columns()["part_d0"] == ("tanh_d0",)
    with pytest.raises(MissingColumnsError) as err:
        full.check_dataset(data)
    message = str(err.value)
    assert "shard-00000.parquet" in message and "part_d0 (for tanh_d0)" in message and "part_dz" in message
    assert "part_charge" not in message and "\n" not in message  # q/g charge comes from the PDG id
    for cache in (True, False):  # the graph cache and the streaming builder refuse it alike
        with pytest.raises(MissingColumnsError, match="part_d0"):
            next(iter(make_loader(data, full, "train", 8, mode="single", cache=cache, progress=False)))
    kinematic = DataContract(graph="particles", features="kinematic4", num_workers=0, cache_dir=str(tmp_path / "cache"))
    kinematic.check_dataset(data)
    batch = next(iter(make_loader(data, kinematic, "train", 8, mode="single", progress=False)))
    assert batch.x.shape[1] == 4 and batch.num_graphs == 8
