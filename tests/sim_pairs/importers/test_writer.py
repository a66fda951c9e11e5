"""What the importers share: plans recorded in metadata.json, refusals that protect a dataset, jet sums."""

import awkward as ak
import numpy as np
import pytest

from sim_pairs.importers import import_qg
from sim_pairs.importers.writer import jet_columns_from_constituents
from sim_pairs.io import DatasetError, read_metadata, write_metadata


def _npz(path, n=5, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 4, 4))
    x[:, :3] = np.stack([rng.uniform(1, 9, (n, 3)), rng.normal(0, 0.3, (n, 3)), rng.normal(0, 0.3, (n, 3)),
                         np.full((n, 3), 22.0)], axis=2)
    np.savez(path, X=x, y=np.arange(n) % 2)
    return path


def test_metadata_records_the_plan_and_is_accepted_as_complete(tmp_path):
    out = tmp_path / "data"
    import_qg([_npz(tmp_path / "a.npz")], out, view="pythia", chunk_size=2, progress=False)
    meta = read_metadata(out)
    assert meta["generator"] == "sim_pairs.importers" and meta["complete"] is True
    assert meta["shards"] == {"shard-00000.parquet": {"view": "pythia", "jets": 2},
                              "shard-00001.parquet": {"view": "pythia", "jets": 2},
                              "shard-00002.parquet": {"view": "pythia", "jets": 1}}
    (entry,) = meta["imports"]
    assert entry["files"] == [{"name": "a.npz", "bytes": (tmp_path / "a.npz").stat().st_size, "jets": 5}]
    assert (entry["first_shard"], entry["n_shards"], entry["labels"]) == (0, 3, {"gluon": 3, "quark": 2})


def test_same_view_from_other_files_and_foreign_datasets_are_refused(tmp_path):
    out = tmp_path / "data"
    import_qg([_npz(tmp_path / "a.npz")], out, view="pythia", progress=False)
    again = import_qg([tmp_path / "a.npz"], out, view="pythia", progress=False)  # finished: nothing rewritten
    assert again.resumed_shards == 1
    with pytest.raises(DatasetError, match=r"view 'pythia' was imported with files"):
        import_qg([_npz(tmp_path / "b.npz", n=6)], out, view="pythia", progress=False)
    generated = tmp_path / "generated"
    write_metadata(generated, {"generator": "sim_pairs.generate", "complete": True})
    with pytest.raises(DatasetError, match=r"field 'imports' missing"):
        import_qg([tmp_path / "a.npz"], generated, view="herwig", progress=False)
    with pytest.raises(ValueError, match="view must be"):
        import_qg([tmp_path / "a.npz"], tmp_path / "x", view="", progress=False)


def test_jet_sum_against_a_loop():
    rng = np.random.default_rng(1)
    counts = [3, 1, 4]
    p = [rng.normal(0, 10, (n, 3)) for n in counts]
    e = [np.linalg.norm(v, axis=1) + 0.1 for v in p]
    jagged = [ak.Array([v[:, k].tolist() for v in p]) for k in range(3)]
    jet = jet_columns_from_constituents(*jagged, ak.Array([v.tolist() for v in e]))
    for j in range(3):
        s, se = p[j].sum(axis=0), e[j].sum()
        assert jet["jet_pt"][j] == pytest.approx(np.hypot(s[0], s[1]))
        assert jet["jet_eta"][j] == pytest.approx(np.arcsinh(s[2] / np.hypot(s[0], s[1])))
        assert jet["jet_mass"][j] == pytest.approx(np.sqrt(se**2 - s @ s))
        assert jet["jet_energy"][j] == pytest.approx(se)
