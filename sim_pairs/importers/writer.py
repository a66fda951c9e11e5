"""Writing one view of an imported public dataset into an rs3l dataset directory.

Every importer (:mod:`.jetclass`, :mod:`.toptag`, :mod:`.qg`) opens its files as
:class:`Source` objects that know their jet count and yield chunks of columns; this
module turns the chunks into shards of the schema of ``sim_pairs.schema``:

* one shard per chunk (``chunk_size`` jets), so memory is bounded by a chunk whatever
  the size of the file (peak memory grew by 5.6 kB per jet of chunk on Top Tagging-layout
  files and 6.4 kB on q/g files of 70 particle slots: ~0.3 GB at the default 50k);
* shards and ``metadata.json`` are written atomically (``sim_pairs.io``);
* ``metadata.json`` (``generator``: ``sim_pairs.importers``) lists the shards (name ->
  view, jets) and, under ``imports``, each view's files (name, bytes, jets), chunk
  size and shard range before any shard is written, so a killed import resumes: the
  same command skips the shards already on disk (a shard is complete or absent);
* a second view (``--view herwig``) is appended to the same directory with the next
  shard indices; its jets get their own ``group_id`` s, so no group spans two views:
  the views of an imported dataset are *unmatched* (different events).

Jet columns that a source has no value for are NaN (``jet_sdmass`` of Top Tagging and
q/g, every ``parton_*``) and ``parton_pid`` 0; ``group_id`` = (view index + 1) x 2^40 +
jet index within the view, ``event_number`` = row of the jet in its source file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol, Sequence

import awkward as ak
import numpy as np

from ..io import DatasetError, package_versions, read_metadata, read_shard, shard_name, write_metadata, write_shard
from ..readers.root_tree import ReaderError

__all__ = ["ImportFormatError", "Source", "ImportedView", "import_view", "jet_columns_from_constituents"]

log = logging.getLogger(__name__)

_GROUP_STRIDE = 1 << 40


class ImportFormatError(ReaderError):
    """An input file that does not follow its published layout (the message names file and field)."""


class Source(Protocol):
    """One input file of a public dataset, opened and checked.

    Attributes:
        path: the file.
        n_jets: jets in the file.
    """

    path: Path
    n_jets: int

    def chunks(self, chunk_size: int, skip: set[int]) -> Iterator[tuple[int, int, dict | None]]:
        """Yield ``(start, stop, columns)`` for consecutive chunks; ``columns`` is None for a
        chunk index in ``skip`` (already written), else the chunk's particle columns, ``label``
        and whatever jet columns the format has."""


@dataclass(frozen=True)
class ImportedView:
    """What :func:`import_view` wrote (or found already written).

    Attributes:
        out: the dataset directory.
        view: the view name.
        n_jets: jets of this view.
        shards: the view's shard files.
        labels: label -> jets.
        resumed_shards: shards found complete on disk and not rewritten.
    """

    out: Path
    view: str
    n_jets: int
    shards: tuple[Path, ...]
    labels: dict
    resumed_shards: int


def jet_columns_from_constituents(px, py, pz, energy) -> dict[str, np.ndarray]:
    """Jet four-vector as the sum of its constituents (GeV), per jet.

    Args:
        px, py, pz, energy: awkward arrays [jets, var] (any float type; summed in float64).

    Returns:
        ``jet_pt``, ``jet_eta``, ``jet_phi``, ``jet_energy``, ``jet_mass`` (float64 [jets]).
    """
    sums = [ak.to_numpy(ak.sum(ak.values_astype(a, np.float64), axis=1)) for a in (px, py, pz, energy)]
    sx, sy, sz, se = sums
    pt = np.hypot(sx, sy)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(pt > 0, np.arcsinh(sz / np.where(pt > 0, pt, 1.0)), 0.0)
    mass = np.sqrt(np.maximum(se**2 - sx**2 - sy**2 - sz**2, 0.0))
    return {"jet_pt": pt, "jet_eta": eta, "jet_phi": np.arctan2(sy, sx), "jet_energy": se, "jet_mass": mass}


def _versions() -> dict[str, str]:
    return package_versions(("rs3l", "awkward", "pyarrow", "numpy", "uproot", "h5py"))


def _fingerprint(sources: Sequence[Source]) -> list[dict]:
    return [{"name": s.path.name, "bytes": s.path.stat().st_size, "jets": int(s.n_jets)} for s in sources]


def _plan(out: Path, fmt: str, view: str, sources: Sequence[Source], chunk_size: int, settings: dict) -> tuple[dict, dict]:
    """The dataset's metadata and this view's entry in it (new, or the one to resume)."""
    files = _fingerprint(sources)
    n_shards = sum(-(-s.n_jets // chunk_size) for s in sources)
    if (out / "metadata.json").exists():
        meta = read_metadata(out)
        if "imports" not in meta:
            raise DatasetError(f"{out}/metadata.json: field 'imports' missing: {out} was not written by rs3l import, "
                               "so a view cannot be appended to it; use a new --out")
    else:
        if out.exists() and any(out.glob("shard-*.parquet")):
            raise DatasetError(f"{out}: holds shards but no metadata.json; use a new --out")
        meta = {"generator": "sim_pairs.importers", "versions": _versions(), "imports": [], "shards": {}}
    for index, entry in enumerate(meta["imports"]):
        if entry["view"] != view:
            continue
        wanted = {"format": fmt, "files": files, "chunk_size": chunk_size, "settings": settings}
        for key, value in wanted.items():
            if entry.get(key) != value:
                raise DatasetError(
                    f"{out}/metadata.json: view '{view}' was imported with {key} = {entry.get(key)!r}, this run has "
                    f"{value!r}; use another --view name or a new --out (shards are never mixed)")
        return meta, entry
    first = sum(e["n_shards"] for e in meta["imports"])
    entry = {"view": view, "view_index": len(meta["imports"]), "format": fmt, "files": files,
             "chunk_size": chunk_size, "settings": settings, "first_shard": first, "n_shards": n_shards,
             "n_jets": int(sum(s.n_jets for s in sources)), "labels": {}, "complete": False}
    meta["imports"].append(entry)
    meta["complete"] = False
    write_metadata(out, meta)  # recorded before any shard, so a killed run resumes the same plan
    return meta, entry


def _jet_rows(columns: dict, n: int, *, first_jet: int, start: int, view_index: int, view: str, fmt: str,
              detector_view: str) -> dict:
    """The schema's ``jet`` columns for one chunk (values the source lacks are NaN / 0)."""
    nan = np.full(n, np.nan)
    out = {
        "group_id": (view_index + 1) * _GROUP_STRIDE + first_jet + np.arange(n, dtype=np.int64),
        "event_number": start + np.arange(n, dtype=np.int64),
        "view": [view] * n,
        "shower_view": [view] * n,
        "detector_view": [detector_view] * n,
        "process": [fmt] * n,
        "jet_sdmass": nan,
        "parton_px": nan, "parton_py": nan, "parton_pz": nan, "parton_energy": nan,
        "parton_pid": np.zeros(n, np.int32),
    }
    out.update(columns)
    return out


