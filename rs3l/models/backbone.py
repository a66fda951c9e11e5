"""The jet backbone: node encoders, EdgeConv blocks, global pooling, MLP to the embedding.

The RS3L backbone (arXiv 2403.07066): particle MLP 15 -> 128 -> 128, three dynamic
EdgeConv blocks (k = 24, edge MLP 256 -> 128), global sum pooling and an MLP
128 -> 64 -> 32 -> 32 -> 8. ParticleNet (arXiv 1902.08570) is the same skeleton
with residual blocks, batch normalisation and mean pooling. Built from a
:class:`rs3l.models.config.BackboneConfig` by :func:`build_backbone`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphs.knn import knn_graph

from .config import BackboneConfig
from .edge_conv import EdgeConvBlock
from .encoders import NodeTypeEncoder
from .mlp import make_mlp
from .pooling import GlobalPooling

__all__ = ["Backbone", "Projected", "Pooled", "build_backbone"]


class Backbone(nn.Module):
    """Maps a PyG batch of jets to one embedding per jet.

    Args:
        encoder: per-node-type input encoder.
        blocks: EdgeConv blocks, applied in order.
        pooling: global pooling.
        head: MLP from the pooled features to the embedding.
        projection: optional MLP from the embedding to the space the contrastive loss
            sees (SimCLR's projection head g, arXiv 2002.05709); :meth:`project` applies it.
        first_block_edges: ``graph`` (the batch's own ``edge_index``, or kNN in ``pos``
            when it has none) or ``knn`` (the first block is dynamic too).
        position_k: neighbours of the kNN graph in ``pos``, built on the batch's device.

    Shapes:
        batch with ``x [N, F]``, ``batch [N]``, optional ``node_type [N]``, ``pos [N, 2]``,
        ``edge_index [2, E]`` -> ``[B, D]`` (not normalised; see :meth:`embed`);
        :meth:`project`: ``[B, D] -> [B, P]``.
    """

    def __init__(self, encoder: NodeTypeEncoder, blocks: list[EdgeConvBlock], pooling: GlobalPooling,
                 head: nn.Module, first_block_edges: str = "knn", position_k: int = 16, knn_backend: str = "dense",
                 projection: nn.Module | None = None):
        super().__init__()
        if first_block_edges not in ("graph", "knn"):
            raise ValueError(f"first_block_edges must be 'graph' or 'knn', got {first_block_edges!r}")
        self.encoder, self.blocks, self.pooling, self.head = encoder, nn.ModuleList(blocks), pooling, head
        self.projection = projection
        self.first_block_edges, self.position_k, self.knn_backend = first_block_edges, position_k, knn_backend

    def _first_edges(self, data, batch: Tensor) -> Tensor:
        edge_index = getattr(data, "edge_index", None)
        if edge_index is not None and edge_index.numel() > 0:
            return edge_index
        pos = getattr(data, "pos", None)
        if pos is None:
            raise ValueError("first_block_edges='graph' but the batch has neither edge_index nor pos")
        backend = "auto" if self.knn_backend == "dense" else self.knn_backend
        return knn_graph(pos, self.position_k, batch, loop=self.blocks[0].loop, backend=backend)

    def representation(self, data) -> Tensor:
        """Pooled node features before the head MLP, ``[B, C]``."""
        x = data.x
        batch = getattr(data, "batch", None)
        if batch is None:
            batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
        num_graphs = int(getattr(data, "num_graphs", 1) or 1)
        h = self.encoder(x, getattr(data, "node_type", None))
        for i, block in enumerate(self.blocks):
            edge_index = self._first_edges(data, batch) if (i == 0 and not block.dynamic) else None
            h = block(h, batch, edge_index)
        return self.pooling(h, batch, num_graphs)

    def forward(self, data) -> Tensor:
        return self.head(self.representation(data))

    def embed(self, data, normalize: bool = True) -> Tensor:
        """The embedding, L2-normalised by default (the heads' input in RS3L), ``[B, D]``."""
        z = self(data)
        return F.normalize(z, dim=-1) if normalize else z

    def project(self, z: Tensor) -> Tensor:
        """The contrastive loss's input: the projection head applied to the embedding (identity without one)."""
        return z if self.projection is None else self.projection(z)

    @property
    def embedding_dim(self) -> int:
        return _out_features(self.head)

    @property
    def projection_dim(self) -> int:
        return self.embedding_dim if self.projection is None else _out_features(self.projection)

    @property
    def representation_dim(self) -> int:
        """Width C of :meth:`representation` (the pooled features the head MLP reads)."""
        return _linears(self.head)[0].in_features


class Projected(nn.Module):
    """A backbone whose output is its projection head's: ``backbone.project(backbone(batch))``.

    Evaluation uses it when heads are to be trained on the representation after the
    projection head (``evaluate.representation: projection``).
    """

    def __init__(self, backbone: Backbone):
        super().__init__()
        self.backbone = backbone

    def forward(self, data) -> Tensor:
        return self.backbone.project(self.backbone(data))

    @property
    def embedding_dim(self) -> int:
        return self.backbone.projection_dim


class Pooled(nn.Module):
    """A backbone whose output is its pooled node features, before the MLP to the embedding.

    In SimCLR's terms (arXiv 2002.05709) RS3L's MLP 128 -> 64 -> 32 -> 32 -> 8 is itself a
    projection head: the contrastive loss sees its output and keeps in it little besides
    what the positive pairs share. Evaluation uses this wrapper when heads are to be
    trained on the representation before it (``evaluate.representation: pooled``); the
    MLP's weights stay in the module, unused.

    Shapes: ``Batch of B jets -> [B, C]`` (C = :attr:`Backbone.representation_dim`).
    """

    def __init__(self, backbone: Backbone):
        super().__init__()
        self.backbone = backbone

    def forward(self, data) -> Tensor:
        return self.backbone.representation(data)

    @property
    def embedding_dim(self) -> int:
        return self.backbone.representation_dim


def _linears(mlp: nn.Module) -> list[nn.Linear]:
    return [m for m in mlp.modules() if isinstance(m, nn.Linear)]


def _out_features(mlp: nn.Module) -> int:
    return _linears(mlp)[-1].out_features


def build_backbone(config: BackboneConfig, input_dims: dict[str, int]) -> Backbone:
    """Build the backbone a :class:`BackboneConfig` describes.

    Args:
        config: sizes and options.
        input_dims: node type name -> input features (``DataContract.input_dims()``).
    """
    encoder = NodeTypeEncoder(input_dims, config.encoder_channels, config.activation, config.norm)
    blocks, width = [], encoder.out_channels
    for i, channels in enumerate(config.edge_conv_channels):
        dynamic = not (i == 0 and config.first_block_edges == "graph")
        blocks.append(EdgeConvBlock(width, channels, k=config.feature_k, dynamic=dynamic, aggr=config.aggr,
                                    loop=config.self_loops, activation=config.activation, norm=config.norm,
                                    residual=config.residual, knn_backend=config.knn_backend))
        width = channels[-1]
    pooling = GlobalPooling(config.pooling, width)
    head = make_mlp(width, [*config.head_channels, config.embedding_dim], config.activation, "none",
                    last_activation=False, dropout=config.dropout)
    projection = (make_mlp(config.embedding_dim, list(config.projection), config.activation, "none", last_activation=False)
                  if config.projection else None)
    return Backbone(encoder, blocks, pooling, head, config.first_block_edges, config.position_k, config.knn_backend,
                    projection)
