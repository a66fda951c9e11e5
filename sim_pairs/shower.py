"""Re-shower the same hard events under many named views.

The re-shower pairing of RS3L (Harris et al., arXiv 2403.07066): every view
starts from exactly the same partons (one LHE event) and differs in the parton
shower, the hadronisation, the tune or only the random seed. ``rehadronize``
views keep another view's parton-level event and hadronise it again with an
independent seed (the pairing of Rieck et al., arXiv 2503.11632). ``hepmc`` views
take the showers of another generator (Herwig, Sherpa) from a HepMC3 file made
from the same LHE file.

Each Pythia view has its own Pythia instance, fed the parsed LHE events in memory
(an ``LHAup`` subclass, ``Beams:frameType = 5``), so that if Pythia retries an
event internally it retries the same partons and the views never drift apart.
Each gets the seed ``derive_seed(seed, view name)``.

Settings of a view, in the order they are applied: the in-memory LHE input,
``base_settings``, the view's ``tune`` (``Tune:pp`` resets parameters, so it
comes before the view's own strings), ``PartonLevel:MPI = off`` if ``mpi`` is
False, then the view's ``settings``. A ``rehadronize`` view uses its source's
settings followed by its own.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np

from .config import ViewConfig
from .event import HardRecord, Particles, ShoweredEvent
from .hepmc import HepMCView
from .lhe import LHEEvent, LHEInit, read_lhe_events, read_lhe_init
from .pythia_settings import PythiaSettingError, derive_seed, import_pythia, init_pythia, new_pythia
from .tunes import tune_settings

__all__ = ["shower_views", "view_settings", "final_state_particles", "ViewError"]


class ViewError(ValueError):
    """A view definition that cannot be run (unknown source view, cycle, bad tune)."""


def view_settings(name: str, views: Mapping[str, ViewConfig], *, mpi: bool = True,
                  base_settings: Sequence[str] = ()) -> list[str]:
    """The Pythia strings of a Pythia view (without the input and seed), in application order."""
    view = views[name]
    if view.rehadronize:
        return view_settings(view.rehadronize, views, mpi=mpi, base_settings=base_settings) + list(view.settings)
    mpi_off = [] if mpi else ["PartonLevel:MPI = off"]
    return list(base_settings) + tune_settings(view.tune, where=f"view {name!r}") + mpi_off + list(view.settings)


def final_state_particles(event) -> Particles:
    """All final-state particles of a Pythia ``Event``, neutrinos included.

    Production vertices are Pythia's (mm): decay products of B hadrons carry
    their displaced vertex. pythia8mc 8.317 has no bulk (numpy) accessor for the
    event record, so this makes one pass per attribute with ``map`` over the
    unbound methods (the fastest pure-Python route measured): about 1.5-2.5 ms for
    an event of 1500 entries with MPI, 15-25% of Pythia's own time.
    """
    import_pythia()
    from pythia8mc import Particle as P

    everything = event.particles()
    final = np.fromiter(map(P.isFinal, everything), bool, len(everything))
    parts = list(itertools.compress(everything, final))
    n = len(parts)

    def column(method, dtype=np.float64):
        return np.fromiter(map(method, parts), dtype, n)

    pid = column(P.id, np.int32)
    # charge depends on the id only: ask one particle per distinct id
    unique, first, inverse = np.unique(pid, return_index=True, return_inverse=True)
    charge = np.rint([parts[i].charge() for i in first]).astype(np.int8)[inverse.reshape(-1)]
    return Particles(px=column(P.px), py=column(P.py), pz=column(P.pz), e=column(P.e), pid=pid, charge=charge,
                     vx=column(P.xProd), vy=column(P.yProd), vz=column(P.zProd))


def _memory_lha_class():
    pythia8mc = import_pythia()

    class MemoryLHA(pythia8mc.LHAup):
        """Hands Pythia one parsed LHE event at a time (the same one on every retry)."""

        def __init__(self, init: LHEInit):
            super().__init__()
            self.lhe_init = init
            self.current: LHEEvent | None = None

        def setInit(self) -> bool:
            init = self.lhe_init
            self.setBeamA(int(init.beam_ids[0]), float(init.beam_energies[0]), 0, 0)
            self.setBeamB(int(init.beam_ids[1]), float(init.beam_energies[1]), 0, 0)
            self.setStrategy(3)
            for xsec, xerr, xmax, code in init.processes:
                self.addProcess(int(code), float(xsec), float(xerr), float(xmax))
            return True

        def setEvent(self, idProcIn: int = 0) -> bool:
            ev = self.current
            if ev is None:
                return False
            self.setProcess(int(ev.process_id), float(ev.weight), float(ev.scale), float(ev.alpha_qed),
                            float(ev.alpha_qcd))
            for i in range(len(ev)):
                self.addParticle(int(ev.pid[i]), int(ev.status[i]), int(ev.mother1[i]), int(ev.mother2[i]),
                                 int(ev.col1[i]), int(ev.col2[i]), float(ev.px[i]), float(ev.py[i]), float(ev.pz[i]),
                                 float(ev.e[i]), float(ev.m[i]), float(ev.lifetime[i]), float(ev.spin[i]), -1.0)
            return True

    return MemoryLHA


class _PythiaView:
    """One Pythia instance showering (and, unless it feeds rehadronisation, hadronising)."""

    def __init__(self, name, settings, seed, init: LHEInit, *, hadronize_later: bool):
        where = f"view {name!r}"
        self.lha = _memory_lha_class()(init)
        extra = ["HadronLevel:all = off"] if hadronize_later else []
        self.pythia = new_pythia(["Beams:frameType = 5"] + settings + extra, seed=seed, where=where)
        self.pythia.setLHAupPtr(self.lha)
        init_pythia(self.pythia, where=where)
        self.hadronize_later = hadronize_later

    def shower(self, event: LHEEvent) -> bool:
        self.lha.current = event
        return self.pythia.next()


class _RehadronizeView:
    """A Pythia instance with the process and parton levels off: hadronises given events."""

    def __init__(self, name, settings, seed):
        where = f"view {name!r}"
        self.pythia = new_pythia(settings + ["ProcessLevel:all = off"], seed=seed, where=where)
        init_pythia(self.pythia, where=where)

    def hadronize(self, parton_event) -> bool:
        self.pythia.event.assign(parton_event)
        self.pythia.event.restorePtrs()
        return _hadronize(self.pythia)


def _hadronize(pythia) -> bool:
    """Hadronise the parton-level ``pythia.event`` in place.

    ``findJunctions = False``: the parton level already recorded the junctions
    (beam remnants with MPI); searching again fails on about one event in five.
    """
    return pythia.forceHadronLevel(False)


def _check_views(views: Mapping[str, ViewConfig]) -> None:
    for name, view in views.items():
        kinds = [k for k in ("rehadronize", "hepmc") if getattr(view, k)]
        if len(kinds) > 1:
            raise ViewError(f"view {name!r}: 'rehadronize' and 'hepmc' exclude each other")
        if view.rehadronize:
            source = views.get(view.rehadronize)
            if source is None:
                raise ViewError(f"view {name!r}: rehadronize names unknown view {view.rehadronize!r}; "
                                f"views: {', '.join(views)}")
            if source.rehadronize or source.hepmc:
                raise ViewError(f"view {name!r}: rehadronize source {view.rehadronize!r} must be a Pythia shower view")
            if view.tune:
                raise ViewError(f"view {name!r}: a rehadronize view takes its source's tune; use settings instead")


def shower_views(views: Mapping[str, ViewConfig], lhe_path: Path, *, sqrt_s: float, seed: int, mpi: bool = True,
                 base_settings: Sequence[str] = (), base_dir: Path = Path("."), n_events: int | None = None,
                 hepmc_event_offset: int = 0, bad_events: str = "error",
                 skipped: list[str] | None = None) -> Iterator[tuple[int, dict[str, ShoweredEvent | None]]]:
    """Shower every hard event of an LHE file under every view.

    Args:
        views: view name -> :class:`ViewConfig`.
        lhe_path: the hard events (LHE, ``.gz`` allowed).
        sqrt_s: centre-of-mass energy in GeV; the LHE beams must agree.
        seed: master seed; view ``v`` uses ``derive_seed(seed, v)`` (rehadronisation
            ``derive_seed(seed, v, "rehadronize")``).
        mpi: multi-parton interactions on.
        base_settings: Pythia strings for every view (before tune and view settings).
        base_dir: directory ``hepmc`` file names are relative to.
        n_events: stop after this many hard events (None: all).
        hepmc_event_offset: position of this LHE file's first event in the LHE file
            the HepMC views were made from (a shard cut from a user's LHE files at
            event k passes k), added to the HepMC event numbers looked up.
        bad_events: ``error`` or ``skip`` for unusable HepMC events (see
            :class:`~sim_pairs.hepmc.HepMCView`).
        skipped: a list that receives one message per HepMC event skipped.

    Yields:
        ``(event_number, {view name: ShoweredEvent, or None where that view failed
        on this event})`` for each hard event in file order; ``event_number`` is the
        0-based position in the LHE file. All views share one :class:`HardRecord`
        object, read from the LHE file.

    Raises:
        PythiaSettingError: a setting Pythia rejects (naming view and string) or a
            failed init.
        ViewError, LHEError, HepMCError: bad view definitions or input files.
    """
    lhe_path = Path(lhe_path)
    _check_views(views)
    init = read_lhe_init(lhe_path)
    if not np.isclose(init.sqrt_s, sqrt_s, rtol=1e-6):
        raise ValueError(f"{lhe_path}: beams at sqrt(s) = {init.sqrt_s} GeV, but sqrt_s = {sqrt_s} GeV is configured")
    sources = {v.rehadronize for v in views.values() if v.rehadronize}
    pythia_views: dict[str, _PythiaView] = {}
    rehad_views: dict[str, _RehadronizeView] = {}
    hepmc_views: dict[str, HepMCView] = {}
    try:
        for name, view in views.items():
            if view.hepmc:
                hepmc_views[name] = HepMCView(Path(base_dir) / view.hepmc, view=name,
                                              first_event_number=view.hepmc_first_event + hepmc_event_offset,
                                              bad_events=bad_events)
            elif view.rehadronize:
                settings = view_settings(name, views, mpi=mpi, base_settings=base_settings)
                rehad_views[name] = _RehadronizeView(name, settings, derive_seed(seed, name, "rehadronize"))
            else:
                settings = view_settings(name, views, mpi=mpi, base_settings=base_settings)
                pythia_views[name] = _PythiaView(name, settings, derive_seed(seed, name), init,
                                                 hadronize_later=name in sources)
        yield from _run(views, lhe_path, pythia_views, rehad_views, hepmc_views, n_events)
    finally:
        for reader in hepmc_views.values():
            reader.close()
            if skipped is not None:
                skipped.extend(reader.skipped)


def _run(views, lhe_path, pythia_views, rehad_views, hepmc_views, n_events):
    for event in read_lhe_events(lhe_path):
        if n_events is not None and event.event_number >= n_events:
            return
        hard = event.hard_record()
        out: dict[str, ShoweredEvent | None] = {}
        parton_level = {}
        for name, runner in pythia_views.items():
            ok = runner.shower(event)
            if ok and runner.hadronize_later:
                parton_level[name] = runner.pythia.event  # hadronised below, after the copies are taken
            if ok and not runner.hadronize_later:
                out[name] = ShoweredEvent(event.event_number, hard, final_state_particles(runner.pythia.event))
            elif not ok:
                out[name] = None
        for name, runner in rehad_views.items():
            source = parton_level.get(views[name].rehadronize)
            ok = source is not None and runner.hadronize(source)
            out[name] = ShoweredEvent(event.event_number, hard, final_state_particles(runner.pythia.event)) if ok else None
        for name in parton_level:
            runner = pythia_views[name]
            ok = _hadronize(runner.pythia)
            out[name] = ShoweredEvent(event.event_number, hard, final_state_particles(runner.pythia.event)) if ok else None
        for name, reader in hepmc_views.items():
            out[name] = reader.showered_event(event.event_number, hard)
        yield event.event_number, {name: out[name] for name in views}
