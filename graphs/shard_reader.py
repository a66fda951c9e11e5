"""A shard's columns as flat numpy arrays with row offsets, for fast per-jet access.

Reading jets one row at a time from an awkward array costs tens of microseconds per
field; flattening each jagged column once per shard and slicing numpy arrays makes
per-jet access nearly free. Columns are checked by ``sim_pairs.io.read_shard``, so a
shard missing a column the graph needs fails with the file and column named.

Cells are stored as an index into the detector card of their replica (schema versions
2 and 3); ``cell_layer``, ``cell_eta`` and ``cell_phi`` are rebuilt here from ``cell_index``
and the cards recorded in the dataset's ``metadata.json``, the same values the
detector simulation computed (``sim_pairs.detector.cell_index.decode_cells``). So are
the tracks' crossings of the calorimeter layers (``track_eta_layer``, ``track_phi_layer``)
where a shard does not store them, from the track and the card.
"""

from __future__ import annotations

import functools
from pathlib import Path

import awkward as ak
import numpy as np

from sim_pairs.io import DatasetError, read_metadata, read_shard, shard_columns
from sim_pairs.schema import COLUMNS, DERIVED_COLUMNS, N_CALO_LAYERS

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
_DERIVED = {c.name for c in DERIVED_COLUMNS}
#: Stored by importers, computed here from the tracks and the card when a shard lacks them (rs3l generate).
_CROSSINGS = ("track_eta_layer", "track_phi_layer")


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
        crossings = tuple(n for n in INPUT_COLUMNS[graph] if n in _CROSSINGS and n not in have)
        self.absent = tuple(n for n in INPUT_COLUMNS[graph] if n in _OPTIONAL and n not in have and n not in crossings)
        wanted = tuple(n for n in INPUT_COLUMNS[graph] if n not in self.absent)
        derived = tuple(n for n in wanted if n in _DERIVED)
        stored = tuple(n for n in wanted if n not in _DERIVED and n not in crossings)
        cells = ("cell_index", "detector_view") if derived or crossings else ()
        array = read_shard(self.path, JET_COLUMNS + stored + cells)
        self.n_rows = len(array)
        self.jet = {name: ak.to_numpy(array[name]) if name not in ("view", "label") else ak.to_list(array[name]) for name in JET_COLUMNS}
        self._flat: dict[str, np.ndarray] = {}
        self._offsets: dict[str, np.ndarray] = {}
        for name in stored:
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
        if derived or crossings:
            row_views = np.asarray(ak.to_list(array["detector_view"]), dtype=str)
        if derived:
            self._derive_cells(array, row_views, derived)
        if crossings:
            self._derive_crossings(row_views)

    def _cards_of(self, row_views: np.ndarray, counts: np.ndarray, what: str) -> tuple[np.ndarray, list[str], dict]:
        """Per cell or track, the code of its row's detector view; the views (indexed by code); the dataset's cards.

        Refuses a view that holds ``what`` but has no card in ``metadata.json``.
        """
        views, row_replica = np.unique(row_views, return_inverse=True)
        replicas = views.tolist()
        per_element = np.repeat(row_replica.reshape(-1), counts)
        cards = _cards(self.path.parent)
        missing = [replicas[code] for code in np.unique(per_element).tolist() if replicas[code] not in cards]
        if missing:
            raise DatasetError(f"{self.path}: rows of detector_view {missing[0]!r} have {what}, but "
                               f"{self.path.parent / 'metadata.json'} field 'detector_cards' has no such replica "
                               f"(it has {', '.join(map(repr, cards)) or 'none'})")
        return per_element, replicas, cards

    def _derive_crossings(self, row_views: np.ndarray) -> None:
        """The tracks' crossings of the layers from the stored track and each row's detector card.

        The detector computed them from the track parameters as stored (float32), so these
        are the values it used, bit for bit (``sim_pairs.detector.tracker``).
        """
        from sim_pairs.detector.geometry import layer_crossing

        offsets = self._offsets["track_pt"]
        per_track, replicas, cards = self._cards_of(row_views, np.diff(offsets), "tracks without stored layer crossings")
        values = {name: np.empty((int(offsets[-1]), N_CALO_LAYERS), dtype=np.float32) for name in _CROSSINGS}
        for code in np.unique(per_track).tolist():
            mine = per_track == code
            eta, phi = layer_crossing(cards[replicas[code]], *(self._flat[f"track_{k}"][mine]
                                                               for k in ("pt", "eta", "phi", "charge", "z0")))
            values["track_eta_layer"][mine], values["track_phi_layer"][mine] = eta, phi
        for name in _CROSSINGS:
            self._flat[name], self._offsets[name] = values[name], offsets

    def _derive_cells(self, array: ak.Array, row_views: np.ndarray, names: tuple[str, ...]) -> None:
        """Cell positions from ``cell_index`` and each row's detector card."""
        index = ak.to_numpy(ak.flatten(array["cell_index"], axis=1))
        offsets = np.concatenate([[0], np.cumsum(ak.to_numpy(ak.num(array["cell_index"], axis=1)))])
        replica_of_cell, replicas, cards = self._cards_of(row_views, np.diff(offsets), "cells")
        used = [replicas[code] for code in np.unique(replica_of_cell).tolist()]
        if all(cards[r] == cards[used[0]] for r in used):
            # one card for every row (replicas differing only by seed): decode all cells at once
            out = self._decode(cards[used[0]] if used else None, index, used[0] if used else "", names)
        else:
            out = {name: np.empty(len(index), dtype=next(c.dtype for c in DERIVED_COLUMNS if c.name == name))
                   for name in names}
            for replica in used:
                mine = replica_of_cell == replicas.index(replica)
                for name, values in self._decode(cards[replica], index[mine], replica, names).items():
                    out[name][mine] = values
        for name in names:
            self._flat[name], self._offsets[name] = out[name], offsets

    def _decode(self, card, index: np.ndarray, replica: str, names: tuple[str, ...]) -> dict[str, np.ndarray]:
        from sim_pairs.detector.cell_index import decode_cells

        if card is None:  # no cells at all
            return {name: np.zeros(0, dtype=next(c.dtype for c in DERIVED_COLUMNS if c.name == name)) for name in names}
        try:
            decoded = decode_cells(card, index)
        except ValueError as error:
            raise DatasetError(f"{self.path}: column 'cell_index' of detector_view {replica!r}: {error}") from None
        return {name: decoded[name] for name in names}

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


def _cards(directory: Path) -> dict:
    """The detector card of each replica of a dataset, read once per version of its metadata.json."""
    path = directory / "metadata.json"
    try:
        stamp = path.stat()
    except OSError:
        raise DatasetError(f"{path}: dataset metadata not found: the cell positions come from the detector cards "
                           "recorded there") from None
    return _cards_cached(str(directory), stamp.st_mtime_ns, stamp.st_size)


@functools.lru_cache(maxsize=16)
def _cards_cached(directory: str, mtime_ns: int, size: int) -> dict:
    from sim_pairs.detector.cell_index import CardRecordError, cards_from_metadata

    path = Path(directory) / "metadata.json"
    try:
        return cards_from_metadata(read_metadata(directory), source=str(path))
    except CardRecordError as error:
        raise DatasetError(str(error)) from None
