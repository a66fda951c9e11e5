"""Importer for JetClass (Qu, Li, Qian, arXiv 2202.03772; Zenodo 6619768).

JetClass ROOT files (one process per file, e.g. ``HToBB_120.root``) hold one jet per
entry of the tree ``tree``. Branches read:

* particles (jagged): ``part_px``, ``part_py``, ``part_pz``, ``part_energy`` (GeV),
  ``part_charge``, ``part_d0val``, ``part_dzval`` (mm), and the type flags
  ``part_isChargedHadron``, ``part_isNeutralHadron``, ``part_isPhoton``,
  ``part_isElectron``, ``part_isMuon``;
* jet: ``jet_pt``, ``jet_eta``, ``jet_phi``, ``jet_energy``, ``jet_sdmass`` (GeV),
  ``jet_nparticles``;
* labels: ``label_QCD``, ``label_Hbb``, ``label_Hcc``, ``label_Hgg``, ``label_H4q``,
  ``label_Hqql``, ``label_Zqq``, ``label_Wqq``, ``label_Tbqq``, ``label_Tbl``, exactly
  one set per jet. All ten classes are kept: rs3l's ``qcd``, ``Hbb``, ``Hcc``, ``Hgg``,
  ``H4q``, ``Hqql``, ``Zqq``, ``Wqq``, ``top`` (hadronic top, ``Tbqq``) and ``Tbl``.

The particles are Delphes particle-flow candidates (CMS card), so they go to the
``pflow`` group with every column: ``pfc_pid`` from the flags (211 x charge for a
charged hadron, 130 neutral hadron, 22 photon, -11 x charge electron, -13 x charge
muon), ``pfc_charge``, ``pfc_d0`` = ``part_d0val`` and ``pfc_dz`` = ``part_dzval``.
``jet_mass`` = sqrt(E^2 - (pT cosh eta)^2). ``part_deta``/``part_dphi``, the errors,
``jet_tau*`` and ``aux_*`` are not read. Values are copied in the file's particle
order (float32 in, float32 out: exact).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

import awkward as ak
import numpy as np

from ..readers.root_tree import ReaderError, open_tree, read_branches
from .writer import ImportedView, ImportFormatError, import_view

__all__ = ["JETCLASS_TREE", "JETCLASS_LABELS", "JETCLASS_BRANCHES", "JetClassSource", "import_jetclass"]

JETCLASS_TREE = "tree"
#: JetClass label branch -> rs3l label.
JETCLASS_LABELS = {
    "label_QCD": "qcd", "label_Hbb": "Hbb", "label_Hcc": "Hcc", "label_Hgg": "Hgg", "label_H4q": "H4q",
    "label_Hqql": "Hqql", "label_Zqq": "Zqq", "label_Wqq": "Wqq", "label_Tbqq": "top", "label_Tbl": "Tbl",
}  # fmt: skip
_TYPE_FLAGS = ("part_isChargedHadron", "part_isNeutralHadron", "part_isPhoton", "part_isElectron", "part_isMuon")
_PARTICLES = ("part_px", "part_py", "part_pz", "part_energy", "part_charge", "part_d0val", "part_dzval") + _TYPE_FLAGS
_JET = ("jet_pt", "jet_eta", "jet_phi", "jet_energy", "jet_sdmass", "jet_nparticles")
JETCLASS_BRANCHES = _PARTICLES + _JET + tuple(JETCLASS_LABELS)


def _one_line(err: Exception) -> str:
    return f"{type(err).__name__}: {' '.join(str(err).split())}"


class JetClassSource:
    """One JetClass ROOT file, checked on opening (tree and every branch read present).

    Raises:
        ReaderError / ImportFormatError: file, tree or branch missing (named), or, while
            reading, a jet with no or several labels, a particle with no type flag, or
            ``jet_nparticles`` unequal to the particles stored.
    """

    def __init__(self, path: str | Path, tree: str = JETCLASS_TREE):
        self.path, self.tree_name = Path(path), tree
        try:
            self.tree = open_tree(self.path, tree)
            present = set(self.tree.keys(recursive=True))
        except (OSError, ValueError) as err:
            if isinstance(err, ReaderError):
                raise
            raise ImportFormatError(f"{self.path}: tree '{tree}' unreadable ({_one_line(err)}); truncated file?") from None
        missing = [b for b in JETCLASS_BRANCHES if b not in present]
        if missing:
            raise ImportFormatError(f"{self.path}: tree '{tree}' has no branch '{missing[0]}' "
                                    f"({len(missing)} of the JetClass branches missing)")
        self.n_jets = int(self.tree.num_entries)

    def chunks(self, chunk_size: int, skip: set[int]) -> Iterator[tuple[int, int, dict | None]]:
        for i, start in enumerate(range(0, self.n_jets, chunk_size)):
            stop = min(start + chunk_size, self.n_jets)
            if i in skip:
                yield start, stop, None
                continue
            try:
                b = read_branches(self.tree, JETCLASS_BRANCHES, path=self.path, tree=self.tree_name,
                                  entry_start=start, entry_stop=stop)
            except (OSError, ValueError, KeyError) as err:
                if isinstance(err, ImportFormatError):
                    raise
                raise ImportFormatError(f"{self.path}: tree '{self.tree_name}' entries {start}-{stop} unreadable "
                                        f"({_one_line(err)}); truncated file?") from None
            yield start, stop, self._columns(b, start)

    def _fail(self, field: str, what: str, jet: int) -> ImportFormatError:
        return ImportFormatError(f"{self.path}: tree '{self.tree_name}' branch '{field}': {what} at entry {jet}")

    def _columns(self, b: dict, start: int) -> dict:
        f32 = np.float32
        flags = np.stack([ak.to_numpy(b[name] != 0) for name in tuple(JETCLASS_LABELS)], axis=1)
        n_set = flags.sum(axis=1)
        if (n_set != 1).any():
            jet = int(np.flatnonzero(n_set != 1)[0])
            raise self._fail("label_*", f"{n_set[jet]} labels set, expected exactly one", start + jet)
        names = np.array(list(JETCLASS_LABELS.values()))
        counts = ak.to_numpy(ak.num(b["part_px"], axis=1))
        stored = ak.to_numpy(b["jet_nparticles"]).astype(np.int64)
        if (stored != counts).any():
            jet = int(np.flatnonzero(stored != counts)[0])
            raise self._fail("jet_nparticles", f"{stored[jet]} but {counts[jet]} particles stored", start + jet)

        charge = ak.to_numpy(ak.flatten(b["part_charge"])).astype(np.float64)
        is_type = np.stack([ak.to_numpy(ak.flatten(b[name])) != 0 for name in _TYPE_FLAGS], axis=1)
        none = ~is_type.any(axis=1)
        if none.any():
            jet = int(np.repeat(np.arange(len(counts)), counts)[none][0])
            raise self._fail("part_is*", "a particle with no type flag set", start + jet)
        q = np.rint(charge).astype(np.int64)
        pid_of_type = np.stack([211 * q, np.full_like(q, 130), np.full_like(q, 22), -11 * q, -13 * q], axis=1)
        pid = pid_of_type[np.arange(len(q)), np.argmax(is_type, axis=1)]

        def jagged(flat, dtype):
            return ak.unflatten(np.asarray(flat).astype(dtype), counts)

        flat = {name: ak.to_numpy(ak.flatten(b[name])) for name in ("part_px", "part_py", "part_pz", "part_energy",
                                                                    "part_d0val", "part_dzval")}
        pt, eta, energy = (ak.to_numpy(b[n]).astype(np.float64) for n in ("jet_pt", "jet_eta", "jet_energy"))
        return {
            "pfc_px": jagged(flat["part_px"], f32),
            "pfc_py": jagged(flat["part_py"], f32),
            "pfc_pz": jagged(flat["part_pz"], f32),
            "pfc_energy": jagged(flat["part_energy"], f32),
            "pfc_pid": jagged(pid, np.int32),
            "pfc_charge": jagged(q, np.int8),
            "pfc_d0": jagged(flat["part_d0val"], f32),
            "pfc_dz": jagged(flat["part_dzval"], f32),
            "jet_pt": pt,
            "jet_eta": eta,
            "jet_phi": ak.to_numpy(b["jet_phi"]),
            "jet_energy": energy,
            "jet_mass": np.sqrt(np.maximum(energy**2 - (pt * np.cosh(eta)) ** 2, 0.0)),
            "jet_sdmass": ak.to_numpy(b["jet_sdmass"]),
            "jet_nparticles": counts.astype(np.int32),
            "label": names[np.argmax(flags, axis=1)].tolist(),
        }


def import_jetclass(files: Sequence[str | Path], out: str | Path, *, view: str = "nominal", chunk_size: int = 50_000,
                    tree: str = JETCLASS_TREE, progress: bool = True) -> ImportedView:
    """Import JetClass ROOT files as one view of the dataset ``out``.

    Args:
        files: JetClass ``.root`` files, in order (any mix of processes).
        out: the dataset directory.
        view: the view name.
        chunk_size: jets per shard (a chunk's branches are held in memory while it is converted).
        tree: the tree name.
        progress: show a progress bar.
    """
    sources = [JetClassSource(f, tree) for f in files]
    return import_view("jetclass", sources, out, view=view, chunk_size=chunk_size, detector_view="delphes",
                       settings={"tree": tree}, progress=progress)
