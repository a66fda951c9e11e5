"""Tests for sim_pairs/lhe.py: round trip, exact floats, strict errors."""

import gzip

import numpy as np
import pytest

from sim_pairs.lhe import LHEError, LHEEvent, LHEInit, count_lhe_events, read_lhe, read_lhe_events, read_lhe_init, write_lhe


def _event(number, rng):
    n = 4
    event = LHEEvent(
        event_number=number, process_id=111, weight=1.0, scale=rng.uniform(100, 900), alpha_qed=1 / 128.0,
        alpha_qcd=0.1183, pid=np.array([21, 2, 21, 2]), status=np.array([-1, -1, 1, 1]),
        mother1=np.array([0, 0, 1, 1]), mother2=np.array([0, 0, 2, 2]), col1=np.array([501, 502, 503, 502]),
        col2=np.array([503, 0, 501, 0]), px=np.r_[0.0, 0.0, rng.normal(0, 300, 2)],
        py=np.r_[0.0, 0.0, rng.normal(0, 300, 2)], pz=rng.normal(0, 500, 4), e=np.zeros(4),
        m=np.zeros(4), lifetime=np.zeros(4), spin=np.full(4, 9.0))
    event.e = np.sqrt(event.px ** 2 + event.py ** 2 + event.pz ** 2) + rng.uniform(0, 10, 4)  # time-like
    return event


def _write(path, n=3, seed=0):
    rng = np.random.default_rng(seed)
    events = [_event(i, rng) for i in range(n)]
    write_lhe(path, LHEInit(processes=[(1.5, 0.1, 1.0, 111)]), events, comment="test")
    return events


@pytest.mark.parametrize("name", ["events.lhe", "events.lhe.gz"])
def test_round_trip_is_exact(tmp_path, name):
    events = _write(tmp_path / name)
    back = list(read_lhe_events(tmp_path / name))
    assert len(back) == len(events)
    for a, b in zip(events, back):
        for field in ("pid", "status", "mother1", "mother2", "col1", "col2", "px", "py", "pz", "e", "m", "spin"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
        assert (a.scale, a.alpha_qcd, a.process_id) == (b.scale, b.alpha_qcd, b.process_id)
    hard = list(read_lhe(tmp_path / name))
    assert hard[1].same_partons(events[1].hard_record())
    np.testing.assert_array_equal(hard[0].mother1, [-1, -1, 0, 0])
    init = read_lhe_init(tmp_path / name)
    assert init.sqrt_s == 13000.0 and init.processes == [(1.5, 0.1, 1.0, 111)]
    assert count_lhe_events(tmp_path / name) == 3


def test_same_events_same_bytes(tmp_path):
    _write(tmp_path / "a.lhe.gz")
    _write(tmp_path / "b.lhe.gz")
    assert (tmp_path / "a.lhe.gz").read_bytes() == (tmp_path / "b.lhe.gz").read_bytes()


def test_truncated_file_names_file_and_event(tmp_path):
    path = tmp_path / "cut.lhe"
    _write(path)
    lines = path.read_text().splitlines(keepends=True)
    start = [i for i, line in enumerate(lines) if line.startswith("<event")][2]
    path.write_text("".join(lines[: start + 3]))  # event 2 header and one particle of four
    with pytest.raises(LHEError, match=r"cut\.lhe: event 2: expected 4 particle lines, found 1"):
        list(read_lhe(path))


def test_truncated_after_last_event(tmp_path):
    path = tmp_path / "cut.lhe"
    _write(path)
    path.write_text(path.read_text().replace("</LesHouchesEvents>\n", ""))
    with pytest.raises(LHEError, match=r"cut\.lhe: after event 2: .*truncated"):
        list(read_lhe(path))


def test_bad_number_names_event_and_particle(tmp_path):
    path = tmp_path / "bad.lhe"
    _write(path)
    lines = path.read_text().splitlines(keepends=True)
    start = [i for i, line in enumerate(lines) if line.startswith("<event")][1]
    words = lines[start + 3].split()
    words[6] = "1.0.0"
    lines[start + 3] = " ".join(words) + "\n"
    path.write_text("".join(lines))
    with pytest.raises(LHEError, match=r"bad\.lhe: event 1, particle 1: expected numbers .* got '.*1\.0\.0"):
        list(read_lhe(path))


def test_missing_fields_and_bad_mother(tmp_path):
    path = tmp_path / "short.lhe"
    _write(path)
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    start = [i for i, line in enumerate(lines) if line.startswith("<event")][0]
    lines[start + 2] = "21 -1 0 0\n"
    path.write_text("".join(lines))
    with pytest.raises(LHEError, match=r"event 0, particle 0: expected 13 numbers"):
        list(read_lhe(path))
    lines = text.splitlines(keepends=True)
    lines[start + 4] = lines[start + 4].replace("21 1 1 2", "21 1 9 2", 1)
    path.write_text("".join(lines))
    with pytest.raises(LHEError, match=r"event 0, particle 2 \(IDUP 21\): field MOTHUP\(1\) is 9, expected 0 \(none\) or a particle 1\.\.4"):
        list(read_lhe(path))


def test_not_an_lhe_file(tmp_path):
    path = tmp_path / "x.lhe"
    path.write_text("hello\n")
    with pytest.raises(LHEError, match="no <init> block"):
        read_lhe_init(path)
    with pytest.raises(LHEError, match="not found"):
        list(read_lhe(tmp_path / "missing.lhe"))
    gz = tmp_path / "broken.lhe.gz"
    _write(gz)
    gz.write_bytes(gz.read_bytes()[:200])
    with pytest.raises(LHEError, match=r"broken\.lhe\.gz: event"):
        list(read_lhe(gz))
