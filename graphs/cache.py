"""A graph-ready cache of a dataset: contiguous, memory-mapped arrays of what the model reads.

Built once per (dataset, graph settings) from the Parquet shards, then read by
:mod:`graphs.cached_loader` with a few vectorised gathers per batch instead of one
Python object per jet. Layout of ``DIR`` (``<dataset>/.graph-cache/<name>/``)::

    manifest.json     schema, the graph settings, the dataset fingerprint, array shapes and dtypes
    x.bin             node features, float32 [n_nodes, F] (normalised, as Data.x)
    pos.bin           (d_eta, d_phi), float32 [n_nodes, 2]
    node_offsets.bin  int64 [n_jets + 1]: the nodes of jet j are rows node_offsets[j]:node_offsets[j + 1]
    raw.bin           particle-like graphs with augmentations: (pT, d_eta, d_phi, mass, pid, charge,
                      d0, dz), float32 [n_nodes, 8], the input of the batched JetCLR augmentations;
                      axis.bin: (pT, eta, E) of the jet axis the features are relative to, float64 [n_jets, 3]
    node_type.bin     detector graphs: int8 [n_nodes]
    edge_index.bin    detector graphs: int32 [n_edges, 2] (source, target), node indices local to their jet
    edge_type.bin     detector graphs: int8 [n_edges]
    edge_offsets.bin  detector graphs: int64 [n_jets + 1]
    group_id.bin, view.bin (int16 code into manifest "views"), label.bin (int16 code into
    manifest "labels"), jet_pt.bin, jet_eta.bin, jet_energy.bin (float32, GeV): one row per jet

Jets are in shard order, rows in file order. Particle-like graphs keep the
``max_particles`` highest-pT (or energy) constituents, ordered as the per-jet builder
orders them; their features come from the same :func:`graphs.particle_graph.particle_features`,
evaluated on a whole shard at once. Detector graphs are built per jet with
:class:`graphs.builder.GraphBuilder`, typed edges included.

Freshness: ``manifest.json`` records the settings and a fingerprint of the shards
(names, sizes and the Parquet footers) and is written last, after every array, in a
temporary directory renamed into place: a killed build leaves no usable cache, and
a changed dataset or ``data`` section gets a new cache (:func:`open_cache` rebuilds).
Building twice gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from sim_pairs.io import DatasetError, read_metadata, shard_paths

from .constituents import Constituents
from .contract import DataContract
from .features import wrap_phi
from .particle_graph import particle_features
from .shard_reader import INPUT_COLUMNS, ShardArrays

__all__ = ["GraphCache", "CacheError", "open_cache", "build_cache", "cache_dir_for", "dataset_fingerprint", "CACHE_SCHEMA"]

log = logging.getLogger(__name__)

CACHE_SCHEMA = "rs3l-graph-cache/1"

#: raw constituent columns stored for the batched augmentations, in this order.
RAW_COLUMNS = ("pt", "deta", "dphi", "mass", "pid", "charge", "d0", "dz")

_JET_ARRAYS = {"group_id": np.int64, "view": np.int16, "label": np.int16,
               "jet_pt": np.float32, "jet_eta": np.float32, "jet_energy": np.float32}


class CacheError(DatasetError):
    """A graph cache that is missing, damaged or made from other inputs."""


def cache_settings(contract: DataContract) -> dict:
    """The parts of the ``data`` section that change the cached arrays (nothing else does)."""
    settings = {"graph": contract.graph, "features": contract.feature_names(), "keep_by": contract.keep_by,
                "normalise": {k: asdict(v) for k, v in sorted(contract.normalise.items())}}
    if contract.graph == "detector":
        settings.update(max_cells=contract.max_cells, max_tracks=contract.max_tracks,
                        detector_edges=asdict(contract.detector_edges))
    else:
        settings.update(max_particles=contract.max_particles, raw=contract.augment.any)
    return json.loads(json.dumps(settings))


def dataset_fingerprint(data_dir: Path) -> dict:
    """Names, sizes and a hash of each shard's Parquet footer (which holds its statistics)."""
    shards = shard_paths(data_dir)
    if not shards:
        raise DatasetError(f"{data_dir}: no shard-*.parquet files")
    digest = hashlib.sha256()
    for path in shards:
        size = path.stat().st_size
        with open(path, "rb") as f:
            f.seek(max(0, size - 65536))
            tail = f.read()
        digest.update(f"{path.name}:{size}:".encode())
        digest.update(tail)
    meta = data_dir / "metadata.json"
    if meta.is_file():
        digest.update(meta.read_bytes())
    return {"shards": len(shards), "sha256": digest.hexdigest()}


