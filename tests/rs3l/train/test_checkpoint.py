"""Tests of rs3l.train.checkpoint: round trip, RNG restore, atomic writes, clear errors."""

import random

import numpy as np
import pytest
import torch

from rs3l.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state


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
