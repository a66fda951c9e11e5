"""Tests for sim_pairs/pythia_batch.py: a batch read gives the bytes of the per-particle read."""

import numpy as np
import pytest

from sim_pairs.config import ProcessConfig, ViewConfig
from sim_pairs.lhe import read_lhe_events, read_lhe_init
from sim_pairs.processes import generate_hard_events
from sim_pairs.shower import _PythiaView, final_state_particles, view_settings


@pytest.fixture(scope="module")
def qcd_lhe(tmp_path_factory):
    path = tmp_path_factory.mktemp("lhe") / "qcd.lhe.gz"
    return generate_hard_events(ProcessConfig(name="qcd", pthat_min=450.0), 12, path, sqrt_s=13000.0, seed=2)


@pytest.mark.parametrize("settings", [[], ["Fragmentation:model = 1"]])
def test_batch_gives_the_bytes_of_an_event_by_event_read_with_mpi(qcd_lhe, settings):
    # the reference: the same seed, next() per event, read one particle attribute at a time
    init, events = read_lhe_init(qcd_lhe), list(read_lhe_events(qcd_lhe))
    views = {"v": ViewConfig(settings=settings)}
    one_by_one = _PythiaView("v", view_settings("v", views, mpi=True), 9, init, hadronize_later=False)
    batched = _PythiaView("v", view_settings("v", views, mpi=True), 9, init, hadronize_later=False)
    reference = [final_state_particles(one_by_one.pythia.event) if one_by_one.shower(e) else None for e in events]
    got = batched.shower_batch(events[:5]) + batched.shower_batch(events[5:])
    assert len(got) == len(reference) and all(r is not None for r in reference)
    for ref, particles in zip(reference, got):
        assert len(particles) > 50  # whole events, MPI on
        for field in ("px", "py", "pz", "e", "pid", "charge", "vx", "vy", "vz"):
            a, b = getattr(ref, field), getattr(particles, field)
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), field
    assert any((np.hypot(p.vx, p.vy) > 0.01).any() for p in got)  # displaced vertices come through


def test_a_batch_asks_once_per_event_and_a_drift_is_an_error(qcd_lhe):
    init, events = read_lhe_init(qcd_lhe), list(read_lhe_events(qcd_lhe))[:3]
    runner = _PythiaView("v", ["PartonLevel:MPI = off"], 1, init, hadronize_later=False)
    assert all(p is not None for p in runner.shower_batch(events))
    assert runner.lha.requests == 3
    # a Pythia that asked twice for one event would shift every later event: refused
    original = runner.lha.setEvent
    asked = []

    def twice_for_the_first(*args):
        if not asked:
            asked.append(original(*args))
        return original(*args)

    runner.lha.setEvent = twice_for_the_first
    with pytest.raises(RuntimeError, match="view 'v': Pythia asked for 4 hard events while showering a batch of 3"):
        runner.shower_batch(events)


def test_layout_gather_equals_awkwards_api_including_failed_events(qcd_lhe):
    from sim_pairs.pythia_batch import _from_arrays, _from_layout

    init, events = read_lhe_init(qcd_lhe), list(read_lhe_events(qcd_lhe))[:6]
    runner = _PythiaView("v", view_settings("v", {"v": ViewConfig()}, mpi=True), 3, init, hadronize_later=False)
    runner.lha.serve(events, repeat_last=False)
    batch = runner.pythia.nextBatch(len(events), "none")
    # a failed event, as nextBatch reports one: index -1 in its option layout
    import awkward as ak

    index = np.array([0, 1, -1, 2, 3, 4, 5], dtype=np.int64)
    with_failure = ak.Array(ak.contents.IndexedOptionArray(ak.index.Index64(index), batch.layout.content))
    for b in (batch, with_failure):
        fast, generic = _from_layout(b), _from_arrays(b)
        assert fast is not None
        np.testing.assert_array_equal(fast[0], generic[0])
        np.testing.assert_array_equal(fast[1], generic[1])
        for name in generic[2]:
            assert fast[2][name].dtype == generic[2][name].dtype
            assert fast[2][name].tobytes() == generic[2][name].tobytes(), name
    assert _from_layout(with_failure)[0].tolist() == [False, False, True, False, False, False, False]
