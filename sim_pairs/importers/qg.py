"""Importer for the Pythia and Herwig quark/gluon jet samples (Komiske, Metodiev, Thaler, arXiv 1810.05165).

Zenodo records 3164691 (Pythia 8) and 3066475 (Herwig 7): ``.npz`` files with

* ``X``: float, shape (N, M, 4), per particle (pT [GeV], rapidity y, phi [rad], PDG id),
  zero-padded to the largest multiplicity M of the file;
* ``y``: shape (N,), 1 for quark jets, 0 for gluon jets.

Jets are anti-kt R = 0.4, pT 500-550 GeV, abs(y) < 1.7, truth level (no detector),
so they are written to the ``particles`` group. Each particle's four-momentum is
rebuilt with its PDG mass, as EnergyFlow's ``p4s_from_ptyphipids`` does:
m_T = sqrt(pT^2 + m^2), px = pT cos phi, py = pT sin phi, pz = m_T sinh y,
E = m_T cosh y (float64, stored as float32). Charge comes from the PDG id;
impact parameters are absent (``part_d0``, ``part_dz`` not written), so ``rs3l15``
features refuse the dataset and ``kinematic4`` is used. Padding rows (pT = 0) are
dropped. The jet is the sum of its particles.

``X`` is read from the archive as a stream, ``chunk_size`` jets at a time, so a file
never has to fit in memory (the published files hold 100k jets x 100+ particles).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Iterator, Sequence

import awkward as ak
import numpy as np

from .writer import ImportedView, ImportFormatError, import_view, jet_columns_from_constituents

__all__ = ["QG_LABELS", "QGSource", "import_qg", "PDG_MASS_CHARGE"]

#: ``y`` value -> rs3l label.
QG_LABELS = {1: "quark", 0: "gluon"}

#: abs(PDG id) -> (mass [GeV], charge of the particle (positive id) [e]) for the particles
#: stable at generator level (PDG 2024 masses).
PDG_MASS_CHARGE = {
    22: (0.0, 0), 11: (0.000511, -1), 13: (0.105658, -1), 12: (0.0, 0), 14: (0.0, 0), 16: (0.0, 0),
    211: (0.139570, 1), 321: (0.493677, 1), 130: (0.497611, 0), 310: (0.497611, 0),
    2212: (0.938272, 1), 2112: (0.939565, 0), 3122: (1.115683, 0), 3222: (1.18937, 1), 3112: (1.197449, -1),
    3312: (1.32171, -1), 3322: (1.31486, 0), 3334: (1.67245, -1),
}  # fmt: skip

_TABLE = np.zeros((max(PDG_MASS_CHARGE) + 1, 2))
for _pid, _mq in PDG_MASS_CHARGE.items():
    _TABLE[_pid] = _mq


def _member(archive: zipfile.ZipFile, key: str, path: Path) -> zipfile.ZipInfo:
    names = {n[:-4] if n.endswith(".npy") else n: n for n in archive.namelist()}
    if key not in names:
        raise ImportFormatError(f"{path}: field '{key}' missing: the archive holds {sorted(names) or 'nothing'}")
    return archive.getinfo(names[key])


def _header(stream, path: Path, key: str) -> tuple[tuple[int, ...], np.dtype]:
    try:
        version = np.lib.format.read_magic(stream)
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = reader(stream)
    except ValueError as err:
        raise ImportFormatError(f"{path}: field '{key}' is not a .npy array ({err})") from None
    if fortran and len(shape) > 1:
        raise ImportFormatError(f"{path}: field '{key}' is stored in Fortran order; expected C order")
    return tuple(shape), np.dtype(dtype)


class QGSource:
    """One q/g ``.npz`` file, checked on opening.

    Raises:
        ImportFormatError: not a readable npz, ``X`` or ``y`` missing, ``X`` not (N, M, 4),
            ``y`` not (N,) with values 0 / 1 (file and field named).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise ImportFormatError(f"{self.path}: file not found")
        try:
            with zipfile.ZipFile(self.path) as archive:
                x_info = _member(archive, "X", self.path)
                y_info = _member(archive, "y", self.path)
                with archive.open(x_info) as stream:
                    self.x_shape, self.x_dtype = _header(stream, self.path, "X")
                with archive.open(y_info) as stream:
                    y_shape, y_dtype = _header(stream, self.path, "y")
                    y = self._read_exact(stream, int(np.prod(y_shape)) * y_dtype.itemsize, "y", y_shape[0] if y_shape else 0)
        except zipfile.BadZipFile as err:
            raise ImportFormatError(f"{self.path}: not a readable .npz archive ({err}); truncated download?") from None
        if len(self.x_shape) != 3 or self.x_shape[2] != 4:
            raise ImportFormatError(f"{self.path}: field 'X' has shape {self.x_shape}; expected (jets, particles, 4) "
                                    "with (pt, y, phi, pdgid)")
        if self.x_dtype.kind not in "fi":
            raise ImportFormatError(f"{self.path}: field 'X' has dtype {self.x_dtype}; expected a number type")
        self.n_jets, self.max_particles = self.x_shape[0], self.x_shape[1]
        if y_shape != (self.n_jets,):
            raise ImportFormatError(f"{self.path}: field 'y' has shape {y_shape}; expected ({self.n_jets},), one per jet of X")
        y = np.frombuffer(y, dtype=y_dtype)
        bad = ~np.isin(y, (0, 1))
        if bad.any():
            raise ImportFormatError(f"{self.path}: field 'y' holds {y[bad][0].item()!r} at jet {int(np.flatnonzero(bad)[0])}; "
                                    "expected 1 (quark) or 0 (gluon)")
        self.y = y.astype(np.int64)

    def _read_exact(self, stream, n_bytes: int, key: str, n_rows: int) -> bytes:
        try:
            data = stream.read(n_bytes)
        except (zipfile.BadZipFile, EOFError, OSError) as err:
            raise ImportFormatError(f"{self.path}: field '{key}' could not be read ({err}); truncated file?") from None
        if len(data) != n_bytes:
            raise ImportFormatError(f"{self.path}: field '{key}' ends after {len(data)} of {n_bytes} bytes "
                                    f"({n_rows} rows expected); truncated file?")
        return data

    def chunks(self, chunk_size: int, skip: set[int]) -> Iterator[tuple[int, int, dict | None]]:
        row_bytes = self.max_particles * 4 * self.x_dtype.itemsize
        try:
            with zipfile.ZipFile(self.path) as archive, archive.open(_member(archive, "X", self.path)) as stream:
                _header(stream, self.path, "X")
                for i, start in enumerate(range(0, self.n_jets, chunk_size)):
                    stop = min(start + chunk_size, self.n_jets)
                    raw = self._read_exact(stream, (stop - start) * row_bytes, "X", self.n_jets)
                    if i in skip:
                        yield start, stop, None
                        continue
                    x = np.frombuffer(raw, dtype=self.x_dtype).reshape(stop - start, self.max_particles, 4)
                    yield start, stop, self._columns(x, self.y[start:stop], start)
        except zipfile.BadZipFile as err:
            raise ImportFormatError(f"{self.path}: field 'X' could not be read ({err}); truncated file?") from None

    def _columns(self, x: np.ndarray, y: np.ndarray, start: int) -> dict:
        x = x.astype(np.float64)
        real = x[:, :, 0] > 0  # zero padding has pT = 0
        counts = real.sum(axis=1)
        pt, rap, phi, pid = (x[:, :, k][real] for k in range(4))
        pid = pid.astype(np.int64)
        apid = np.abs(pid)
        known = np.isin(apid, list(PDG_MASS_CHARGE))
        if not known.all():
            jet = start + int(np.repeat(np.arange(len(counts)), counts)[~known][0])
            raise ImportFormatError(f"{self.path}: field 'X[..., 3]' (pdgid) holds {pid[~known][0]} in jet {jet}; "
                                    f"expected one of the stable particles {sorted(PDG_MASS_CHARGE)} (with sign)")
        mass, charge = _TABLE[apid, 0], _TABLE[apid, 1] * np.sign(pid)
        mt = np.sqrt(pt**2 + mass**2)
        p4 = {"px": pt * np.cos(phi), "py": pt * np.sin(phi), "pz": mt * np.sinh(rap), "energy": mt * np.cosh(rap)}
        jagged = {k: ak.unflatten(v, counts) for k, v in p4.items()}
        jet = jet_columns_from_constituents(jagged["px"], jagged["py"], jagged["pz"], jagged["energy"])
        columns = {f"part_{k}": ak.unflatten(v.astype(np.float32), counts) for k, v in p4.items()}
        columns["part_pid"] = ak.unflatten(pid.astype(np.int32), counts)
        columns["part_charge"] = ak.unflatten(charge.astype(np.int8), counts)
        columns.update(jet)
        columns["jet_nparticles"] = counts.astype(np.int32)
        columns["label"] = [QG_LABELS[int(v)] for v in y]
        return columns


def import_qg(files: Sequence[str | Path], out: str | Path, *, view: str = "nominal", chunk_size: int = 50_000,
              progress: bool = True) -> ImportedView:
    """Import q/g ``.npz`` files as one view of the dataset ``out``.

    Args:
        files: the ``.npz`` files, in order (e.g. ``QG_jets.npz``, ``QG_jets_1.npz``, ...).
        out: the dataset directory (created, resumed, or appended to with a new view).
        view: the view name, e.g. ``pythia`` or ``herwig``.
        chunk_size: jets per shard (peak memory grew by 6.4 kB per jet of chunk with 70 particle
            slots; it scales with the slots M of the file).
        progress: show a progress bar.

    Raises:
        ImportFormatError: a file not in the published layout (file and field named).
    """
    sources = [QGSource(f) for f in files]  # every file is checked before anything is written
    return import_view("qg", sources, out, view=view, chunk_size=chunk_size, progress=progress)
