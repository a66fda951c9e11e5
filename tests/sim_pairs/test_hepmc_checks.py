"""sim_pairs.hepmc_checks and HepMCView's handling of what the scan finds."""

import gzip

import numpy as np
import pytest

from sim_pairs.event import HardRecord
from sim_pairs.hepmc_checks import HepMCError, scan_hepmc

HEAD = "HepMC::Version 3.02.05\nHepMC::Asciiv3-START_EVENT_LISTING\n"
TAIL = "HepMC::Asciiv3-END_EVENT_LISTING\n"


def _event(number, px="1.0"):
    return (f"E {number} 1 3\nU GEV MM\nP 1 0 21 0 0 100 100 0 4\nV -1 0 [1] @ 0.1 0 0 0\n"
            f"P 2 -1 211 {px} 2 3 10 0.13957 1\nP 3 -1 -211 1 2 -3 10 0.13957 1\n")


def test_a_good_file_and_its_gzip(tmp_path):
    (tmp_path / "a.hepmc").write_text(HEAD + _event(0) + _event(1) + TAIL)
    (tmp_path / "b.hepmc.gz").write_bytes(gzip.compress((HEAD + _event(0) + TAIL).encode()))
    assert scan_hepmc(tmp_path / "a.hepmc").events == 2 and scan_hepmc(tmp_path / "b.hepmc.gz").events == 1


def test_bad_content_is_recorded_per_event(tmp_path):
    (tmp_path / "a.hepmc").write_text(HEAD + _event(0, "nan") + _event(1) + _event(2, "-inf") + TAIL)
    scan = scan_hepmc(tmp_path / "a.hepmc", known_pid=lambda pid: pid != -211)
    assert sorted(scan.bad) == [0, 1, 2]
    assert "field 'px' is nan" in scan.bad[0] and "field 'pid' is -211" in scan.bad[1]


@pytest.mark.parametrize("text, match", [
    ("", "empty file"), ("hello\n", "line 1"), (HEAD, "truncated"), (HEAD + TAIL, "no events"),
    (HEAD + _event(0, "1,5") + TAIL, "field 'px' is '1,5'"),
    (HEAD + _event(0).replace("E 0 1 3", "E 0 1 4") + TAIL, "declares 4 particle"),
    (HEAD + "P 1 0 21 0 0 1 1 0 4\n" + TAIL, "before any E"),
    (HEAD + _event(0).replace("E 0 1 3", "E zero 1 3") + TAIL, "field 'event number'")])
def test_format_errors_name_the_file(tmp_path, text, match):
    (tmp_path / "x.hepmc").write_text(text)
    with pytest.raises(HepMCError, match=match) as err:
        scan_hepmc(tmp_path / "x.hepmc")
    assert "x.hepmc" in str(err.value)


def test_hepmc_view_stops_or_skips_a_bad_event(tmp_path):
    pytest.importorskip("pythia8mc")
    pytest.importorskip("pyhepmc")
    from sim_pairs.hepmc import HepMCView

    path = tmp_path / "v.hepmc"
    path.write_text(HEAD + _event(0, "nan") + _event(1) + TAIL)
    with pytest.raises(HepMCError, match=r"v.hepmc: HepMC event 0, particle 2 \(pid 211\): field 'px' is nan"):
        HepMCView(path, view="other")
    view = HepMCView(path, view="other", bad_events="skip")
    hard = HardRecord(pid=np.array([21], np.int32), status=np.array([-1], np.int32), mother1=np.array([-1], np.int32),
                      mother2=np.array([-1], np.int32), px=np.zeros(1), py=np.zeros(1), pz=np.array([100.0]),
                      e=np.array([100.0]))
    assert view.showered_event(0, hard) is None and len(view.skipped) == 1
    kept = view.showered_event(1, hard)
    np.testing.assert_array_equal(np.sort(kept.final.pid), [-211, 211])
    view.close()
