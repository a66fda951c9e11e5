"""Tests of rs3l.train.trainer: learning, frozen parameters, early stopping, bit-identical resume."""

import csv

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from rs3l.train.checkpoint import load_checkpoint
from rs3l.train.trainer import Trainer, count_jets, sync_batchnorm


def _data(seed=0, n=96):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 0.0]) + 0.01 * torch.randn(n, generator=g)
    return TensorDataset(x, y)


def _mse_step(model, batch):
    x, y = batch
    return nn.functional.mse_loss(model(x).squeeze(-1), y), {"mean_y": float(y.mean())}


def _model():
    return nn.Sequential(nn.Linear(4, 16), nn.ELU(), nn.Dropout(0.2), nn.Linear(16, 1))


def test_fit_lowers_the_loss_and_writes_logs(tmp_path):
    torch.manual_seed(0)
    loader = DataLoader(_data(), batch_size=16, shuffle=True)
    trainer = Trainer(_model(), _mse_step, out_dir=tmp_path, epochs=6, lr=1e-2, progress=False, log_every=2)
    result = trainer.fit(loader, loader)
    assert result.history[-1]["val_loss"] < 0.5 * result.history[0]["val_loss"]
    assert result.steps == 6 * 6
    rows = list(csv.DictReader(open(tmp_path / "epochs.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert "val_mean_y" in rows[0]
    assert len(list(csv.DictReader(open(tmp_path / "steps.csv")))) == 18
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    assert state["epoch"] == 6 and state["step"] == 36
    assert set(state["rng"]) >= {"python", "numpy", "torch"}
    assert (tmp_path / "best.pt").is_file() and any((tmp_path / "tb").iterdir())


def test_frozen_parameters_stay_frozen_and_only_trainable_ones_are_optimised(tmp_path):
    torch.manual_seed(0)
    model = _model()
    model[0].requires_grad_(False)
    before = model[0].weight.clone()
    trainer = Trainer(model, _mse_step, out_dir=tmp_path, epochs=2, progress=False)
    assert sum(len(g["params"]) for g in trainer.optimizer.param_groups) == 2
    trainer.fit(DataLoader(_data(), batch_size=16))
    assert torch.equal(model[0].weight, before)


def test_early_stopping_stops_when_validation_does_not_improve(tmp_path):
    torch.manual_seed(0)
    loader = DataLoader(_data(), batch_size=16)
    # lr 0 never improves the validation loss after the first epoch
    trainer = Trainer(_model(), _mse_step, out_dir=tmp_path, epochs=20, lr=1e-12, patience=2, progress=False)
    result = trainer.fit(loader, loader)
    assert result.stopped_early and len(result.history) == 3


def test_step_lr_halves_the_rate_every_step_size_epochs(tmp_path):
    trainer = Trainer(_model(), _mse_step, out_dir=tmp_path, epochs=5, lr=1.0, step_size=2, gamma=0.5, progress=False)
    result = trainer.fit(DataLoader(_data(n=16), batch_size=16))
    assert [row["lr"] for row in result.history] == [1.0, 1.0, 0.5, 0.5, 0.25]


class _Kill(Exception):
    pass


def _run(out_dir, epochs, kill_at_step=None, resume=False):
    torch.manual_seed(123)
    model = _model()
    loader = DataLoader(_data(), batch_size=16, shuffle=True)
    calls = {"n": 0}

    def step(m, batch):
        calls["n"] += 1
        if kill_at_step is not None and calls["n"] == kill_at_step:
            raise _Kill
        return _mse_step(m, batch)

    trainer = Trainer(model, step, out_dir=out_dir, epochs=epochs, lr=1e-2, step_size=1, gamma=0.7,
                      grad_clip=1.0, deterministic=True, seed=5, progress=False, restore_best=False)
    trainer.fit(loader, resume=resume)
    return model


def test_resume_after_a_kill_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    straight = _run(tmp_path / "a", epochs=3)
    # killed in the middle of epoch 3 (6 steps per epoch), after checkpointing epoch 2
    with pytest.raises(_Kill):
        _run(tmp_path / "b", epochs=3, kill_at_step=15)
    assert load_checkpoint(tmp_path / "b" / "checkpoint.pt")["epoch"] == 2
    resumed = _run(tmp_path / "b", epochs=3, resume=True)
    for p, q in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(p, q)
    # and resuming a finished run trains no further
    again = _run(tmp_path / "b", epochs=3, resume=True)
    for p, q in zip(straight.state_dict().values(), again.state_dict().values()):
        assert torch.equal(p, q)


def test_bad_arguments_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="scheduler"):
        Trainer(_model(), _mse_step, out_dir=tmp_path, epochs=1, scheduler="linear")
    with pytest.raises(ValueError, match="device"):
        Trainer(_model(), _mse_step, out_dir=tmp_path, epochs=1, device="tpu")
    frozen = _model().requires_grad_(False)
    with pytest.raises(ValueError, match="requires_grad"):
        Trainer(frozen, _mse_step, out_dir=tmp_path, epochs=1)


def test_count_jets_on_tensors_and_tuples():
    assert count_jets(torch.zeros(7, 3)) == 7
    assert count_jets((torch.zeros(5, 2), torch.zeros(5))) == 5


def test_sync_batchnorm_converts_every_batch_norm_and_keeps_parameters_and_keys():
    from rs3l.models.backbone import build_backbone
    from rs3l.models.config import BackboneConfig

    model = build_backbone(BackboneConfig(encoder_channels=[8], edge_conv_channels=[[8]], feature_k=3, head_channels=[8],
                                          embedding_dim=4, norm="batch"), {"particle": 4})
    params, keys = list(model.parameters()), list(model.state_dict())
    assert any(isinstance(m, nn.BatchNorm1d) for m in model.modules())
    synced = sync_batchnorm(model)
    assert not any(type(m) is nn.BatchNorm1d for m in synced.modules())
    assert any(isinstance(m, nn.SyncBatchNorm) for m in synced.modules())
    assert all(a is b for a, b in zip(params, synced.parameters())) and list(synced.state_dict()) == keys
    plain = nn.Sequential(nn.Linear(2, 2))
    assert sync_batchnorm(plain) is plain
