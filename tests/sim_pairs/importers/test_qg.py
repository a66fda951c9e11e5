"""The q/g importer on small .npz files in the published layout (X (N, M, 4) zero-padded, y)."""

import zipfile

import awkward as ak
import numpy as np
import pytest

from sim_pairs.importers import ImportFormatError, import_qg
from sim_pairs.importers.qg import PDG_MASS_CHARGE
from sim_pairs.io import read_metadata, read_shard, shard_paths

PIDS = np.array([22, 211, -211, 321, -321, 130, 2112, -2212, 11, -13])


def make_qg(n_jets=7, max_particles=9, seed=0):
    """X, y as EnergyFlow's qg_jets files: (pt, y, phi, pdgid), padded with zero rows."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n_jets, max_particles, 4))
    counts = rng.integers(1, max_particles + 1, n_jets)
    counts[0] = max_particles  # one jet fills every slot
    for j, n in enumerate(counts):
        x[j, :n, 0] = np.sort(rng.exponential(20.0, n) + 0.5)[::-1]
        x[j, :n, 1] = rng.normal(0.3, 0.2, n)
        x[j, :n, 2] = rng.normal(1.0, 0.2, n)
        x[j, :n, 3] = rng.choice(PIDS, n)
    y = (np.arange(n_jets) % 3 != 0).astype(np.float64)
    return x, y, counts


def _p4_reference(pt, rap, phi, pid):
    """EnergyFlow's p4s_from_ptyphipids, one particle at a time."""
    m = PDG_MASS_CHARGE[abs(int(pid))][0]
    mt = np.sqrt(pt * pt + m * m)
    return mt * np.cosh(rap), pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(rap)


def test_jets_labels_counts_and_four_momenta(tmp_path):
    x, y, counts = make_qg()
    np.savez_compressed(tmp_path / "QG_jets.npz", X=x, y=y)
    result = import_qg([tmp_path / "QG_jets.npz"], tmp_path / "data", view="pythia", chunk_size=3, progress=False)
    assert result.n_jets == 7 and len(result.shards) == 3  # 3 + 3 + 1 jets
    table = ak.concatenate([read_shard(p) for p in shard_paths(tmp_path / "data")])
    assert len(table) == 7
    assert table["label"].to_list() == ["quark" if v == 1 else "gluon" for v in y]
    np.testing.assert_array_equal(ak.num(table["part_px"]), counts)
    np.testing.assert_array_equal(table["jet_nparticles"], counts)
    assert set(table["view"].to_list()) == {"pythia"} and set(table["process"].to_list()) == {"qg"}
    assert "part_d0" not in table.fields and "part_dz" not in table.fields
    for j in range(7):
        n = counts[j]
        ref = np.array([_p4_reference(*x[j, i]) for i in range(n)])
        for k, name in enumerate(("part_energy", "part_px", "part_py", "part_pz")):
            np.testing.assert_array_equal(ak.to_numpy(table[name][j]), ref[:, k].astype(np.float32))
        np.testing.assert_array_equal(ak.to_numpy(table["part_pid"][j]), x[j, :n, 3].astype(int))
        charges = [np.sign(p) * PDG_MASS_CHARGE[abs(int(p))][1] for p in x[j, :n, 3]]
        np.testing.assert_array_equal(ak.to_numpy(table["part_charge"][j]), charges)
        # pt, y, phi back from the stored four-momentum (float32 precision)
        px, py, pz, e = (ak.to_numpy(table[c][j]).astype(np.float64) for c in ("part_px", "part_py", "part_pz", "part_energy"))
        np.testing.assert_allclose(np.hypot(px, py), x[j, :n, 0], rtol=1e-6)
        np.testing.assert_allclose(0.5 * np.log((e + pz) / (e - pz)), x[j, :n, 1], atol=1e-5)
        np.testing.assert_allclose(np.arctan2(py, px), x[j, :n, 2], atol=1e-6)
        np.testing.assert_allclose(table["jet_energy"][j], ref[:, 0].sum(), rtol=1e-6)
    ids = table["group_id"].to_list()
    assert len(set(ids)) == 7
    assert table["event_number"].to_list() == list(range(7))


