"""Tests of rs3l.train.config.PretrainConfig: defaults are RS3L's, bad values name the field."""

import pytest

from rs3l.train.config import PretrainConfig
from sim_pairs.typed_config import ConfigError, from_mapping


def test_defaults_follow_rs3l():
    c = PretrainConfig()
    assert (c.batch_size, c.lr, c.step_size, c.gamma, c.temperature, c.loss) == (100, 1e-3, 50, 0.5, 0.1, "ntxent")


@pytest.mark.parametrize("mapping, match", [({"temperature": 0}, "temperature"), ({"epochs": 0}, "epochs"),
                                            ({"loss": "vicreg", "mode": "groups"}, "vicreg"),
                                            ({"scheduler": "linear"}, "scheduler"), ({"lr": -1}, "lr")])
def test_bad_values_are_errors(mapping, match):
    with pytest.raises(ConfigError, match=match):
        from_mapping(PretrainConfig, mapping, source="run.yaml", where="pretrain")
