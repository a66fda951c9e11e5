"""Reading and writing rs3l jet datasets: Parquet shards plus ``metadata.json``.

Layout of a dataset directory::

    DIR/metadata.json          config, versions, seeds, view definitions, schema version
    DIR/shard-00000.parquet    one row per (group, view), columns in sim_pairs.schema
    DIR/lhe/shard-00000.lhe.gz the hard events the shard was showered from (when generated)

Every write goes to a temporary file in the same directory and is renamed into
place, so a reader never sees half a shard and a killed job leaves nothing damaged.

Each shard written by ``rs3l generate`` carries the hash of the config it was made
with (the Parquet key-value metadata ``AWKWARD_ATTRS``, key ``config_hash``).
:func:`check_dataset` is what ``pretrain`` and ``evaluate`` call first: it reads
``metadata.json`` and refuses a dataset whose metadata is missing or invalid, which
is not ``complete`` (unless asked), whose shards differ from the ones the metadata
lists, or whose shards were made with another config (a mixed directory). A shard
that cannot be read (a damaged page, say) is a :class:`DatasetError` naming the
shard and the column.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

import logging

import awkward as ak
import numpy as np

from .schema import COLUMNS, GROUPS, READABLE_SCHEMA_VERSIONS, SCHEMA_VERSION

__all__ = [
    "package_versions",
    "DatasetError",
    "atomic_path",
    "write_shard",
    "read_shard",
    "shard_paths",
    "write_metadata",
    "read_metadata",
    "shard_name",
    "shard_config_hash",
    "shard_attrs",
    "check_dataset",
    "shard_columns",
]

_BY_NAME = {c.name: c for c in COLUMNS}

log = logging.getLogger(__name__)


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


def write_shard(columns: Mapping[str, Sequence | np.ndarray | ak.Array], path: str | Path, *,
                attrs: Mapping[str, str | int] | None = None) -> Path:
    """Write one shard atomically.

    Args:
        columns: column name -> values (one entry per row; lists for jagged columns).
            Known columns are cast to their schema dtype; extra columns are kept.
        path: the ``.parquet`` file to create.
        attrs: facts about the shard stored in the file's Parquet metadata: ``rs3l
            generate`` records ``config_hash`` (read back by :func:`shard_config_hash`)
            and ``skipped_events`` (:func:`shard_attrs` reads them all).

    Raises:
        DatasetError: columns of unequal length or an incomplete column group.
    """
    lengths = {name: len(v) for name, v in columns.items()}
    if len(set(lengths.values())) > 1:
        raise DatasetError(f"{path}: columns have different lengths: {lengths}")
    _check_groups(set(columns), path)
    array = ak.zip({name: _cast(name, v) for name, v in columns.items()}, depth_limit=1)
    if attrs:
        array = ak.Array(array, attrs=dict(attrs))
    with atomic_path(path) as tmp:
        ak.to_parquet(array, tmp, **_parquet_options(array))
    return Path(path)


#: zstd level of the shards: 9 gives 3% smaller files than the default 3 on the quickstart's
#: detector shards, writing 63 MB/s of columns instead of 236 (0.5 s for a 200-event QCD
#: shard that took about 10 s to generate).
ZSTD_LEVEL = 9


def _parquet_options(array: ak.Array) -> dict:
    """Encodings chosen for size (docs/generation.md#output, measured on the quickstart's shards).

    Floats are byte-stream split (their exponent bytes then compress: cell energies
    4.1 -> 3.7 KB per row, track positions per layer -35%); so is ``cell_index``, whose
    high bytes repeat within a jet (1.2 KB per row of ~1100 cells, against 1.7 plain
    and 1.9 delta encoded); strings (view, label, process) are dictionary encoded.
    """
    split = {"cell_index.list.item": "BYTE_STREAM_SPLIT"} if "cell_index" in array.fields else {}
    return {"compression": "zstd", "compression_level": ZSTD_LEVEL, "parquet_dictionary_encoding": True,
            "parquet_byte_stream_split": True, "parquet_extra_options": {"column_encoding": split} if split else None}


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
    if "cell_x" in fields and "cell_index" not in fields:
        raise DatasetError(f"{path}: column 'cell_index' missing and 'cell_x' present: a schema version 1 shard "
                           f"(cell positions per cell); this rs3l reads version {SCHEMA_VERSION}, regenerate the dataset")
    _check_groups(fields, path)
    wanted = list(columns) if columns is not None else sorted(fields)
    missing = [c for c in wanted if c not in fields]
    if missing:
        raise DatasetError(
            f"{path}: required column(s) {', '.join(missing)} not in the shard; it has {', '.join(sorted(fields))}"
        )
    array = _read_columns(path, wanted)
    for name in wanted:
        column = _BY_NAME.get(name)
        if column is None or column.dtype == "string":
            continue
        got = str(ak.type(array[name]).content).replace("?", "")
        if not got.endswith(column.dtype):
            raise DatasetError(f"{path}: column '{name}' has type {got}, expected {column.dtype}")
    return array


def _read_columns(path: Path, wanted: list[str]) -> ak.Array:
    try:
        return ak.from_parquet(path, columns=wanted)
    except Exception as err:  # pyarrow raises OSError, ArrowInvalid, ... for a damaged page
        # name the column: read them one by one until one fails
        bad = next((c for c in wanted if not _column_readable(path, c)), None)
        where = f"column '{bad}'" if bad is not None else f"columns {', '.join(wanted)}"
        raise DatasetError(f"{path}: {where} cannot be read, the file is damaged "
                           f"({type(err).__name__}: {_first_line(err)})") from None


def _column_readable(path: Path, column: str) -> bool:
    try:
        ak.from_parquet(path, columns=[column])
    except Exception:
        return False
    return True


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else "no message"


def shard_config_hash(path: str | Path) -> str | None:
    """The config hash stored in a shard by :func:`write_shard` (None when it has none).

    Raises:
        DatasetError: the file's footer cannot be read.
    """
    value = shard_attrs(path).get("config_hash")
    return value if isinstance(value, str) else None


def shard_attrs(path: str | Path) -> dict:
    """The ``attrs`` stored in a shard by :func:`write_shard` (empty when it has none).

    Raises:
        DatasetError: the file's footer cannot be read.
    """
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
    except Exception as err:
        raise DatasetError(f"{path}: not a readable Parquet file ({type(err).__name__}: {_first_line(err)})") from None
    try:
        attrs = json.loads(meta.get(b"AWKWARD_ATTRS", b"{}"))
    except (ValueError, UnicodeDecodeError):
        raise DatasetError(f"{path}: Parquet metadata 'AWKWARD_ATTRS' is not valid JSON") from None
    return attrs if isinstance(attrs, dict) else {}


def package_versions(names: Sequence[str]) -> dict[str, str]:
    """Installed versions of ``names`` for a dataset's provenance ("not installed" when absent).

    "rs3l" is the distribution that ships sim_pairs too: its installed metadata is read, not
    the rs3l package (sim_pairs never imports what comes after it in the flow).
    """
    from importlib import metadata

    out = {}
    for package in names:
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


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
        body = json.loads(path.read_bytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DatasetError(f"{path}: not valid JSON: {err}") from None
    except OSError as err:
        raise DatasetError(f"{path}: cannot be read ({err.strerror or err})") from None
    if not isinstance(body, dict):
        raise DatasetError(f"{path}: expected a JSON object (mapping), got {type(body).__name__}")
    version = body.get("schema_version")
    if version not in READABLE_SCHEMA_VERSIONS:
        hint = (": version 1 stored cell positions per cell, versions 2 and 3 a cell index into the card; regenerate "
                "the dataset (rs3l generate into a new directory)") if version == 1 else ""
        raise DatasetError(f"{path}: field 'schema_version' is {version!r}, this rs3l reads versions "
                           f"{', '.join(map(str, READABLE_SCHEMA_VERSIONS))}{hint}")
    return body


def check_dataset(directory: str | Path, *, allow_incomplete: bool = False) -> dict:
    """Read and check a dataset's ``metadata.json`` and shards before anything trains on them.

    Checks: the metadata exists and is a JSON object of this schema version;
    ``complete`` is a boolean and true (a stopped ``rs3l generate`` leaves it false:
    the same command finishes it); ``shards`` names exactly the ``shard-*.parquet``
    files present; every shard carries the metadata's ``config_hash``. Metadata from
    other writers (test fixtures, converted datasets: ``generator`` is not
    ``sim_pairs.generate``) may leave out ``complete``, ``shards`` and ``config_hash``.

    Args:
        directory: the dataset directory.
        allow_incomplete: accept ``complete: false`` (with a warning), e.g. to look at a
            dataset while it is generated; every other check still applies.

    Returns:
        the metadata mapping.

    Raises:
        DatasetError: one line naming the file and the field, and what was expected.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DatasetError(f"{directory}: dataset directory not found" if not directory.exists()
                           else f"{directory}: is a file, expected a dataset directory")
    meta = read_metadata(directory)
    path = directory / "metadata.json"
    generated = meta.get("generator") == "sim_pairs.generate"
    present = [p.name for p in shard_paths(directory)]
    complete = meta.get("complete")
    if complete is None and not generated:
        log.info("%s: no 'complete' field (written by %s); taking every shard present", path,
                 meta.get("generator", "an unknown writer"))
    elif not isinstance(complete, bool):
        raise DatasetError(f"{path}: field 'complete' is {complete!r}, expected true or false")
    elif not complete:
        message = (f"{path}: field 'complete' is false: generation has not finished ({len(present)} shard(s) so far); "
                   "the same `rs3l generate` command finishes it")
        if not allow_incomplete:
            raise DatasetError(message + ", or pass --allow-incomplete to use it as it is")
        log.warning("%s (used anyway: --allow-incomplete)", message)
    if not present:
        raise DatasetError(f"{directory}: no shard-*.parquet files: the dataset is empty")
    listed = meta.get("shards")
    if listed is None and generated:
        raise DatasetError(f"{path}: field 'shards' is missing, expected the mapping of shard names to counts")
    if listed is not None and not isinstance(listed, dict):
        raise DatasetError(f"{path}: field 'shards' is {type(listed).__name__}, expected a mapping of shard names")
    if listed and complete:
        extra, missing = sorted(set(present) - set(listed)), sorted(set(listed) - set(present))
        if extra:
            raise DatasetError(f"{directory / extra[0]}: shard not listed in {path} field 'shards' "
                               f"({len(extra)} such file(s)): the directory mixes datasets")
        if missing:
            raise DatasetError(f"{directory / missing[0]}: listed in {path} field 'shards' but missing "
                               f"({len(missing)} of {len(listed)} shard(s) missing)")
    digest = meta.get("config_hash")
    if digest is None and generated:
        raise DatasetError(f"{path}: field 'config_hash' is missing")
    if digest is not None:
        if not isinstance(digest, str):
            raise DatasetError(f"{path}: field 'config_hash' is {digest!r}, expected a hex string")
        for name in present:
            found = shard_config_hash(directory / name)
            if found != digest:
                what = "no config hash" if found is None else f"config hash {found[:12]}..."
                raise DatasetError(
                    f"{directory / name}: shard made with {what}, but {path} field 'config_hash' is {digest[:12]}...: "
                    "the directory mixes shards of different configs or seeds; regenerate into a new directory")
    return meta
