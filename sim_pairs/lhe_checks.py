"""Checks of one LHE event before Pythia or the jets see it.

A hard event that is well-formed text can still be unusable: NaN or infinite momenta,
negative energies, mother indices that point at the particle itself or loop (Pythia
follows them and crashes), PDG ids Pythia does not know, colour tags that do not
pair up. Pythia silently drops some of these events and stores others; rs3l refuses
them before the shower, with :class:`BadLHEEvent` naming the file, the event (0-based
position in the file), the particle and the field (``IDUP``, ``ISTUP``, ``MOTHUP``,
``ICOLUP``, ``PUP``, ...; Alwall et al., hep-ph/0609017).

Colour flow (LHEF convention): among the incoming (status -1) and outgoing (status 1)
particles every colour tag appears exactly twice, and each particle's tags match its
colour representation from Pythia's particle table: a triplet has a colour and no
anticolour, an antitriplet the opposite, an octet both (different), a singlet neither.
Events with colour sextets (baryon-number-violating junctions) are not colour-checked.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["LHEError", "BadLHEEvent", "check_lhe_event", "LHE_STATUSES"]

#: ISTUP values of LHEF: incoming, outgoing, intermediate space-like, resonance, documentation, incoming beam
LHE_STATUSES = (-1, 1, -2, 2, 3, -9)

# Relative slack on E^2 >= |p|^2: generators print massless partons with ~10 significant digits.
_MASS_SHELL_SLACK = 1e-6


class LHEError(ValueError):
    """A Les Houches Event file that does not follow the format (re-exported by :mod:`sim_pairs.lhe`)."""


class BadLHEEvent(LHEError):
    """A well-formed LHE event whose content is unusable (it can be skipped and counted).

    Attributes: ``path``, ``event_number`` (0-based position in the file), ``field``.
    """

    def __init__(self, message: str, *, path: Path, event_number: int, field: str):
        super().__init__(message)
        self.path, self.event_number, self.field = Path(path), event_number, field


@lru_cache(maxsize=1)
def _particle_data():
    from .pythia_settings import import_pythia

    return import_pythia().Pythia("", False).particleData


@lru_cache(maxsize=4096)
def _colour_type(pid: int) -> int | None:
    """Pythia's colour type of ``pid`` (0 singlet, 1 triplet, -1 antitriplet, 2 octet, 3/-3 sextets), None if unknown."""
    data = _particle_data()
    if pid == 0 or not data.isParticle(pid):
        return None
    return int(data.colType(pid))


def check_lhe_event(path: Path, event) -> None:
    """Raise :class:`BadLHEEvent` for the first unusable field of ``event`` (an ``LHEEvent``)."""
    n = len(event)

    def bad(i: int | None, field: str, got, expected: str):
        where = f"event {event.event_number}" + (f", particle {i} (IDUP {int(event.pid[i])})" if i is not None else "")
        raise BadLHEEvent(f"{path}: {where}: field {field} is {got}, expected {expected}",
                          path=path, event_number=event.event_number, field=field)

    for name, field in (("weight", "XWGTUP"), ("scale", "SCALUP"), ("alpha_qed", "AQEDUP"), ("alpha_qcd", "AQCDUP")):
        value = getattr(event, name)
        if not np.isfinite(value):
            bad(None, field, value, "a finite number")
    for name, field in (("px", "PUP(1) px"), ("py", "PUP(2) py"), ("pz", "PUP(3) pz"), ("e", "PUP(4) E"),
                        ("m", "PUP(5) m")):
        values = getattr(event, name)
        finite = np.isfinite(values)
        if not finite.all():
            i = int(np.flatnonzero(~finite)[0])
            bad(i, field, values[i], "a finite number (GeV)")
    negative = np.flatnonzero(event.e < 0)
    if len(negative):
        i = int(negative[0])
        bad(i, "PUP(4) E", event.e[i], "an energy >= 0 GeV")
    p2 = event.px ** 2 + event.py ** 2 + event.pz ** 2
    spacelike = np.flatnonzero(event.e ** 2 < p2 * (1 - _MASS_SHELL_SLACK) - 1e-9)
    if len(spacelike):
        i = int(spacelike[0])
        bad(i, "PUP(4) E", event.e[i], f"E >= |p| = {np.sqrt(p2[i]):.6g} GeV (a real particle)")
    for i in range(n):
        if int(event.status[i]) not in LHE_STATUSES:
            bad(i, "ISTUP", int(event.status[i]), f"one of {list(LHE_STATUSES)}")
        if _colour_type(int(event.pid[i])) is None:
            bad(i, "IDUP", int(event.pid[i]), "a PDG id known to Pythia's particle table")
    _check_mothers(event, bad)
    _check_colours(event, bad)


def _check_mothers(event, bad) -> None:
    n = len(event)
    mothers = []
    for i in range(n):
        own = []
        for field, value in (("MOTHUP(1)", int(event.mother1[i])), ("MOTHUP(2)", int(event.mother2[i]))):
            if not 0 <= value <= n:
                bad(i, field, value, f"0 (none) or a particle 1..{n} of the event")
            if value == i + 1:
                bad(i, field, value, "another particle (a particle cannot be its own mother)")
            if value:
                own.append(value - 1)
        mothers.append(own)
    # depth-first search for a loop in the mother graph (Pythia follows it until it crashes)
    state = [0] * n  # 0 unvisited, 1 on the current path, 2 done
    for start in range(n):
        if state[start]:
            continue
        stack = [(start, iter(mothers[start]))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state[child] == 1:
                bad(node, "MOTHUP", f"{int(event.mother1[node])} {int(event.mother2[node])}",
                    f"mothers without a loop (particle {child + 1} is its own ancestor)")
            elif state[child] == 0:
                state[child] = 1
                stack.append((child, iter(mothers[child])))


def _check_colours(event, bad) -> None:
    tags = Counter()
    types = [_colour_type(int(p)) for p in event.pid]
    if any(t is not None and abs(t) == 3 for t in types):
        return
    for i, kind in enumerate(types):
        col, acol = int(event.col1[i]), int(event.col2[i])
        if col < 0 or acol < 0:
            bad(i, "ICOLUP", f"{col} {acol}", "colour tags >= 0")
        expected = {0: (False, False), 1: (True, False), -1: (False, True), 2: (True, True)}[kind]
        if (col > 0, acol > 0) != expected or (kind == 2 and col == acol):
            words = {0: "no colour tags (a colour singlet)", 1: "a colour and no anticolour (a triplet)",
                     -1: "an anticolour and no colour (an antitriplet)", 2: "a colour and a different anticolour (an octet)"}
            bad(i, "ICOLUP", f"{col} {acol}", words[kind])
        if int(event.status[i]) in (-1, 1):
            tags.update(t for t in (col, acol) if t > 0)
    unpaired = sorted(t for t, count in tags.items() if count != 2)
    if unpaired:
        tag = unpaired[0]
        i = next(i for i in range(len(event)) if int(event.status[i]) in (-1, 1) and tag in (event.col1[i], event.col2[i]))
        bad(i, "ICOLUP", f"{int(event.col1[i])} {int(event.col2[i])}",
            f"every colour tag of the incoming and outgoing partons used exactly twice (tag {tag} is used "
            f"{tags[tag]} time(s))")
