"""The Top Tagging importer on small HDF5 files in the published layout (a pandas fixed-format table)."""

import awkward as ak
import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

from sim_pairs.importers import ImportFormatError, import_toptag  # noqa: E402
from sim_pairs.io import read_metadata, read_shard, shard_paths  # noqa: E402

N_CONST = 6


def make_frame_columns(n_jets=9, seed=0):
    """Columns of the published DataFrame: E_i, PX_i, PY_i, PZ_i (float32, zero-padded), truth*, ttv, is_signal_new."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, N_CONST + 1, n_jets)
    counts[0] = N_CONST
    p4 = np.zeros((n_jets, N_CONST, 4), np.float32)
    for j, n in enumerate(counts):
        pt = np.sort(rng.exponential(50.0, n) + 1.0)[::-1]
        eta, phi = rng.normal(0, 0.3, n), rng.normal(0, 0.3, n)
        px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
        p4[j, :n] = np.stack([np.sqrt(px**2 + py**2 + pz**2), px, py, pz], axis=1)
    columns = {}
    for i in range(N_CONST):
        for k, c in enumerate(("E", "PX", "PY", "PZ")):
            columns[f"{c}_{i}"] = p4[:, i, k]
    for c in ("truthE", "truthPX", "truthPY", "truthPZ"):
        columns[c] = rng.normal(size=n_jets).astype(np.float32)
    columns["ttv"] = np.zeros(n_jets, np.int64)
    columns["is_signal_new"] = (np.arange(n_jets) % 2).astype(np.int64)
    return columns, p4, counts


def write_with_pandas(path, columns):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("tables")
    pd.DataFrame(columns).to_hdf(path, key="table", mode="w")
    return path


def write_with_h5py(path, columns):
    """The same layout as pandas' fixed format, by hand: one block per dtype."""
    with h5py.File(path, "w") as f:
        g = f.create_group("table")
        g.attrs["pandas_type"] = np.bytes_("frame")
        names = list(columns)
        g["axis0"] = np.array([n.encode() for n in names])
        g["axis1"] = np.arange(len(next(iter(columns.values()))))
        floats = [n for n in names if columns[n].dtype == np.float32]
        ints = [n for n in names if columns[n].dtype == np.int64]
        for b, block in enumerate((floats, ints)):
            g[f"block{b}_items"] = np.array([n.encode() for n in block])
            g[f"block{b}_values"] = np.stack([columns[n] for n in block], axis=1)
    return path


@pytest.mark.parametrize("writer", [write_with_pandas, write_with_h5py])
def test_jets_labels_counts_and_exact_four_momenta(tmp_path, writer):
    columns, p4, counts = make_frame_columns()
    path = writer(tmp_path / "train.h5", columns)
    result = import_toptag([path], tmp_path / "data", chunk_size=4, progress=False)
    assert result.n_jets == 9 and len(result.shards) == 3
    assert result.labels == {"qcd": 5, "top": 4}
    table = ak.concatenate([read_shard(p) for p in shard_paths(tmp_path / "data")])
    assert table["label"].to_list() == ["top" if v else "qcd" for v in columns["is_signal_new"]]
    np.testing.assert_array_equal(ak.num(table["pfc_px"]), counts)
    for j, n in enumerate(counts):
        for k, name in enumerate(("pfc_energy", "pfc_px", "pfc_py", "pfc_pz")):
            np.testing.assert_array_equal(ak.to_numpy(table[name][j]), p4[j, :n, k])  # bit-exact
        jet = p4[j, :n].astype(np.float64).sum(axis=0)
        np.testing.assert_allclose(table["jet_pt"][j], np.hypot(jet[1], jet[2]), rtol=1e-6)
        np.testing.assert_allclose(table["jet_mass"][j], np.sqrt(max(jet[0] ** 2 - jet[1:] @ jet[1:], 0)), rtol=1e-4)
    assert not {"pfc_pid", "pfc_charge", "pfc_d0", "pfc_dz"} & set(table.fields)
    assert set(table["detector_view"].to_list()) == {"delphes"}
    assert np.isnan(ak.to_numpy(table["jet_sdmass"])).all()
    assert read_metadata(tmp_path / "data")["imports"][0]["format"] == "toptag"


def test_missing_column_wrong_shape_and_truncation(tmp_path):
    columns, _, _ = make_frame_columns()
    no_label = {k: v for k, v in columns.items() if k != "is_signal_new"}
    with pytest.raises(ImportFormatError, match=r"nolabel\.h5: field 'is_signal_new' missing"):
        import_toptag([write_with_h5py(tmp_path / "nolabel.h5", no_label)], tmp_path / "d", progress=False)
    no_pz = {k: v for k, v in columns.items() if k != "PZ_3"}
    with pytest.raises(ImportFormatError, match=r"nopz\.h5: field 'PZ_3' missing"):
        import_toptag([write_with_h5py(tmp_path / "nopz.h5", no_pz)], tmp_path / "d", progress=False)
    path = write_with_h5py(tmp_path / "short.h5", columns)
    with h5py.File(path, "a") as f:  # the int block lost its last rows
        values = f["table/block1_values"][:-2]
        del f["table/block1_values"]
        f["table/block1_values"] = values
    with pytest.raises(ImportFormatError, match=r"short\.h5: blocks of '/table' have different lengths"):
        import_toptag([path], tmp_path / "d", progress=False)
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["jets"] = np.zeros(3)
    with pytest.raises(ImportFormatError, match=r"other\.h5: field '/table' missing"):
        import_toptag([tmp_path / "other.h5"], tmp_path / "d", progress=False)
    data = path.read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 3])
    with pytest.raises(ImportFormatError, match=r"cut\.h5: not a readable HDF5 file") as err:
        import_toptag([tmp_path / "cut.h5"], tmp_path / "d", progress=False)
    assert "\n" not in str(err.value)
    bad = dict(columns, is_signal_new=np.array([0, 1, 3, 0, 1, 0, 1, 0, 1], np.int64))
    with pytest.raises(ImportFormatError, match=r"bad\.h5: field 'is_signal_new' holds 3 at jet 2"):
        import_toptag([write_with_h5py(tmp_path / "bad.h5", bad)], tmp_path / "d2", progress=False)
