"""All-gathering embeddings across DDP ranks, with gradients, explicitly.

Contrastive losses need every rank's embeddings as negatives. ``all_gather`` has no
gradient, so :func:`gather_with_grad` wraps it in an autograd function whose
backward sums the incoming gradients over ranks (``all_reduce``) and returns this
rank's rows. Each rank then holds the gradient of the *sum* of all ranks' losses
with respect to its own embeddings; DDP's averaging over ranks divides by the world
size, which the losses compensate for (see :mod:`rs3l.losses.nt_xent`).

Ranks may hold different numbers of rows (the last batch of an epoch): rows are
padded to the largest count for the collective and trimmed after. The rows of
rank ``r`` start at ``offset`` = the total count of ranks ``0..r-1``; callers must
use this offset (and never the local row index) to find their own rows, which is
the bug that silently shifted labels by rank in other distributed NT-Xent versions.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor

__all__ = ["distributed_world", "gather_with_grad", "gather_no_grad"]


def distributed_world() -> tuple[int, int]:
    """``(rank, world_size)`` of the running process group, ``(0, 1)`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _gather_padded(x: Tensor) -> tuple[list[Tensor], list[int]]:
    _, world = distributed_world()
    count = torch.tensor([x.size(0)], dtype=torch.long, device=x.device)
    counts = [torch.zeros_like(count) for _ in range(world)]
    dist.all_gather(counts, count)
    sizes = [int(c.item()) for c in counts]
    longest = max(sizes)
    padded = x.new_zeros((longest, *x.shape[1:]))
    padded[: x.size(0)] = x
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded.contiguous())
    return [p[:n] for p, n in zip(parts, sizes)], sizes


class _GatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor) -> tuple[Tensor, Tensor]:
        rank, _ = distributed_world()
        parts, sizes = _gather_padded(x)
        ctx.offset, ctx.n = sum(sizes[:rank]), x.size(0)
        return torch.cat(parts), torch.tensor(ctx.offset)

    @staticmethod
    def backward(ctx, grad_all: Tensor, _grad_offset: Tensor) -> Tensor:
        grad_all = grad_all.contiguous()
        dist.all_reduce(grad_all, op=dist.ReduceOp.SUM)
        return grad_all[ctx.offset : ctx.offset + ctx.n]


def gather_with_grad(x: Tensor) -> tuple[Tensor, int]:
    """Concatenate ``x`` ``[n_r, ...]`` of every rank in rank order, keeping gradients.

    Returns:
        ``(x_all [sum_r n_r, ...], offset)`` where ``x_all[offset : offset + n]`` is this
        rank's ``x``. Without a process group: ``(x, 0)``.
    """
    _, world = distributed_world()
    if world == 1:
        return x, 0
    x_all, offset = _GatherWithGrad.apply(x)
    return x_all, int(offset)


@torch.no_grad()
def gather_no_grad(x: Tensor) -> Tensor:
    """Concatenate ``x`` of every rank in rank order (no gradient; labels, group ids)."""
    _, world = distributed_world()
    if world == 1:
        return x
    parts, _ = _gather_padded(x)
    return torch.cat(parts)
