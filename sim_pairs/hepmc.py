"""HepMC3 files as views: showers made by another generator from the same LHE file.

Herwig 7 and Sherpa can shower the LHE files that rs3l writes and store the
result as HepMC3 (Buckley et al., arXiv 1912.08005). :class:`HepMCView` reads such
a file with ``pyhepmc``, finds the event of each hard event by its event number,
checks that its hard-process partons are those of the LHE event and converts its
final state to :class:`~sim_pairs.event.Particles`.

:func:`pythia_to_genevent` and :func:`write_hepmc` go the other way, to export
Pythia events (and to test the reader without Herwig, which is not installable
here).

Before any event is used the file is checked by
:func:`sim_pairs.hepmc_checks.scan_hepmc`: an empty, random, truncated or malformed
file is a :class:`HepMCError`; an event with non-finite momenta or an unknown
final-state PDG id stops the run naming file, event and field, or with
``bad_events="skip"`` gives no view for that event and is counted in ``skipped``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

import numpy as np

from .event import HardRecord, Particles, ShoweredEvent
from .hepmc_checks import HepMCError, HepMCScan, scan_hepmc
from .io import atomic_path

__all__ = ["HepMCError", "HepMCView", "pythia_to_genevent", "write_hepmc"]

log = logging.getLogger(__name__)

# (path, size, mtime) -> scan: every shard opens the same file, scan it once per process
_SCANS: dict[tuple, HepMCScan] = {}


def _scan(path: Path, known_pid) -> HepMCScan:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _SCANS:
        _SCANS[key] = scan_hepmc(path, known_pid)
    return _SCANS[key]


def _import_pyhepmc():
    try:
        import pyhepmc
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("HepMC views need pyhepmc: pip install 'pyhepmc>=2.16'") from error
    return pyhepmc


class _Charges:
    """Electric charge (units of e) by PDG id, from Pythia's particle table, cached."""

    def __init__(self):
        from .pythia_settings import import_pythia

        self._data = import_pythia().Pythia("", False).particleData
        self._cache: dict[int, int] = {}

    def known(self, pid: int) -> bool:
        return pid != 0 and bool(self._data.isParticle(int(pid)))

    def __call__(self, pid: np.ndarray) -> np.ndarray:
        unique = np.unique(pid)
        for p in unique:
            if int(p) not in self._cache:
                self._cache[int(p)] = int(round(self._data.charge(int(p))))
        return np.array([self._cache[int(p)] for p in pid], dtype=np.int8)


class HepMCView:
    """Events of a HepMC3 file, looked up by event number, checked against the LHE partons.

    Args:
        path: the HepMC3 file (any format pyhepmc reads: ASCII, HepMC2, gzip).
        view: the view name, for messages.
        first_event_number: HepMC event number of the LHE file's first event.
        rel_tolerance: the primary products of the LHE event (outgoing partons and
            resonances whose mothers are the incoming partons) must appear in the HepMC record with the
            same PDG id and four-momentum within ``rel_tolerance * E + 1e-6`` GeV
            (other generators give massless LHE quarks a mass, which moves momenta
            at the per-mille level).
        bad_events: ``error`` (an event with non-finite momenta or an unknown final-state
            PDG id stops the run) or ``skip`` (the view has no event there; counted in
            :attr:`skipped`).
    """

    def __init__(self, path: Path, *, view: str, first_event_number: int = 0, rel_tolerance: float = 1e-2,
                 bad_events: str = "error"):
        self.path = Path(path)
        if not self.path.is_file():
            raise HepMCError(f"{self.path}: HepMC file of view {view!r} not found")
        pyhepmc = _import_pyhepmc()
        self.view = view
        self.offset = first_event_number
        self.rel_tolerance = rel_tolerance
        self.skip_bad = bad_events == "skip"
        self.skipped: list[str] = []
        self._charges = _Charges()
        self._scan = _scan(self.path, self._charges.known)
        if self._scan.bad and not self.skip_bad:  # stop before any event is showered
            first = min(self._scan.bad)
            raise HepMCError(f"{self._scan.bad[first]} (view {view!r}; generation.bad_events: skip leaves such "
                             "events out)")
        try:
            self._reader = pyhepmc.open(str(self.path), "r")
        except Exception as error:
            raise HepMCError(f"{self.path}: cannot open as HepMC ({error})") from None
        self._expected = self._scan.events
        self._read = 0
        self._buffer: dict[int, object] = {}
        self._last = -1
        self._done = False
        self._units = pyhepmc.Units

    def close(self) -> None:
        self._reader.close()

    def _read_until(self, number: int):
        while not self._done and number not in self._buffer and self._last < number:
            try:
                event = self._reader.read()
            except Exception as error:
                raise HepMCError(f"{self.path}: after HepMC event {self._last}: malformed ({error})") from None
            if event is None or (len(event.particles) == 0 and self._expected is not None):
                if self._expected is not None and self._read < self._expected:
                    raise HepMCError(f"{self.path}: HepMC event after number {self._last}: malformed or truncated "
                                     f"({self._read} of {self._expected} events read)")
                self._done = True
                break
            self._read += 1
            self._last = event.event_number
            self._buffer[event.event_number] = event
        return self._buffer.pop(number, None)

    def showered_event(self, event_number: int, hard: HardRecord) -> ShoweredEvent | None:
        """The view of LHE event ``event_number``, or None if the file lacks it.

        Raises:
            HepMCError: the event's hard partons differ from ``hard``.
        """
        number = event_number + self.offset
        event = self._read_until(number)
        for stale in [k for k in self._buffer if k < number]:
            del self._buffer[stale]
        if event is None:
            return None
        parts = event.numpy.particles
        scale = 1e-3 if event.momentum_unit == self._units.MEV else 1.0
        pid = np.asarray(parts.pid, dtype=np.int32)
        p4 = np.stack([parts.px, parts.py, parts.pz, parts.e], axis=1) * scale
        problem = self._scan.bad.get(number)
        if problem is None and not np.isfinite(p4).all():  # HepMC2 files: checked here, not by the scan
            problem = f"{self.path}: HepMC event {number}: a particle has a non-finite momentum"
        if problem is not None:
            if not self.skip_bad:
                raise HepMCError(f"{problem} (view {self.view!r}, LHE event {event_number})")
            self.skipped.append(problem)
            log.warning("skipped (generation.bad_events = skip): %s", problem)
            return None
        self._check_hard(number, event_number, hard, pid, p4)
        final = np.asarray(parts.status) == 1
        vertex = self._production_vertices(event, len(pid))
        if event.length_unit == self._units.CM:
            vertex = vertex * 10.0
        return ShoweredEvent(event_number, hard, Particles(
            px=p4[final, 0].copy(), py=p4[final, 1].copy(), pz=p4[final, 2].copy(), e=p4[final, 3].copy(),
            pid=pid[final], charge=self._charges(pid[final]),
            vx=vertex[final, 0].copy(), vy=vertex[final, 1].copy(), vz=vertex[final, 2].copy()))

    def _check_hard(self, number, event_number, hard: HardRecord, pid, p4) -> None:
        # Only the primary products of the collision: decay products of resonances
        # are boosted by the shower's recoil before the decay, in any generator.
        incoming = np.flatnonzero(hard.status == -1)
        primary = (hard.status != -1) & np.isin(hard.mother1, incoming)
        for i in np.flatnonzero(primary):
            target = np.array([hard.px[i], hard.py[i], hard.pz[i], hard.e[i]])
            tol = self.rel_tolerance * abs(hard.e[i]) + 1e-6
            close = (pid == hard.pid[i]) & np.all(np.abs(p4 - target) <= tol, axis=1)
            if not close.any():
                raise HepMCError(
                    f"{self.path}: HepMC event {number} (LHE event {event_number}, view {self.view!r}): hard parton "
                    f"{i} (pid {hard.pid[i]}, p = {target.round(3).tolist()} GeV) not found; expected the showers "
                    "of the same LHE file, in the same order")

    @staticmethod
    def _production_vertices(event, n: int) -> np.ndarray:
        xyz = np.zeros((n, 3))
        for vertex in event.vertices:
            pos = vertex.position
            for particle in vertex.particles_out:
                xyz[particle.id - 1] = (pos.x, pos.y, pos.z)
        return xyz


