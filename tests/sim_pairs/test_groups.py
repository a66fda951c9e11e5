"""sim_pairs.groups on hand-built events: the RS3L all-views rule and the row contents."""

import numpy as np
import pytest

pytest.importorskip("fastjet")

from sim_pairs.config import JetConfig
from sim_pairs.event import HardRecord, Particles, ShoweredEvent
from sim_pairs.groups import assemble_groups, group_id, impact_parameters
from sim_pairs.io import read_shard, write_shard

_BEAMS = [(21, -1, -1, 0.0, 10.0, 0.0), (21, -1, -1, 0.0, -10.0, 0.0)]


def _hard(rows):
    pid, status, mother, pt, eta, phi = (np.array(c, dtype=np.float64) for c in zip(*rows))
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    e = np.sqrt(px**2 + py**2 + pz**2)
    m = mother.astype(np.int32)
    return HardRecord(pid.astype(np.int32), status.astype(np.int32), m, m, px, py, pz, e)


def _spray(rng, pt, eta, phi, n=30, pid=211):
    """n particles around (eta, phi) sharing pt, with displaced production vertices."""
    share = rng.dirichlet(np.ones(n)) * pt
    eta_i = eta + rng.normal(0, 0.05, n)
    phi_i = phi + rng.normal(0, 0.05, n)
    px, py, pz = share * np.cos(phi_i), share * np.sin(phi_i), share * np.sinh(eta_i)
    return dict(px=px, py=py, pz=pz, e=np.sqrt(px**2 + py**2 + pz**2), pid=np.full(n, pid, np.int32),
                charge=np.ones(n, np.int8), vx=rng.normal(0, 1, n), vy=rng.normal(0, 1, n), vz=rng.normal(0, 5, n))


def _final(sprays):
    return Particles(**{k: np.concatenate([s[k] for s in sprays]) for k in sprays[0]})


# A quark at (0.2, 0.0) and a gluon at (-0.3, pi) of 600 GeV each.
_HARD = _hard(_BEAMS + [(1, 1, 0, 600.0, 0.2, 0.0), (21, 1, 0, 600.0, -0.3, np.pi)])


def _event(seed, *, quark_pt=600.0, gluon_pt=600.0, gluon_shift=0.0, hard=_HARD, neutrino=True):
    rng = np.random.default_rng(seed)
    sprays = [_spray(rng, quark_pt, 0.2, 0.0), _spray(rng, gluon_pt, -0.3 + gluon_shift, np.pi)]
    if neutrino:
        sprays.append(_spray(rng, 300.0, 0.2, 0.0, n=1, pid=14))
    return ShoweredEvent(0, hard, _final(sprays))


def _assemble(events, views=("nominal", "other"), **jets):
    config = JetConfig(**{"radius": 0.8, "pt_min": 450.0, **jets})
    return assemble_groups("qcd", events, views=list(views), jets=config, shard=3, labels=("quark", "gluon"))


def test_every_view_of_a_group_shares_its_parton_bit_for_bit():
    events = [(0, {"nominal": _event(1), "other": _event(2)}), (1, {"nominal": _event(3), "other": _event(4)})]
    columns, stats = _assemble(events)
    assert stats.groups == 4 and stats.rows == 8
    assert columns["view"].tolist() == ["nominal", "other"] * 4
    assert columns["label"].tolist() == ["quark", "quark", "gluon", "gluon"] * 2
    assert columns["group_id"].tolist() == [group_id(3, e, i) for e in (0, 1) for i in (2, 2, 3, 3)]
    for name in ("parton_px", "parton_py", "parton_pz", "parton_energy", "parton_pid"):
        values = np.asarray(columns[name])
        assert np.array_equal(values[0::2], values[1::2])
    assert columns["parton_px"][0] == _HARD.px[2]
    # The particles differ between the views of a group.
    assert not np.array_equal(np.asarray(columns["part_px"][0]), np.asarray(columns["part_px"][1]))


