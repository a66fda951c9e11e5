"""HepMC3 files as views: showers made by another generator from the same LHE file.

Herwig 7 and Sherpa can shower the LHE files that rs3l writes and store the
result as HepMC3 (Buckley et al., arXiv 1912.08005). :class:`HepMCView` reads such
a file with ``pyhepmc``, finds the event of each hard event by its event number,
checks that its hard-process partons are those of the LHE event and converts its
final state to :class:`~sim_pairs.event.Particles`.

:func:`pythia_to_genevent` and :func:`write_hepmc` go the other way, to export
Pythia events (and to test the reader without Herwig, which is not installable
here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np

from .event import HardRecord, Particles, ShoweredEvent
from .io import atomic_path

__all__ = ["HepMCError", "HepMCView", "pythia_to_genevent", "write_hepmc"]


class HepMCError(ValueError):
    """A HepMC file that is missing, malformed or does not belong to the LHE events."""


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
        rel_tolerance: outgoing LHE partons must appear in the HepMC record with the
            same PDG id and four-momentum within ``rel_tolerance * E + 1e-6`` GeV
            (other generators give massless LHE quarks a mass, which moves momenta
            at the per-mille level).
    """

    def __init__(self, path: Path, *, view: str, first_event_number: int = 0, rel_tolerance: float = 1e-2):
        self.path = Path(path)
        if not self.path.is_file():
            raise HepMCError(f"{self.path}: HepMC file of view {view!r} not found")
        pyhepmc = _import_pyhepmc()
        self.view = view
        self.offset = first_event_number
        self.rel_tolerance = rel_tolerance
        try:
            self._reader = pyhepmc.open(str(self.path), "r")
        except Exception as error:
            raise HepMCError(f"{self.path}: cannot open as HepMC ({error})") from None
        self._buffer: dict[int, object] = {}
        self._last = -1
        self._done = False
        self._charges = _Charges()
        self._units = pyhepmc.Units

    def close(self) -> None:
        self._reader.close()

    def _read_until(self, number: int):
        while not self._done and number not in self._buffer and self._last < number:
            try:
                event = self._reader.read()
            except Exception as error:
                raise HepMCError(f"{self.path}: after HepMC event {self._last}: malformed ({error})") from None
            if event is None:
                self._done = True
                break
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
        for i in np.flatnonzero(hard.status == 1):
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

    Mothers are stored as HEPEVT parent ranges; status is Pythia's ``statusHepMC``
    (1 final, 2 decayed, 4 beam, else Pythia's absolute status code).
    """
    pyhepmc = _import_pyhepmc()
    from .pythia_settings import import_pythia

    P = import_pythia().Particle
    parts = event.particles()[1:]
    n = len(parts)

    def column(method, dtype=np.float64):
        return np.fromiter(map(method, parts), dtype, n)

    m1, m2 = column(P.mother1, np.int64), column(P.mother2, np.int64)
    lo = np.where(m2 > 0, np.minimum(m1, m2), m1)
    hi = np.where(m2 > 0, np.maximum(m1, m2), m1)
    parents = np.stack([lo, hi], axis=1) - 1  # entry 0 (system) is dropped, so indices shift by one
    parents[lo == 0] = -1
    genevent = pyhepmc.GenEvent(pyhepmc.Units.GEV, pyhepmc.Units.MM)
    genevent.from_hepevt(event_number=event_number, px=column(P.px), py=column(P.py), pz=column(P.pz),
                         en=column(P.e), m=column(P.m), pid=column(P.id, np.int32),
                         status=column(P.statusHepMC, np.int32), parents=parents, vx=column(P.xProd),
                         vy=column(P.yProd), vz=column(P.zProd), vt=column(P.tProd), fortran=False)
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
