"""NT-Xent, the normalised temperature-scaled cross entropy, for pairs and for groups.

Chen et al., "A Simple Framework for Contrastive Learning of Visual
Representations" (SimCLR), arXiv 2002.05709; used by RS3L (arXiv 2403.07066) and
JetCLR (arXiv 2108.04253). For an anchor ``i`` and a positive ``p`` (another view of
the same group), with cosine similarity ``s`` and temperature ``tau``:

    l(i, p) = -log( exp(s_ip / tau) / (exp(s_ip / tau) + sum_{n not in group(i)} exp(s_in / tau)) )

and the loss is the mean of ``l`` over all ordered positive pairs. For two views
per group this is SimCLR's loss (2N anchors, one positive, 2N - 2 negatives each);
with more views every other view of the group is a positive and never a negative
(the convention of pytorch-metric-learning's ``NTXentLoss``).

In a DDP run (``gather_distributed=True``) each rank's anchors are compared with
the embeddings of all ranks (gathered with gradients, :mod:`rs3l.losses.gather`).
Each rank returns ``world_size * (sum of its anchors' l) / (positive pairs on all
ranks)``, so the mean over ranks is the loss of the concatenated batch and DDP's
gradient averaging gives exactly its gradient.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from .gather import distributed_world, gather_no_grad, gather_with_grad

__all__ = ["NTXentLoss", "nt_xent"]

# stands in for -inf in masked log-sum-exps so gradients stay finite (|s / tau| is far smaller)
_MASKED = -1.0e4


def nt_xent(z: Tensor, group: Tensor, temperature: float = 0.1, gather_distributed: bool = False) -> Tensor:
    """NT-Xent over views ``z`` ``[M, D]`` with group index ``group`` ``[M]`` (see the module docstring)."""
    if z.dim() != 2:
        raise ValueError(f"embeddings must have shape [M, D], got {tuple(z.shape)}")
    if group.shape != z.shape[:1]:
        raise ValueError(f"group must have shape [{z.size(0)}], got {tuple(group.shape)}")
    z = F.normalize(z.float(), dim=1)
    group = group.long()
    rank, world = distributed_world() if gather_distributed else (0, 1)
    if world > 1:
        # groups are numbered per rank; make them globally distinct before comparing
        n_groups = torch.tensor([int(group.max()) + 1 if group.numel() else 0], device=z.device)
        dist.all_reduce(n_groups, op=dist.ReduceOp.MAX)
        z_all, offset = gather_with_grad(z)
        group_all = gather_no_grad(group + rank * int(n_groups))
        group = group + rank * int(n_groups)
    else:
        z_all, offset, group_all = z, 0, group
    # s[i, j]: similarity of local anchor i and gathered candidate j, divided by tau
    s = z @ z_all.T / temperature
    rows = torch.arange(z.size(0), device=z.device)
    is_self = torch.zeros_like(s, dtype=torch.bool)
    is_self[rows, rows + offset] = True
    same = group.unsqueeze(1) == group_all.unsqueeze(0)
    positive = same & ~is_self
    negative_lse = torch.logsumexp(s.masked_fill(same, _MASKED), dim=1, keepdim=True)
    # l(i, p) = log(exp(s_ip) + sum_n exp(s_in)) - s_ip
    losses = torch.logaddexp(s, negative_lse) - s
    local_sum = (losses * positive).sum()
    n_positive = positive.sum()
    if world > 1:
        total = n_positive.clone()
        dist.all_reduce(total)
        if int(total) == 0:
            raise ValueError("NT-Xent needs at least one group with two views in the batch")
        return local_sum * world / total
    if int(n_positive) == 0:
        raise ValueError("NT-Xent needs at least one group with two views in the batch")
    return local_sum / n_positive


class NTXentLoss(nn.Module):
    """NT-Xent loss module.

    Args:
        temperature: tau > 0 (RS3L: 0.1).
        gather_distributed: in a DDP run, compare with the embeddings of all ranks.

    Shapes:
        ``forward(z_a, z_b)``: two views ``[N, D]`` each, row i of both the same jet -> scalar.
        ``groups(z, group)``: ``[M, D]`` views and ``[M]`` group index -> scalar.
    """

    def __init__(self, temperature: float = 0.1, gather_distributed: bool = False):
        super().__init__()
        if not (isinstance(temperature, (int, float)) and temperature > 0):
            raise ValueError(f"temperature must be a positive number, got {temperature!r}")
        self.temperature, self.gather_distributed = float(temperature), gather_distributed

    def forward(self, z_a: Tensor, z_b: Tensor) -> Tensor:
        if z_a.shape != z_b.shape or z_a.dim() != 2:
            raise ValueError(f"z_a and z_b must both have shape [N, D], got {tuple(z_a.shape)} and {tuple(z_b.shape)}")
        index = torch.arange(z_a.size(0), device=z_a.device)
        return nt_xent(torch.cat([z_a, z_b]), torch.cat([index, index]), self.temperature, self.gather_distributed)

    def groups(self, z: Tensor, group: Tensor) -> Tensor:
        return nt_xent(z, group, self.temperature, self.gather_distributed)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, gather_distributed={self.gather_distributed}"
