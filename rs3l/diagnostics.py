"""How good is an embedding for contrastive learning? Numbers written after pre-training.

* alignment and uniformity (Wang & Isola, arXiv 2005.10242), on L2-normalised
  embeddings: ``alignment = E ||f(x) - f(x+)||^2`` over positive pairs (lower is
  better) and ``uniformity = log E exp(-2 ||f(x) - f(y)||^2)`` over all distinct
  pairs of jets (lower is more uniform on the sphere);
* mean cosine similarity of positive pairs and of negative pairs (a jet with the
  other view of *another* jet);
* the invariance table of the SSL-for-jet-tagging study: mean Euclidean distance of a
  jet to its other view vs to unrelated jets, overall and per view of the second jet,
  in the raw (not normalised) embedding; a ratio well below 1 means the backbone
  ignores what the views change.

Written to ``OUT/diagnostics.json`` by :func:`rs3l.train.pretrain.pretrain`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .device import move_to_device

__all__ = ["pair_diagnostics", "collect_pair_embeddings", "write_diagnostics"]


def _mean_offdiag(m: Tensor) -> float:
    n = m.size(0)
    if n < 2:
        return float("nan")
    return float((m.sum() - m.diagonal().sum()) / (n * n - n))


def pair_diagnostics(z_a: Tensor, z_b: Tensor, views_b: list[str] | None = None) -> dict[str, Any]:
    """Diagnostics of embeddings of N positive pairs.

    Args:
        z_a, z_b: raw embeddings ``[N, D]``; row i of both are views of the same group.
        views_b: the view name of each row of ``z_b`` (for the per-view invariance rows).

    Returns:
        a JSON-ready mapping: ``n_pairs``, ``alignment``, ``uniformity``,
        ``cosine_positive``, ``cosine_negative``, ``invariance`` (``distance_positive``,
        ``distance_negative``, ``ratio``) and ``invariance_by_view`` (view -> the same three).
    """
    if z_a.shape != z_b.shape or z_a.dim() != 2:
        raise ValueError(f"z_a and z_b must both have shape [N, D], got {tuple(z_a.shape)} and {tuple(z_b.shape)}")
    z_a, z_b = z_a.double(), z_b.double()
    u_a, u_b = F.normalize(z_a, dim=1), F.normalize(z_b, dim=1)
    n = z_a.size(0)
    u = torch.cat([u_a, u_b])
    sq = torch.cdist(u, u).pow(2)
    iu = torch.triu_indices(2 * n, 2 * n, offset=1)
    cos = u_a @ u_b.T
    dist = torch.cdist(z_a, z_b)  # [N, N]: a_i to b_j
    out: dict[str, Any] = {
        "n_pairs": n,
        "alignment": float((u_a - u_b).pow(2).sum(1).mean()),
        "uniformity": float(torch.logsumexp(-2.0 * sq[iu[0], iu[1]], 0) - torch.log(torch.tensor(float(iu.size(1))))),
        "cosine_positive": float(cos.diagonal().mean()),
        "cosine_negative": _mean_offdiag(cos),
        "invariance": _invariance(dist, torch.arange(n)),
    }
    if views_b is not None:
        rows = defaultdict(list)
        for i, view in enumerate(views_b):
            rows[view].append(i)
        out["invariance_by_view"] = {v: _invariance(dist, torch.tensor(idx)) for v, idx in sorted(rows.items())}
    return out


def _invariance(dist: Tensor, rows: Tensor) -> dict[str, float]:
    """Mean distance a_i -> b_i (positive) and a_i -> b_j, j != i (negative), over ``rows``."""
    n = dist.size(0)
    positive = float(dist[rows, rows].mean())
    sub = dist[rows]
    negative = float((sub.sum() - sub[torch.arange(len(rows)), rows].sum()) / max(len(rows) * (n - 1), 1)) if n > 1 else float("nan")
    return {"distance_positive": positive, "distance_negative": negative,
            "ratio": positive / negative if negative > 0 else float("nan"), "n": int(len(rows))}


@torch.no_grad()
def collect_pair_embeddings(backbone: nn.Module, loader: Iterable, device: torch.device | str = "cpu",
                            max_batches: int | None = None) -> tuple[Tensor, Tensor, list[str] | None]:
    """Embed positive pairs from a loader of PairBatch (or GroupBatch: the first view of a
    group paired with each other view).

    Returns:
        ``(z_a [N, D], z_b [N, D], views_b)`` on the CPU; ``views_b`` is None when the
        graphs carry no ``view_name``.
    """
    was_training = backbone.training
    backbone.eval()
    za, zb, views = [], [], []
    for i, batch in enumerate(loader):
        if max_batches is not None and i >= max_batches:
            break
        batch = move_to_device(batch, device)
        if hasattr(batch, "a"):
            za.append(backbone(batch.a).float().cpu())
            zb.append(backbone(batch.b).float().cpu())
            names = getattr(batch.b, "view_name", None)
            views.extend(list(names) if names is not None else [])
        else:
            z = backbone(batch.graphs).float().cpu()
            group = batch.group.cpu()
            first = torch.zeros(int(group.max()) + 1, dtype=torch.long)
            first.scatter_reduce_(0, group, torch.arange(len(group)), reduce="amin", include_self=False)
            others = torch.arange(len(group))[torch.arange(len(group)) != first[group]]
            za.append(z[first[group[others]]])
            zb.append(z[others])
            views.extend(batch.view[j] for j in others.tolist())
    backbone.train(was_training)
    if not za:
        raise ValueError("the loader yielded no batches to compute diagnostics on")
    z_a, z_b = torch.cat(za), torch.cat(zb)
    return z_a, z_b, (views if len(views) == len(z_b) else None)


def write_diagnostics(backbone: nn.Module, loader: Iterable, path: str | Path, device: torch.device | str = "cpu",
                      max_batches: int | None = 50, max_pairs: int = 4000) -> dict[str, Any]:
    """Compute :func:`pair_diagnostics` on (at most ``max_pairs``) pairs from ``loader`` and write JSON atomically."""
    from sim_pairs.io import atomic_path

    z_a, z_b, views = collect_pair_embeddings(backbone, loader, device, max_batches)
    z_a, z_b = z_a[:max_pairs], z_b[:max_pairs]
    result = pair_diagnostics(z_a, z_b, views[:max_pairs] if views is not None else None)
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return result
