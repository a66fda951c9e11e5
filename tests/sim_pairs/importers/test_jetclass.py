"""The JetClass importer on small ROOT files with JetClass's branch names, written with uproot."""

import awkward as ak
import numpy as np
import pytest

uproot = pytest.importorskip("uproot")

from sim_pairs.importers import ImportFormatError, import_jetclass  # noqa: E402
from sim_pairs.importers.jetclass import JETCLASS_LABELS  # noqa: E402
from sim_pairs.io import read_shard, shard_paths  # noqa: E402
from sim_pairs.readers import ReaderError  # noqa: E402

TYPES = ("part_isChargedHadron", "part_isNeutralHadron", "part_isPhoton", "part_isElectron", "part_isMuon")


def make_branches(n_jets=12, seed=0):
    """One JetClass tree's branches (float32 as in the published files), labels cycling over the ten classes."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 8, n_jets)
    n = int(counts.sum())
    kind = rng.integers(0, 5, n)
    charge = np.where(kind == 0, rng.choice([-1, 1], n), 0).astype(np.float32)
    charge[kind >= 3] = rng.choice([-1, 1], int(np.sum(kind >= 3)))
    charge[kind == 2] = 0

    def jag(values, dtype=np.float32):
        return ak.unflatten(np.asarray(values, dtype=dtype), counts)

    branches = {
        "part_px": jag(rng.normal(0, 30, n)), "part_py": jag(rng.normal(0, 30, n)),
        "part_pz": jag(rng.normal(0, 30, n)), "part_energy": jag(rng.uniform(50, 100, n)),
        "part_deta": jag(rng.normal(0, 0.3, n)), "part_dphi": jag(rng.normal(0, 0.3, n)),
        "part_d0val": jag(np.where(charge != 0, rng.normal(0, 0.05, n), 0)), "part_d0err": jag(np.ones(n)),
        "part_dzval": jag(np.where(charge != 0, rng.normal(0, 0.1, n), 0)), "part_dzerr": jag(np.ones(n)),
        "part_charge": jag(charge),
    }
    for t, name in enumerate(TYPES):
        branches[name] = jag(kind == t)
    branches.update({
        "jet_pt": rng.uniform(500, 1000, n_jets).astype(np.float32), "jet_eta": rng.normal(0, 1, n_jets).astype(np.float32),
        "jet_phi": rng.uniform(-3, 3, n_jets).astype(np.float32), "jet_energy": rng.uniform(1500, 2500, n_jets).astype(np.float32),
        "jet_nparticles": counts.astype(np.float32), "jet_sdmass": rng.uniform(0, 200, n_jets).astype(np.float32),
        "jet_tau1": np.ones(n_jets, np.float32),
    })
    for k, name in enumerate(JETCLASS_LABELS):
        branches[name] = (np.arange(n_jets) % 10 == k)
    return branches, counts, kind


def write_root(path, branches):
    with uproot.recreate(path) as f:
        f["tree"] = branches
    return path


def test_jets_labels_types_and_exact_values(tmp_path):
    branches, counts, kind = make_branches()
    path = write_root(tmp_path / "JetClass_mix.root", branches)
    result = import_jetclass([path], tmp_path / "data", chunk_size=5, progress=False)
    assert result.n_jets == 12 and len(result.shards) == 3
    table = ak.concatenate([read_shard(p) for p in shard_paths(tmp_path / "data")])
    names = list(JETCLASS_LABELS.values())
    assert table["label"].to_list() == [names[j % 10] for j in range(12)]
    assert len(set(names)) == 10 and "top" in names and "qcd" in names
    np.testing.assert_array_equal(ak.num(table["pfc_px"]), counts)
    for ours, theirs in (("pfc_px", "part_px"), ("pfc_py", "part_py"), ("pfc_pz", "part_pz"),
                         ("pfc_energy", "part_energy"), ("pfc_d0", "part_d0val"), ("pfc_dz", "part_dzval")):
        np.testing.assert_array_equal(ak.to_numpy(ak.flatten(table[ours])), ak.to_numpy(ak.flatten(branches[theirs])))
    charge = ak.to_numpy(ak.flatten(branches["part_charge"])).astype(int)
    expected = np.select([kind == 0, kind == 1, kind == 2, kind == 3, kind == 4],
                         [211 * charge, 130, 22, -11 * charge, -13 * charge])
    np.testing.assert_array_equal(ak.to_numpy(ak.flatten(table["pfc_pid"])), expected)
    np.testing.assert_array_equal(ak.to_numpy(ak.flatten(table["pfc_charge"])), charge)
    for name in ("jet_pt", "jet_eta", "jet_phi", "jet_energy", "jet_sdmass"):
        np.testing.assert_array_equal(ak.to_numpy(table[name]), branches[name])


def test_two_files_one_view(tmp_path):
    a = write_root(tmp_path / "a.root", make_branches(7, seed=1)[0])
    b = write_root(tmp_path / "b.root", make_branches(4, seed=2)[0])
    result = import_jetclass([a, b], tmp_path / "data", chunk_size=5, progress=False)
    assert result.n_jets == 11 and len(result.shards) == 3  # 5 + 2 from a, 4 from b
    table = ak.concatenate([read_shard(p) for p in shard_paths(tmp_path / "data")])
    assert table["event_number"].to_list() == list(range(7)) + list(range(4))
    assert len(set(table["group_id"].to_list())) == 11


def test_malformed_files_name_file_and_field(tmp_path):
    branches, _, _ = make_branches()
    missing = {k: v for k, v in branches.items() if k != "label_Tbl"}
    with pytest.raises(ImportFormatError, match=r"nolabel\.root: tree 'tree' has no branch 'label_Tbl'"):
        import_jetclass([write_root(tmp_path / "nolabel.root", missing)], tmp_path / "d", progress=False)
    with uproot.recreate(tmp_path / "events.root") as f:
        f["Events"] = {"x": np.zeros(3)}
    with pytest.raises(ReaderError, match=r"events\.root: no tree 'tree'"):
        import_jetclass([tmp_path / "events.root"], tmp_path / "d", progress=False)
    two = dict(branches, label_QCD=np.ones(12, bool))  # jet 1 is labelled QCD and Hbb
    with pytest.raises(ImportFormatError, match=r"two\.root: tree 'tree' branch 'label_\*': 2 labels set.* entry 1"):
        import_jetclass([write_root(tmp_path / "two.root", two)], tmp_path / "d2", progress=False)
    wrong_n = dict(branches, jet_nparticles=branches["jet_nparticles"] + 1)
    with pytest.raises(ImportFormatError, match=r"wrong\.root: .*branch 'jet_nparticles'.* entry 0"):
        import_jetclass([write_root(tmp_path / "wrong.root", wrong_n)], tmp_path / "d3", progress=False)
    data = (tmp_path / "nolabel.root").read_bytes()
    (tmp_path / "cut.root").write_bytes(data[: len(data) // 2])
    with pytest.raises(ReaderError, match=r"cut\.root") as err:
        import_jetclass([tmp_path / "cut.root"], tmp_path / "d4", progress=False)
    assert "\n" not in str(err.value)
