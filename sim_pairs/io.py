"""Reading and writing rs3l jet datasets: Parquet shards plus ``metadata.json``.

Layout of a dataset directory::

    DIR/metadata.json          config, versions, seeds, view definitions, schema version
    DIR/shard-00000.parquet    one row per (group, view), columns in sim_pairs.schema
    DIR/lhe/shard-00000.lhe.gz the hard events the shard was showered from (when generated)

Every write goes to a temporary file in the same directory and is renamed into
place, so a reader never sees half a shard and a killed job leaves nothing damaged.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

import awkward as ak
import numpy as np

from .schema import COLUMNS, GROUPS, SCHEMA_VERSION

__all__ = [
    "DatasetError",
    "atomic_path",
    "write_shard",
    "read_shard",
    "shard_paths",
    "write_metadata",
    "read_metadata",
    "shard_name",
    "shard_columns",
]

_BY_NAME = {c.name: c for c in COLUMNS}


class DatasetError(ValueError):
    """A dataset file that does not follow the rs3l schema."""


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    On an exception the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def shard_name(index: int) -> str:
    return f"shard-{index:05d}.parquet"


def shard_paths(directory: str | Path) -> list[Path]:
    """The complete shards of a dataset, sorted by index (temporary files are ignored)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DatasetError(f"{directory}: dataset directory not found")
    return sorted(directory.glob("shard-*.parquet"))


def _cast(name: str, values) -> ak.Array:
    column = _BY_NAME.get(name)
    array = ak.Array(values) if not isinstance(values, ak.Array) else values
    if column is None or column.dtype == "string":
        return array
    return ak.values_astype(array, np.dtype(column.dtype))


def write_shard(columns: Mapping[str, Sequence | np.ndarray | ak.Array], path: str | Path) -> Path:
    """Write one shard atomically.

    Args:
        columns: column name -> values (one entry per row; lists for jagged columns).
            Known columns are cast to their schema dtype; extra columns are kept.
        path: the ``.parquet`` file to create.

    Raises:
        DatasetError: columns of unequal length or an incomplete column group.
    """
    lengths = {name: len(v) for name, v in columns.items()}
    if len(set(lengths.values())) > 1:
        raise DatasetError(f"{path}: columns have different lengths: {lengths}")
    _check_groups(set(columns), path)
    array = ak.zip({name: _cast(name, v) for name, v in columns.items()}, depth_limit=1)
    with atomic_path(path) as tmp:
        ak.to_parquet(array, tmp, compression="zstd")
    return Path(path)


def _check_groups(names: set[str], path) -> set[str]:
    present = set()
    for group in GROUPS:
        # optional columns (per-particle attributes an imported dataset may lack) are not demanded
        expected = {c.name for c in COLUMNS if c.group == group and not c.optional}
        have = {c.name for c in COLUMNS if c.group == group} & names
        if group == "jet" or have:
            missing = sorted(expected - names)
            if missing:
                raise DatasetError(
                    f"{path}: column group '{group}' is missing column(s) {', '.join(missing)}; "
                    f"a shard with any '{group}' column needs all of {', '.join(sorted(expected))}"
                )
            present.add(group)
    return present


def shard_columns(path: str | Path) -> set[str]:
    """The column names a shard holds, read from its Parquet footer only.

    Raises:
        DatasetError: the file is missing or not readable Parquet.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: shard not found")
    try:
        return set(ak.metadata_from_parquet(path)["form"].fields)
    except Exception as err:  # pyarrow raises several types for a damaged file
        raise DatasetError(f"{path}: not a readable Parquet file ({err})") from None


def read_shard(path: str | Path, columns: Iterable[str] | None = None) -> ak.Array:
    """Read a shard, checking that it follows the schema.

    Args:
        path: a ``shard-*.parquet`` file.
        columns: the columns to load (all when None); each must exist in the file.

    Raises:
        DatasetError: naming the file and the missing column or wrong dtype.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: shard not found")
    try:
        meta = ak.metadata_from_parquet(path)
    except Exception as err:  # pyarrow raises several types for a damaged file
        raise DatasetError(f"{path}: not a readable Parquet file ({err})") from None
    fields = set(meta["form"].fields)
    _check_groups(fields, path)
    wanted = list(columns) if columns is not None else sorted(fields)
    missing = [c for c in wanted if c not in fields]
    if missing:
        raise DatasetError(
            f"{path}: required column(s) {', '.join(missing)} not in the shard; it has {', '.join(sorted(fields))}"
        )
    array = ak.from_parquet(path, columns=wanted)
    for name in wanted:
        column = _BY_NAME.get(name)
        if column is None or column.dtype == "string":
            continue
        got = str(ak.type(array[name]).content).replace("?", "")
        if not got.endswith(column.dtype):
            raise DatasetError(f"{path}: column '{name}' has type {got}, expected {column.dtype}")
    return array


def write_metadata(directory: str | Path, metadata: Mapping) -> Path:
    """Write ``metadata.json`` atomically, stamped with the schema version."""
    path = Path(directory) / "metadata.json"
    body = {"schema_version": SCHEMA_VERSION, **metadata}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(body, indent=2, sort_keys=True, default=str) + "\n")
    return path


def read_metadata(directory: str | Path) -> dict:
    """Read ``metadata.json``, checking the schema version."""
    path = Path(directory) / "metadata.json"
    if not path.is_file():
        raise DatasetError(f"{path}: dataset metadata not found (is {directory} an rs3l dataset?)")
    try:
        body = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DatasetError(f"{path}: not valid JSON: {err}") from None
    version = body.get("schema_version")
    if version != SCHEMA_VERSION:
        raise DatasetError(f"{path}: field 'schema_version' is {version!r}, this rs3l reads version {SCHEMA_VERSION}")
    return body
