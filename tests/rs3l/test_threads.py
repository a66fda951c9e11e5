"""Tests of rs3l.threads: threads x processes within the cores, and the override."""

import pytest
import torch

from rs3l.threads import set_torch_threads, torch_threads


def test_threads_times_processes_fit_the_cores():
    for cores in (1, 2, 8, 64):
        for processes in (1, 2, 4):
            for workers in (0, 1, 3):
                threads = torch_threads(workers, processes, cores)
                assert threads >= 1
                if processes * (1 + workers) <= cores:  # room for at least one thread each
                    assert processes * (threads + workers) <= cores
                    assert processes * (threads + 1 + workers) > cores  # and no core left idle
    assert torch_threads(2, 1, 16) == 14 and torch_threads(0, 4, 16) == 4


def test_processes_default_to_torchrun_local_world_size(monkeypatch):
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert torch_threads(1, cores=16) == 3


def test_threads_override_by_environment(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("RS3L_TORCH_THREADS", "1")
        assert set_torch_threads(0) == 1 and torch.get_num_threads() == 1
        monkeypatch.setenv("RS3L_TORCH_THREADS", "many")
        with pytest.raises(ValueError, match="RS3L_TORCH_THREADS='many': expected a positive integer"):
            set_torch_threads(0)
        monkeypatch.delenv("RS3L_TORCH_THREADS")
        assert set_torch_threads(0, processes=1) == torch_threads(0, 1)
    finally:
        torch.set_num_threads(before)
