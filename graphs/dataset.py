"""Streaming datasets of positive pairs, view groups or single jets over Parquet shards.

:class:`PairDataset` is a ``torch.utils.data.IterableDataset`` over a dataset
directory written by ``sim_pairs`` (schema in ``sim_pairs.schema``):

* an index of (shard, group, view, label) is read once (three small columns);
* groups are split into train / val / test by a stable hash of ``group_id`` (splitmix64), so all
  views of a group land in the same split, on every machine;
* each epoch the shard order is shuffled (``seed``, ``set_epoch``), the split's work
  units (groups, or rows in ``single`` mode) are laid out in that order and cut into
  one contiguous block per consumer (DDP rank x loader worker). A consumer reads only
  the shards its block touches, one at a time (bounded memory), and passes its items
  through a shuffle buffer. With ``world_size > 1`` every consumer yields the same
  number of items, so ranks run the same number of steps;
* ``pairs`` mode yields two views per group drawn as the contract's ``pairing`` says
  (plus JetCLR augmentations when configured), ``groups`` all allowed views,
  ``single`` every allowed row once.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from sim_pairs.io import DatasetError, read_shard, shard_paths

from .augmentations import augmentations_for_pair
from .builder import GraphBuilder
from .collate import collate_groups, collate_pairs, collate_single
from .contract import DataContract
from .shard_reader import ShardArrays
from .splits import MODES, SPLITS, check_loader_args, split_of

__all__ = ["PairDataset", "make_loader", "split_of", "SPLITS", "MODES"]

class PairDataset(IterableDataset):
    """Positive pairs (or view groups, or single jets) streamed from a dataset directory.

    Args:
        data_dir: directory with ``shard-*.parquet`` files.
        contract: the data contract (graph kind, features, pairing, split, ...).
        split: ``train``, ``val`` or ``test``.
        seed: seeds the shard order, the shuffle buffer, the view draws and the
            augmentations; with ``set_epoch`` each epoch differs.
        mode: ``pairs`` (``(view_a, view_b)`` per group), ``groups`` (list of all
            allowed views per group) or ``single`` (one graph per allowed row).
        views: overrides ``contract.views`` (glob patterns) when given.
        shuffle: shuffle shard order and items (False: file order, for evaluation).
        rank, world_size: this process's DDP rank and the number of ranks.
        select: ``select(group_id, label) -> bool mask`` over the split's groups
            (numpy arrays; labels are contract class indices): keeps only those groups,
            e.g. a task's classes and a labelled fraction, before batching.
    """

    def __init__(
        self,
        data_dir: str | Path,
        contract: DataContract,
        split: str = "train",
        seed: int = 0,
        mode: str = "pairs",
        views: Sequence[str] | None = None,
        *,
        shuffle: bool = True,
        rank: int = 0,
        world_size: int = 1,
        select: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    ):
        check_loader_args(split, mode, rank, world_size)
        self.data_dir = Path(data_dir)
        self.contract = contract
        self.split, self.seed, self.mode = split, seed, mode
        self.views = list(views) if views is not None else contract.views
        self.shuffle, self.rank, self.world_size = shuffle, rank, world_size
        self.builder = GraphBuilder(contract)
        self.epoch = 0
        self.shards = shard_paths(self.data_dir)
        if not self.shards:
            raise DatasetError(f"{self.data_dir}: no shard-*.parquet files")
        self.units = self._index()  # per shard: list of work units
        if select is not None:
            self.units = [_selected(units, select) for units in self.units]

    # --- the index --------------------------------------------------------------------
    def _allowed(self, view: str) -> bool:
        return not self.views or any(fnmatch.fnmatchcase(view, p) for p in self.views)

    def _index(self) -> list[list[tuple]]:
        """Per shard, the work units of this split: (group_id, label, [(row, view), ...]) or one row."""
        c = self.contract
        wanted = SPLITS.index(self.split)
        units, seen = [], {}
        for s, path in enumerate(self.shards):
            table = read_shard(path, ["group_id", "view", "label"])
            gids = np.asarray(table["group_id"])
            views, labels = table["view"].to_list(), table["label"].to_list()
            in_split = split_of(gids, c.val_fraction, c.test_fraction) == wanted if len(gids) else np.zeros(0, bool)
            groups: dict[int, list] = defaultdict(list)
            label_of = {}
            for row in np.flatnonzero(in_split):
                label = c.label_index(labels[row])
                if label is None or not self._allowed(views[row]):
                    continue
                gid = int(gids[row])
                groups[gid].append((int(row), views[row]))
                label_of[gid] = label
            for gid in groups:
                if seen.setdefault(gid, s) != s:
                    raise DatasetError(f"{path}: group_id {gid} also appears in {self.shards[seen[gid]]}; groups must not span shards")
            shard_units = []
            for gid, rows in groups.items():
                if self.mode == "single":
                    shard_units.extend((gid, label_of[gid], [r]) for r in rows)
                elif self.mode == "groups" or self._pairable(rows):
                    shard_units.append((gid, label_of[gid], rows))
            units.append(shard_units)
        return units

    def _pairable(self, rows) -> bool:
        c = self.contract
        if c.pairing == "any":
            return len(rows) >= 2
        anchors = [r for r in rows if c.is_anchor(r[1])]
        if c.pairing == "jetclr":
            return bool(anchors)
        return any(r != a and c.is_positive(r[1]) for a in anchors for r in rows)

    #: DataLoader workers per rank (``make_loader`` sets it); only ``__len__`` needs it.
    loader_workers = 1

    def __len__(self) -> int:
        """Items per epoch for this rank (all its loader workers together)."""
        total = sum(len(u) for u in self.units)
        if self.world_size > 1:
            workers = max(1, self.loader_workers)
            return total // (self.world_size * workers) * workers
        return total

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle for ``epoch`` (call before iterating, as with DistributedSampler)."""
        self.epoch = int(epoch)

    # --- iteration --------------------------------------------------------------------
    def _my_block(self, consumer: int, consumers: int) -> list[tuple[int, tuple]]:
        order = np.arange(len(self.shards))
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(order)
        flat = [(int(s), unit) for s in order for unit in self.units[s]]
        n = len(flat)
        start, stop = consumer * n // consumers, (consumer + 1) * n // consumers
        if self.world_size > 1:
            stop = start + n // consumers  # equal counts on every rank and worker
        return flat[start:stop]

    def __iter__(self) -> Iterator:
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
        consumer = self.rank * workers + worker
        rng = np.random.default_rng([self.seed, self.epoch, consumer, 1])
        block = self._my_block(consumer, self.world_size * workers)
        first_aug, second_aug = augmentations_for_pair(self.contract.augment, self.contract.max_particles)
        buffer: list = []
        size = self.contract.shuffle_buffer if self.shuffle else 1
        by_shard: dict[int, list] = defaultdict(list)
        for s, unit in block:
            by_shard[s].append(unit)
        for s in dict.fromkeys(s for s, _ in block):  # block order, each shard once
            arrays = ShardArrays(self.shards[s], self.contract.graph)
            units = by_shard[s]
            if self.shuffle:
                units = [units[i] for i in rng.permutation(len(units))]
            for unit in units:
                item = self._item(arrays, unit, rng, first_aug, second_aug)
                if len(buffer) < size:
                    buffer.append(item)
                    continue
                j = int(rng.integers(len(buffer))) if self.shuffle else 0
                buffer[j], item = item, buffer[j]
                yield item
            del arrays
        while buffer:
            j = int(rng.integers(len(buffer))) if self.shuffle else 0
            yield buffer.pop(j)

    def _item(self, arrays, unit, rng, first_aug, second_aug):
        gid, label, rows = unit
        c, build = self.contract, self.builder
        if self.mode == "single":
            return build(arrays, rows[0][0], label)
        if self.mode == "groups":
            return [build(arrays, row, label) for row, _ in rows]
        if c.pairing == "jetclr":
            anchors = [r for r in rows if c.is_anchor(r[1])]
            row = anchors[int(rng.integers(len(anchors)))][0]
            return build(arrays, row, label, augment=first_aug, rng=rng), build(arrays, row, label, augment=second_aug, rng=rng)
        if c.pairing == "any":
            i, j = rng.choice(len(rows), size=2, replace=False)
            a, b = rows[i], rows[j]
        else:
            anchors = [r for r in rows if c.is_anchor(r[1])]
            a = anchors[int(rng.integers(len(anchors)))]
            positives = [r for r in rows if r != a and c.is_positive(r[1])]
            if not positives:  # another anchor was drawn; pick one that has a partner
                a = next(x for x in anchors if any(r != x and c.is_positive(r[1]) for r in rows))
                positives = [r for r in rows if r != a and c.is_positive(r[1])]
            b = positives[int(rng.integers(len(positives)))]
        augment = c.augment.any
        return (
            build(arrays, a[0], label, augment=first_aug if augment else None, rng=rng),
            build(arrays, b[0], label, augment=second_aug if augment else None, rng=rng),
        )


