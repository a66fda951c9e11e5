from dataclasses import dataclass, field
from typing import Literal, Optional

import pytest

from sim_pairs.typed_config import ConfigError, from_mapping, load_yaml, to_mapping


@dataclass
class Inner:
    k: int = 16
    mode: Literal["sum", "mean"] = "sum"


@dataclass
class Outer:
    name: str
    lr: float = 1e-3
    sizes: list[int] = field(default_factory=lambda: [128, 128])
    inner: Inner = field(default_factory=Inner)
    named: dict[str, Inner] = field(default_factory=dict)
    maybe: Optional[Inner] = None

    def __post_init__(self):
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


def test_builds_nested_typed_objects():
    cfg = from_mapping(Outer, {"name": "a", "lr": "1e-4", "inner": {"k": 24}, "named": {"x": {"mode": "mean"}},
                               "maybe": {"k": 3}})
    assert cfg.lr == pytest.approx(1e-4) and isinstance(cfg.lr, float)
    assert cfg.inner == Inner(k=24)
    assert cfg.named["x"].mode == "mean"
    assert cfg.maybe == Inner(k=3)
    assert from_mapping(Outer, to_mapping(cfg)) == cfg


def test_unknown_key_names_key_file_and_valid_keys():
    with pytest.raises(ConfigError) as err:
        from_mapping(Outer, {"name": "a", "inner": {"kk": 3}}, source="cfg.yaml")
    message = str(err.value)
    assert "cfg.yaml" in message and "inner.kk" in message and "did you mean 'k'" in message
    assert "mode" in message  # the valid keys are listed


@pytest.mark.parametrize(
    "data, fragment",
    [
        ({}, "name: required key missing"),
        ({"name": "a", "lr": "fast"}, "lr: expected a number"),
        ({"name": "a", "sizes": [1, "x"]}, "sizes[1]: expected an integer"),
        ({"name": "a", "inner": {"mode": "max"}}, "inner.mode: expected one of ['sum', 'mean']"),
        ({"name": "a", "lr": -1}, "lr must be > 0"),
        ({"name": "a", "inner": {"k": True}}, "inner.k: expected an integer"),
    ],
)
def test_bad_values_are_named(data, fragment):
    with pytest.raises(ConfigError, match=None) as err:
        from_mapping(Outer, data, source="cfg.yaml")
    assert fragment in str(err.value)
    assert str(err.value).startswith("cfg.yaml")


def test_load_yaml_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_yaml(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_yaml(tmp_path / "missing.yaml")
