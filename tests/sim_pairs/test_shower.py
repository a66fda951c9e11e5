"""Tests for sim_pairs/shower.py: shared partons, seeds, rehadronisation, errors, user LHE files."""

from pathlib import Path

import numpy as np
import pytest

from sim_pairs.config import ProcessConfig, ViewConfig
from sim_pairs.lhe import LHEEvent, LHEInit, read_lhe_events, read_lhe_init, write_lhe
from sim_pairs.processes import generate_hard_events
from sim_pairs.pythia_settings import PythiaSettingError, derive_seed
from sim_pairs.shower import ViewError, _PythiaView, _RehadronizeView, final_state_particles, shower_views

SQRT_S = 13000.0


@pytest.fixture(scope="module")
def hbb_lhe(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("lhe") / "hbb.lhe.gz"  # gzip, as datasets store them
    return generate_hard_events(ProcessConfig(name="hbb"), 4, path, sqrt_s=SQRT_S, seed=3)


VIEWS = {
    "nominal": ViewConfig(),
    "seed": ViewConfig(),
    "fsr_up": ViewConfig(settings=["TimeShower:renormMultFac = 0.5"]),
    "thermal": ViewConfig(settings=["Fragmentation:model = 1"]),
    "rehad": ViewConfig(rehadronize="nominal"),
    "a14": ViewConfig(tune="A14"),
}


def _run(lhe, views=VIEWS, seed=1, **kwargs):
    return list(shower_views(views, lhe, sqrt_s=SQRT_S, seed=seed, mpi=False, **kwargs))


def _four_momentum(particles):
    return np.array([particles.px.sum(), particles.py.sum(), particles.pz.sum(), particles.e.sum()])


def test_views_share_partons_and_differ_in_final_state(hbb_lhe):
    lhe_records = [e.hard_record() for e in read_lhe_events(hbb_lhe)]
    results = _run(hbb_lhe)
    assert [n for n, _ in results] == [0, 1, 2, 3]
    for (number, views), reference in zip(results, lhe_records):
        assert list(views) == list(VIEWS)
        assert all(v is not None and v.event_number == number for v in views.values())
        for view in views.values():
            assert view.hard.same_partons(reference)
            # all particles, beam remnants included (MPI off): total four-momentum is the beams'
            np.testing.assert_allclose(_four_momentum(view.final), [0, 0, 0, SQRT_S], atol=1e-6 * SQRT_S)
        energies = {name: tuple(np.sort(v.final.e)) for name, v in views.items()}
        assert len(set(energies.values())) == len(VIEWS), "two views gave identical final states"


def test_pythia_showers_the_lhe_partons(hbb_lhe):
    """Pythia rebuilds the incoming partons from x1, x2, so equality holds to rounding (1e-14)."""
    event = next(read_lhe_events(hbb_lhe))
    for name in ("nominal", "a14"):
        runner = _PythiaView(name, [] if name == "nominal" else ["Tune:pp = 21", "PartonLevel:MPI = off"], 5,
                             read_lhe_init(hbb_lhe), hadronize_later=False)
        assert runner.shower(event)
        record = runner.pythia.process
        rows = np.array([[record[i].id(), record[i].px(), record[i].py(), record[i].pz(), record[i].e()]
                         for i in range(3, 3 + len(event))])
        np.testing.assert_array_equal(rows[:, 0], event.pid)
        np.testing.assert_allclose(rows[:, 1:], np.stack([event.px, event.py, event.pz, event.e], axis=1),
                                   rtol=1e-12, atol=1e-9)


def test_final_state_matches_a_plain_loop(hbb_lhe):
    runner = _PythiaView("nominal", ["PartonLevel:MPI = off"], 11, read_lhe_init(hbb_lhe), hadronize_later=False)
    assert runner.shower(next(read_lhe_events(hbb_lhe)))
    event = runner.pythia.event
    rows = [(p.px(), p.py(), p.pz(), p.e(), p.id(), p.charge(), p.xProd(), p.yProd(), p.zProd())
            for p in (event[i] for i in range(event.size())) if p.isFinal()]
    ref = np.array(rows)
    got = final_state_particles(event)
    assert len(got) == event.nFinal() == len(ref)
    for k, field in enumerate(("px", "py", "pz", "e", "pid", "charge", "vx", "vy", "vz")):
        np.testing.assert_array_equal(getattr(got, field), ref[:, k])
    assert got.pid.dtype == np.int32 and got.charge.dtype == np.int8
    displaced = np.hypot(got.vx, got.vy) > 0.01  # mm: B and D decays, K0S, Lambda ...
    assert displaced.any()


def test_same_seed_same_output_other_seed_differs(hbb_lhe):
    views = {"nominal": ViewConfig(), "rehad": ViewConfig(rehadronize="nominal")}
    a, b, c = (_run(hbb_lhe, views, seed=s, n_events=2) for s in (4, 4, 5))
    for (_, va), (_, vb), (_, vc) in zip(a, b, c):
        for name in views:
            for field in ("px", "py", "pz", "e", "pid", "vx"):
                np.testing.assert_array_equal(getattr(va[name].final, field), getattr(vb[name].final, field))
            assert not np.array_equal(np.sort(va[name].final.e), np.sort(vc[name].final.e))


def test_rehadronize_keeps_parton_level_and_changes_hadrons(hbb_lhe):
    init, event = read_lhe_init(hbb_lhe), next(read_lhe_events(hbb_lhe))
    source = _PythiaView("nominal", ["PartonLevel:MPI = off"], 21, init, hadronize_later=True)
    rehad = _RehadronizeView("rehad", ["PartonLevel:MPI = off"], 22)
    assert source.shower(event)
    parton = source.pythia.event
    n_parton = parton.size()
    before = [(parton[i].id(), parton[i].status(), parton[i].px(), parton[i].e()) for i in range(n_parton)]
    assert not any(parton[i].isHadron() for i in range(3, n_parton))  # 1, 2: the beams
    assert rehad.hadronize(parton)
    assert source.pythia.forceHadronLevel(False)
    for runner in (source, rehad):
        record = runner.pythia.event
        # hadronisation appends; the parton-level entries are kept, only their status changes
        after = [(record[i].id(), record[i].px(), record[i].e()) for i in range(n_parton)]
        assert after == [(i, px, e) for i, _, px, e in before]
    one, two = final_state_particles(source.pythia.event), final_state_particles(rehad.pythia.event)
    assert not np.array_equal(np.sort(one.e), np.sort(two.e))
    np.testing.assert_allclose(_four_momentum(one), _four_momentum(two), atol=1e-6 * SQRT_S)


def test_seeds_are_derived_per_view():
    seeds = {derive_seed(1, name) for name in ("nominal", "seed", "fsr_up", "vincia")}
    assert len(seeds) == 4 and all(1 <= s <= 900_000_000 for s in seeds)
    assert derive_seed(1, "nominal") == derive_seed(1, "nominal") != derive_seed(2, "nominal")


def test_rejected_setting_names_view_and_setting(hbb_lhe):
    views = {"nominal": ViewConfig(), "broken": ViewConfig(settings=["TimeShower:renormMultFactor = 0.5"])}
    with pytest.raises(PythiaSettingError, match=r"view 'broken': Pythia rejected the setting 'TimeShower:renormMultFactor = 0\.5'"):
        _run(hbb_lhe, views)


def test_failed_init_names_view(hbb_lhe):
    views = {"nominal": ViewConfig(settings=["PDF:pSet = LHAPDF6:no_such_set"])}
    with pytest.raises(PythiaSettingError, match=r"view 'nominal': Pythia init\(\) failed"):
        _run(hbb_lhe, views)


def test_bad_view_definitions(hbb_lhe):
    with pytest.raises(ViewError, match="rehadronize names unknown view 'nominall'"):
        _run(hbb_lhe, {"nominal": ViewConfig(), "r": ViewConfig(rehadronize="nominall")})
    with pytest.raises(ViewError, match="must be a Pythia shower view"):
        _run(hbb_lhe, {"nominal": ViewConfig(), "r": ViewConfig(rehadronize="s"), "s": ViewConfig(rehadronize="nominal")})
    with pytest.raises(ValueError, match="unknown tune 'A15'"):
        _run(hbb_lhe, {"nominal": ViewConfig(tune="A15")})
    with pytest.raises(ValueError, match=r"hbb\.lhe\.gz: beams at sqrt\(s\) = 13000.0 GeV, but sqrt_s = 14000"):
        list(shower_views({"nominal": ViewConfig()}, hbb_lhe, sqrt_s=14000.0, seed=1))


def test_user_lhe_with_massless_quarks(tmp_path):
    """A MadGraph-like event written by hand: u ubar -> d dbar, massless quarks, pT = 400 GeV."""
    event = LHEEvent(
        event_number=0, process_id=1, weight=1.0, scale=400.0, alpha_qed=0.0078, alpha_qcd=0.118,
        pid=np.array([2, -2, 1, -1]), status=np.array([-1, -1, 1, 1]), mother1=np.array([0, 0, 1, 1]),
        mother2=np.array([0, 0, 2, 2]), col1=np.array([501, 0, 501, 0]), col2=np.array([0, 502, 0, 502]),
        px=np.array([0.0, 0.0, 400.0, -400.0]), py=np.zeros(4), pz=np.array([500.0, -500.0, 300.0, -300.0]),
        e=np.full(4, 500.0), m=np.zeros(4), lifetime=np.zeros(4), spin=np.full(4, 9.0))
    path = tmp_path / "user.lhe"
    write_lhe(path, LHEInit(processes=[(1.0, 0.0, 1.0, 1)]), [event, event])
    out = _run(path, {"nominal": ViewConfig(), "fsr_up": ViewConfig(settings=["TimeShower:renormMultFac = 0.5"])})
    assert len(out) == 2
    for _, views in out:
        for view in views.values():
            np.testing.assert_array_equal(view.hard.px, event.px)
            np.testing.assert_allclose(_four_momentum(view.final), [0, 0, 0, SQRT_S], atol=1e-6 * SQRT_S)
            pt = np.hypot(view.final.px, view.final.py)
            assert pt.max() > 20.0  # the 400 GeV quarks became jets of hadrons


@pytest.mark.slow
def test_shipped_view_catalogue_runs_with_mpi(hbb_lhe):
    from sim_pairs.typed_config import from_mapping, load_yaml

    catalogue = Path(__file__).resolve().parents[2] / "configs" / "views.yaml"
    data = load_yaml(catalogue)
    views = {name: from_mapping(ViewConfig, fields, source=str(catalogue), where=f"views.{name}")
             for name, fields in data.items()}
    required = {"nominal", "seed", "fsr_up", "fsr_down", "fsr_up_x2", "fsr_down_x2", "isr_up", "isr_down", "vincia",
                "hadronization_up", "hadronization_down", "thermal_hadronization", "rehadronize", "cp5", "a14"}
    assert required <= set(views) and sum(name.startswith("a14_var") for name in views) == 10
    ((number, out),) = shower_views(views, hbb_lhe, sqrt_s=SQRT_S, seed=2, mpi=True, n_events=1)
    assert number == 0 and all(v is not None for v in out.values()), [k for k, v in out.items() if v is None]
    for view in out.values():
        np.testing.assert_allclose(_four_momentum(view.final), [0, 0, 0, SQRT_S], atol=1e-6 * SQRT_S)
    assert len({tuple(np.sort(v.final.e)) for v in out.values()}) == len(views)


def test_view_config_is_checked_when_built():
    with pytest.raises(ValueError, match="either 'rehadronize' or 'hepmc'"):
        ViewConfig(rehadronize="nominal", hepmc="h.hepmc")
    with pytest.raises(ValueError, match="uses its source's tune"):
        ViewConfig(rehadronize="nominal", tune="A14")
    with pytest.raises(ValueError, match="unknown tune 'Monash2013'"):
        ViewConfig(tune="Monash2013")
