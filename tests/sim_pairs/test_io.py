import hashlib

import awkward as ak
import numpy as np
import pytest

from sim_pairs.io import DatasetError, atomic_path, read_metadata, read_shard, shard_paths, write_metadata, write_shard
from sim_pairs.schema import COLUMNS, SCHEMA_VERSION, columns_of


def _rows(n=3, groups=("jet", "particles"), seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    sizes = rng.integers(1, 6, n)
    for column in COLUMNS:
        if column.group not in groups:
            continue
        if column.dtype == "string":
            out[column.name] = [f"{column.name}{i}" for i in range(n)]
        elif column.jagged:
            out[column.name] = [rng.normal(size=s).astype(column.dtype) for s in sizes]
        else:
            out[column.name] = rng.normal(size=n).astype(column.dtype)
    return out


def test_round_trip_keeps_values_and_schema_dtypes(tmp_path):
    rows = _rows()
    path = write_shard(rows, tmp_path / "shard-00000.parquet")
    back = read_shard(path)
    for column in columns_of("particles") + columns_of("jet"):
        if column.dtype == "string":
            assert back[column.name].tolist() == rows[column.name]
        else:
            assert str(ak.type(back[column.name]).content).endswith(column.dtype)
            np.testing.assert_array_equal(ak.flatten(back[column.name], axis=None),
                                          np.concatenate([np.atleast_1d(v) for v in rows[column.name]]))


def test_same_input_same_bytes(tmp_path):
    a = write_shard(_rows(), tmp_path / "shard-00000.parquet")
    b = write_shard(_rows(), tmp_path / "shard-00001.parquet")
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    assert shard_paths(tmp_path) == [a, b]


def test_reader_names_file_and_missing_column(tmp_path):
    rows = _rows()
    del rows["part_energy"]
    with pytest.raises(DatasetError, match="part_energy"):
        write_shard(rows, tmp_path / "x.parquet")  # an incomplete group is refused on write too
    # a file written by someone else without a jet column
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _rows(groups=("jet",))
    del rows["label"]
    pq.write_table(pa.table({k: pa.array(np.asarray(v)) for k, v in rows.items()}), tmp_path / "foreign.parquet")
    with pytest.raises(DatasetError) as err:
        read_shard(tmp_path / "foreign.parquet")
    assert "foreign.parquet" in str(err.value) and "label" in str(err.value)
    with pytest.raises(DatasetError, match="cell_eta"):
        read_shard(write_shard(_rows(), tmp_path / "ok.parquet"), columns=["cell_eta"])


def test_wrong_dtype_is_named(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _rows(groups=("jet",))
    rows["jet_pt"] = np.asarray(rows["jet_pt"], dtype="float64")
    pq.write_table(pa.table({k: pa.array(np.asarray(v)) for k, v in rows.items()}), tmp_path / "f.parquet")
    with pytest.raises(DatasetError, match="jet_pt' has type float64, expected float32"):
        read_shard(tmp_path / "f.parquet")


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_metadata_version_checked(tmp_path):
    write_metadata(tmp_path, {"views": ["nominal"]})
    assert read_metadata(tmp_path)["schema_version"] == SCHEMA_VERSION
    (tmp_path / "metadata.json").write_text('{"schema_version": 99}')
    with pytest.raises(DatasetError, match="schema_version"):
        read_metadata(tmp_path)
    # version 2 (rs3l 0.2.0) stored the tracks' layer crossings, which are then read as stored
    (tmp_path / "metadata.json").write_text('{"schema_version": 2}')
    assert read_metadata(tmp_path)["schema_version"] == 2


def test_version_1_datasets_are_refused_with_a_message_to_regenerate(tmp_path):
    # a version 1 shard stored cell positions per cell and no cell index
    rows = _rows(groups=("jet",))
    rows.update({name: [[0.5], [1.0], [2.0]] for name in ("cell_layer", "cell_eta", "cell_phi", "cell_x", "cell_y",
                                                          "cell_z", "cell_energy")})
    ak.to_parquet(ak.zip({k: ak.Array(v) for k, v in rows.items()}, depth_limit=1), tmp_path / "shard-00000.parquet")
    with pytest.raises(DatasetError, match=r"shard-00000.parquet: column 'cell_index' missing .* version 1 .* regenerate"):
        read_shard(tmp_path / "shard-00000.parquet", ["jet_pt"])
    (tmp_path / "metadata.json").write_text('{"schema_version": 1}')
    with pytest.raises(DatasetError, match=r"metadata.json: field 'schema_version' is 1.*regenerate the dataset"):
        read_metadata(tmp_path)


def test_detector_columns_round_trip_with_size_encodings(tmp_path):
    import pyarrow.parquet as pq

    rows = _rows(groups=("jet", "detector"), seed=3)
    rows["cell_index"] = [np.arange(s, dtype=np.int32) * 7919 for s in map(len, rows["cell_energy"])]
    path = write_shard(rows, tmp_path / "shard-00000.parquet")
    back = read_shard(path)
    for name in ("cell_index", "cell_energy", "track_pt"):
        np.testing.assert_array_equal(ak.to_numpy(ak.flatten(back[name])), np.concatenate(rows[name]))
    meta = pq.ParquetFile(path).metadata.row_group(0)
    encodings = {meta.column(i).path_in_schema.split(".")[0]: meta.column(i).encodings for i in range(meta.num_columns)}
    assert "BYTE_STREAM_SPLIT" in encodings["cell_index"] and "BYTE_STREAM_SPLIT" in encodings["cell_energy"]
    assert "RLE_DICTIONARY" in encodings["view"]
    assert meta.column(0).compression == "ZSTD"
