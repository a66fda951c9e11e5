"""A plain multi-layer perceptron with a choice of activation and normalisation."""

from __future__ import annotations

from torch import nn

__all__ = ["make_mlp", "activation_layer", "norm_layer"]


def activation_layer(name: str) -> nn.Module:
    """``elu`` or ``relu`` as a module."""
    if name == "elu":
        return nn.ELU()
    if name == "relu":
        return nn.ReLU()
    raise ValueError(f"activation must be 'elu' or 'relu', got {name!r}")


def norm_layer(name: str, channels: int) -> nn.Module | None:
    """``batch`` (BatchNorm1d), ``layer`` (LayerNorm) or ``none`` (None)."""
    if name == "batch":
        return nn.BatchNorm1d(channels)
    if name == "layer":
        return nn.LayerNorm(channels)
    if name == "none":
        return None
    raise ValueError(f"norm must be 'batch', 'layer' or 'none', got {name!r}")


def make_mlp(in_channels: int, channels: list[int], activation: str = "elu", norm: str = "none",
             last_activation: bool = True, dropout: float = 0.0) -> nn.Sequential:
    """Linear layers ``in_channels -> channels[0] -> ... -> channels[-1]``.

    Each layer is Linear, then norm, then activation (the last layer's norm and
    activation only with ``last_activation``); ``dropout`` goes before every Linear
    but the first.
    """
    layers: list[nn.Module] = []
    width = in_channels
    for i, out in enumerate(channels):
        if dropout > 0 and i > 0:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(width, out))
        if last_activation or i < len(channels) - 1:
            n = norm_layer(norm, out)
            if n is not None:
                layers.append(n)
            layers.append(activation_layer(activation))
        width = out
    return nn.Sequential(*layers)
