"""Conversion of rs3l graphs to other graph libraries.

``to_dgl`` needs the Deep Graph Library. The public package index's ``dgl`` stops at
2.1.0, whose compiled parts load only with torch <= 2.2; with a newer torch install a
matching build from https://data.dgl.ai/wheels or use the PyG graphs directly.
"""

from __future__ import annotations

from torch_geometric.data import Data

__all__ = ["to_dgl"]


def to_dgl(data: Data):
    """A ``dgl.DGLGraph`` with the same nodes, edges (source -> target) and tensors.

    Node tensors (``x``, ``pos``, ``node_type``) go to ``ndata``, ``edge_type`` to
    ``edata``; graph-level attributes are not carried (DGL has no graph data slot).

    Raises:
        ImportError: when dgl is not installed or does not load beside this torch.
    """
    try:
        import dgl
    except Exception as err:  # dgl raises OSError/FileNotFoundError when its C library does not match torch
        raise ImportError(
            f"to_dgl needs the Deep Graph Library (pip install dgl; the index's 2.1.0 needs torch <= 2.2): {err}"
        ) from None
    src, dst = data.edge_index
    graph = dgl.graph((src, dst), num_nodes=data.num_nodes)
    for name in ("x", "pos", "node_type"):
        value = getattr(data, name, None)
        if value is not None:
            graph.ndata[name] = value
    if getattr(data, "edge_type", None) is not None:
        graph.edata["edge_type"] = data.edge_type
    return graph
