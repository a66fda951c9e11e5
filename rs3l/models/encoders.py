"""Per-node-type input encoders: one MLP per node type (particles, cells, tracks)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .mlp import make_mlp

__all__ = ["NodeTypeEncoder", "NODE_TYPE_CODES"]

#: ``Data.node_type`` code of each node type name (graphs.contract's names and aliases).
NODE_TYPE_CODES = {"particle": 0, "particles": 0, "pflow": 0, "cell": 1, "cells": 1, "track": 2, "tracks": 2}


class NodeTypeEncoder(nn.Module):
    """Maps each node's raw features to a common width with an MLP chosen by its type.

    A graph mixing node types (detector graphs: cells and tracks) stores all of them
    in one ``x`` padded to the widest type; a node of type ``t`` uses the first
    ``input_dims[t]`` columns.

    Args:
        input_dims: node type name -> number of input features (e.g. ``{"particle": 15}``).
        channels: MLP widths (RS3L: ``[128, 128]``).
        activation, norm: as in :func:`rs3l.models.mlp.make_mlp`.

    Shapes:
        x ``[N, F]``, node_type ``[N]`` (long, optional when one type) -> ``[N, channels[-1]]``.
    """

    def __init__(self, input_dims: dict[str, int], channels: list[int], activation: str = "elu", norm: str = "none"):
        super().__init__()
        if not input_dims:
            raise ValueError("input_dims is empty: the data contract declares no node types")
        self.codes: dict[str, int] = {}
        for name, dim in input_dims.items():
            if name not in NODE_TYPE_CODES:
                raise ValueError(f"unknown node type {name!r} in input_dims; known: {sorted(NODE_TYPE_CODES)}")
            if dim < 1:
                raise ValueError(f"node type {name!r} has {dim} input features; expected >= 1")
            self.codes[name] = NODE_TYPE_CODES[name]
        self.input_dims = dict(input_dims)
        self.out_channels = channels[-1]
        self.mlps = nn.ModuleDict({name: make_mlp(dim, channels, activation, norm) for name, dim in input_dims.items()})

    def forward(self, x: Tensor, node_type: Tensor | None = None) -> Tensor:
        if len(self.mlps) == 1:
            name = next(iter(self.mlps))
            self._check_width(x, name)
            return self.mlps[name](x[:, : self.input_dims[name]])
        if node_type is None:
            raise ValueError(f"graphs mix node types {sorted(self.mlps)} but the batch has no 'node_type'")
        out = x.new_empty(x.size(0), self.out_channels)
        seen = torch.zeros(x.size(0), dtype=torch.bool, device=x.device)
        for name, mlp in self.mlps.items():
            mask = node_type == self.codes[name]
            seen |= mask
            self._check_width(x, name)
            out[mask] = mlp(x[mask, : self.input_dims[name]]).to(out.dtype)
        if not bool(seen.all()):
            bad = sorted(set(node_type[~seen].tolist()))
            raise ValueError(f"node_type codes {bad} have no encoder; configured types: {self.codes}")
        return out

    def _check_width(self, x: Tensor, name: str) -> None:
        if x.size(1) < self.input_dims[name]:
            raise ValueError(f"node type {name!r} expects {self.input_dims[name]} features, x has {x.size(1)} columns")

    def extra_repr(self) -> str:
        return f"input_dims={self.input_dims}, out_channels={self.out_channels}"
