"""Downstream heads on the backbone's embedding, and the frozen-backbone wrapper.

RS3L (arXiv 2403.07066) evaluates its 8-d representation with a small head on the
L2-normalised embedding: a single linear layer (+ sigmoid, the "linear classifier
test" of JetCLR, arXiv 2108.04253) or an MLP 8->128->64->32->8->1, with the
backbone either frozen ("fixed") or fine-tuned ("floating", lr 1e-4). The
supervised baseline is the same backbone architecture trained from scratch with
the same head.

What a head does to its input first (``input_norm``): ``l2`` divides it by its L2 norm
(RS3L); ``standardise`` subtracts each feature's mean and divides by its standard
deviation (:class:`Standardise`, a batch normalisation without affine parameters: the
linear probe of MAE, arXiv 2111.06377), which keeps the norm, and with it the
multiplicity that sum pooling writes there; ``none`` leaves it as it is.

Shapes: a backbone maps a PyG ``Batch`` of B jets to ``[B, D]``; a head maps
``[B, D]`` to ``[B, C]`` (C = 1 for a binary tagger or a regression, the number of
classes for a multi-class tagger).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["LinearHead", "MLPHead", "Standardise", "build_head", "FrozenBackbone", "Tagger", "INPUT_NORMS"]

INPUT_NORMS = ("l2", "standardise", "none")


class Standardise(nn.BatchNorm1d):
    """Per-feature ``(z - mean) / std``: a batch normalisation without affine parameters.

    While training on graphs it normalises with the batch's statistics and keeps running
    ones for evaluation, as any batch normalisation. On a frozen backbone's cached
    embeddings :meth:`fix` sets the statistics to those of the training embeddings once,
    and from then on every forward uses them, in train mode too (a fixed standardisation:
    the linear probe stays a convex problem).

    Shapes: ``[B, D] -> [B, D]``.
    """

    def __init__(self, dim: int) -> None:
        super().__init__(dim, affine=False)
        self.register_buffer("fixed", torch.tensor(False))

    @torch.no_grad()
    def fix(self, z: torch.Tensor) -> None:
        """Use the mean and variance of ``z [N, D]`` from now on."""
        self.running_mean.copy_(z.mean(0))
        self.running_var.copy_(z.var(0, unbiased=False) if len(z) > 1 else torch.ones_like(self.running_var))
        self.fixed.fill_(True)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if bool(self.fixed):
            return F.batch_norm(z, self.running_mean, self.running_var, training=False, eps=self.eps)
        return super().forward(z)


class _InputNorm(nn.Module):
    """A head's first step, as ``input_norm`` says (see the module docstring)."""

    def __init__(self, kind: str, dim: int) -> None:
        super().__init__()
        if kind not in INPUT_NORMS:
            raise ValueError(f"input_norm must be one of {list(INPUT_NORMS)}, got {kind!r}")
        self.kind = kind
        self.standardise = Standardise(dim) if kind == "standardise" else None

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.kind == "l2":
            return F.normalize(z, dim=-1)
        return z if self.standardise is None else self.standardise(z)


class LinearHead(nn.Module):
    """One linear layer on the L2-normalised embedding (the perceptron of RS3L / JetCLR).

    Args:
        in_dim: embedding dimension D.
        out_dim: outputs C (1: binary logit or regression; n classes: logits).
        input_norm: ``l2`` (RS3L), ``standardise`` or ``none`` (see the module docstring).

    Shapes: ``[B, D] -> [B, C]``.
    """

    def __init__(self, in_dim: int, out_dim: int = 1, *, input_norm: str = "l2") -> None:
        super().__init__()
        if in_dim < 1 or out_dim < 1:
            raise ValueError(f"in_dim and out_dim must be >= 1, got {in_dim}, {out_dim}")
        self.in_dim, self.out_dim = in_dim, out_dim
        self.norm = _InputNorm(input_norm, in_dim)
        self.linear = nn.Linear(in_dim, out_dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.linear(self.norm(z))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_dim} -> {self.out_dim}, input_norm={self.norm.kind})"


class MLPHead(nn.Module):
    """An MLP on the L2-normalised embedding (RS3L: 8->128->64->32->8->1, ELU).

    Args:
        in_dim: embedding dimension D.
        out_dim: outputs C.
        hidden: hidden widths (RS3L: 128, 64, 32, 8).
        input_norm: ``l2`` (RS3L), ``standardise`` or ``none`` (see the module docstring).

    Shapes: ``[B, D] -> [B, C]``.
    """

    def __init__(self, in_dim: int, out_dim: int = 1, hidden=(128, 64, 32, 8), *, input_norm: str = "l2") -> None:
        super().__init__()
        if in_dim < 1 or out_dim < 1 or any(h < 1 for h in hidden):
            raise ValueError(f"widths must be >= 1, got in_dim={in_dim}, hidden={list(hidden)}, out_dim={out_dim}")
        self.in_dim, self.out_dim, self.hidden = in_dim, out_dim, list(hidden)
        self.norm = _InputNorm(input_norm, in_dim)
        layers: list[nn.Module] = []
        width = in_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ELU()]
            width = h
        layers.append(nn.Linear(width, out_dim))
        self.mlp = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.norm(z))

    def __repr__(self) -> str:
        widths = " -> ".join(str(w) for w in [self.in_dim, *self.hidden, self.out_dim])
        return f"{type(self).__name__}({widths}, input_norm={self.norm.kind})"


def build_head(kind: str, in_dim: int, out_dim: int = 1, hidden=(128, 64, 32, 8), input_norm: str = "l2") -> nn.Module:
    """``linear`` -> :class:`LinearHead`, ``mlp`` -> :class:`MLPHead`."""
    if kind == "linear":
        return LinearHead(in_dim, out_dim, input_norm=input_norm)
    if kind == "mlp":
        return MLPHead(in_dim, out_dim, hidden, input_norm=input_norm)
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
