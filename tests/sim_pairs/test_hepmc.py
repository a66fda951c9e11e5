"""Tests for sim_pairs/hepmc.py: HepMC3 files from another shower run used as a view."""

from pathlib import Path

import numpy as np
import pytest

from sim_pairs.config import ProcessConfig, ViewConfig
from sim_pairs.hepmc import HepMCError, HepMCView, pythia_to_genevent, write_hepmc
from sim_pairs.processes import generate_hard_events
from sim_pairs.pythia_settings import import_pythia
from sim_pairs.shower import final_state_particles, shower_views

SQRT_S = 13000.0


def _shower_with_pythia_lhef_reader(lhe: Path, seed: int):
    """Stand-in for Herwig: Pythia's own LHEF reader showers the file; yields (number, GenEvent, final state)."""
    pythia = import_pythia().Pythia("", False)
    for text in ["Beams:frameType = 4", f"Beams:LHEF = {lhe}", "PartonLevel:MPI = off", "Print:quiet = on",
                 "Random:setSeed = on", f"Random:seed = {seed}"]:
        assert pythia.readString(text)
    assert pythia.init()
    number = 0
    while pythia.next():
        yield number, pythia_to_genevent(pythia.event, number), final_state_particles(pythia.event)
        number += 1


@pytest.fixture(scope="module")
def lhe_files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hepmc")
    same = generate_hard_events(ProcessConfig(name="zqq"), 3, directory / "z.lhe", sqrt_s=SQRT_S, seed=1)
    other = generate_hard_events(ProcessConfig(name="zqq"), 3, directory / "other.lhe", sqrt_s=SQRT_S, seed=2)
    return directory, same, other


def test_hepmc_view_is_matched_by_event_number(lhe_files):
    directory, lhe, _ = lhe_files
    showered = list(_shower_with_pythia_lhef_reader(lhe, seed=5))
    kept = [s for s in showered if s[0] != 1]  # the other generator "failed" event 1
    assert write_hepmc(directory / "ext.hepmc", [g for _, g, _ in kept]) == 2
    views = {"nominal": ViewConfig(), "ext": ViewConfig(hepmc="ext.hepmc")}
    out = list(shower_views(views, lhe, sqrt_s=SQRT_S, seed=1, mpi=False, base_dir=directory))
    assert [n for n, _ in out] == [0, 1, 2]
    assert out[1][1]["ext"] is None and out[1][1]["nominal"] is not None
    for number, _, reference in kept:
        got = out[number][1]["ext"]
        assert got.hard is out[number][1]["nominal"].hard
        # HepMC stores parents before children, so the order of particles differs from Pythia's
        order_got, order_ref = np.lexsort((got.final.px, got.final.e)), np.lexsort((reference.px, reference.e))
        for field in ("px", "py", "pz", "e", "pid", "charge", "vx", "vy", "vz"):
            np.testing.assert_allclose(getattr(got.final, field)[order_got], getattr(reference, field)[order_ref],
                                       rtol=1e-12, atol=1e-12)
        assert np.hypot(got.final.vx, got.final.vy).max() > 0.01  # displaced decays survive the round trip
        assert not np.array_equal(np.sort(got.final.e), np.sort(out[number][1]["nominal"].final.e))


def test_hepmc_numbering_from_one(lhe_files):
    directory, lhe, _ = lhe_files
    events = []
    for number, genevent, _ in _shower_with_pythia_lhef_reader(lhe, seed=6):
        genevent.event_number = number + 1
        events.append(genevent)
    write_hepmc(directory / "from1.hepmc", events)
    views = {"nominal": ViewConfig(), "ext": ViewConfig(hepmc="from1.hepmc", hepmc_first_event=1)}
    out = list(shower_views(views, lhe, sqrt_s=SQRT_S, seed=1, mpi=False, base_dir=directory))
    assert all(v["ext"] is not None for _, v in out)


def test_hepmc_of_other_hard_events_is_rejected(lhe_files):
    directory, lhe, other = lhe_files
    write_hepmc(directory / "wrong.hepmc", [g for _, g, _ in _shower_with_pythia_lhef_reader(other, seed=5)])
    views = {"nominal": ViewConfig(), "herwig": ViewConfig(hepmc="wrong.hepmc")}
    with pytest.raises(HepMCError, match=r"wrong\.hepmc: HepMC event 0 \(LHE event 0, view 'herwig'\): hard parton"):
        list(shower_views(views, lhe, sqrt_s=SQRT_S, seed=1, mpi=False, base_dir=directory))


def test_missing_hepmc_file(lhe_files):
    directory, lhe, _ = lhe_files
    with pytest.raises(HepMCError, match=r"nothere\.hepmc: HepMC file of view 'h' not found"):
        HepMCView(directory / "nothere.hepmc", view="h")


def test_truncated_hepmc_file_is_an_error(lhe_files):
    directory, lhe, _ = lhe_files
    write_hepmc(directory / "cut.hepmc", [g for _, g, _ in _shower_with_pythia_lhef_reader(lhe, seed=5)])
    lines = (directory / "cut.hepmc").read_text().splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("E ")]
    (directory / "cut.hepmc").write_text("".join(lines[: starts[1] + 40]))  # event 1 cut after 40 lines
    views = {"nominal": ViewConfig(), "ext": ViewConfig(hepmc="cut.hepmc")}
    with pytest.raises(HepMCError, match=r"cut\.hepmc: HepMC event 1: .*\(truncated\)"):
        list(shower_views(views, lhe, sqrt_s=SQRT_S, seed=1, mpi=False, base_dir=directory))


def test_hepmc_of_a_slice_of_the_lhe_file(lhe_files, tmp_path):
    """A shard cut from a user's LHE file at event 1 is matched to HepMC events 1, 2."""
    directory, lhe, _ = lhe_files
    write_hepmc(directory / "all.hepmc", [g for _, g, _ in _shower_with_pythia_lhef_reader(lhe, seed=7)])
    user = ProcessConfig(name="lhe", lhe_files=[str(lhe)], events=3)
    shard = generate_hard_events(user, 2, tmp_path / "shard.lhe", sqrt_s=SQRT_S, seed=1, skip=1)
    views = {"nominal": ViewConfig(), "ext": ViewConfig(hepmc=str(directory / "all.hepmc"))}
    out = list(shower_views(views, shard, sqrt_s=SQRT_S, seed=1, mpi=False, hepmc_event_offset=1))
    assert [n for n, _ in out] == [0, 1] and all(v["ext"] is not None for _, v in out)
    with pytest.raises(HepMCError, match=r"HepMC event 0 \(LHE event 0"):
        list(shower_views(views, shard, sqrt_s=SQRT_S, seed=1, mpi=False))
