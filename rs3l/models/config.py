"""Typed configuration of the GNN backbone (the ``model:`` section of a run config).

Presets live in ``configs/model/``: ``rs3l.yaml`` (the published RS3L sizes, arXiv
2403.07066), ``particlenet_lite.yaml`` and ``particlenet.yaml`` (Qu & Gouskos,
arXiv 1902.08570). Built into a module by :func:`rs3l.models.backbone.build_backbone`.
This module imports nothing heavy so the config can be read without torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["BackboneConfig"]


@dataclass
class BackboneConfig:
    """Sizes and options of the EdgeConv backbone; defaults are the RS3L backbone."""

    # hidden widths of each node type's input MLP (RS3L: 15 -> 128 -> 128)
    encoder_channels: list[int] = field(default_factory=lambda: [128, 128])
    # one entry per EdgeConv block: the widths of its edge MLP (RS3L: 3 x [128], i.e. 256 -> 128)
    edge_conv_channels: list[list[int]] = field(default_factory=lambda: [[128], [128], [128]])
    # neighbours per node in the dynamic kNN graphs, found in each block's input feature space
    feature_k: int = 24
    # neighbours per node in the (d_eta, d_phi) kNN graph of the first block, when
    # first_block_edges is 'graph' and the graphs bring no edges (particle-like graphs; detector
    # graphs bring their typed edges); found on the model's device
    position_k: int = 16
    # aggregation of edge messages at a node: 'max' (RS3L, PyG DynamicEdgeConv's default) or 'mean' (ParticleNet)
    aggr: Literal["max", "mean"] = "max"
    # whether a node is its own nearest neighbour in kNN graphs (PyG DynamicEdgeConv: yes; ParticleNet: no)
    self_loops: bool = True
    # edges of the first block: 'graph' uses the graph's own edge_index (kNN in (d_eta, d_phi) with
    # position_k when the graph has none), 'knn' recomputes kNN in the encoded feature space as RS3L does
    first_block_edges: Literal["graph", "knn"] = "knn"
    # residual (shortcut) connection around every EdgeConv block (ParticleNet); RS3L has none
    residual: bool = False
    # normalisation inside the MLPs: 'batch', 'layer' or 'none' (RS3L: none)
    norm: Literal["batch", "layer", "none"] = "none"
    # non-linearity everywhere: 'elu' (RS3L) or 'relu' (ParticleNet)
    activation: Literal["elu", "relu"] = "elu"
    # global pooling of node features to a jet: 'sum' (RS3L), 'mean' (ParticleNet) or 'attention'
    pooling: Literal["sum", "mean", "attention"] = "sum"
    # hidden widths of the MLP from the pooled features to the embedding (RS3L: 128 -> 64 -> 32 -> 32 -> 8)
    head_channels: list[int] = field(default_factory=lambda: [64, 32, 32])
    # dimension of the output embedding (the contrastive space and the heads' input)
    embedding_dim: int = 8
    # dropout before every head layer (ParticleNet: 0.1)
    dropout: float = 0.0
    # widths of a projection head after the embedding, used only by the contrastive loss
    # (SimCLR, arXiv 2002.05709: the loss sees g(h), the downstream heads h); empty: none, as in RS3L
    projection: list[int] = field(default_factory=list)
    # kNN of the dynamic blocks: 'dense' (padded batched kNN with dense aggregation, the fast path),
    # or a back-end of graphs.knn.knn_graph ('auto', 'torch', ...) followed by sparse message passing
    knn_backend: str = "dense"

    def __post_init__(self) -> None:
        if not self.encoder_channels or any(c <= 0 for c in self.encoder_channels):
            raise ValueError(f"encoder_channels must be a non-empty list of positive widths, got {self.encoder_channels}")
        if not self.edge_conv_channels or any(not block or any(c <= 0 for c in block) for block in self.edge_conv_channels):
            raise ValueError(
                f"edge_conv_channels must be a non-empty list of non-empty lists of positive widths, got {self.edge_conv_channels}")
        for name in ("feature_k", "position_k"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if any(c <= 0 for c in self.head_channels):
            raise ValueError(f"head_channels must be positive widths, got {self.head_channels}")
        if any(c <= 0 for c in self.projection):
            raise ValueError(f"projection must be positive widths, got {self.projection}")
        if self.embedding_dim < 1:
            raise ValueError(f"embedding_dim must be >= 1, got {self.embedding_dim}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
