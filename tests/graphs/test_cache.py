"""graphs.cache: same bytes twice, freshness against the dataset and the data section, no partial caches."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from graphs import cache as cache_module
from graphs.cache import CacheError, GraphCache, build_cache, cache_dir_for, open_cache
from graphs.contract import AugmentationConfig, DataContract, Normalisation
from graphs.synthetic import synthetic_columns, write_synthetic_dataset
from sim_pairs.io import shard_name, write_shard

VIEWS = ("nominal", "fsr_up", "herwig")


@pytest.fixture()
def data_dir(tmp_path):
    return write_synthetic_dataset(tmp_path / "data", n_shards=2, groups_per_shard=6, views=VIEWS, detector=True)


@pytest.mark.parametrize("graph", ["particles", "pflow", "detector"])
def test_building_twice_gives_the_same_bytes(data_dir, tmp_path, graph):
    contract = DataContract(graph=graph, augment=AugmentationConfig(rotate=graph != "detector"))
    first = build_cache(data_dir, contract, tmp_path / "one" / "c", progress=False)
    second = build_cache(data_dir, contract, tmp_path / "two" / "c", progress=False)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir()) and "manifest.json" in names
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    cache = GraphCache(first)
    assert cache.n_jets == 2 * 6 * len(VIEWS) and cache.node_offsets[-1] == len(cache.x)
    if graph == "detector":
        assert cache.edge_offsets[-1] == len(cache.edge_index) and set(np.unique(cache.node_type)) == {1, 2}
    else:
        assert cache.raw.shape == (len(cache.x), 8) and cache.axis.shape == (cache.n_jets, 3)


def test_a_changed_data_section_gets_its_own_cache(data_dir):
    base = DataContract(graph="particles")
    other = DataContract(graph="particles", normalise={"log_pt": Normalisation(shift=1.0, scale=2.0)})
    assert cache_dir_for(data_dir, base) != cache_dir_for(data_dir, other)
    # settings that do not change the arrays (views, pairing, splits) share one cache
    assert cache_dir_for(data_dir, base) == cache_dir_for(data_dir, DataContract(graph="particles", pairing="anchor",
                                                                                   val_fraction=0.3))
    a, b = open_cache(data_dir, base, progress=False), open_cache(data_dir, other, progress=False)
    j = list(b.manifest["settings"]["features"]["particle"]).index("log_pt")
    np.testing.assert_allclose(np.asarray(b.x[:, j]), (np.asarray(a.x[:, j]) - 1.0) / 2.0, rtol=1e-5, atol=1e-6)


def test_a_changed_shard_rebuilds_or_is_refused(data_dir):
    contract = DataContract(graph="particles")
    before = open_cache(data_dir, contract, progress=False)
    n_before = before.n_jets
    write_shard(synthetic_columns(9, VIEWS, seed=77, first_group_id=6, detector=True), data_dir / shard_name(1))
    with pytest.raises(CacheError, match="rs3l prepare"):
        open_cache(data_dir, contract, build=False)
    after = open_cache(data_dir, contract, progress=False)
    assert after.n_jets == (6 + 9) * len(VIEWS) != n_before
    assert after.manifest["dataset"] != before.manifest["dataset"]
    assert open_cache(data_dir, contract, build=False).n_jets == after.n_jets  # fresh now: no rebuild


def test_a_killed_build_leaves_no_usable_cache(data_dir, monkeypatch):
    contract = DataContract(graph="particles")
    calls = []

    def dies_on_the_second_shard(writer, arrays, c, n):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(writer, arrays, c, n)

    real = cache_module._add_particle_shard
    monkeypatch.setattr(cache_module, "_add_particle_shard", dies_on_the_second_shard)
    with pytest.raises(KeyboardInterrupt):
        open_cache(data_dir, contract, progress=False)
    target = cache_dir_for(data_dir, contract)
    assert not target.exists() and not list(target.parent.glob("*.tmp"))
    with pytest.raises(CacheError, match="no graph cache"):
        open_cache(data_dir, contract, build=False)
    # a directory left without its manifest (killed between the arrays and the manifest) is not a cache
    monkeypatch.setattr(cache_module, "_add_particle_shard", real)
    built = build_cache(data_dir, contract, progress=False)
    (built / "manifest.json").unlink()
    with pytest.raises(CacheError, match="not a complete graph cache"):
        GraphCache(built)


@pytest.mark.parametrize("damage", ["truncate", "manifest", "offsets", "codes"])
def test_a_damaged_cache_names_the_file_and_how_to_rebuild(data_dir, damage):
    contract = DataContract(graph="pflow")
    directory = open_cache(data_dir, contract, progress=False).directory
    if damage == "truncate":
        path = directory / "x.bin"
        path.write_bytes(path.read_bytes()[:-10])
        match = r"x\.bin: .* bytes, expected .* bytes \(truncated or damaged\).*rs3l prepare --rebuild"
    elif damage == "manifest":
        path = directory / "manifest.json"
        path.write_bytes(b"{\x00 not json")
        match = r"manifest\.json: damaged"
    else:  # same size, wrong content
        name = "node_offsets" if damage == "offsets" else "view"
        path = directory / f"{name}.bin"
        values = np.fromfile(path, dtype=np.int64 if damage == "offsets" else np.int16)
        values[len(values) // 2] = 10**6 if damage == "offsets" else 999
        values.tofile(path)
        match = rf"{name}\.bin: .*\(damaged\).*rs3l prepare --rebuild"
    with pytest.raises(CacheError, match=match):
        open_cache(data_dir, contract, progress=False)
    shutil.rmtree(directory)
    assert open_cache(data_dir, contract, progress=False).n_jets == 2 * 6 * len(VIEWS)
