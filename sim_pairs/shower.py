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
Each gets the seed ``derive_seed(seed, view name)``. Views that hadronise their own
showers run ``_BATCH`` events per ``Pythia.nextBatch`` call and read the final states
in bulk (:mod:`sim_pairs.pythia_batch`); a check that each batch took exactly its
events from the ``LHAup`` keeps the views aligned. Rehadronisation sources and
their rehadronised copies go event by event (the parton-level event is handed
between two Pythia instances) and are read one particle attribute at a time.

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
from .pythia_batch import batch_final_states
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
    their displaced vertex. For an ``Event`` already in memory (rehadronisation)
    pythia8mc has no bulk accessor, so this makes one pass per attribute with
    ``map`` over the unbound methods (the fastest pure-Python route measured): about
    1.5-2.5 ms for an event of 1500 entries with MPI, 15-25% of Pythia's own time.
    Views showering their own events use :func:`sim_pairs.pythia_batch.batch_final_states`.
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
        """Hands Pythia the queued LHE events in order, one per ``setEvent``.

        ``requests`` counts Pythia's requests, so a caller can check that it asked
        exactly once per event; with ``repeat_last`` a further request gets the last
        event again (an internal retry of one event by ``next``), otherwise none.
        """

        def __init__(self, init: LHEInit):
            super().__init__()
            self.lhe_init = init
            self.queue: Sequence[LHEEvent] = ()
            self.requests = 0
            self.repeat_last = False

        def serve(self, events: Sequence[LHEEvent], *, repeat_last: bool) -> None:
            self.queue, self.requests, self.repeat_last = events, 0, repeat_last

        def setInit(self) -> bool:
            init = self.lhe_init
            self.setBeamA(int(init.beam_ids[0]), float(init.beam_energies[0]), 0, 0)
            self.setBeamB(int(init.beam_ids[1]), float(init.beam_energies[1]), 0, 0)
            self.setStrategy(3)
            for xsec, xerr, xmax, code in init.processes:
                self.addProcess(int(code), float(xsec), float(xerr), float(xmax))
            return True

        def setEvent(self, idProcIn: int = 0) -> bool:
            self.requests += 1
            if self.requests <= len(self.queue):
                ev = self.queue[self.requests - 1]
            elif self.repeat_last and self.queue:
                ev = self.queue[-1]
            else:
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
        self.name = name

    def shower(self, event: LHEEvent) -> bool:
        self.lha.serve([event], repeat_last=True)
        return self.pythia.next()

    def shower_batch(self, events: Sequence[LHEEvent]) -> list[Particles | None]:
        """Shower and hadronise ``events``; their final states (None where Pythia failed)."""
        self.lha.serve(events, repeat_last=False)
        batch = self.pythia.nextBatch(len(events), "none")
        if self.lha.requests != len(events):
            raise RuntimeError(f"view {self.name!r}: Pythia asked for {self.lha.requests} hard events while showering "
                               f"a batch of {len(events)}; the views would drift apart")
        return batch_final_states(batch, self.pythia.particleData)


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


#: Hard events per ``nextBatch`` call: the call's fixed cost (~1 ms, building the
#: awkward array) is then negligible, and a batch of MPI events holds ~20 MB per view.
_BATCH = 64


def _chunks(lhe_path, n_events):
    chunk = []
    for event in read_lhe_events(lhe_path):
        if n_events is not None and event.event_number >= n_events:
            break
        chunk.append(event)
        if len(chunk) == _BATCH:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _run(views, lhe_path, pythia_views, rehad_views, hepmc_views, n_events):
    # Each Pythia instance has its own random stream, so showering a batch of events
    # in one view before the next view gives every view the events it would get event
    # by event.
    for chunk in _chunks(lhe_path, n_events):
        batched = {name: runner.shower_batch(chunk) for name, runner in pythia_views.items()
                   if not runner.hadronize_later}
        for k, event in enumerate(chunk):
            hard = event.hard_record()
            out: dict[str, ShoweredEvent | None] = {}
            for name, finals in batched.items():
                out[name] = ShoweredEvent(event.event_number, hard, finals[k]) if finals[k] is not None else None
            parton_level = {}
            for name, runner in pythia_views.items():
                if not runner.hadronize_later:
                    continue
                if runner.shower(event):
                    parton_level[name] = runner.pythia.event  # hadronised below, after the copies are taken
                else:
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