def import_view(fmt: str, sources: Sequence[Source], out: str | Path, *, view: str, chunk_size: int,
                detector_view: str = "", settings: dict | None = None, progress: bool = True) -> ImportedView:
    """Write the jets of ``sources`` as view ``view`` of the dataset ``out``.

    Args:
        fmt: the format name (``jetclass``, ``toptag``, ``qg``), also the ``process`` column.
        sources: the opened input files, in order.
        out: the dataset directory (created, resumed or appended to).
        view: the view name of these jets.
        chunk_size: jets per shard.
        detector_view: the ``detector_view`` column ('' at truth level).
        settings: importer options that change the output (recorded; a resume must match).
        progress: show a tqdm progress bar.

    Raises:
        DatasetError: ``out`` holds another dataset, or this view with other files or settings.
        ImportFormatError: a file does not follow its layout (file and field named).
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if not view or "/" in view:
        raise ValueError(f"view must be a non-empty name without '/', got {view!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    meta, entry = _plan(out, fmt, view, sources, chunk_size, dict(settings or {}))
    index = entry["first_shard"]
    shards, labels, resumed, done = [], {}, 0, 0
    bar = _progress(entry["n_jets"], f"import {fmt} -> {view}", progress)
    first_jet = 0
    for source in sources:
        n_chunks = -(-source.n_jets // chunk_size)
        present = {i for i in range(n_chunks) if (out / shard_name(index + i)).is_file()}
        for i, (start, stop, columns) in enumerate(source.chunks(chunk_size, present)):
            path = out / shard_name(index + i)
            n = stop - start
            if columns is None:
                got = read_shard(path, ["label"])["label"].to_list()
                if len(got) != n:
                    raise DatasetError(f"{path}: holds {len(got)} jets, the import plan has {n}; use a new --out")
                resumed += 1
            else:
                rows = _jet_rows(columns, n, first_jet=first_jet + start, start=start, view_index=entry["view_index"],
                                 view=view, fmt=fmt, detector_view=detector_view)
                write_shard(rows, path)
                got = list(columns["label"])
            meta["shards"][path.name] = {"view": view, "jets": n}
            for label in got:
                labels[label] = labels.get(label, 0) + 1
            shards.append(path)
            done += n
            bar.update(n)
        index += n_chunks
        first_jet += source.n_jets
    bar.close()
    entry.update(labels=dict(sorted(labels.items())), complete=True)
    meta["complete"] = all(e["complete"] for e in meta["imports"])
    meta["views"] = [e["view"] for e in meta["imports"]]
    meta["shards"] = dict(sorted(meta["shards"].items()))
    write_metadata(out, meta)
    if resumed:
        log.info("%s: %d of %d shards of view '%s' were already complete", out, resumed, len(shards), view)
    return ImportedView(out, view, done, tuple(shards), dict(sorted(labels.items())), resumed)


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress(total: int, desc: str, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="jet", unit_scale=True)
