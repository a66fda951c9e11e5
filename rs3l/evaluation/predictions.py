"""Saved predictions: one Parquet file per task, so every reported number can be recomputed.

File ``OUT/predictions/<task>.parquet``, one row per (tagger, label fraction, test jet):

=================  =========  =====  ==================================================
column             dtype      unit   meaning
=================  =========  =====  ==================================================
``tagger``         string            ``<mode>_<head>``, e.g. ``frozen_linear``, ``supervised_mlp``
``label_fraction`` float32           fraction of the labelled train split the tagger saw
``group_id``       int64             the jet's group (equal across views)
``view``           string            the view name, e.g. ``nominal``
``label``          int64             task label: 1 signal / 0 background (binary), class
                                     index (multiclass), class index (regression)
``score``          float32           binary: signal probability
``score_<class>``  float32           multiclass: probability of each class
``prediction``     float32    GeV    regression: predicted jet energy
``jet_energy``     float32    GeV    regression: true jet energy
=================  =========  =====  ==================================================

The file's Parquet metadata holds ``rs3l_task`` (the task name), ``rs3l_kind``
(binary / multiclass / regression) and ``rs3l_classes`` (JSON list of class names).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import numpy as np

from sim_pairs.io import atomic_path

__all__ = ["PredictionsError", "write_predictions", "read_predictions", "REQUIRED"]

REQUIRED = {"tagger": "string", "label_fraction": "float32", "group_id": "int64", "view": "string", "label": "int64"}
_BY_KIND = {"binary": ("score",), "regression": ("prediction", "jet_energy"), "multiclass": ()}


class PredictionsError(ValueError):
    """A predictions file that does not follow the documented layout."""


def _kind_columns(kind: str, classes) -> tuple[str, ...]:
    if kind not in _BY_KIND:
        raise PredictionsError(f"unknown task kind '{kind}': expected one of {list(_BY_KIND)}")
    return tuple(f"score_{c}" for c in classes) if kind == "multiclass" else _BY_KIND[kind]


def write_predictions(path: str | Path, columns: Mapping[str, np.ndarray], *, task: str, kind: str, classes) -> Path:
    """Write one task's predictions atomically.

    Args:
        path: the Parquet file.
        columns: name -> [N] array; the columns of the table above for ``kind``.
        task, kind: the task name and ``binary`` / ``multiclass`` / ``regression``.
        classes: the task's class names (stored in the file; names the multiclass columns).

    Raises:
        PredictionsError: a missing column or columns of unequal lengths.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    names = list(REQUIRED) + list(_kind_columns(kind, classes))
    missing = [n for n in names if n not in columns]
    if missing:
        raise PredictionsError(f"{path}: missing prediction columns {missing} for a {kind} task")
    lengths = {n: len(columns[n]) for n in names}
    if len(set(lengths.values())) > 1:
        raise PredictionsError(f"{path}: columns have different lengths {lengths}")
    arrays = {}
    for n in names:
        dtype = REQUIRED.get(n, "float32")
        arrays[n] = pa.array(np.asarray(columns[n]).tolist() if dtype == "string" else np.asarray(columns[n], dtype=dtype),
                             type=pa.string() if dtype == "string" else None)
    table = pa.table(arrays).replace_schema_metadata(
        {"rs3l_task": task, "rs3l_kind": kind, "rs3l_classes": json.dumps(list(classes))})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return path


def read_predictions(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """Read a predictions file and check its columns.

    Returns:
        (columns, info): column name -> numpy array, and ``{"task", "kind", "classes"}``.

    Raises:
        PredictionsError: naming the file and the missing column or metadata.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    table = pq.read_table(path)
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    for key in ("rs3l_task", "rs3l_kind", "rs3l_classes"):
        if key not in meta:
            raise PredictionsError(f"{path}: not an rs3l predictions file (no '{key}' in the Parquet metadata)")
    info = {"task": meta["rs3l_task"], "kind": meta["rs3l_kind"], "classes": json.loads(meta["rs3l_classes"])}
    needed = list(REQUIRED) + list(_kind_columns(info["kind"], info["classes"]))
    for name in needed:
        if name not in table.column_names:
            raise PredictionsError(f"{path}: column '{name}' missing; a {info['kind']} predictions file needs {needed}")
    out = {}
    for name in table.column_names:
        col = table.column(name)
        out[name] = np.asarray(col.to_pylist(), dtype=str) if REQUIRED.get(name) == "string" else col.to_numpy()
    return out, info
