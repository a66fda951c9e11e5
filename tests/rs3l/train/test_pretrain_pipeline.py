"""pretrain() end to end on graphs' synthetic shards: files written, weights reload, resume, group mode."""

import json

import pytest
import torch

from graphs.synthetic import write_synthetic_dataset
from rs3l.config import load_config
from rs3l.models.backbone import build_backbone
from rs3l.train.checkpoint import load_checkpoint
from rs3l.train.pretrain import pretrain


def _config(**pretrain_overrides):
    data = {"graph": "particles", "pairing": "any", "positive_views": [], "val_fraction": 0.3,
            "test_fraction": 0.1, "num_workers": 0}
    run = {"epochs": 2, "batch_size": 6, "num_workers": 0, "max_steps_per_epoch": 2, "max_val_steps": 2,
           "deterministic": True, **pretrain_overrides}
    model = {"encoder_channels": [16], "edge_conv_channels": [[16], [16]], "k": 4, "head_channels": [16]}
    return load_config(None, overrides={"data": data, "pretrain": run, "model": model})


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_synthetic_dataset(tmp_path_factory.mktemp("data"), n_shards=1, groups_per_shard=24,
                                   detector=False, n_particles=(6, 14))


@pytest.mark.slow
def test_pretrain_writes_weights_logs_and_diagnostics_and_resumes(dataset, tmp_path):
    config = _config()
    path = pretrain(config, dataset, tmp_path, device="cpu", progress=False)
    assert path == tmp_path / "model.pt"
    assert {"checkpoint.pt", "epochs.csv", "steps.csv", "diagnostics.json"} <= {p.name for p in tmp_path.iterdir()}
    blob = load_checkpoint(path)
    backbone = build_backbone(config.model, config.data.input_dims())
    backbone.load_state_dict(blob["model"])  # strict: the saved weights are the backbone's own
    assert blob["config"]["model"]["k"] == 4 and blob["input_dims"] == {"particle": 15}
    diagnostics = json.loads((tmp_path / "diagnostics.json").read_text())
    assert {"alignment", "uniformity", "cosine_positive", "cosine_negative", "invariance"} <= set(diagnostics)
    # resuming a finished run trains no further and gives the same weights
    pretrain(config, dataset, tmp_path, device="cpu", resume=True, progress=False)
    for name, value in load_checkpoint(path)["model"].items():
        assert torch.equal(value, blob["model"][name])
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 4


@pytest.mark.slow
def test_pretrain_in_group_mode(dataset, tmp_path):
    pretrain(_config(mode="groups", epochs=1), dataset, tmp_path, device="cpu", progress=False)
    assert json.loads((tmp_path / "diagnostics.json").read_text())["n_pairs"] > 0
