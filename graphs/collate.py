"""Batches of positive pairs and of view groups, ready for a contrastive loss.

``PairBatch`` holds the two views of B groups as two PyG batches whose row i belongs
to the same group, so a loss pairs ``a[i]`` with ``b[i]`` directly (no reliance on
adjacent rows of a shuffled batch, the RS3L trick). ``GroupBatch`` holds every view of
B groups in one PyG batch with ``group`` telling which group each graph belongs to,
for a loss that uses all positives.

Particle-like graphs arrive without edges (``edge_index`` of shape [2, 0]): the model
builds the kNN graph it needs for the whole batch on its own device. These collate
functions serve the streaming path (:class:`graphs.dataset.PairDataset`); the cached
path (:mod:`graphs.cached_loader`) builds the same batches without ``Data`` objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data


__all__ = ["PairBatch", "GroupBatch", "collate_pairs", "collate_groups", "collate_single", "batch_graphs"]


@dataclass
class PairBatch:
    """Two views of B groups.

    Attributes:
        a, b: PyG batches of B graphs each; graph i of ``a`` and of ``b`` are views of
            the same group.
        group_id: the groups' ids, LongTensor [B].
        label: label index of each group, LongTensor [B].
    """

    a: Batch
    b: Batch
    group_id: Tensor
    label: Tensor

    def to(self, device, non_blocking: bool = True) -> "PairBatch":
        return PairBatch(
            self.a.to(device, non_blocking=non_blocking),
            self.b.to(device, non_blocking=non_blocking),
            self.group_id.to(device, non_blocking=non_blocking),
            self.label.to(device, non_blocking=non_blocking),
        )

    def pin_memory(self) -> "PairBatch":
        return PairBatch(self.a.pin_memory(), self.b.pin_memory(), self.group_id.pin_memory(), self.label.pin_memory())

    def __len__(self) -> int:
        return int(self.group_id.numel())


@dataclass
class GroupBatch:
    """All views of B groups in one batch.

    Attributes:
        graphs: PyG batch of all views (n_graphs in total).
        group: which group each graph belongs to, LongTensor [n_graphs], values 0..B-1.
        group_id: the groups' ids, LongTensor [B].
        label: label index of each group, LongTensor [B].
        view: the view name of each graph, list of n_graphs strings.
    """

    graphs: Batch
    group: Tensor
    group_id: Tensor
    label: Tensor
    view: list[str]

    def to(self, device, non_blocking: bool = True) -> "GroupBatch":
        return GroupBatch(
            self.graphs.to(device, non_blocking=non_blocking),
            self.group.to(device, non_blocking=non_blocking),
            self.group_id.to(device, non_blocking=non_blocking),
            self.label.to(device, non_blocking=non_blocking),
            self.view,
        )

    def pin_memory(self) -> "GroupBatch":
        return GroupBatch(self.graphs.pin_memory(), self.group.pin_memory(), self.group_id.pin_memory(), self.label.pin_memory(), self.view)

    def __len__(self) -> int:
        return int(self.group_id.numel())


def batch_graphs(graphs: Sequence[Data]) -> Batch:
    """``Batch.from_data_list`` of the graphs."""
    return Batch.from_data_list(list(graphs))


def collate_pairs(items: Sequence[tuple[Data, Data]]) -> PairBatch:
    """Items ``(view_a, view_b)`` of one group each -> :class:`PairBatch`."""
    if not items:
        raise ValueError("cannot collate an empty list of pairs")
    a = batch_graphs([pair[0] for pair in items])
    b = batch_graphs([pair[1] for pair in items])
    if not torch.equal(a.group_id, b.group_id):
        raise ValueError("pair views come from different groups")
    return PairBatch(a, b, a.group_id.clone(), a.label.clone())


def collate_groups(items: Sequence[Sequence[Data]]) -> GroupBatch:
    """Items (all views of one group each) -> :class:`GroupBatch`."""
    if not items:
        raise ValueError("cannot collate an empty list of groups")
    flat = [g for views in items for g in views]
    group = torch.repeat_interleave(torch.arange(len(items)), torch.tensor([len(v) for v in items]))
    graphs = batch_graphs(flat)
    first = torch.tensor([0] + [len(v) for v in items[:-1]]).cumsum(0)
    return GroupBatch(graphs, group, graphs.group_id[first].clone(), graphs.label[first].clone(), list(graphs.view_name))


def collate_single(items: Sequence[Data]) -> Batch:
    """Single jets -> one PyG batch (``batch.view_name``, ``batch.label`` per graph)."""
    if not items:
        raise ValueError("cannot collate an empty list of graphs")
    return batch_graphs(items)
