from pathlib import Path

import pytest

from rs3l.config import DEFAULT_CONFIG, RunConfig, load_config
from sim_pairs.typed_config import ConfigError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
RUN_CONFIGS = sorted(p for p in CONFIGS.glob("*.yaml") if p.name != "views.yaml")


@pytest.mark.parametrize("path", RUN_CONFIGS, ids=lambda p: p.name)
def test_shipped_run_configs_load(path):
    config = load_config(path)
    assert isinstance(config, RunConfig)
    assert "nominal" in config.generation.views
    # the network reads its input sizes from the data contract
    assert all(n > 0 for n in config.data.input_dims().values())


def test_default_is_the_quickstart():
    assert DEFAULT_CONFIG == CONFIGS / "quickstart.yaml"
    assert load_config() == load_config(DEFAULT_CONFIG)


def test_included_section_and_its_errors_name_the_included_file(tmp_path):
    (tmp_path / "model.yaml").write_text("feature_k: 7\nembedding_dim: 4\n")
    (tmp_path / "run.yaml").write_text("model: model.yaml\npretrain: {epochs: 3}\n")
    config = load_config(tmp_path / "run.yaml")
    assert (config.model.feature_k, config.model.embedding_dim, config.pretrain.epochs) == (7, 4, 3)
    assert config.base_dir == str(tmp_path.resolve())

    (tmp_path / "model.yaml").write_text("feature_kk: 7\n")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "run.yaml")
    assert "model.yaml" in str(err.value) and "model.feature_kk" in str(err.value) and "did you mean 'feature_k'" in str(err.value)


def test_unknown_section_is_an_error(tmp_path):
    (tmp_path / "run.yaml").write_text("pretrian: {epochs: 3}\n")
    with pytest.raises(ConfigError, match="unknown key 'pretrian'.*did you mean 'pretrain'"):
        load_config(tmp_path / "run.yaml")


def test_overrides_merge_over_the_file(tmp_path):
    (tmp_path / "run.yaml").write_text("pretrain: {epochs: 3, lr: 0.01}\n")
    config = load_config(tmp_path / "run.yaml", overrides={"pretrain": {"epochs": 5}})
    assert (config.pretrain.epochs, config.pretrain.lr) == (5, 0.01)
