"""Truth matching: which jet came from which hard parton, and its label.

Jets are chosen by matching them to the hard-process record, not by being leading:
in about 40% of events the two leading jets swap places between showers, and the
leading jet is the W or H in only about half of signal events (REFERENCE.md, 7).

Truth objects of a hard event (:func:`truth_objects`):

* ``quark`` / ``gluon``: an outgoing parton (PDG 1-5 or 21) that is not the decay
  product of a resonance.
* ``Hbb``: a Higgs boson (25) decaying to b bbar; prongs: both b.
* ``Wqq`` / ``Zqq``: a W (24) or Z (23), not from a top, decaying to two quarks;
  prongs: both quarks.
* ``top``: a top quark (6) decaying to b W with W -> q q'; prongs: the b and both
  W quarks.

A jet matches an object when dR(jet, object) < ``match_radius`` and every prong lies
within ``radius`` of the jet axis (RS3L: dR(jet, H) < 0.5 and both b within 0.8).
Resonances decaying otherwise (H -> tau tau, W -> l nu, ...) are not labelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .event import HardRecord
from .schema import LABELS

__all__ = ["TruthObject", "truth_objects", "delta_r", "match_objects", "PROCESS_LABELS"]

#: The labels a process keeps by default (a process not listed keeps all labels).
PROCESS_LABELS: dict[str, tuple[str, ...]] = {
    "qcd": ("quark", "gluon"),
    "qcd_quark": ("quark",),
    "qcd_gluon": ("gluon",),
    "hbb": ("Hbb",),
    "wqq": ("Wqq",),
    "zqq": ("Zqq",),
    "ttbar": ("top",),
}

_QUARKS = (1, 2, 3, 4, 5)
_RESONANCES = (6, 23, 24, 25)


@dataclass(frozen=True)
class TruthObject:
    """A hard parton or resonance a jet can be matched to.

    Attributes:
        index: position in the hard record (LHE order), the same in every view.
        pid: PDG id.
        label: one of ``sim_pairs.schema.LABELS``.
        px, py, pz, e: four-momentum in GeV, exactly as in the hard record.
        eta, phi: direction of the object.
        prong_eta, prong_phi: directions of the partons that must lie inside the
            jet (empty for quarks and gluons).
    """

    index: int
    pid: int
    label: str
    px: float
    py: float
    pz: float
    e: float
    eta: float
    phi: float
    prong_eta: np.ndarray
    prong_phi: np.ndarray


def _eta_phi(px, py, pz):
    pt = np.hypot(px, py)
    eta = np.arcsinh(np.divide(pz, pt, out=np.full(np.shape(pz), 1e300 * 1.0), where=pt > 0))
    return np.clip(eta, -1e3, 1e3), np.arctan2(py, px)


def delta_r(eta1, phi1, eta2, phi2) -> np.ndarray:
    """sqrt(d_eta^2 + d_phi^2) with d_phi wrapped into (-pi, pi]; numpy broadcasting."""
    dphi = np.mod(np.asarray(phi1) - np.asarray(phi2) + np.pi, 2 * np.pi) - np.pi
    return np.hypot(np.asarray(eta1) - np.asarray(eta2), dphi)


def _daughters(hard: HardRecord, index: int) -> np.ndarray:
    return np.flatnonzero((hard.mother1 == index) & (hard.status != -1))


def _resonance_label(hard: HardRecord, index: int) -> tuple[str, list[int]]:
    """Label and prong indices of a decayed resonance; ('', []) when it is not one rs3l labels."""
    pid = abs(int(hard.pid[index]))
    daughters = _daughters(hard, index)
    ids = np.abs(hard.pid[daughters])
    if pid == 25:
        return ("Hbb", list(daughters)) if len(ids) == 2 and (ids == 5).all() else ("", [])
    if pid in (23, 24):
        ok = len(ids) == 2 and np.isin(ids, _QUARKS).all()
        return ("Zqq" if pid == 23 else "Wqq", list(daughters)) if ok else ("", [])
    if pid == 6:
        b = daughters[ids == 5]
        w = daughters[ids == 24]
        if len(b) != 1 or len(w) != 1:
            return "", []
        w_label, w_prongs = _resonance_label(hard, int(w[0]))
        return ("top", [int(b[0])] + w_prongs) if w_label == "Wqq" else ("", [])
    return "", []


def truth_objects(hard: HardRecord) -> list[TruthObject]:
    """The labelled objects of a hard event (see the module docstring), in record order.

    A W from a top decay and the decay products of a resonance are prongs of their
    parent, never objects of their own.
    """
    n = len(hard)
    parent_pid = np.where(hard.mother1 >= 0, np.abs(hard.pid[np.clip(hard.mother1, 0, max(n - 1, 0))]), 0) \
        if n else np.zeros(0, np.int64)
    from_resonance = np.isin(parent_pid, _RESONANCES) & (hard.mother1 >= 0)
    eta, phi = _eta_phi(hard.px, hard.py, hard.pz)
    objects = []
    for i in range(n):
        pid = abs(int(hard.pid[i]))
        if hard.status[i] == -1 or from_resonance[i]:
            continue
        prongs: list[int] = []
        if hard.status[i] == 1 and pid in _QUARKS + (21,):
            label = "gluon" if pid == 21 else "quark"
        elif hard.status[i] == 2 and pid in _RESONANCES:
            label, prongs = _resonance_label(hard, i)
        else:
            label = ""
        if not label:
            continue
        assert label in LABELS
        objects.append(TruthObject(
            index=i, pid=int(hard.pid[i]), label=label,
            px=float(hard.px[i]), py=float(hard.py[i]), pz=float(hard.pz[i]), e=float(hard.e[i]),
            eta=float(eta[i]), phi=float(phi[i]),
            prong_eta=eta[prongs].astype(np.float64), prong_phi=phi[prongs].astype(np.float64),
        ))
    return objects


def match_objects(objects: list[TruthObject], jet_eta: np.ndarray, jet_phi: np.ndarray, *,
                  match_radius: float, radius: float) -> np.ndarray:
    """The jet each object matches, or -1.

    A pair (object, jet) is a candidate when dR(jet, object) < ``match_radius`` and
    all the object's prongs lie within ``radius`` of the jet. Candidates are
    assigned closest first, so each jet goes to at most one object.

    Args:
        objects: from :func:`truth_objects`.
        jet_eta, jet_phi: jet directions (n_jets).
        match_radius: maximum dR(jet, object).
        radius: maximum dR(jet, prong), normally the jet radius R.

    Returns:
        Jet index per object (n_objects), int64, -1 for no match.
    """
    jet_eta = np.asarray(jet_eta, dtype=np.float64)
    jet_phi = np.asarray(jet_phi, dtype=np.float64)
    out = np.full(len(objects), -1, dtype=np.int64)
    if not objects or len(jet_eta) == 0:
        return out
    eta = np.array([o.eta for o in objects])
    phi = np.array([o.phi for o in objects])
    distance = delta_r(eta[:, None], phi[:, None], jet_eta[None, :], jet_phi[None, :])
    candidate = distance < match_radius
    for k, o in enumerate(objects):
        if len(o.prong_eta):
            prong_distance = delta_r(o.prong_eta[:, None], o.prong_phi[:, None], jet_eta[None, :], jet_phi[None, :])
            candidate[k] &= (prong_distance < radius).all(axis=0)
    objects_k, jets_k = np.nonzero(candidate)
    taken: set[int] = set()
    for pair in np.argsort(distance[objects_k, jets_k], kind="stable"):
        k, j = int(objects_k[pair]), int(jets_k[pair])
        if out[k] < 0 and j not in taken:
            out[k] = j
            taken.add(j)
    return out
