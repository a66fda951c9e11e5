"""graphs.interop.to_dgl, where dgl is importable (the index's dgl 2.1.0 needs torch <= 2.2)."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data

from graphs.interop import to_dgl


def test_to_dgl_keeps_nodes_edges_and_features():
    dgl = pytest.importorskip("dgl")
    data = Data(x=torch.randn(4, 3), pos=torch.randn(4, 2), edge_index=torch.tensor([[0, 1, 2], [1, 2, 3]]))
    data.node_type = torch.zeros(4, dtype=torch.long)
    data.edge_type = torch.tensor([0, 1, 0])
    graph = to_dgl(data)
    assert isinstance(graph, dgl.DGLGraph) and graph.num_nodes() == 4
    src, dst = graph.edges()
    assert src.tolist() == [0, 1, 2] and dst.tolist() == [1, 2, 3]
    assert torch.equal(graph.ndata["x"], data.x) and torch.equal(graph.edata["edge_type"], data.edge_type)


def test_without_dgl_the_message_says_what_to_install():
    try:
        import dgl  # noqa: F401
    except Exception:
        with pytest.raises(ImportError, match="pip install dgl"):
            to_dgl(Data(x=torch.zeros(1, 1), edge_index=torch.zeros(2, 0, dtype=torch.long)))
    else:
        pytest.skip("dgl is installed")
