"""Downstream heads on the backbone's embedding, and the frozen-backbone wrapper.

RS3L (arXiv 2403.07066) evaluates its 8-d representation with a small head on the
L2-normalised embedding: a single linear layer (+ sigmoid, the "linear classifier
test" of JetCLR, arXiv 2108.04253) or an MLP 8->128->64->32->8->1, with the
backbone either frozen ("fixed") or fine-tuned ("floating", lr 1e-4). The
supervised baseline is the same backbone architecture trained from scratch with
the same head.

Shapes: a backbone maps a PyG ``Batch`` of B jets to ``[B, D]``; a head maps
``[B, D]`` to ``[B, C]`` (C = 1 for a binary tagger or a regression, the number of
classes for a multi-class tagger).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["LinearHead", "MLPHead", "build_head", "FrozenBackbone", "Tagger"]


class LinearHead(nn.Module):
    """One linear layer on the L2-normalised embedding (the perceptron of RS3L / JetCLR).

    Args:
        in_dim: embedding dimension D.
        out_dim: outputs C (1: binary logit or regression; n classes: logits).
        normalise: divide the embedding by its L2 norm first (RS3L: yes).

    Shapes: ``[B, D] -> [B, C]``.
    """

    def __init__(self, in_dim: int, out_dim: int = 1, *, normalise: bool = True) -> None:
        super().__init__()
        if in_dim < 1 or out_dim < 1:
            raise ValueError(f"in_dim and out_dim must be >= 1, got {in_dim}, {out_dim}")
        self.in_dim, self.out_dim, self.normalise = in_dim, out_dim, normalise
        self.linear = nn.Linear(in_dim, out_dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.linear(F.normalize(z, dim=-1) if self.normalise else z)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_dim} -> {self.out_dim}, normalise={self.normalise})"


class MLPHead(nn.Module):
    """An MLP on the L2-normalised embedding (RS3L: 8->128->64->32->8->1, ELU).

    Args:
        in_dim: embedding dimension D.
        out_dim: outputs C.
        hidden: hidden widths (RS3L: 128, 64, 32, 8).
        normalise: divide the embedding by its L2 norm first.

    Shapes: ``[B, D] -> [B, C]``.
    """

    def __init__(self, in_dim: int, out_dim: int = 1, hidden=(128, 64, 32, 8), *, normalise: bool = True) -> None:
        super().__init__()
        if in_dim < 1 or out_dim < 1 or any(h < 1 for h in hidden):
            raise ValueError(f"widths must be >= 1, got in_dim={in_dim}, hidden={list(hidden)}, out_dim={out_dim}")
        self.in_dim, self.out_dim, self.hidden, self.normalise = in_dim, out_dim, list(hidden), normalise
        layers: list[nn.Module] = []
        width = in_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ELU()]
            width = h
        layers.append(nn.Linear(width, out_dim))
        self.mlp = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.mlp(F.normalize(z, dim=-1) if self.normalise else z)

    def __repr__(self) -> str:
        widths = " -> ".join(str(w) for w in [self.in_dim, *self.hidden, self.out_dim])
        return f"{type(self).__name__}({widths}, normalise={self.normalise})"


def build_head(kind: str, in_dim: int, out_dim: int = 1, hidden=(128, 64, 32, 8)) -> nn.Module:
    """``linear`` -> :class:`LinearHead`, ``mlp`` -> :class:`MLPHead`."""
    if kind == "linear":
        return LinearHead(in_dim, out_dim)
    if kind == "mlp":
        return MLPHead(in_dim, out_dim, hidden)
    raise ValueError(f"unknown head '{kind}': expected 'linear' or 'mlp'")


class FrozenBackbone(nn.Module):
    """A backbone whose weights and buffers never change.

    Parameters get ``requires_grad = False`` (so :class:`rs3l.train.trainer.Trainer`
    does not optimise them), the forward runs without autograd, and the module stays
    in eval mode even when its parent is put in train mode, so normalisation
    statistics and dropout are those of pre-training.

    Shapes: ``Batch of B jets -> [B, D]``.
    """

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        for p in self.backbone.parameters():
            p.requires_grad_(False)
        self.backbone.eval()

    def train(self, mode: bool = True) -> "FrozenBackbone":
        super().train(mode)
        self.backbone.eval()
        return self

    def forward(self, batch) -> torch.Tensor:
        with torch.no_grad():
            return self.backbone(batch)


class Tagger(nn.Module):
    """Backbone + head: ``head(backbone(batch))``.

    Args:
        backbone: maps a batch of B jets to ``[B, D]`` (a :class:`FrozenBackbone`
            for frozen heads, the bare backbone for fine-tuning / supervised).
        head: maps ``[B, D]`` to ``[B, C]``.

    Shapes: ``Batch of B jets -> [B, C]``.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone, self.head = backbone, head

    def embed(self, batch) -> torch.Tensor:
        return self.backbone(batch)

    def forward(self, batch) -> torch.Tensor:
        return self.head(self.backbone(batch))
