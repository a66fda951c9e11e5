"""sim_pairs.io.check_dataset and read failures: what pretrain and evaluate refuse before training.

Datasets are written here as ``rs3l generate`` writes them (shards carrying the config
hash, metadata listing them) from the synthetic columns of graphs.synthetic, without Pythia.
"""

import json

import pyarrow.parquet as pq
import pytest

from graphs.synthetic import synthetic_columns
from sim_pairs.io import (DatasetError, check_dataset, read_shard, shard_attrs, shard_config_hash, shard_name,
                          write_metadata, write_shard)

HASH = "a" * 64


def generated_like(directory, n_shards=3, digest=HASH, complete=True):
    """A dataset directory laid out as sim_pairs.generate leaves it."""
    directory.mkdir(parents=True, exist_ok=True)
    for s in range(n_shards):
        write_shard(synthetic_columns(4, ("nominal", "fsr_up"), seed=s, first_group_id=4 * s, detector=False),
                    directory / shard_name(s), attrs={"config_hash": digest, "skipped_events": 0})
    write_metadata(directory, {"generator": "sim_pairs.generate", "config_hash": digest, "complete": complete,
                               "shards": {shard_name(s): {"shard": shard_name(s)} for s in range(n_shards)}
                               if complete else {}})
    return directory


def _meta(directory, **change):
    path = directory / "metadata.json"
    body = json.loads(path.read_text())
    body.update(change)
    path.write_text(json.dumps(body))


def test_a_complete_dataset_passes_and_shards_carry_the_hash(tmp_path):
    data = generated_like(tmp_path / "d")
    assert check_dataset(data)["config_hash"] == HASH
    assert shard_config_hash(data / shard_name(1)) == HASH and shard_attrs(data / shard_name(1))["skipped_events"] == 0


def test_incomplete_is_refused_unless_allowed(tmp_path, caplog):
    data = generated_like(tmp_path / "d", complete=False)
    with pytest.raises(DatasetError, match=r"metadata.json: field 'complete' is false.*--allow-incomplete"):
        check_dataset(data)
    assert check_dataset(data, allow_incomplete=True)["complete"] is False
    assert "used anyway" in caplog.text


@pytest.mark.parametrize("body, field", [("{not json", "not valid JSON"), ("[1, 2]", "expected a JSON object"),
                                         ('{"schema_version": 0}', "field 'schema_version' is 0")])
def test_invalid_metadata_is_named(tmp_path, body, field):
    data = generated_like(tmp_path / "d")
    (data / "metadata.json").write_text(body)
    with pytest.raises(DatasetError, match=field) as err:
        check_dataset(data)
    assert "metadata.json" in str(err.value)


def test_missing_metadata_and_non_bool_complete(tmp_path):
    data = generated_like(tmp_path / "d")
    _meta(data, complete="yes")
    with pytest.raises(DatasetError, match="field 'complete' is 'yes', expected true or false"):
        check_dataset(data)
    (data / "metadata.json").unlink()
    with pytest.raises(DatasetError, match="metadata.json: dataset metadata not found"):
        check_dataset(data)


def test_a_shard_of_another_config_makes_a_mixed_directory(tmp_path):
    data = generated_like(tmp_path / "d")
    other = generated_like(tmp_path / "other", n_shards=3, digest="b" * 64)
    (data / shard_name(2)).write_bytes((other / shard_name(2)).read_bytes())
    with pytest.raises(DatasetError, match=r"shard-00002.parquet: shard made with config hash bbbbbbbbbbbb.*mixes"):
        check_dataset(data)


def test_shards_missing_from_or_extra_to_the_listing(tmp_path):
    data = generated_like(tmp_path / "d")
    (data / shard_name(1)).unlink()
    with pytest.raises(DatasetError, match=r"shard-00001.parquet: listed in .* but missing \(1 of 3"):
        check_dataset(data)
    data = generated_like(tmp_path / "e")
    (data / shard_name(7)).write_bytes((data / shard_name(0)).read_bytes())
    with pytest.raises(DatasetError, match=r"shard-00007.parquet: shard not listed"):
        check_dataset(data)


def test_a_damaged_data_page_names_the_shard_and_the_column(tmp_path):
    data = generated_like(tmp_path / "d")
    path = data / shard_name(0)
    meta = pq.ParquetFile(path).metadata
    names = [meta.row_group(0).column(i).path_in_schema for i in range(meta.num_columns)]
    index = names.index("label")
    chunk = meta.row_group(0).column(index)
    offset = chunk.dictionary_page_offset or chunk.data_page_offset
    raw = bytearray(path.read_bytes())
    raw[offset:offset + 16] = b"\xff" * 16  # the page header: "Couldn't deserialize thrift"
    path.write_bytes(bytes(raw))
    assert read_shard(path, ["jet_pt"]) is not None  # other columns still read
    with pytest.raises(DatasetError) as err:
        read_shard(path, ["jet_pt", "label"])
    assert str(path) in str(err.value) and "column 'label'" in str(err.value) and "\n" not in str(err.value)


def test_an_unreadable_footer_is_named(tmp_path):
    data = generated_like(tmp_path / "d")
    (data / shard_name(1)).write_bytes(b"PAR1" + b"\x00" * 100)
    with pytest.raises(DatasetError, match=r"shard-00001.parquet: not a readable Parquet file"):
        check_dataset(data)


def test_datasets_of_other_writers_need_no_hash(tmp_path):
    data = tmp_path / "d"
    write_shard(synthetic_columns(3, ("nominal",), detector=False), data / shard_name(0))
    write_metadata(data, {"generator": "graphs.synthetic"})
    assert check_dataset(data)["generator"] == "graphs.synthetic"
    (data / shard_name(0)).unlink()
    with pytest.raises(DatasetError, match="no shard-\\*.parquet files"):
        check_dataset(data)
