"""Tests of rs3l.models.pooling against per-graph loops."""

import pytest
import torch

from rs3l.models.pooling import GlobalPooling


def test_sum_mean_and_attention_match_per_graph_loops():
    torch.manual_seed(0)
    x = torch.randn(7, 3)
    batch = torch.tensor([0, 0, 0, 2, 2, 2, 2])  # graph 1 is empty
    torch.testing.assert_close(GlobalPooling("sum")(x, batch, 3), torch.stack([x[:3].sum(0), torch.zeros(3), x[3:].sum(0)]))
    torch.testing.assert_close(GlobalPooling("mean")(x, batch, 3)[[0, 2]], torch.stack([x[:3].mean(0), x[3:].mean(0)]))
    att = GlobalPooling("attention", 3)
    gate = att.attention.gate_nn(x).squeeze(-1)
    expected = torch.softmax(gate[:3], 0) @ x[:3]
    torch.testing.assert_close(att(x, batch, 3)[0], expected)
    with pytest.raises(ValueError, match="pooling"):
        GlobalPooling("max")