def test_group_failing_the_cut_or_the_match_in_one_view_is_dropped():
    events = [
        (0, {"nominal": _event(1), "other": _event(2, gluon_pt=400.0)}),  # gluon jet below 450 GeV in one view
        (1, {"nominal": _event(3), "other": _event(4, gluon_shift=0.7)}),  # gluon jet 0.7 away from its parton
        (2, {"nominal": _event(5), "other": None}),  # a view failed the event
    ]
    columns, stats = _assemble(events)
    assert stats.failed_events == 1
    assert columns["label"].tolist() == ["quark"] * 4
    assert columns["event_number"].tolist() == [0, 0, 1, 1]
    # Without the other view, the gluons of events 0 and 1 are kept.
    columns, _ = _assemble([(e, {"nominal": v["nominal"]}) for e, v in events], views=("nominal",))
    assert columns["label"].tolist() == ["quark", "gluon", "quark", "gluon", "quark", "gluon"]


def test_views_with_different_hard_partons_are_an_error():
    moved = _hard(_BEAMS + [(1, 1, 0, 600.0, 0.2, 1e-12), (21, 1, 0, 600.0, -0.3, np.pi)])
    with pytest.raises(ValueError, match="event 7: view 'other' has other hard partons"):
        _assemble([(7, {"nominal": _event(1), "other": _event(2, hard=moved)})])


def test_constituents_sorted_truncated_without_neutrinos_and_with_impact_parameters():
    event = _event(1)
    columns, _ = _assemble([(0, {"nominal": event})], views=("nominal",), max_particles=10)
    pt = np.hypot(np.asarray(columns["part_px"][0]), np.asarray(columns["part_py"][0]))
    assert len(pt) == 10 and columns["jet_nparticles"][0] == 10
    assert np.all(np.diff(pt) <= 0)
    assert 14 not in np.asarray(columns["part_pid"][0])
    # The ten hardest visible particles of the quark spray (first 30 particles), in order.
    p = event.final
    quark_pt = np.hypot(p.px[:30], p.py[:30])
    top = np.argsort(-quark_pt)[:10]
    np.testing.assert_allclose(pt, quark_pt[top], rtol=1e-6)
    d0, dz = impact_parameters(p.vx[top], p.vy[top], p.vz[top], p.px[top], p.py[top], p.pz[top])
    np.testing.assert_allclose(np.asarray(columns["part_d0"][0]), d0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(columns["part_dz"][0]), dz, rtol=1e-5, atol=1e-6)
    # Jet kinematics from all 30 visible constituents, not the 10 stored.
    assert columns["jet_pt"][0] == pytest.approx(np.hypot(p.px[:30].sum(), p.py[:30].sum()), rel=1e-9)


def test_impact_parameters_by_hand():
    # A particle from (1, 0, 2) mm moving along +y passes the z axis at distance 1 mm, at z = 2 + 0 = 2.
    d0, dz = impact_parameters(np.array([1.0]), np.array([0.0]), np.array([2.0]),
                               np.array([0.0]), np.array([5.0]), np.array([5.0]))
    assert d0[0] == pytest.approx(1.0) and dz[0] == pytest.approx(2.0)
    # From (1, 1, 0) moving along (1, 1, 1): points at the axis, d0 = 0, closest at t = -1, z = -1.
    d0, dz = impact_parameters(np.array([1.0]), np.array([1.0]), np.array([0.0]),
                               np.array([1.0]), np.array([1.0]), np.array([1.0]))
    assert d0[0] == pytest.approx(0.0, abs=1e-12) and dz[0] == pytest.approx(-1.0)


def test_empty_shard_writes_typed_columns(tmp_path):
    columns, stats = _assemble([(0, {"nominal": _event(1, quark_pt=100.0, gluon_pt=100.0)})], views=("nominal",))
    assert stats.groups == 0
    path = write_shard(columns, tmp_path / "shard-00000.parquet")
    back = read_shard(path)
    assert len(back) == 0
    assert str(back["part_px"].type.content) == "var * float32"
    assert str(back["view"].type.content) == "string"
