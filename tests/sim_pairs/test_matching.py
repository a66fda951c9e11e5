"""sim_pairs.matching on hand-built hard records."""

import numpy as np
import pytest

from sim_pairs.event import HardRecord
from sim_pairs.matching import delta_r, match_objects, truth_objects


def _record(rows):
    """rows: (pid, status, mother1 (0-based, -1 none), pt, eta, phi, mass)."""
    pid, status, mother, pt, eta, phi, mass = (np.array(c) for c in zip(*rows))
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    e = np.sqrt(px**2 + py**2 + pz**2 + mass**2)
    return HardRecord(pid.astype(np.int32), status.astype(np.int32), mother.astype(np.int32), mother.astype(np.int32),
                      px, py, pz, e)


_BEAMS = [(21, -1, -1, 0.0, 10.0, 0.0, 0.0), (21, -1, -1, 0.0, -10.0, 0.0, 0.0)]


def test_quark_and_gluon_labels_and_match():
    hard = _record(_BEAMS + [(2, 1, 0, 500.0, 0.3, 0.5, 0.0), (21, 1, 0, 500.0, -0.2, 0.5 - np.pi, 0.0)])
    objects = truth_objects(hard)
    assert [(o.index, o.label, o.pid) for o in objects] == [(2, "quark", 2), (3, "gluon", 21)]
    # Jets listed in another order than the partons, one of them off by dR = 0.3.
    jet_eta = np.array([-0.2 + 0.3, 0.31, 2.0])
    jet_phi = np.array([0.5 - np.pi, 0.49, 0.0])
    assert match_objects(objects, jet_eta, jet_phi, match_radius=0.5, radius=0.8).tolist() == [1, 0]
    assert match_objects(objects, jet_eta, jet_phi, match_radius=0.2, radius=0.8).tolist() == [1, -1]


def _higgs_event(db_eta):
    """H at eta 0, phi 0 -> b (dR 0.3 from H) + bbar (dR db_eta from H), plus a recoiling gluon."""
    return _record(_BEAMS + [
        (25, 2, 0, 600.0, 0.0, 0.0, 125.0),
        (21, 1, 0, 600.0, 0.0, np.pi, 0.0),
        (5, 1, 2, 400.0, 0.3, 0.0, 4.8),
        (-5, 1, 2, 200.0, -db_eta, 0.0, 4.8),
    ])


def test_higgs_to_bb_needs_both_b_within_r():
    inside = truth_objects(_higgs_event(0.6))
    higgs = [o for o in inside if o.label == "Hbb"]
    assert [o.index for o in higgs] == [2]
    # b quarks are prongs of the Higgs, not objects of their own.
    assert sorted(o.label for o in inside) == ["Hbb", "gluon"]
    jets = (np.array([0.05, 0.0]), np.array([0.0, np.pi]))
    assert match_objects(higgs, *jets, match_radius=0.5, radius=0.8).tolist() == [0]
    outside = [o for o in truth_objects(_higgs_event(0.9)) if o.label == "Hbb"]
    assert match_objects(outside, *jets, match_radius=0.5, radius=0.8).tolist() == [-1]
    # ... but with R = 1.0 it is contained again.
    assert match_objects(outside, *jets, match_radius=0.5, radius=1.0).tolist() == [0]


def test_higgs_to_non_b_and_leptonic_w_are_not_labelled():
    tautau = _record(_BEAMS + [(25, 2, 0, 600.0, 0.0, 0.0, 125.0), (15, 1, 2, 300, 0.1, 0, 1.8),
                               (-15, 1, 2, 300, -0.1, 0, 1.8)])
    assert truth_objects(tautau) == []
    leptonic = _record(_BEAMS + [(24, 2, 0, 600.0, 0.0, 0.0, 80.4), (-13, 1, 2, 300, 0.1, 0, 0.1),
                                 (14, 1, 2, 300, -0.1, 0, 0.0)])
    assert truth_objects(leptonic) == []
    hadronic = _record(_BEAMS + [(23, 2, 0, 600.0, 0.0, 0.0, 91.2), (1, 1, 2, 300, 0.1, 0, 0),
                                 (-1, 1, 2, 300, -0.1, 0, 0)])
    assert [o.label for o in truth_objects(hadronic)] == ["Zqq"]


def test_top_needs_b_and_both_w_quarks():
    rows = _BEAMS + [
        (6, 2, 0, 800.0, 0.0, 0.0, 172.5),
        (-6, 2, 0, 800.0, 0.0, np.pi, 172.5),
        (5, 1, 2, 300.0, 0.2, 0.1, 4.8),
        (24, 2, 2, 500.0, -0.1, -0.1, 80.4),
        (2, 1, 5, 250.0, -0.3, -0.2, 0.0),
        (-1, 1, 5, 250.0, 0.1, 0.0, 0.0),
        (-5, 1, 3, 300.0, 0.0, np.pi, 4.8),
        (-24, 2, 3, 500.0, 0.0, np.pi, 80.4),
        (11, 1, 9, 250.0, 0.0, np.pi, 0.0),
        (-12, 1, 9, 250.0, 0.0, np.pi, 0.0),
    ]
    objects = truth_objects(_record(rows))
    # The leptonic top is not labelled; the W of the hadronic top is a prong, not an object.
    assert [(o.index, o.label) for o in objects] == [(2, "top")]
    assert len(objects[0].prong_eta) == 3
    assert match_objects(objects, [0.0], [0.0], match_radius=0.5, radius=0.8).tolist() == [0]
    assert match_objects(objects, [0.0], [0.0], match_radius=0.5, radius=0.3).tolist() == [-1]


def test_each_jet_goes_to_the_closest_object():
    hard = _record(_BEAMS + [(1, 1, 0, 500.0, 0.0, 0.0, 0.0), (21, 1, 0, 500.0, 0.3, 0.0, 0.0)])
    objects = truth_objects(hard)
    assert match_objects(objects, [0.25], [0.0], match_radius=0.5, radius=0.8).tolist() == [-1, 0]
    assert match_objects(objects, [0.25, -0.1], [0.0, 0.0], match_radius=0.5, radius=0.8).tolist() == [1, 0]


def test_delta_r_wraps_phi():
    assert delta_r(0.0, np.pi - 0.1, 0.0, -np.pi + 0.1) == pytest.approx(0.2)
    assert delta_r(1.0, 0.0, -2.0, 4.0) == pytest.approx(np.hypot(3.0, 4.0 - 2 * np.pi))
