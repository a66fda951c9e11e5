import awkward as ak
import numpy as np
import pytest

uproot = pytest.importorskip("uproot")

from sim_pairs.readers import ReaderError, read_cocoa  # noqa: E402
from sim_pairs.detector import load_card  # noqa: E402
from sim_pairs.detector.cell_index import POSITION_COLUMNS, decode_cells, encode_cells  # noqa: E402
from sim_pairs.schema import columns_of  # noqa: E402

CELLS = {"cell_layer": [[0, 3, 5], [1]], "cell_x": [[1500.0, 2100.0, 3300.0], [0.0]],
         "cell_y": [[0.0, 10.0, -5.0], [1700.0]], "cell_z": [[100.0, -40.0, 0.0], [850.0]],
         "cell_eta": [[0.07, -0.02, 0.0], [0.48]], "cell_phi": [[0.0, 0.005, -0.0015], [1.5708]],
         "cell_e": [[1200.0, 350.0, 80.0], [5000.0]]}
TRACKS = {"track_d0": [[0.01, -0.03], []], "track_z0": [[0.5, -1.0], []], "track_theta": [[1.2, 2.5], []],
          "track_phi": [[0.3, -2.0], []], "track_qoverp": [[1 / 20000.0, -1 / 5000.0], []],
          "track_reconstructed": [[1, 0], []]}


def _layers(with_xyz=True):
    out = {}
    rng = np.random.default_rng(0)
    for i in range(6):
        x = rng.normal(1500, 10, 2)
        y = rng.normal(300, 10, 2)
        z = rng.normal(0, 200, 2)
        if with_xyz:
            out.update({f"track_x_layer_{i}": [list(x), []], f"track_y_layer_{i}": [list(y), []],
                        f"track_z_layer_{i}": [list(z), []]})
        else:
            out.update({f"track_eta_layer_{i}": [list(np.arcsinh(z / np.hypot(x, y))), []],
                        f"track_phi_layer_{i}": [list(np.arctan2(y, x)), []]})
    return out


def _write(path, branches, tree="Out_Tree"):
    with uproot.recreate(path) as f:
        f[tree] = {name: ak.Array(values) for name, values in branches.items()}
    return path


@pytest.mark.parametrize("with_xyz", [True, False])
def test_cocoa_file_reads_into_detector_columns(tmp_path, with_xyz):
    layers = _layers(with_xyz)
    path = _write(tmp_path / "cocoa.root", {**CELLS, **TRACKS, **layers})
    events = read_cocoa(path, reconstructed_only=False)
    assert len(events) == 2
    # the schema's detector columns, and COCOA's own cell positions beside cell_index
    assert set(events.fields) == {c.name for c in columns_of("detector")} | set(POSITION_COLUMNS)
    card = load_card("cocoa")
    for e in range(2):
        expected = encode_cells(card, CELLS["cell_layer"][e], CELLS["cell_eta"][e], CELLS["cell_phi"][e])
        np.testing.assert_array_equal(ak.to_numpy(events.cell_index[e]), expected)
        np.testing.assert_array_equal(decode_cells(card, expected)["cell_layer"], CELLS["cell_layer"][e])
    np.testing.assert_allclose(ak.to_numpy(events.cell_energy[0]), [1.2, 0.35, 0.08], rtol=1e-6)
    assert events.cell_layer.type.content.content.primitive == "int8"
    p = np.array([20.0, 5.0])
    theta = np.array([1.2, 2.5])
    np.testing.assert_allclose(ak.to_numpy(events.track_pt[0]), p * np.sin(theta), rtol=1e-6)
    np.testing.assert_allclose(ak.to_numpy(events.track_eta[0]), -np.log(np.tan(theta / 2)), rtol=1e-6)
    assert ak.to_list(events.track_charge[0]) == [1, -1]
    eta_layer = ak.to_numpy(events.track_eta_layer[0])
    assert eta_layer.shape == (2, 6)
    key = "track_z_layer_3" if with_xyz else None
    if key:
        z = np.array(layers[key][0])
        rho = np.hypot(layers["track_x_layer_3"][0], layers["track_y_layer_3"][0])
        np.testing.assert_allclose(eta_layer[:, 3], np.arcsinh(z / rho), rtol=1e-5)
    else:
        np.testing.assert_allclose(eta_layer[:, 3], layers["track_eta_layer_3"][0], rtol=1e-6)
    assert len(events.track_pt[1]) == 0


def test_unreconstructed_tracks_are_dropped(tmp_path):
    path = _write(tmp_path / "cocoa.root", {**CELLS, **TRACKS, **_layers()})
    events = read_cocoa(path)
    assert ak.to_list(ak.num(events.track_pt)) == [1, 0]
    assert ak.to_list(ak.num(events.track_eta_layer[0], axis=1)) == [6]


def test_missing_branch_names_file_tree_and_branch(tmp_path):
    branches = {**CELLS, **TRACKS, **_layers()}
    del branches["track_qoverp"]
    path = _write(tmp_path / "broken.root", branches)
    with pytest.raises(ReaderError, match=r"broken\.root: tree 'Out_Tree' has no branch 'track_qoverp'"):
        read_cocoa(path)


def test_missing_tree_and_file(tmp_path):
    path = _write(tmp_path / "other.root", CELLS, tree="Low_Tree")
    with pytest.raises(ReaderError, match="no tree 'Out_Tree'.*Low_Tree"):
        read_cocoa(path)
    with pytest.raises(ReaderError, match="file not found"):
        read_cocoa(tmp_path / "absent.root")
