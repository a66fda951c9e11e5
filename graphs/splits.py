"""Train / val / test splits of a dataset by a stable hash of the group id, and the loader modes.

Every view of a group lands in the same split, on every machine and in every process
(the streaming :class:`graphs.dataset.PairDataset` and the cached
:class:`graphs.cached_loader.CachedJets` call the same function).
"""

from __future__ import annotations

import numpy as np

__all__ = ["split_of", "check_loader_args", "SPLITS", "MODES"]

SPLITS = ("train", "val", "test")
MODES = ("pairs", "groups", "single")


def check_loader_args(split: str, mode: str, rank: int, world_size: int) -> None:
    """A ``ValueError`` naming the first of split, mode or DDP rank that a loader cannot take."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, world_size), got rank {rank}, world_size {world_size}")


def split_of(group_ids: np.ndarray, val_fraction: float, test_fraction: float) -> np.ndarray:
    """Split index (0 train, 1 val, 2 test) of each group id, from a stable hash.

    The hash (splitmix64 of the id) is plain 64-bit integer arithmetic: the same on
    every platform and in every process, whatever the order of the ids.
    """
    z = np.asarray(group_ids, dtype=np.int64).astype(np.uint64)
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype(np.float64) / 2.0**53
    out = np.zeros(len(z), dtype=np.int64)
    out[u < test_fraction + val_fraction] = 1
    out[u < test_fraction] = 2
    return out
