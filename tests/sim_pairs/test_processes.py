"""Tests for sim_pairs/processes.py: hard events of each process, determinism, user LHE files."""

from pathlib import Path

import numpy as np
import pytest

from sim_pairs.config import ProcessConfig
from sim_pairs.lhe import LHEError, read_lhe_events
from sim_pairs.processes import PROCESSES, generate_hard_events
from sim_pairs.pythia_settings import PythiaSettingError, import_pythia

QUARKS = {1, 2, 3, 4, 5}


def _generate(tmp_path, name, n=6, seed=1, **kwargs):
    path = generate_hard_events(ProcessConfig(name=name, **kwargs), n, tmp_path / f"{name}-{seed}.lhe",
                                sqrt_s=13000.0, seed=seed)
    return list(read_lhe_events(path))


def _children(event, parent_pid):
    """PDG ids of the particles whose mother (1-based) has ``parent_pid``."""
    out = []
    for i in np.flatnonzero(event.pid == parent_pid):
        out.append(sorted(event.pid[event.mother1 == i + 1].tolist()))
    return out


def test_unknown_process_lists_known_names(tmp_path):
    with pytest.raises(ValueError, match="unknown process 'zz'.*hbb.*qcd.*ttbar"):
        generate_hard_events(ProcessConfig(name="zz"), 1, tmp_path / "x.lhe", sqrt_s=13000.0, seed=1)


def test_rejected_setting_names_it(tmp_path):
    with pytest.raises(PythiaSettingError, match=r"process 'qcd'.*'HardQCD:nonsense = on'"):
        generate_hard_events(ProcessConfig(name="qcd", settings=["HardQCD:nonsense = on"]), 1, tmp_path / "x.lhe",
                             sqrt_s=13000.0, seed=1)


@pytest.mark.parametrize("name", sorted(set(PROCESSES) - {"lhe"}))
def test_each_process_conserves_momentum_and_respects_pthat(tmp_path, name):
    events = _generate(tmp_path, name, pthat_min=300.0)
    assert len(events) == 6
    for event in events:
        incoming, outgoing = event.status == -1, event.status == 1
        p_in = np.array([event.px[incoming].sum(), event.py[incoming].sum(), event.pz[incoming].sum(), event.e[incoming].sum()])
        p_out = np.array([event.px[outgoing].sum(), event.py[outgoing].sum(), event.pz[outgoing].sum(), event.e[outgoing].sum()])
        np.testing.assert_allclose(p_out, p_in, atol=1e-6 * p_in[3])
        # the 2 -> 2 products are the first two entries after the incoming partons
        pt = np.hypot(event.px[2:4], event.py[2:4])
        assert np.all(pt >= 300.0 * (1 - 1e-9)), pt


def test_process_content(tmp_path):
    for event in _generate(tmp_path, "hbb"):
        assert _children(event, 25) == [[-5, 5]]
    for event in _generate(tmp_path, "ttbar"):
        assert _children(event, 6) == [[5, 24]] and _children(event, -6) == [[-24, -5]]
        for w in (24, -24):
            assert all(set(np.abs(c)) <= QUARKS for c in _children(event, w))
    for event in _generate(tmp_path, "wqq"):
        (w,) = [p for p in (24, -24) if p in event.pid]
        assert len(_children(event, w)[0]) == 2 and set(np.abs(_children(event, w)[0])) <= QUARKS
    for event in _generate(tmp_path, "zqq"):
        (kids,) = _children(event, 23)
        assert kids[0] == -kids[1] and abs(kids[0]) in QUARKS
    for event in _generate(tmp_path, "qcd_gluon"):
        assert np.all(event.pid[event.status == 1] == 21)
    for event in _generate(tmp_path, "qcd_quark"):
        assert set(np.abs(event.pid[event.status == 1])) <= QUARKS


