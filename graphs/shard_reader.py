"""A shard's columns as flat numpy arrays with row offsets, for fast per-jet access.

Reading jets one row at a time from an awkward array costs tens of microseconds per
field; flattening each jagged column once per shard and slicing numpy arrays makes
per-jet access nearly free. Columns are checked by ``sim_pairs.io.read_shard``, so a
shard missing a column the graph needs fails with the file and column named.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np

from sim_pairs.io import read_shard, shard_columns
from sim_pairs.schema import COLUMNS, N_CALO_LAYERS

from .constituents import Constituents

__all__ = ["JET_COLUMNS", "INPUT_COLUMNS", "ShardArrays", "DetectorInputs"]

JET_COLUMNS = ("group_id", "view", "label", "jet_pt", "jet_eta", "jet_phi", "jet_energy")

#: graph kind -> the per-node columns it reads.
INPUT_COLUMNS = {
    "particles": ("part_px", "part_py", "part_pz", "part_energy", "part_pid", "part_charge", "part_d0", "part_dz"),
    "pflow": ("pfc_px", "pfc_py", "pfc_pz", "pfc_energy", "pfc_pid", "pfc_charge", "pfc_d0", "pfc_dz"),
    "detector": (
        "cell_layer", "cell_eta", "cell_phi", "cell_energy",
        "track_pt", "track_eta", "track_phi", "track_charge", "track_d0", "track_z0",
        "track_eta_layer", "track_phi_layer",
    ),
}  # fmt: skip


_OPTIONAL = {c.name for c in COLUMNS if c.optional}


class DetectorInputs:
    """One jet's cells and tracks as numpy arrays (see ``sim_pairs.schema`` for units)."""

    def __init__(self, **arrays):
        self.__dict__.update(arrays)


class ShardArrays:
    """The columns of one shard that a graph kind needs.

    Args:
        path: the shard file.
        graph: ``particles``, ``pflow`` or ``detector``.
    """

    def __init__(self, path: str | Path, graph: str):
        self.path = Path(path)
        self.graph = graph
        # Optional columns (charge, impact parameters, type) that an imported dataset lacks
        # are left out here; GraphBuilder refuses feature sets that need them.
        have = shard_columns(self.path)
        self.absent = tuple(n for n in INPUT_COLUMNS[graph] if n in _OPTIONAL and n not in have)
        wanted = tuple(n for n in INPUT_COLUMNS[graph] if n not in self.absent)
        array = read_shard(self.path, JET_COLUMNS + wanted)
        self.n_rows = len(array)
        self.jet = {name: ak.to_numpy(array[name]) if name not in ("view", "label") else ak.to_list(array[name]) for name in JET_COLUMNS}
        self._flat: dict[str, np.ndarray] = {}
        self._offsets: dict[str, np.ndarray] = {}
        for name in wanted:
            column = array[name]
            counts = ak.to_numpy(ak.num(column, axis=1))
            flat = ak.flatten(column, axis=1)
            if name in ("track_eta_layer", "track_phi_layer"):
                inner = ak.to_numpy(ak.num(flat, axis=1)) if len(flat) else np.zeros(0, dtype=np.int64)
                if np.any(inner != N_CALO_LAYERS):
                    raise ValueError(f"{self.path}: column '{name}' must hold {N_CALO_LAYERS} values per track")
                flat = ak.to_numpy(ak.flatten(flat, axis=1)).reshape(-1, N_CALO_LAYERS)
            else:
                flat = ak.to_numpy(flat)
            self._flat[name] = flat
            self._offsets[name] = np.concatenate([[0], np.cumsum(counts)])

    def __len__(self) -> int:
        return self.n_rows

    def flat(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A column's values for all rows and its row offsets [n_rows + 1] (rows are ``values[o[r]:o[r + 1]]``)."""
        if name in self.absent:
            # zeros for a column an imported dataset lacks: callers check the features first
            offsets = self._offsets[f"{name.split('_')[0]}_px"]
            return np.zeros(int(offsets[-1]), dtype=np.float32), offsets
        return self._flat[name], self._offsets[name]

    def column(self, name: str, row: int) -> np.ndarray:
        if name in self.absent:
            # zeros of the row's length: only reached by features that do not read them
            n = self._offsets[f"{name.split('_')[0]}_px"]
            return np.zeros(n[row + 1] - n[row], dtype=np.float32)
        offsets = self._offsets[name]
        return self._flat[name][offsets[row] : offsets[row + 1]]

    def constituents(self, row: int) -> Constituents:
        """The particles (or particle-flow candidates) of one row as :class:`Constituents`."""
        prefix = {"particles": "part", "pflow": "pfc"}.get(self.graph)
        if prefix is None:
            raise ValueError(f"{self.path}: graph kind '{self.graph}' has no constituents")
        get = lambda field: self.column(f"{prefix}_{field}", row)  # noqa: E731
        return Constituents.from_cartesian(
            get("px"), get("py"), get("pz"), get("energy"), get("pid"), get("charge"), get("d0"), get("dz")
        )

    def detector(self, row: int) -> DetectorInputs:
        """The cells and tracks of one row."""
        if self.graph != "detector":
            raise ValueError(f"{self.path}: graph kind '{self.graph}' has no cells and tracks")
        return DetectorInputs(**{name: self.column(name, row) for name in INPUT_COLUMNS["detector"]})
