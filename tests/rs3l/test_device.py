"""Tests of rs3l.device.resolve_device."""

import pytest
import torch

from rs3l.device import resolve_device


def test_cpu_and_auto():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else None
    if expected is None and not (torch.backends.mps.is_available()):
        assert resolve_device("auto") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")
def test_missing_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda:1")


def test_unknown_names_are_rejected():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        resolve_device("tpu")
