import awkward as ak
import numpy as np
import pytest

uproot = pytest.importorskip("uproot")

from sim_pairs.readers import ReaderError, read_delphes  # noqa: E402
from sim_pairs.schema import columns_of  # noqa: E402


def _branches(with_pid=True):
    track = {"PT": [[10.0, 2.0], [5.0]], "Eta": [[0.1, -1.0], [2.0]], "Phi": [[0.5, -3.0], [1.0]],
             "Charge": [[1, -1], [1]], "D0": [[0.01, -0.2], [0.0]], "DZ": [[0.3, 1.0], [-0.5]]}
    if with_pid:
        track["PID"] = [[211, -13], [11]]
    return {
        "EFlowTrack": track,
        "EFlowPhoton": {"ET": [[3.0], []], "Eta": [[0.2], []], "Phi": [[0.4], []]},
        "EFlowNeutralHadron": {"ET": [[], [7.0]], "Eta": [[], [-0.3]], "Phi": [[], [2.5]]},
        "Jet": {"PT": [[450.0, 120.0], [300.0]], "Eta": [[0.1, 1.0], [2.0]], "Phi": [[0.5, -2.0], [1.0]],
                "Mass": [[80.0, 10.0], [20.0]]},
    }


def _write(path, groups, tree="Delphes"):
    with uproot.recreate(path) as f:
        f[tree] = {name: ak.zip({k: ak.Array(v) for k, v in fields.items()}) for name, fields in groups.items()}
    return path


def test_delphes_file_reads_into_pflow_columns(tmp_path):
    events = read_delphes(_write(tmp_path / "delphes.root", _branches()))
    assert len(events) == 2
    assert {c.name for c in columns_of("pflow")} <= set(events.fields)
    for c in columns_of("pflow"):
        assert str(events[c.name].type.content.content) == c.dtype
    first = events[0]
    assert ak.to_list(first.pfc_pid) == [211, 13, 22]
    assert ak.to_list(first.pfc_charge) == [1, -1, 0]
    pt = np.array([10.0, 2.0, 3.0])
    eta = np.array([0.1, -1.0, 0.2])
    phi = np.array([0.5, -3.0, 0.4])
    np.testing.assert_allclose(ak.to_numpy(first.pfc_px), pt * np.cos(phi), rtol=1e-6)
    np.testing.assert_allclose(ak.to_numpy(first.pfc_pz), pt * np.sinh(eta), rtol=1e-6)
    mass = np.array([0.13957, 0.10566, 0.0])
    np.testing.assert_allclose(ak.to_numpy(first.pfc_energy), np.sqrt((pt * np.cosh(eta)) ** 2 + mass**2), rtol=1e-6)
    np.testing.assert_allclose(ak.to_numpy(first.pfc_d0), [0.01, -0.2, 0.0], rtol=1e-6)
    assert ak.to_list(events[1].pfc_pid) == [11, 130]
    np.testing.assert_allclose(ak.to_numpy(events.jet_pt[0]), [450.0, 120.0])


def test_without_pid_branch_tracks_are_charged_hadrons(tmp_path):
    events = read_delphes(_write(tmp_path / "delphes.root", _branches(with_pid=False)))
    assert ak.to_list(events.pfc_pid) == [[211, 211, 22], [211, 130]]


def test_missing_branch_names_file_tree_and_branch(tmp_path):
    groups = _branches()
    del groups["EFlowPhoton"]
    path = _write(tmp_path / "nophoton.root", groups)
    with pytest.raises(ReaderError, match=r"nophoton\.root: tree 'Delphes' has no branch 'EFlowPhoton\.ET'"):
        read_delphes(path)


def test_not_a_root_file(tmp_path):
    path = tmp_path / "fake.root"
    path.write_text("not root")
    with pytest.raises(ReaderError, match="fake.root: not a readable ROOT file"):
        read_delphes(path)