def _selected(units: list[tuple], select) -> list[tuple]:
    if not units:
        return units
    keep = np.asarray(select(np.array([u[0] for u in units], np.int64), np.array([u[1] for u in units], np.int64)), bool)
    if keep.shape != (len(units),):
        raise ValueError(f"select returned a mask of shape {keep.shape}, expected ({len(units)},)")
    return [u for u, k in zip(units, keep) if k]


def make_loader(
    data_dir: str | Path,
    contract: DataContract,
    split: str,
    batch_size: int,
    *,
    mode: str = "pairs",
    seed: int = 0,
    shuffle: bool = True,
    num_workers: int | None = None,
    pin_memory: bool | None = None,
    rank: int = 0,
    world_size: int = 1,
    views: Sequence[str] | None = None,
    select: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    cache: bool = True,
    progress: bool = True,
) -> DataLoader:
    """A DataLoader of :class:`graphs.collate.PairBatch` (``pairs``), ``GroupBatch``
    (``groups``) or PyG ``Batch`` (``single``) over one split.

    With ``cache`` (the default) batches come from the dataset's graph cache
    (:mod:`graphs.cache`, built on first use, in ``contract.cache_dir`` when set) through
    :func:`graphs.cached_loader.make_cached_loader`; ``cache=False`` builds every graph
    from the shards as it goes (:class:`PairDataset`, the reference path).
    ``num_workers`` defaults to ``contract.num_workers``; ``pin_memory`` to whether
    CUDA is available. ``select`` keeps only some groups (see :class:`PairDataset`).
    Call ``loader.sampler.set_epoch(epoch)`` (cached) or ``loader.dataset.set_epoch(epoch)``
    (streaming) each epoch to reshuffle; :class:`rs3l.train.trainer.Trainer` does both.
    """
    if cache:
        from .batch_augmentations import BatchAugmentations
        from .cache import open_cache
        from .cached_loader import make_cached_loader

        graph_cache = open_cache(data_dir, contract, root=contract.cache_dir, progress=progress)
        augment = BatchAugmentations.from_contract(contract) if contract.augment.any else None
        return make_cached_loader(graph_cache, contract, split, batch_size, mode=mode, seed=seed, shuffle=shuffle,
                                  num_workers=contract.num_workers if num_workers is None else num_workers,
                                  pin_memory=pin_memory, rank=rank, world_size=world_size, views=views,
                                  select=select, augment=augment)
    dataset = PairDataset(data_dir, contract, split, seed, mode, views, shuffle=shuffle, rank=rank, world_size=world_size,
                          select=select)
    workers = contract.num_workers if num_workers is None else num_workers
    dataset.loader_workers = workers
    collate = {"pairs": collate_pairs, "groups": collate_groups, "single": collate_single}[mode]
    return DataLoader(
        dataset,
        batch_size=batch_size,
        collate_fn=collate,
        num_workers=workers,
        pin_memory=torch.cuda.is_available() if pin_memory is None else pin_memory,
        persistent_workers=False,
        drop_last=False,
    )
