"""Tests of rs3l.models.encoders: each node type goes through its own MLP."""

import pytest
import torch

from rs3l.models.encoders import NodeTypeEncoder


def test_each_node_type_uses_its_own_mlp_and_its_own_columns():
    torch.manual_seed(0)
    enc = NodeTypeEncoder({"cell": 3, "track": 5}, [4, 6])
    x = torch.randn(5, 5)
    node_type = torch.tensor([1, 2, 1, 2, 2])
    out = enc(x, node_type)
    torch.testing.assert_close(out[[0, 2]], enc.mlps["cell"](x[[0, 2], :3]))
    torch.testing.assert_close(out[[1, 3, 4]], enc.mlps["track"](x[[1, 3, 4]]))
    assert "input_dims={'cell': 3, 'track': 5}" in repr(enc)


def test_bad_inputs_name_the_problem():
    with pytest.raises(ValueError, match="unknown node type 'jet'"):
        NodeTypeEncoder({"jet": 3}, [4])
    enc = NodeTypeEncoder({"particle": 15}, [4])
    with pytest.raises(ValueError, match="expects 15 features"):
        enc(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="no 'node_type'"):
        NodeTypeEncoder({"cell": 2, "track": 2}, [4])(torch.zeros(2, 2))
