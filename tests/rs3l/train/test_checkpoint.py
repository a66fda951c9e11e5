"""Tests of rs3l.train.checkpoint: round trip, RNG restore, atomic writes, clear errors."""

import random

import numpy as np
import pytest
import torch

from rs3l.train.checkpoint import CheckpointError, load_checkpoint, rng_state, save_checkpoint, set_rng_state


def test_round_trip_and_rng_restore(tmp_path):
    state = {"model": {"w": torch.arange(3.0)}, "rng": rng_state(), "epoch": 2}
    expected = (random.random(), float(np.random.rand()), float(torch.rand(1)))
    save_checkpoint(tmp_path / "c.pt", state)
    loaded = load_checkpoint(tmp_path / "c.pt")
    assert torch.equal(loaded["model"]["w"], torch.arange(3.0)) and loaded["epoch"] == 2
    set_rng_state(loaded["rng"])
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == expected


def test_a_failed_write_leaves_the_previous_checkpoint(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", {"model": {"w": torch.ones(2)}})

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        save_checkpoint(path, {"model": {}, "bad": Unpicklable()})
    assert torch.equal(load_checkpoint(path)["model"]["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_missing_and_foreign_files_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "none.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="not an rs3l checkpoint"):
        load_checkpoint(tmp_path / "list.pt")


class WritesMarker:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_everything_saved_is_loadable_without_unpickling_objects(tmp_path):
    """rng states (numpy's included), numpy scalars and paths are stored as tensors and plain types."""
    state = {"model": {"w": torch.ones(2)}, "rng": rng_state(), "best": np.float64(0.5), "n": np.int64(3),
             "where": tmp_path, "history": [{"loss": np.float32(1.5)}]}
    save_checkpoint(tmp_path / "c.pt", state)
    loaded = torch.load(tmp_path / "c.pt", weights_only=True)
    assert loaded["best"] == 0.5 and type(loaded["best"]) is float and loaded["n"] == 3
    assert loaded["where"] == str(tmp_path) and loaded["history"][0]["loss"] == 1.5


def test_a_pickled_payload_is_refused_without_running(tmp_path):
    marker = tmp_path / "payload-ran"
    torch.save({"model": {"w": torch.ones(2)}, "rng": WritesMarker(marker)}, tmp_path / "checkpoint.pt")
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(tmp_path / "checkpoint.pt")
    assert not marker.exists()
    assert str(tmp_path / "checkpoint.pt") in str(err.value) and "refused" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("damage", ["random", "truncated", "empty"])
def test_damaged_checkpoints_give_one_line_naming_the_file(tmp_path, damage):
    path = save_checkpoint(tmp_path / "checkpoint.pt", {"model": {"w": torch.ones(100)}, "rng": rng_state()})
    data = path.read_bytes()
    path.write_bytes({"random": np.random.default_rng(0).bytes(2048), "truncated": data[: len(data) // 3],
                      "empty": b""}[damage])
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
