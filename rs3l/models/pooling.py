"""Global pooling of node features to one vector per graph: sum (RS3L), mean or attention."""

from __future__ import annotations

from torch import Tensor, nn
from torch_geometric.nn import global_add_pool, global_mean_pool
from torch_geometric.nn.aggr import AttentionalAggregation

__all__ = ["GlobalPooling"]


class GlobalPooling(nn.Module):
    """Reduce ``[N, C]`` node features to ``[B, C]`` graph features.

    Args:
        mode: ``sum`` (RS3L: extensive, IR safe with energy-weighted inputs), ``mean``
            (ParticleNet) or ``attention`` (a learned softmax gate per node, Li et al.
            arXiv 1511.05493).
        channels: C, needed by the attention gate.

    Shapes:
        x ``[N, C]``, batch ``[N]``, num_graphs B -> ``[B, C]`` (zeros for empty graphs with sum/mean).
    """

    def __init__(self, mode: str = "sum", channels: int | None = None):
        super().__init__()
        if mode not in ("sum", "mean", "attention"):
            raise ValueError(f"pooling must be 'sum', 'mean' or 'attention', got {mode!r}")
        self.mode = mode
        if mode == "attention":
            if channels is None:
                raise ValueError("attention pooling needs channels")
            self.attention = AttentionalAggregation(gate_nn=nn.Linear(channels, 1))

    def forward(self, x: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
        if self.mode == "sum":
            return global_add_pool(x, batch, size=num_graphs)
        if self.mode == "mean":
            return global_mean_pool(x, batch, size=num_graphs)
        return self.attention(x, batch, dim_size=num_graphs)

    def extra_repr(self) -> str:
        return f"mode={self.mode}"