def test_second_view_is_appended_with_its_own_groups(tmp_path):
    x, y, _ = make_qg(seed=1)
    np.savez(tmp_path / "pythia.npz", X=x, y=y)  # uncompressed archives stream the same way
    xh, yh, _ = make_qg(n_jets=5, seed=2)
    np.savez_compressed(tmp_path / "herwig.npz", X=xh, y=yh)
    out = tmp_path / "data"
    import_qg([tmp_path / "pythia.npz"], out, view="pythia", chunk_size=4, progress=False)
    herwig = import_qg([tmp_path / "herwig.npz"], out, view="herwig", chunk_size=4, progress=False)
    meta = read_metadata(out)
    assert meta["views"] == ["pythia", "herwig"] and meta["complete"]
    assert [e["first_shard"] for e in meta["imports"]] == [0, 2]
    assert herwig.labels == {"gluon": 2, "quark": 3}
    table = ak.concatenate([read_shard(p) for p in shard_paths(out)])
    assert table["view"].to_list() == ["pythia"] * 7 + ["herwig"] * 5
    assert len(set(table["group_id"].to_list())) == 12  # different events: no group spans two views


def test_resume_rewrites_only_missing_shards_with_same_bytes(tmp_path):
    x, y, _ = make_qg(n_jets=10)
    np.savez_compressed(tmp_path / "qg.npz", X=x, y=y)
    out = tmp_path / "data"
    import_qg([tmp_path / "qg.npz"], out, chunk_size=3, progress=False)
    before = {p.name: p.read_bytes() for p in shard_paths(out)}
    victim = shard_paths(out)[2]
    victim.unlink()
    again = import_qg([tmp_path / "qg.npz"], out, chunk_size=3, progress=False)
    assert again.resumed_shards == 3 and again.n_jets == 10
    assert {p.name: p.read_bytes() for p in shard_paths(out)} == before
    with pytest.raises(ValueError, match="chunk_size"):
        import_qg([tmp_path / "qg.npz"], out, chunk_size=4, progress=False)


@pytest.mark.parametrize(
    "arrays, field",
    [
        ({"X": np.zeros((3, 5, 3)), "y": np.zeros(3)}, "'X' has shape"),
        ({"X": np.zeros((3, 5, 4)), "y": np.zeros(4)}, "'y' has shape"),
        ({"X": np.zeros((3, 5, 4))}, "'y' missing"),
        ({"y": np.zeros(3)}, "'X' missing"),
        ({"X": np.zeros((3, 5, 4)), "y": np.array([0, 1, 2])}, "'y' holds 2"),
    ],
)
def test_malformed_files_name_file_and_field(tmp_path, arrays, field):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ImportFormatError) as err:
        import_qg([tmp_path / "bad.npz"], tmp_path / "data", progress=False)
    message = str(err.value)
    assert "bad.npz" in message and field in message and "\n" not in message
    assert not (tmp_path / "data").exists()  # checked before anything is written


def test_truncated_and_unknown_particles(tmp_path):
    x, y, _ = make_qg()
    np.savez_compressed(tmp_path / "qg.npz", X=x, y=y)
    data = (tmp_path / "qg.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImportFormatError, match=r"cut\.npz: not a readable \.npz"):
        import_qg([tmp_path / "cut.npz"], tmp_path / "d1", progress=False)
    # a stored (uncompressed) member cut short inside a valid archive
    with zipfile.ZipFile(tmp_path / "short.npz", "w") as archive:
        archive.writestr("y.npy", _npy(y))
        archive.writestr("X.npy", _npy(x)[:-100])
    with pytest.raises(ImportFormatError, match=r"short\.npz: field 'X' ends after"):
        import_qg([tmp_path / "short.npz"], tmp_path / "d2", progress=False)
    x[2, 0, 3] = 999
    np.savez(tmp_path / "odd.npz", X=x, y=y)
    with pytest.raises(ImportFormatError, match=r"odd\.npz: field 'X\[\.\.\., 3\]' \(pdgid\) holds 999 in jet 2"):
        import_qg([tmp_path / "odd.npz"], tmp_path / "d3", progress=False)


def _npy(array) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()
