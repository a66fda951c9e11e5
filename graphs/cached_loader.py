"""Batches of pairs, view groups or single jets from a graph cache, without per-jet Python objects.

:class:`CachedJets` is a map-style dataset whose item is a whole batch: the sampler
(:class:`EpochBatches`) hands it ``(epoch, batch number)``; it looks up which jets the
epoch's plan puts in that batch and gathers their nodes from the memory-mapped cache
(:mod:`graphs.cache`) with one fancy index per array. The plan of an epoch (the order of
the work units and the views drawn for each pair) is a pure function of ``(seed, epoch)``,
computed with a few numpy operations in whichever process needs it, so loader workers
stay alive across epochs (``persistent_workers``) and every worker agrees.

Same rules as :class:`graphs.dataset.PairDataset`: splits by the stable hash of
``group_id``, views by glob pattern, labels outside the contract skipped, ``select``
applied to groups, ``pairs`` drawn as the contract's ``pairing`` says, equal batch
counts on every DDP rank. Particle-like graphs carry no edges: the model builds what it
needs on its own device (``pos`` for the first block, feature-space kNN for the rest).
Detector graphs carry their typed edges from the cache.
"""

from __future__ import annotations

import fnmatch
from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler
from torch_geometric.data import Batch, Data

from .cache import GraphCache
from .collate import GroupBatch, PairBatch
from .contract import DataContract
from .splits import SPLITS, check_loader_args, split_of

__all__ = ["CachedJets", "EpochBatches", "make_cached_loader", "gather_batch"]


