"""VICReg: variance-invariance-covariance regularisation of two views.

Bardes, Ponce, LeCun, arXiv 2105.04906 (the alternative to NT-Xent compared in the
jet SSL studies). Loss = ``lambda * invariance + mu * variance + nu * covariance`` with

* invariance: mean squared distance between the two views' embeddings,
* variance: mean over dimensions of ``relu(1 - sqrt(var + eps))`` per view, averaged over the views,
* covariance: sum of squared off-diagonal covariances / D per view, summed over the views,

as in the authors' code (facebookresearch/vicreg). In a DDP run the batch
statistics use the embeddings of all ranks (gathered with gradients); every rank
returns the loss of the full batch. The gather's backward sums the ranks' gradients
(world_size times the full-batch gradient) and DDP's averaging divides by the world
size, so the parameters get exactly the full-batch gradient.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .gather import distributed_world, gather_with_grad

__all__ = ["VICRegLoss"]


def _off_diagonal(m: Tensor) -> Tensor:
    n = m.size(0)
    return m.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()


class VICRegLoss(nn.Module):
    """VICReg loss of two views.

    Args:
        invariance_weight, variance_weight, covariance_weight: lambda, mu, nu (paper: 25, 25, 1).
        eps: added to the variance under the square root.
        gather_distributed: in a DDP run, compute the statistics over all ranks.

    Shapes:
        ``forward(z_a, z_b)``: ``[N, D]`` each with N >= 2 (over all ranks) -> scalar.
    """

    def __init__(self, invariance_weight: float = 25.0, variance_weight: float = 25.0, covariance_weight: float = 1.0,
                 eps: float = 1e-4, gather_distributed: bool = False):
        super().__init__()
        for name, w in [("invariance_weight", invariance_weight), ("variance_weight", variance_weight),
                        ("covariance_weight", covariance_weight)]:
            if not w >= 0:
                raise ValueError(f"{name} must be >= 0, got {w}")
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        self.weights = (float(invariance_weight), float(variance_weight), float(covariance_weight))
        self.eps, self.gather_distributed = eps, gather_distributed

    def forward(self, z_a: Tensor, z_b: Tensor) -> Tensor:
        if z_a.shape != z_b.shape or z_a.dim() != 2:
            raise ValueError(f"z_a and z_b must both have shape [N, D], got {tuple(z_a.shape)} and {tuple(z_b.shape)}")
        z_a, z_b = z_a.float(), z_b.float()
        _, world = distributed_world() if self.gather_distributed else (0, 1)
        if world > 1:
            z_a, _ = gather_with_grad(z_a)
            z_b, _ = gather_with_grad(z_b)
        n, d = z_a.shape
        if n < 2:
            raise ValueError(f"VICReg needs at least 2 jets per batch for its variance term, got {n}")
        invariance = F.mse_loss(z_a, z_b)
        variance = z_a.new_zeros(())
        covariance = z_a.new_zeros(())
        for z in (z_a, z_b):
            z = z - z.mean(dim=0)
            std = torch.sqrt(z.var(dim=0) + self.eps)
            variance = variance + torch.relu(1.0 - std).mean() / 2
            cov = z.T @ z / (n - 1)
            covariance = covariance + _off_diagonal(cov).pow(2).sum() / d
        lam, mu, nu = self.weights
        return lam * invariance + mu * variance + nu * covariance

    def extra_repr(self) -> str:
        return f"weights={self.weights}, eps={self.eps}, gather_distributed={self.gather_distributed}"