def cache_dir_for(data_dir: str | Path, contract: DataContract, root: str | Path | None = None) -> Path:
    """Where the cache of ``data_dir`` under ``contract`` lives (``root`` defaults to ``data_dir/.graph-cache``)."""
    settings = json.dumps(cache_settings(contract), sort_keys=True)
    name = f"{contract.graph}-{hashlib.sha256(settings.encode()).hexdigest()[:12]}"
    return Path(root) / name if root is not None else Path(data_dir) / ".graph-cache" / name


class GraphCache:
    """A built cache, its arrays memory-mapped read-only.

    Attributes: the arrays of the module docstring by name (``x``, ``pos``, ``node_offsets``,
    ``group_id``, ...), ``views`` and ``labels`` (the code tables), ``graph``, ``n_jets``.
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        manifest = self.directory / "manifest.json"
        if not manifest.is_file():
            raise CacheError(f"{self.directory}: no manifest.json: not a complete graph cache "
                             f"(delete the directory, or run `rs3l prepare --rebuild`)")
        try:
            self.manifest = json.loads(manifest.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise CacheError(f"{manifest}: damaged ({err}); delete {self.directory} or run `rs3l prepare --rebuild`") from None
        if self.manifest.get("schema") != CACHE_SCHEMA:
            raise CacheError(f"{manifest}: field 'schema' is {self.manifest.get('schema')!r}, expected {CACHE_SCHEMA!r}; "
                             f"delete {self.directory} or run `rs3l prepare --rebuild`")
        self.graph = self.manifest["settings"]["graph"]
        self.views, self.labels = list(self.manifest["views"]), list(self.manifest["labels"])
        for name, spec in self.manifest["arrays"].items():
            setattr(self, name, self._map(name, spec))
        self.n_jets = len(self.group_id)
        self._check_tables()

    def _check_tables(self) -> None:
        """Offsets and codes in range: a damaged cache is named here, not met as an IndexError in a loader worker."""
        rebuild = f"delete {self.directory} or run `rs3l prepare --rebuild`"
        checks = [("node_offsets", self.node_offsets, len(self.x)), ("edge_offsets", getattr(self, "edge_offsets", None),
                                                                     len(getattr(self, "edge_index", ())))]
        for name, offsets, total in checks:
            if offsets is None:
                continue
            o = np.asarray(offsets)
            if len(o) != self.n_jets + 1 or o[0] != 0 or o[-1] != total or np.any(np.diff(o) < 0):
                raise CacheError(f"{self.directory / (name + '.bin')}: offsets are not 0 .. {total} rising over "
                                 f"{self.n_jets} jets (damaged); {rebuild}")
        for name, table in (("view", self.views), ("label", self.labels)):
            codes = np.asarray(getattr(self, name))
            if len(codes) and (codes.min() < 0 or codes.max() >= len(table)):
                raise CacheError(f"{self.directory / (name + '.bin')}: codes outside the manifest's {len(table)} "
                                 f"{name}s (damaged); {rebuild}")

    def __getstate__(self) -> dict:  # a worker process maps the files again instead of receiving copies
        return {"directory": self.directory}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["directory"])

    def _map(self, name: str, spec: dict) -> np.ndarray:
        path = self.directory / f"{name}.bin"
        dtype, shape = np.dtype(spec["dtype"]), tuple(spec["shape"])
        expected = int(np.prod(shape)) * dtype.itemsize
        size = path.stat().st_size if path.is_file() else -1
        if size != expected:
            raise CacheError(f"{path}: {'missing' if size < 0 else f'{size} bytes'}, expected {expected} bytes "
                             f"(truncated or damaged); delete {self.directory} or run `rs3l prepare --rebuild`")
        if expected == 0:
            return np.zeros(shape, dtype)
        return np.memmap(path, dtype=dtype, mode="r", shape=shape)

    def __len__(self) -> int:
        return self.n_jets

    def __repr__(self) -> str:
        return f"GraphCache({self.directory}, graph={self.graph}, jets={self.n_jets}, nodes={len(self.x)})"


def open_cache(data_dir: str | Path, contract: DataContract, *, root: str | Path | None = None,
               build: bool = True, progress: bool = True) -> GraphCache:
    """The cache of ``data_dir`` for ``contract``, built (or rebuilt, when the dataset
    changed since) when ``build``; otherwise a :class:`CacheError` says what to run."""
    data_dir = Path(data_dir)
    directory = cache_dir_for(data_dir, contract, root)
    fingerprint = dataset_fingerprint(data_dir)
    if (directory / "manifest.json").is_file():
        cache = GraphCache(directory)
        if cache.manifest.get("dataset") == fingerprint:
            return cache
        if not build:
            raise CacheError(f"{directory}: made from another version of {data_dir} (its shards changed); "
                             f"run `rs3l prepare --data {data_dir}` to rebuild it")
        log.info("%s: the dataset changed since the graph cache was built; rebuilding it", data_dir)
    elif not build:
        raise CacheError(f"{directory}: no graph cache for this data section; run `rs3l prepare --data {data_dir}`")
    build_cache(data_dir, contract, directory, progress=progress)
    return GraphCache(directory)


class _Writer:
    """Appends arrays to ``name.bin`` files and remembers their shapes."""

    def __init__(self, directory: Path):
        self.directory, self.files, self.shapes, self.dtypes = directory, {}, {}, {}

    def add(self, name: str, values: np.ndarray) -> None:
        values = np.ascontiguousarray(values)
        if name not in self.files:
            self.files[name] = open(self.directory / f"{name}.bin", "wb")
            self.shapes[name], self.dtypes[name] = (0,) + values.shape[1:], values.dtype
        if values.dtype != self.dtypes[name] or values.shape[1:] != self.shapes[name][1:]:
            raise ValueError(f"{name}: appending {values.dtype} {values.shape[1:]} to {self.dtypes[name]} {self.shapes[name][1:]}")
        self.files[name].write(values.tobytes())
        self.shapes[name] = (self.shapes[name][0] + len(values),) + self.shapes[name][1:]

    def close(self) -> dict:
        for f in self.files.values():
            f.flush()
            os.fsync(f.fileno())
            f.close()
        return {name: {"dtype": self.dtypes[name].str, "shape": list(self.shapes[name])} for name in self.files}


def build_cache(data_dir: str | Path, contract: DataContract, directory: str | Path | None = None, *,
                progress: bool = True) -> Path:
    """Convert the shards of ``data_dir`` into a cache directory (atomically); returns it."""
    from tqdm.auto import tqdm

    data_dir = Path(data_dir)
    directory = Path(directory) if directory is not None else cache_dir_for(data_dir, contract)
    fingerprint = dataset_fingerprint(data_dir)
    shards = shard_paths(data_dir)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".tmp", dir=directory.parent))
    try:
        writer = _Writer(tmp)
        views: dict[str, int] = {}
        labels: dict[str, int] = {}
        n_nodes = n_edges = 0
        writer.add("node_offsets", np.zeros(1, np.int64))
        if contract.graph == "detector":
            writer.add("edge_offsets", np.zeros(1, np.int64))
        bar = tqdm(shards, desc=f"graph cache ({contract.graph})", unit="shard", disable=not progress, leave=False)
        for path in bar:
            arrays = ShardArrays(path, contract.graph)
            if arrays.absent:  # an imported dataset without charge / impact parameters / type
                contract.check_columns(set(INPUT_COLUMNS[contract.graph]) - set(arrays.absent), path)
            jet = arrays.jet
            writer.add("group_id", np.asarray(jet["group_id"], np.int64))
            writer.add("view", np.array([views.setdefault(v, len(views)) for v in jet["view"]], np.int16))
            writer.add("label", np.array([labels.setdefault(v, len(labels)) for v in jet["label"]], np.int16))
            for name in ("jet_pt", "jet_eta", "jet_energy"):
                writer.add(name, np.asarray(jet[name], np.float32))
            if contract.graph == "detector":
                n_nodes, n_edges = _add_detector_shard(writer, arrays, contract, n_nodes, n_edges)
            else:
                n_nodes = _add_particle_shard(writer, arrays, contract, n_nodes)
        arrays_spec = writer.close()
        manifest = {"schema": CACHE_SCHEMA, "settings": cache_settings(contract), "dataset": fingerprint,
                    "data_dir": str(data_dir.resolve()), "views": list(views), "labels": list(labels),
                    "arrays": arrays_spec}
        try:
            manifest["dataset_metadata_seed"] = read_metadata(data_dir).get("seed")
        except DatasetError:
            pass
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        if directory.exists():  # a stale cache: moved aside first, so no reader sees it half deleted
            stale = directory.with_name(f".{directory.name}.{os.getpid()}.stale.tmp")
            os.replace(directory, stale)
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(tmp, directory)
        except OSError:  # another process put the same cache in place first
            if GraphCache(directory).manifest.get("dataset") != fingerprint:
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("graph cache written: %s", directory)
    return directory


def shard_constituents(arrays: ShardArrays, max_nodes: int, keep_by: str) -> tuple[Constituents, np.ndarray, np.ndarray]:
    """All rows' constituents of a shard as one flat :class:`Constituents` (jet values per node).

    Each row keeps its ``max_nodes`` highest-``keep_by`` constituents in decreasing order
    (as :meth:`Constituents.top` per jet); returns them, the row offsets [n_rows + 1] and
    each row's axis (pT, eta, E of the sum of all its constituents) [n_rows, 3].
    """
    prefix = "part" if arrays.graph == "particles" else "pfc"
    flat = {f: arrays.flat(f"{prefix}_{f}")[0] for f in ("px", "py", "pz", "energy", "pid", "charge", "d0", "dz")}
    offsets = arrays.flat(f"{prefix}_px")[1]
    n_rows = len(offsets) - 1
    counts = np.diff(offsets)
    row = np.repeat(np.arange(n_rows), counts)
    px, py, pz, energy = (np.asarray(flat[f], np.float64) for f in ("px", "py", "pz", "energy"))
    sx, sy, sz, se = (np.bincount(row, weights=v, minlength=n_rows) for v in (px, py, pz, energy))
    jet_pt = np.hypot(sx, sy)
    with np.errstate(divide="ignore", invalid="ignore"):
        jet_eta = np.where(jet_pt > 0, np.arcsinh(sz / np.where(jet_pt > 0, jet_pt, 1.0)), 0.0)
    jet_phi = np.arctan2(sy, sx)
    pt = np.hypot(px, py)
    eta = np.arcsinh(pz / np.maximum(pt, 1e-9))
    mass = np.sqrt(np.maximum(energy**2 - pt**2 - pz**2, 0.0))
    deta, dphi = eta - jet_eta[row], wrap_phi(np.arctan2(py, px) - jet_phi[row])
    if keep_by == "pt":
        key = pt
    else:  # the energy Constituents.energy gives, from pT, eta and mass
        key = np.sqrt(pt**2 + (pt * np.sinh(jet_eta[row] + deta)) ** 2 + mass**2)
    order = np.lexsort((-key, row))  # by row, then decreasing key; stable, like argsort(-key, stable) per jet
    rank = np.arange(len(row)) - offsets[row[order]]
    order = order[rank < max_nodes]
    r = row[order]
    jet = Constituents(
        pt=pt[order], deta=deta[order], dphi=dphi[order], mass=mass[order], pid=np.asarray(flat["pid"])[order],
        charge=np.asarray(flat["charge"])[order], d0=np.asarray(flat["d0"], np.float64)[order],
        dz=np.asarray(flat["dz"], np.float64)[order],
        jet_pt=jet_pt[r], jet_eta=jet_eta[r], jet_phi=jet_phi[r], jet_energy=se[r])
    kept = np.minimum(counts, max_nodes)
    return jet, np.concatenate([[0], np.cumsum(kept)]), np.stack([jet_pt, jet_eta, se], axis=1)


def _add_particle_shard(writer: _Writer, arrays: ShardArrays, contract: DataContract, n_nodes: int) -> int:
    from .features import PARTICLE_FEATURES

    jet, offsets, axis = shard_constituents(arrays, contract.max_particles, contract.keep_by)
    names = contract.feature_names()["particle"]
    x = particle_features(jet)[:, [PARTICLE_FEATURES.index(n) for n in names]]
    for j, name in enumerate(names):
        norm = contract.normalisation("particle", name)
        if norm is not None:
            x[:, j] = norm.apply(x[:, j])
    writer.add("x", x.astype(np.float32))
    writer.add("pos", np.stack([jet.deta, jet.dphi], axis=1).astype(np.float32))
    if contract.augment.any:
        writer.add("raw", np.stack([np.asarray(getattr(jet, c), np.float64) for c in RAW_COLUMNS], 1).astype(np.float32))
        writer.add("axis", axis)
    writer.add("node_offsets", (offsets[1:] + n_nodes).astype(np.int64))
    return n_nodes + int(offsets[-1])


def _add_detector_shard(writer: _Writer, arrays: ShardArrays, contract: DataContract, n_nodes: int,
                        n_edges: int) -> tuple[int, int]:
    from .builder import GraphBuilder

    build = GraphBuilder(contract)
    width = max(contract.input_dims().values())
    node_ends, edge_ends = [], []
    for row in range(len(arrays)):
        g = build(arrays, row, 0)
        x = g.x.numpy()
        if x.shape[1] < width:
            x = np.pad(x, ((0, 0), (0, width - x.shape[1])))
        writer.add("x", x.astype(np.float32))
        writer.add("pos", g.pos.numpy().astype(np.float32))
        writer.add("node_type", g.node_type.numpy().astype(np.int8))
        writer.add("edge_index", g.edge_index.numpy().astype(np.int32).T)
        writer.add("edge_type", g.edge_type.numpy().astype(np.int8))
        n_nodes += g.num_nodes
        n_edges += g.edge_index.shape[1]
        node_ends.append(n_nodes)
        edge_ends.append(n_edges)
    writer.add("node_offsets", np.asarray(node_ends, np.int64))
    writer.add("edge_offsets", np.asarray(edge_ends, np.int64))
    return n_nodes, n_edges