def pythia_to_genevent(event, event_number: int):
    """A ``pyhepmc.GenEvent`` (GeV, mm) from a Pythia ``Event`` (entries 1..n; entry 0 is the system).

    Particles with the same mothers share a production vertex placed at their
    production point; status is Pythia's ``statusHepMC`` (1 final, 2 decayed, 4
    beam, else Pythia's absolute status code). Where Pythia gives a particle
    daughters with different mother sets (recoils in the shower), HepMC allows
    only one end vertex, so the later ones hang from the first; the final state,
    momenta and vertices are exact.
    """
    pyhepmc = _import_pyhepmc()
    genevent = pyhepmc.GenEvent(pyhepmc.Units.GEV, pyhepmc.Units.MM)
    genevent.event_number = event_number
    particles = [None]
    for i in range(1, event.size()):
        p = event[i]
        particle = pyhepmc.GenParticle(pyhepmc.FourVector(p.px(), p.py(), p.pz(), p.e()), p.id(), p.statusHepMC())
        particle.generated_mass = p.m()
        particles.append(particle)
    vertices: dict[tuple, object] = {}
    end_vertex: dict[int, object] = {}
    produced_by: dict[int, object] = {}
    in_index: dict[int, list[int]] = {}
    roots = []
    for i in range(1, event.size()):
        mothers = tuple(sorted(set(event[i].motherList()) - {0}))
        if not mothers:
            roots.append(particles[i])
            continue
        vertex = vertices.get(mothers)
        if vertex is None:
            free = [m for m in mothers if m not in end_vertex]
            if not free:
                vertex = end_vertex[mothers[0]]
            else:
                p = event[i]
                vertex = pyhepmc.GenVertex(pyhepmc.FourVector(p.xProd(), p.yProd(), p.zProd(), p.tProd()))
                in_index[id(vertex)] = free
                for m in free:
                    vertex.add_particle_in(particles[m])
                    end_vertex[m] = vertex
            vertices[mothers] = vertex
        vertex.add_particle_out(particles[i])
        produced_by[i] = vertex
    # HepMC3 readers need parents before children; Pythia's record is not in that
    # order (initial-state partons of backward evolution come after their daughters).
    depth: dict[int, int] = {}

    def vertex_depth(vertex) -> int:
        key = id(vertex)
        if key not in depth:
            depth[key] = 0  # guards against cycles
            depth[key] = 1 + max((vertex_depth(produced_by[m]) for m in in_index[key] if m in produced_by), default=0)
        return depth[key]

    unique = list({id(v): v for v in vertices.values()}.values())
    for particle in roots:
        genevent.add_particle(particle)
    for vertex in sorted(unique, key=vertex_depth):
        genevent.add_vertex(vertex)
    return genevent


def write_hepmc(path: str | Path, events: Iterable) -> int:
    """Write ``pyhepmc.GenEvent`` objects to a HepMC3 ASCII file atomically; returns the count."""
    pyhepmc = _import_pyhepmc()
    n = 0
    with atomic_path(path) as tmp:
        with pyhepmc.open(str(tmp), "w") as stream:
            for event in events:
                stream.write(event)
                n += 1
    return n
