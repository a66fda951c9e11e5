"""Importer for the Top Tagging reference dataset (Kasieczka, Plehn et al., arXiv 1902.09914; Zenodo 2603256).

``train.h5`` (1.2M jets), ``val.h5`` (400k) and ``test.h5`` (400k) are pandas
``DataFrame`` s written with ``to_hdf(key="table")`` in pandas' *fixed* format: under
the HDF5 group ``/table``, columns of one dtype form a block, with their names in
``blockK_items`` and the values, one row per jet, in ``blockK_values`` (N, k). The
columns read are

* ``E_i``, ``PX_i``, ``PY_i``, ``PZ_i``, i = 0 .. 199: the constituents' four-momenta
  (GeV), leading pT first, zero-padded;
* ``is_signal_new``: 1 for top jets (label ``top``), 0 for QCD jets (label ``qcd``).

(``truthE``/``truthPX``/..., and ``ttv`` are not read.) The constituents are Delphes
energy-flow objects (ATLAS card, no pile-up), so they go to the ``pflow`` group
(``pfc_*``, ``detector_view`` 'delphes'); there is no charge, type or impact
parameter, so ``pfc_pid``/``pfc_charge``/``pfc_d0``/``pfc_dz`` are absent and graphs
need ``features: kinematic4``. Padding (all four components 0) is dropped; values
are copied (float32 in the published files, so the round trip is exact). The jet is
the sum of its constituents (R = 0.8, pT 550-650 GeV, abs(eta) < 2).

Rows are read with h5py, ``chunk_size`` at a time.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator, Sequence

import awkward as ak
import numpy as np

from .writer import ImportedView, ImportFormatError, import_view, jet_columns_from_constituents

__all__ = ["TOPTAG_KEY", "TOPTAG_LABELS", "TopTagSource", "import_toptag"]

TOPTAG_KEY = "table"
#: ``is_signal_new`` value -> rs3l label.
TOPTAG_LABELS = {1: "top", 0: "qcd"}
_COMPONENTS = ("E", "PX", "PY", "PZ")


def _h5py():
    try:
        import h5py
    except ImportError as err:
        raise ImportError(f"reading Top Tagging HDF5 files needs h5py (pip install h5py): {err}") from None
    return h5py


def _text(values) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


class TopTagSource:
    """One Top Tagging ``.h5`` file, checked on opening.

    Raises:
        ImportFormatError: not HDF5, no ``/table`` in pandas fixed format, a column
            missing or blocks of unequal length; ``is_signal_new`` not 0 / 1 is found
            while reading (the jet is named).
    """

    def __init__(self, path: str | Path, key: str = TOPTAG_KEY):
        self.path, self.key = Path(path), key
        if not self.path.is_file():
            raise ImportFormatError(f"{self.path}: file not found")
        h5py = _h5py()
        try:
            with h5py.File(self.path, "r") as f:
                self._layout(f)
        except OSError as err:
            raise ImportFormatError(f"{self.path}: not a readable HDF5 file ({err}); truncated download?") from None

    def _layout(self, f) -> None:
        if self.key not in f:
            raise ImportFormatError(f"{self.path}: field '/{self.key}' missing (the file holds {sorted(f.keys()) or 'nothing'})")
        group = f[self.key]
        if "table" in group:
            raise ImportFormatError(f"{self.path}: field '/{self.key}' is in pandas 'table' format; expected the "
                                    "'fixed' format of the published files (re-save with DataFrame.to_hdf(..., format='fixed'))")
        where: dict[str, tuple[str, int]] = {}
        self.rows: dict[str, int] = {}
        for name in sorted(group):
            m = re.fullmatch(r"block(\d+)_items", name)
            if not m:
                continue
            values = f"block{m.group(1)}_values"
            if values not in group:
                raise ImportFormatError(f"{self.path}: field '/{self.key}/{values}' missing beside '{name}'")
            shape = group[values].shape
            items = _text(group[name][()])
            if len(shape) != 2 or shape[1] != len(items):
                raise ImportFormatError(f"{self.path}: field '/{self.key}/{values}' has shape {shape}; expected "
                                        f"(jets, {len(items)}) for its {len(items)} columns")
            self.rows[values] = shape[0]
            for j, item in enumerate(items):
                where[item] = (values, j)
        if len(set(self.rows.values())) > 1:
            raise ImportFormatError(f"{self.path}: blocks of '/{self.key}' have different lengths {self.rows}; truncated file?")
        n_const = 0
        while f"E_{n_const}" in where:
            n_const += 1
        missing = [f"{c}_{i}" for i in range(max(n_const, 1)) for c in _COMPONENTS if f"{c}_{i}" not in where]
        missing += [] if "is_signal_new" in where else ["is_signal_new"]
        if missing:
            raise ImportFormatError(f"{self.path}: field '{missing[0]}' missing from '/{self.key}' "
                                    f"({len(missing)} column(s) missing; expected E_i, PX_i, PY_i, PZ_i and is_signal_new)")
        self.n_jets = next(iter(self.rows.values()))
        self.max_particles = n_const
        self.where = where

    def chunks(self, chunk_size: int, skip: set[int]) -> Iterator[tuple[int, int, dict | None]]:
        h5py = _h5py()
        with h5py.File(self.path, "r") as f:
            group = f[self.key]
            for i, start in enumerate(range(0, self.n_jets, chunk_size)):
                stop = min(start + chunk_size, self.n_jets)
                if i in skip:
                    yield start, stop, None
                    continue
                try:
                    blocks = {b: group[b][start:stop] for b in self.rows}
                except OSError as err:
                    raise ImportFormatError(f"{self.path}: field '/{self.key}' rows {start}-{stop} unreadable ({err}); "
                                            "truncated file?") from None
                yield start, stop, self._columns(blocks, start)

    def _column(self, blocks: dict, name: str) -> np.ndarray:
        block, j = self.where[name]
        return blocks[block][:, j]

    def _columns(self, blocks: dict, start: int) -> dict:
        labels = self._column(blocks, "is_signal_new")
        bad = ~np.isin(labels, (0, 1))
        if bad.any():
            raise ImportFormatError(f"{self.path}: field 'is_signal_new' holds {labels[bad][0].item()!r} at jet "
                                    f"{start + int(np.flatnonzero(bad)[0])}; expected 1 (top) or 0 (QCD)")

        def matrix(component):
            return np.stack([self._column(blocks, f"{component}_{i}") for i in range(self.max_particles)], axis=1)

        p4 = {c: matrix(c) for c in _COMPONENTS}
        real = (p4["E"] != 0) | (p4["PX"] != 0) | (p4["PY"] != 0) | (p4["PZ"] != 0)  # padding is all zero
        counts = real.sum(axis=1)
        names = {"E": "pfc_energy", "PX": "pfc_px", "PY": "pfc_py", "PZ": "pfc_pz"}
        columns = {names[c]: ak.unflatten(p4[c][real], counts) for c in _COMPONENTS}
        columns.update(jet_columns_from_constituents(columns["pfc_px"], columns["pfc_py"], columns["pfc_pz"],
                                                     columns["pfc_energy"]))
        columns["jet_nparticles"] = counts.astype(np.int32)
        columns["label"] = [TOPTAG_LABELS[int(v)] for v in labels]
        return columns


def import_toptag(files: Sequence[str | Path], out: str | Path, *, view: str = "nominal", chunk_size: int = 50_000,
                  key: str = TOPTAG_KEY, progress: bool = True) -> ImportedView:
    """Import Top Tagging ``.h5`` files as one view of the dataset ``out``.

    Args:
        files: e.g. ``train.h5``, ``val.h5``, ``test.h5`` (rs3l makes its own splits by
            ``group_id``; import the files you want in the pool).
        out: the dataset directory.
        view: the view name.
        chunk_size: jets per shard (peak memory grew by 5.6 kB per jet of chunk, measured).
        key: the pandas key of the table.
        progress: show a progress bar.
    """
    sources = [TopTagSource(f, key) for f in files]
    return import_view("toptag", sources, out, view=view, chunk_size=chunk_size, detector_view="delphes",
                       settings={"key": key}, progress=progress)