def _csr(owner: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(values sorted by owner, stable; pointers [n + 1])."""
    order = np.argsort(owner, kind="stable")
    return values[order], np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=n))])


class CachedJets(Dataset):
    """Pairs, groups or single jets of one split of a :class:`~graphs.cache.GraphCache`.

    Args:
        cache: the built cache.
        contract: the data contract (pairing, views, splits, labels).
        split: ``train``, ``val`` or ``test``.
        batch_size: groups (or jets, in ``single`` mode) per batch.
        seed: seeds the order and the draws; each epoch differs.
        mode: ``pairs``, ``groups`` or ``single``.
        views: overrides ``contract.views`` (glob patterns) when given.
        shuffle: shuffle the work units each epoch (False: file order).
        rank, world_size: DDP rank and number of ranks (each gets an equal share).
        select: ``select(group_id, label) -> bool mask`` over the split's groups.
        augment: :class:`graphs.batch_augmentations.BatchAugmentations` for JetCLR views, or None.
    """

    def __init__(self, cache: GraphCache, contract: DataContract, split: str, batch_size: int, *, seed: int = 0,
                 mode: str = "pairs", views: Sequence[str] | None = None, shuffle: bool = True, rank: int = 0,
                 world_size: int = 1, select: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                 augment=None):
        check_loader_args(split, mode, rank, world_size)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.cache, self.contract, self.split, self.batch_size = cache, contract, split, batch_size
        self.seed, self.mode, self.shuffle, self.rank, self.world_size = seed, mode, shuffle, rank, world_size
        self.augment = augment
        patterns = list(views) if views is not None else contract.views
        allowed = lambda v: not patterns or any(fnmatch.fnmatchcase(v, p) for p in patterns)  # noqa: E731
        self.view_names = np.asarray(cache.views, dtype=object)
        self.label_map = np.array([-1 if contract.label_index(l) is None else contract.label_index(l)
                                   for l in cache.labels] or [-1], np.int64)
        view_ok = np.array([allowed(v) for v in cache.views] or [False])
        self.is_anchor = np.array([contract.is_anchor(v) for v in cache.views] or [False])
        self.is_positive = np.array([contract.is_positive(v) for v in cache.views] or [False])
        self._index(view_ok, select)
        self._plans: dict[int, tuple] = {}

    # --- the index: which jets form the work units of this split --------------------------
    def _index(self, view_ok: np.ndarray, select) -> None:
        c, cache = self.contract, self.cache
        gid = np.asarray(cache.group_id)
        label = self.label_map[np.asarray(cache.label)]
        view = np.asarray(cache.view)
        keep = (split_of(gid, c.val_fraction, c.test_fraction) == SPLITS.index(self.split)) & view_ok[view] & (label >= 0)
        rows = np.flatnonzero(keep)
        groups, first, group_of = np.unique(gid[rows], return_index=True, return_inverse=True)
        group_label = label[rows[first]]
        if select is not None and len(groups):
            mask = np.asarray(select(groups.astype(np.int64), group_label.astype(np.int64)), bool)
            if mask.shape != (len(groups),):
                raise ValueError(f"select returned a mask of shape {mask.shape}, expected ({len(groups)},)")
            kept_rows = mask[group_of]
            rows, group_of = rows[kept_rows], group_of[kept_rows]
            renumber = np.cumsum(mask) - 1
            groups, group_label, group_of = groups[mask], group_label[mask], renumber[group_of]
        n = len(groups)
        self.group_ids, self.group_label = groups, group_label
        self.members = _csr(group_of, rows, n)  # every allowed row of each group
        if self.mode == "single":
            self.units = rows  # one unit per row, in file order
            return
        if self.mode == "groups" or c.pairing == "any":
            counts = np.diff(self.members[1])
            need = 1 if self.mode == "groups" else 2
            self.units = np.flatnonzero(counts >= need)
            return
        anchor = self.is_anchor[view[rows]]
        self.anchors = _csr(group_of[anchor], rows[anchor], n)
        if c.pairing == "jetclr":
            self.units = np.flatnonzero(np.diff(self.anchors[1]) > 0)
            return
        positive = self.is_positive[view[rows]]
        self.positives = _csr(group_of[positive], rows[positive], n)
        # an anchor that is its own only positive has no partner: not drawn
        a_rows, a_ptr = self.anchors
        a_group = np.repeat(np.arange(n), np.diff(a_ptr))
        p_rows, p_ptr = self.positives
        key_p = np.repeat(np.arange(n), np.diff(p_ptr)).astype(np.int64) * (len(cache.group_id) + 1) + p_rows
        key_a = a_group.astype(np.int64) * (len(cache.group_id) + 1) + a_rows
        at = np.searchsorted(key_p, key_a)
        inside = (at < len(key_p)) & (key_p[np.minimum(at, len(key_p) - 1)] == key_a)
        partners = np.diff(p_ptr)[a_group] - inside
        valid = partners > 0
        self.anchor_pos = np.where(inside, at - p_ptr[a_group], -1)[valid]
        self.anchors = _csr(a_group[valid], a_rows[valid], n)
        self.units = np.flatnonzero(np.diff(self.anchors[1]) > 0)

    def __len__(self) -> int:
        """Work units (groups, or jets in ``single`` mode) this rank sees per epoch."""
        n = len(self.units)
        return n // self.world_size if self.world_size > 1 else n

    def batches_per_epoch(self) -> int:
        return (len(self) + self.batch_size - 1) // self.batch_size

    # --- the plan of an epoch ----------------------------------------------------------
    def _plan(self, epoch: int) -> tuple:
        if epoch in self._plans:
            return self._plans[epoch]
        rng = np.random.default_rng([self.seed, epoch])
        units = self.units[rng.permutation(len(self.units))] if self.shuffle else self.units
        if self.world_size > 1:
            share = len(units) // self.world_size
            units = units[self.rank * share:(self.rank + 1) * share]
        draws = None
        if self.mode == "pairs":
            draws = self._draw(units, np.random.default_rng([self.seed, epoch, 1]))
        self._plans = {epoch: (units, draws)}  # one epoch at a time
        return self._plans[epoch]

    def _draw(self, units: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(row of view a, row of view b) for each unit."""
        u1, u2 = rng.random(len(units)), rng.random(len(units))
        pairing = self.contract.pairing
        if pairing == "any":
            rows, ptr = self.members
            n = ptr[units + 1] - ptr[units]
            i = np.minimum((u1 * n).astype(np.int64), n - 1)
            j = np.minimum((u2 * (n - 1)).astype(np.int64), n - 2)
            j += j >= i
            return rows[ptr[units] + i], rows[ptr[units] + j]
        a_rows, a_ptr = self.anchors
        na = a_ptr[units + 1] - a_ptr[units]
        ia = a_ptr[units] + np.minimum((u1 * na).astype(np.int64), na - 1)
        if pairing == "jetclr":
            return a_rows[ia], a_rows[ia]
        p_rows, p_ptr = self.positives
        own = self.anchor_pos[ia]  # the anchor's place among the positives, or -1
        m = (p_ptr[units + 1] - p_ptr[units]) - (own >= 0)
        j = np.minimum((u2 * m).astype(np.int64), m - 1)
        j += (own >= 0) & (j >= own)
        return a_rows[ia], p_rows[p_ptr[units] + j]

    # --- one batch ---------------------------------------------------------------------
    def __getitem__(self, key: tuple[int, int]):
        epoch, b = key
        units, draws = self._plan(epoch)
        lo, hi = b * self.batch_size, min((b + 1) * self.batch_size, len(units))
        if lo >= hi:
            raise IndexError(f"batch {b} is past the end of epoch {epoch} ({self.batches_per_epoch()} batches)")
        if self.mode == "single":
            return self._graphs(units[lo:hi])
        groups = units[lo:hi]
        if self.mode == "groups":
            rows, ptr = self.members
            counts = ptr[groups + 1] - ptr[groups]
            flat = rows[_ranges(ptr[groups], counts)[0]]
            graphs = self._graphs(flat)
            group = torch.repeat_interleave(torch.arange(len(groups)), torch.from_numpy(counts))
            return GroupBatch(graphs, group, torch.from_numpy(self.group_ids[groups].astype(np.int64)),
                              torch.from_numpy(self.group_label[groups].astype(np.int64)), list(graphs.view_name))
        rows_a, rows_b = draws[0][lo:hi], draws[1][lo:hi]
        gen = None
        if self.augment is not None:
            gen = torch.Generator().manual_seed(int(np.random.SeedSequence([self.seed, epoch, b, 2]).generate_state(1)[0]))
        a = self._graphs(rows_a, augment=self.augment.first if gen is not None else None, generator=gen)
        bb = self._graphs(rows_b, augment=self.augment.second if gen is not None else None, generator=gen)
        return PairBatch(a, bb, a.group_id.clone(), a.label.clone())

    def _graphs(self, rows: np.ndarray, augment=None, generator=None) -> Batch:
        return gather_batch(self.cache, rows, self.label_map, self.view_names, augment=augment, generator=generator)


def _ranges(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated ``arange(s, s + c)`` for each (s, c), and the pointers [len + 1]."""
    ptr = np.concatenate([[0], np.cumsum(counts)])
    return np.repeat(starts - ptr[:-1], counts) + np.arange(ptr[-1]), ptr


def gather_batch(cache: GraphCache, rows: np.ndarray, label_map: np.ndarray, view_names: np.ndarray, *,
                 augment=None, generator: torch.Generator | None = None) -> Batch:
    """The jets ``rows`` of a cache as one PyG ``Batch`` (graph attributes as the per-jet builder sets them).

    ``augment(raw, batch, axis, generator) -> (x, pos, batch)`` (a
    :class:`graphs.batch_augmentations.ViewAugmentation`) replaces the cached features of
    particle-like graphs by those of augmented constituents (``raw`` and ``axis`` from the cache).
    """
    rows = np.asarray(rows, np.int64)
    n_graphs = len(rows)
    starts = np.asarray(cache.node_offsets[rows])
    counts = np.asarray(cache.node_offsets[rows + 1]) - starts
    nodes, ptr = _ranges(starts, counts)
    batch = torch.repeat_interleave(torch.arange(n_graphs), torch.from_numpy(counts))
    if augment is not None:
        axis = torch.from_numpy(np.asarray(cache.axis[rows]))
        x, pos, batch = augment(torch.from_numpy(cache.raw[nodes]), batch, axis, generator)
        ptr = np.concatenate([[0], np.cumsum(torch.bincount(batch, minlength=n_graphs).numpy())])
    else:
        x, pos = torch.from_numpy(cache.x[nodes]), torch.from_numpy(cache.pos[nodes])
    ptr_t = torch.from_numpy(ptr)
    zero = torch.zeros(n_graphs, dtype=torch.long)
    graph_slice = torch.arange(n_graphs + 1)
    if cache.graph == "detector":
        e_starts = np.asarray(cache.edge_offsets[rows])
        e_counts = np.asarray(cache.edge_offsets[rows + 1]) - e_starts
        edges, e_ptr = _ranges(e_starts, e_counts)
        local = torch.from_numpy(np.asarray(cache.edge_index[edges], np.int64))
        edge_index = (local + torch.from_numpy(np.repeat(ptr[:-1], e_counts))[:, None]).T.contiguous()
        edge_type = torch.from_numpy(np.asarray(cache.edge_type[edges], np.int64))
        node_type = torch.from_numpy(np.asarray(cache.node_type[nodes], np.int64))
        extra_slices = {"edge_index": torch.from_numpy(e_ptr), "edge_type": torch.from_numpy(e_ptr)}
        extra_incs = {"edge_index": ptr_t[:-1].clone(), "edge_type": zero}
    else:
        edge_index = torch.empty(2, 0, dtype=torch.long)
        edge_type = None
        node_type = torch.zeros(len(x), dtype=torch.long)
        extra_slices = {"edge_index": torch.zeros(n_graphs + 1, dtype=torch.long)}
        extra_incs = {"edge_index": ptr_t[:-1].clone()}
    attrs = dict(
        x=x, pos=pos, edge_index=edge_index, node_type=node_type, batch=batch, ptr=ptr_t,
        group_id=torch.from_numpy(np.asarray(cache.group_id[rows], np.int64)),
        label=torch.from_numpy(label_map[np.asarray(cache.label[rows])]),
        view_name=[str(v) for v in view_names[np.asarray(cache.view[rows])]],
        jet_pt=torch.from_numpy(np.asarray(cache.jet_pt[rows], np.float32)),
        jet_eta=torch.from_numpy(np.asarray(cache.jet_eta[rows], np.float32)),
        jet_energy=torch.from_numpy(np.asarray(cache.jet_energy[rows], np.float32)),
    )
    if edge_type is not None:
        attrs["edge_type"] = edge_type
    out = Batch(_base_cls=Data, **attrs)
    # what Batch.from_data_list records, so that index_select / to_data_list work on this batch
    out._slice_dict = {"x": ptr_t, "pos": ptr_t, "node_type": ptr_t, **extra_slices,
                       **{k: graph_slice for k in ("group_id", "label", "view_name", "jet_pt", "jet_eta", "jet_energy")}}
    out._inc_dict = {"x": zero, "pos": zero, "node_type": zero, **extra_incs, "view_name": None,
                     **{k: zero for k in ("group_id", "label", "jet_pt", "jet_eta", "jet_energy")}}
    out._num_graphs = n_graphs
    return out


class EpochBatches(Sampler):
    """Yields ``(epoch, batch number)`` for every batch of the current epoch; ``set_epoch`` moves on."""

    def __init__(self, dataset: CachedJets):
        self.dataset, self.epoch = dataset, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.dataset.batches_per_epoch()

    def __iter__(self):
        return iter([(self.epoch, b) for b in range(len(self))])


def _identity(item):
    return item


def make_cached_loader(cache: GraphCache, contract: DataContract, split: str, batch_size: int, *,
                       mode: str = "pairs", seed: int = 0, shuffle: bool = True, num_workers: int = 0,
                       pin_memory: bool | None = None, rank: int = 0, world_size: int = 1,
                       views: Sequence[str] | None = None, select=None, augment=None,
                       prefetch_factor: int = 4) -> DataLoader:
    """A DataLoader over a graph cache: batches assembled in ``num_workers`` persistent workers
    (or in the main process with 0), pinned when CUDA is there; ``loader.sampler.set_epoch(e)`` reshuffles."""
    dataset = CachedJets(cache, contract, split, batch_size, seed=seed, mode=mode, views=views, shuffle=shuffle,
                         rank=rank, world_size=world_size, select=select, augment=augment)
    workers = max(0, int(num_workers))
    return DataLoader(
        dataset, batch_size=None, sampler=EpochBatches(dataset), collate_fn=_identity, num_workers=workers,
        pin_memory=torch.cuda.is_available() if pin_memory is None else pin_memory,
        persistent_workers=workers > 0, prefetch_factor=prefetch_factor if workers > 0 else None)