def test_same_seed_same_bytes_other_seed_other_events(tmp_path):
    a = generate_hard_events(ProcessConfig(name="qcd"), 5, tmp_path / "a.lhe", sqrt_s=13000.0, seed=7)
    b = generate_hard_events(ProcessConfig(name="qcd"), 5, tmp_path / "b.lhe", sqrt_s=13000.0, seed=7)
    c = generate_hard_events(ProcessConfig(name="qcd"), 5, tmp_path / "c.lhe", sqrt_s=13000.0, seed=8)
    assert a.read_bytes() == b.read_bytes()
    assert [e.px.tolist() for e in read_lhe_events(a)] != [e.px.tolist() for e in read_lhe_events(c)]


def test_pythia_own_lhe_reader_sees_the_same_partons(tmp_path):
    """Pythia's LHEF reader (Beams:frameType = 4) is an independent check of the file we write."""
    events = _generate(tmp_path, "hbb", n=3)
    pythia = import_pythia().Pythia("", False)
    for text in ["Beams:frameType = 4", f"Beams:LHEF = {tmp_path / 'hbb-1.lhe'}", "PartonLevel:all = off",
                 "HadronLevel:all = off", "Print:quiet = on"]:
        assert pythia.readString(text)
    assert pythia.init()
    for event in events:
        assert pythia.next()
        record = pythia.process
        got = np.array([[record[i].id(), record[i].px(), record[i].pz(), record[i].e()] for i in range(3, record.size())])
        np.testing.assert_array_equal(got[:, 0], event.pid)
        np.testing.assert_allclose(got[:, 1:], np.stack([event.px, event.pz, event.e], axis=1), rtol=1e-12, atol=1e-9)


def test_user_lhe_files_are_sliced_and_checked(tmp_path):
    first = generate_hard_events(ProcessConfig(name="qcd"), 4, tmp_path / "u1.lhe", sqrt_s=13000.0, seed=1)
    second = generate_hard_events(ProcessConfig(name="qcd"), 3, tmp_path / "u2.lhe.gz", sqrt_s=13000.0, seed=2)
    user = ProcessConfig(name="lhe", lhe_files=["u1.lhe", "u2.lhe.gz"], events=7)
    out = generate_hard_events(user, 4, tmp_path / "slice.lhe", sqrt_s=13000.0, seed=99, base_dir=tmp_path, skip=2)
    want = list(read_lhe_events(first))[2:] + list(read_lhe_events(second))[:2]
    got = list(read_lhe_events(out))
    assert [e.event_number for e in got] == [0, 1, 2, 3]
    for a, b in zip(got, want):
        assert a.hard_record().same_partons(b.hard_record())
    with pytest.raises(LHEError, match=r"7 events in all, but events 5\.\.8 were asked for"):
        generate_hard_events(user, 4, tmp_path / "x.lhe", sqrt_s=13000.0, seed=1, base_dir=tmp_path, skip=5)
    with pytest.raises(LHEError, match=r"u1\.lhe: beams .* sqrt\(s\) = 13000.0 GeV, expected .* sqrt_s = 14000"):
        generate_hard_events(user, 1, tmp_path / "x.lhe", sqrt_s=14000.0, seed=1, base_dir=tmp_path)
    assert not (tmp_path / "x.lhe").exists()


def test_process_config_is_checked_when_built():
    with pytest.raises(ValueError, match="lhe_files go with name 'lhe'"):
        ProcessConfig(name="lhe")
    with pytest.raises(ValueError, match="lhe_files go with name 'lhe'"):
        ProcessConfig(name="qcd", lhe_files=["a.lhe"])
    with pytest.raises(ValueError, match=r"pthat_max \(400.0\) must exceed pthat_min \(450.0\)"):
        ProcessConfig(name="qcd", pthat_max=400.0)
    with pytest.raises(ValueError, match="unknown process 'QCD'; known processes: hbb, lhe, qcd"):
        ProcessConfig(name="QCD")
