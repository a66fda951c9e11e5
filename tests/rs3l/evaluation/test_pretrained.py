"""Tests of rs3l.evaluation.pretrained: weights round trip, and model files that must never run code."""

import os

import pytest
import torch

from rs3l.evaluation.pretrained import PretrainedModelError, load_pretrained_backbone
from rs3l.models.backbone import build_backbone
from rs3l.models.config import BackboneConfig
from rs3l.train.checkpoint import save_checkpoint

DIMS = {"particle": 4}


class WritesMarker:
    """A pickle payload: unpickling it calls open(marker, 'w'), creating the file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _config():
    return BackboneConfig(encoder_channels=[8], edge_conv_channels=[[8]], head_channels=[8], embedding_dim=4)


def _model_dir(tmp_path, **extra):
    torch.manual_seed(0)
    backbone = build_backbone(_config(), DIMS)
    directory = tmp_path / "model"
    directory.mkdir(exist_ok=True)
    torch.save({"model": backbone.state_dict(), "input_dims": DIMS, **extra}, directory / "model.pt")
    return directory, backbone


def test_weights_round_trip(tmp_path):
    directory, backbone = _model_dir(tmp_path)
    save_checkpoint(directory / "model.pt", {"model": backbone.state_dict(), "input_dims": DIMS})
    loaded, _ = load_pretrained_backbone(directory, _config(), DIMS)
    for key, value in backbone.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)


def test_a_pickled_payload_beside_real_weights_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "payload-ran"
    directory, _ = _model_dir(tmp_path, extra=WritesMarker(marker))
    with pytest.raises(PretrainedModelError) as err:
        load_pretrained_backbone(directory, _config(), DIMS)
    assert not marker.exists()
    message = str(err.value)
    assert str(directory / "model.pt") in message and "refused" in message and "GLOBAL" in message
    assert "\n" not in message
    # the same file under torch.load's unsafe mode would have run the payload: the test can fail
    torch.load(directory / "model.pt", weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("damage", ["random", "truncated", "empty", "text"])
def test_damaged_model_files_give_one_line_naming_the_file(tmp_path, damage):
    directory, _ = _model_dir(tmp_path)
    path = directory / "model.pt"
    data = path.read_bytes()
    path.write_bytes({"random": os.urandom(4096), "truncated": data[: len(data) // 2], "empty": b"",
                      "text": b"model: not a torch file\n"}[damage])
    with pytest.raises(PretrainedModelError) as err:
        load_pretrained_backbone(directory, _config(), DIMS)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_weights_of_another_shape_are_named(tmp_path):
    directory, backbone = _model_dir(tmp_path)
    state = {k: torch.zeros(3, 3, 3) if v.dim() == 2 else v for k, v in backbone.state_dict().items()}
    torch.save({"model": state}, directory / "model.pt")
    with pytest.raises(PretrainedModelError, match="the weights do not fit the backbone"):
        load_pretrained_backbone(directory, _config(), DIMS)
