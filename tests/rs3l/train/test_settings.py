"""Tests of rs3l.train.settings.TrainSettings: one set of defaults, validated, built into the Trainer as written."""

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from rs3l.train.config import PretrainConfig
from rs3l.train.settings import TrainSettings
from rs3l.train.trainer import Trainer
from sim_pairs.typed_config import ConfigError, from_mapping, to_mapping


def _model():
    torch.manual_seed(0)
    return nn.Linear(3, 1)


def _step(model, batch):
    x, y = batch
    return nn.functional.mse_loss(model(x).squeeze(-1), y)


@pytest.mark.parametrize("kwargs, match", [({"epochs": 0}, "epochs"), ({"optimizer": "sgd"}, "optimizer"),
                                           ({"scheduler": "linear"}, "scheduler"), ({"lr": 0.0}, "lr"),
                                           ({"step_size": 0}, "step_size"), ({"grad_clip": 0.0}, "grad_clip"),
                                           ({"patience": 0}, "patience"), ({"log_every": 0}, "log_every")])
def test_bad_values_name_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainSettings(**kwargs)


def test_the_trainer_builds_the_optimiser_and_schedule_the_settings_describe(tmp_path):
    settings = TrainSettings(epochs=7, optimizer="adamw", lr=0.02, weight_decay=0.1, scheduler="cosine")
    trainer = Trainer(_model(), _step, settings, out_dir=tmp_path, device="cpu", progress=False)
    assert trainer.settings is settings
    assert type(trainer.optimizer) is torch.optim.AdamW
    group = trainer.optimizer.param_groups[0]
    assert (group["lr"], group["weight_decay"]) == (0.02, 0.1)
    assert isinstance(trainer.scheduler, torch.optim.lr_scheduler.CosineAnnealingLR) and trainer.scheduler.T_max == 7
    step = Trainer(_model(), _step, TrainSettings(step_size=3, gamma=0.2), out_dir=tmp_path, progress=False)
    assert type(step.optimizer) is torch.optim.Adam
    assert (step.scheduler.step_size, step.scheduler.gamma) == (3, 0.2)
    assert Trainer(_model(), _step, TrainSettings(scheduler="none"), out_dir=tmp_path).scheduler is None


def test_keywords_override_the_settings_and_unknown_ones_are_named(tmp_path):
    base = TrainSettings(epochs=3, lr=0.5)
    trainer = Trainer(_model(), _step, base, out_dir=tmp_path, lr=0.1, patience=2)
    assert trainer.settings == TrainSettings(epochs=3, lr=0.1, patience=2)
    assert base.lr == 0.5  # the caller's settings are not changed
    assert Trainer(_model(), _step, out_dir=tmp_path, epochs=4).settings == TrainSettings(epochs=4)
    with pytest.raises(TypeError, match="unknown setting.*lrate"):
        Trainer(_model(), _step, out_dir=tmp_path, lrate=0.1)
    with pytest.raises(TypeError, match="batch_size"):  # a pre-training key, not the Trainer's
        Trainer(_model(), _step, out_dir=tmp_path, batch_size=4)


def test_one_default_the_trainer_clips_as_rs3l_pretrain_does(tmp_path):
    assert Trainer(_model(), _step, out_dir=tmp_path).settings.grad_clip == PretrainConfig().grad_clip == 5.0
    x = torch.randn(8, 3)
    loader = DataLoader(TensorDataset(x, 1e3 * x.sum(1)), batch_size=4)
    history = Trainer(_model(), _step, out_dir=tmp_path / "a", epochs=1, progress=False).fit(loader).history
    assert history[0]["train_grad_norm"] > 5.0  # the norm before clipping, recorded because clipping is on
    off = Trainer(_model(), _step, out_dir=tmp_path / "b", epochs=1, grad_clip=None, progress=False).fit(loader)
    assert "train_grad_norm" not in off.history[0]


def test_pretrain_config_is_train_settings_with_flat_yaml_keys():
    cfg = from_mapping(PretrainConfig, {"lr": "1e-2", "grad_clip": None, "batch_size": 4, "optimizer": "adamw"},
                       source="run.yaml", where="pretrain")
    assert isinstance(cfg, TrainSettings) and (cfg.lr, cfg.grad_clip, cfg.batch_size) == (0.01, None, 4)
    mapping = to_mapping(cfg)
    assert all(not isinstance(v, dict) for v in mapping.values())  # nothing nested
    assert from_mapping(PretrainConfig, mapping) == cfg
    with pytest.raises(ConfigError, match=r"run.yaml: unknown key 'pretrain.grad_clipping' \(did you mean 'grad_clip'"):
        from_mapping(PretrainConfig, {"grad_clipping": 1.0}, source="run.yaml", where="pretrain")
    with pytest.raises(ConfigError, match=r"run.yaml: pretrain.optimizer: expected one of \['adam', 'adamw'\]"):
        from_mapping(PretrainConfig, {"optimizer": "sgd"}, source="run.yaml", where="pretrain")
    with pytest.raises(ConfigError, match=r"run.yaml: pretrain: patience must be >= 1"):
        from_mapping(PretrainConfig, {"patience": 0}, source="run.yaml", where="pretrain")
