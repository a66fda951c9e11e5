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
