"""Reader for Delphes ROOT files (tree ``Delphes``) into rs3l's particle-flow columns.

RS3L built its particle graphs from Delphes particle-flow objects (CMS Phase-II
card). Per event this reader returns the energy-flow candidates as ``pfc_*`` columns,
charged tracks first (``EFlowTrack``), then photons (``EFlowPhoton``) and neutral
hadrons (``EFlowNeutralHadron``), plus the event's jets (``Jet``). Units as Delphes:
GeV and mm.

Candidate types: a track is 11 or 13 when ``EFlowTrack.PID`` says so (when the file
has that branch), else 211, with the matching mass; photons are 22 and neutral
hadrons 130, massless.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np

from .root_tree import has_branch, open_tree, read_branches

__all__ = ["DELPHES_TREE", "DELPHES_BRANCHES", "read_delphes"]

DELPHES_TREE = "Delphes"
DELPHES_BRANCHES = (
    "EFlowTrack.PT", "EFlowTrack.Eta", "EFlowTrack.Phi", "EFlowTrack.Charge", "EFlowTrack.D0", "EFlowTrack.DZ",
    "EFlowPhoton.ET", "EFlowPhoton.Eta", "EFlowPhoton.Phi",
    "EFlowNeutralHadron.ET", "EFlowNeutralHadron.Eta", "EFlowNeutralHadron.Phi",
    "Jet.PT", "Jet.Eta", "Jet.Phi", "Jet.Mass",
)
_MASS = {11: 0.000511, 13: 0.10566, 211: 0.13957}


def read_delphes(
    path: str | Path, *, tree: str = DELPHES_TREE, entry_start: int | None = None, entry_stop: int | None = None,
) -> ak.Array:
    """Read a Delphes file's particle-flow candidates and jets, one record per event.

    Args:
        path: the ROOT file.
        tree: tree name (``Delphes``).
        entry_start, entry_stop: the range of events to read.

    Returns:
        An awkward array of events with the schema's ``pflow`` fields ``pfc_px``,
        ``pfc_py``, ``pfc_pz``, ``pfc_energy`` (GeV, float32), ``pfc_pid`` (int32),
        ``pfc_charge`` (int8), ``pfc_d0``, ``pfc_dz`` (mm, float32), jagged per event,
        and the event's jets ``jet_pt``, ``jet_eta``, ``jet_phi``, ``jet_mass``
        (float32, jagged: every jet of the event, as Delphes ordered them).

    Raises:
        ReaderError: the file, tree or a branch is missing (named in the message).
    """
    tree_obj = open_tree(path, tree)
    span = dict(entry_start=entry_start, entry_stop=entry_stop)
    b = read_branches(tree_obj, DELPHES_BRANCHES, path=path, tree=tree, **span)

    t_pt, t_eta, t_phi = b["EFlowTrack.PT"], b["EFlowTrack.Eta"], b["EFlowTrack.Phi"]
    if has_branch(tree_obj, "EFlowTrack.PID"):
        apid = abs(read_branches(tree_obj, ["EFlowTrack.PID"], path=path, tree=tree, **span)["EFlowTrack.PID"])
        t_pid = ak.where(apid == 11, 11, ak.where(apid == 13, 13, 211))
    else:
        t_pid = ak.values_astype(t_pt * 0, np.int64) + 211
    t_mass = ak.where(t_pid == 11, _MASS[11], ak.where(t_pid == 13, _MASS[13], _MASS[211]))
    t_p2 = (t_pt * np.cosh(t_eta)) ** 2

    def neutral(prefix: str):
        et, eta, phi = b[f"{prefix}.ET"], b[f"{prefix}.Eta"], b[f"{prefix}.Phi"]
        return et, eta, phi, et * np.cosh(eta)

    g_pt, g_eta, g_phi, g_e = neutral("EFlowPhoton")
    h_pt, h_eta, h_phi, h_e = neutral("EFlowNeutralHadron")

    def join(*parts):
        return ak.concatenate([ak.values_astype(p, np.float64) for p in parts], axis=1)

    pt = join(t_pt, g_pt, h_pt)
    eta = join(t_eta, g_eta, h_eta)
    phi = join(t_phi, g_phi, h_phi)
    energy = join(np.sqrt(t_p2 + t_mass**2), g_e, h_e)
    zeros_g, zeros_h = g_pt * 0, h_pt * 0
    f32 = np.float32
    return ak.zip(
        {
            "pfc_px": ak.values_astype(pt * np.cos(phi), f32),
            "pfc_py": ak.values_astype(pt * np.sin(phi), f32),
            "pfc_pz": ak.values_astype(pt * np.sinh(eta), f32),
            "pfc_energy": ak.values_astype(energy, f32),
            "pfc_pid": ak.values_astype(join(t_pid, zeros_g + 22, zeros_h + 130), np.int32),
            "pfc_charge": ak.values_astype(join(b["EFlowTrack.Charge"], zeros_g, zeros_h), np.int8),
            "pfc_d0": ak.values_astype(join(b["EFlowTrack.D0"], zeros_g, zeros_h), f32),
            "pfc_dz": ak.values_astype(join(b["EFlowTrack.DZ"], zeros_g, zeros_h), f32),
            "jet_pt": ak.values_astype(b["Jet.PT"], f32),
            "jet_eta": ak.values_astype(b["Jet.Eta"], f32),
            "jet_phi": ak.values_astype(b["Jet.Phi"], f32),
            "jet_mass": ak.values_astype(b["Jet.Mass"], f32),
        },
        depth_limit=1,
    )
