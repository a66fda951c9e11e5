"""The on-disk schema of an rs3l jet dataset (version 1).

One row per (group, view): a *group* is one hard-scattering event's selected jet,
a *view* is one simulation of it (a parton shower, a hadronisation, a detector
replica). Column names follow JetClass conventions. Units: GeV for energies and
momenta, mm for lengths, rad for angles. This table is the written contract between
``sim_pairs`` (which writes) and ``graphs`` (which reads); the README prints it.

Column groups:

* ``jet``: always present.
* ``particles``: truth-level visible final-state constituents of the jet.
* ``detector``: calorimeter cells kept by topo-clustering and reconstructed tracks.
  A cell is stored as its index in the detector card (``cell_index``) and its energy;
  the card is recorded in ``metadata.json`` and the positions (``DERIVED_COLUMNS``)
  are rebuilt from it when the shard is read.
* ``pflow``: particle-flow candidates (tracks + neutral clusters) built from the
  detector output, so particle graphs can be made at detector level.

A group other than ``jet`` is optional, but when one of its columns is present all
of them must be, except the columns marked ``optional``: the per-particle attributes
(PDG id / type, charge, impact parameters) that public datasets imported by
``sim_pairs.importers`` may lack. Graphs whose features need an absent column refuse
the dataset, naming it (``graphs.contract.DataContract.check_columns``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "SCHEMA_VERSION", "READABLE_SCHEMA_VERSIONS", "Column", "COLUMNS", "DERIVED_COLUMNS", "GROUPS", "LABELS", "IMPORTED_LABELS", "ALL_LABELS", "N_CALO_LAYERS",
    "columns_of", "markdown_table",
]

#: 3: cells in increasing ``cell_index`` with digitised energies (the card's ``cell_energy_bits``),
#: the tracks' layer crossings not stored (computed from the track and the card when read);
#: 2: cells stored as an index into the detector card (``cell_index``), positions derived
#: when read; 1 stored ``cell_layer``, ``cell_eta``, ``cell_phi``, ``cell_x/y/z`` per cell.
SCHEMA_VERSION = 3
#: Versions this rs3l reads: a version 2 dataset stores the crossings, which are then used as stored.
READABLE_SCHEMA_VERSIONS = (2, 3)

#: Number of calorimeter layers (3 ECAL + 3 HCAL, COCOA's layout).
N_CALO_LAYERS = 6

#: Jet labels, by the flavour of the matched hard parton(s).
LABELS = ("quark", "gluon", "Hbb", "Wqq", "Zqq", "top")

#: Labels that only imported public datasets carry (``sim_pairs.importers``): QCD jets of
#: unknown parton flavour (Top Tagging, JetClass) and JetClass's other classes
#: (H->cc, H->gg, H->4q, H->lvqq, t->blv).
IMPORTED_LABELS = ("qcd", "Hcc", "Hgg", "H4q", "Hqql", "Tbl")

#: Every label a dataset may hold; generated ones keep the indices of ``LABELS``.
ALL_LABELS = LABELS + IMPORTED_LABELS


@dataclass(frozen=True)
class Column:
    """One column: its group, dtype (numpy name), whether jagged, unit, meaning, and
    whether it may be absent from a shard that has the rest of its group."""

    name: str
    group: str
    dtype: str
    jagged: bool
    unit: str
    doc: str
    optional: bool = False


def _c(name, group, dtype, jagged, unit, doc, optional=False):
    return Column(name, group, dtype, jagged, unit, doc, optional)


COLUMNS: tuple[Column, ...] = (
    # --- jet: one value per row
    _c("group_id", "jet", "int64", False, "", "unique id of the hard event's jet; equal across views"),
    _c("event_number", "jet", "int64", False, "", "index of the hard event in its LHE file"),
    _c("view", "jet", "string", False, "", "full view name, e.g. 'nominal' or 'vincia@replica1'"),
    _c("shower_view", "jet", "string", False, "", "the re-shower / re-hadronisation view"),
    _c("detector_view", "jet", "string", False, "", "detector replica name, '' at truth level"),
    _c("process", "jet", "string", False, "", "hard process name, e.g. 'qcd', 'hbb'"),
    _c("label", "jet", "string", False, "", f"one of {', '.join(LABELS)}; imported datasets also {', '.join(IMPORTED_LABELS)}"),
    _c("jet_pt", "jet", "float32", False, "GeV", "anti-kt jet transverse momentum (truth particles)"),
    _c("jet_eta", "jet", "float32", False, "", "jet pseudorapidity"),
    _c("jet_phi", "jet", "float32", False, "rad", "jet azimuth in (-pi, pi]"),
    _c("jet_energy", "jet", "float32", False, "GeV", "jet energy (truth); the regression target"),
    _c("jet_mass", "jet", "float32", False, "GeV", "jet invariant mass"),
    _c("jet_sdmass", "jet", "float32", False, "GeV", "soft-drop mass, beta = 0, z_cut = 0.1"),
    _c("jet_nparticles", "jet", "int32", False, "", "number of truth constituents"),
    _c("parton_px", "jet", "float64", False, "GeV", "matched hard parton (or resonance) px"),
    _c("parton_py", "jet", "float64", False, "GeV", "matched hard parton py"),
    _c("parton_pz", "jet", "float64", False, "GeV", "matched hard parton pz"),
    _c("parton_energy", "jet", "float64", False, "GeV", "matched hard parton energy"),
    _c("parton_pid", "jet", "int32", False, "", "PDG id of the matched parton (25 H, 24 W, 23 Z, 6 t)"),
    # --- particles: truth constituents, jagged
    _c("part_px", "particles", "float32", True, "GeV", "constituent px"),
    _c("part_py", "particles", "float32", True, "GeV", "constituent py"),
    _c("part_pz", "particles", "float32", True, "GeV", "constituent pz"),
    _c("part_energy", "particles", "float32", True, "GeV", "constituent energy"),
    _c("part_pid", "particles", "int32", True, "", "PDG id", optional=True),
    _c("part_charge", "particles", "int8", True, "e", "electric charge", optional=True),
    _c("part_d0", "particles", "float32", True, "mm", "signed transverse impact parameter of the production vertex", optional=True),
    _c("part_dz", "particles", "float32", True, "mm", "longitudinal impact parameter of the production vertex", optional=True),
    # --- detector: cells (topo-clustered) and tracks, jagged
    _c("cell_index", "detector", "int32", True, "", "cell in the replica's card (metadata.json 'detector_cards'): "
       "offset of its layer + ieta * N + iphi, increasing within a row; positions below are derived from it"),
    _c("cell_energy", "detector", "float32", True, "GeV", "calibrated cell energy (noise included), digitised to the card's cell_energy_bits"),
    _c("track_pt", "detector", "float32", True, "GeV", "reconstructed track pT"),
    _c("track_eta", "detector", "float32", True, "", "track pseudorapidity at the vertex"),
    _c("track_phi", "detector", "float32", True, "rad", "track azimuth at the vertex"),
    _c("track_charge", "detector", "int8", True, "e", "track charge"),
    _c("track_d0", "detector", "float32", True, "mm", "transverse impact parameter"),
    _c("track_z0", "detector", "float32", True, "mm", "longitudinal impact parameter"),
    _c("track_eta_layer", "detector", "float32", True, "", f"track eta at each of the {N_CALO_LAYERS} calorimeter layers "
       f"(var * {N_CALO_LAYERS}); stored by importers only: for generated data the reader computes it from the "
       "track and the card (sim_pairs.detector.geometry.layer_crossing)", optional=True),
    _c("track_phi_layer", "detector", "float32", True, "rad", f"track phi at each calorimeter layer (var * {N_CALO_LAYERS}); "
       "stored by importers only, like track_eta_layer", optional=True),
    # --- pflow: particle-flow candidates, jagged
    _c("pfc_px", "pflow", "float32", True, "GeV", "candidate px"),
    _c("pfc_py", "pflow", "float32", True, "GeV", "candidate py"),
    _c("pfc_pz", "pflow", "float32", True, "GeV", "candidate pz"),
    _c("pfc_energy", "pflow", "float32", True, "GeV", "candidate energy"),
    _c("pfc_pid", "pflow", "int32", True, "", "candidate type as a PDG id (211 charged hadron, 22 photon, 130 neutral hadron, 11, 13)", optional=True),
    _c("pfc_charge", "pflow", "int8", True, "e", "candidate charge", optional=True),
    _c("pfc_d0", "pflow", "float32", True, "mm", "d0 of the candidate's track, 0 for neutrals", optional=True),
    _c("pfc_dz", "pflow", "float32", True, "mm", "z0 of the candidate's track, 0 for neutrals", optional=True),
)

GROUPS = ("jet", "particles", "detector", "pflow")

#: Columns not stored but rebuilt from ``cell_index`` and the card when a shard is read
#: (``sim_pairs.detector.cell_index.decode_cells``; ``graphs.shard_reader`` provides them).
DERIVED_COLUMNS: tuple[Column, ...] = (
    _c("cell_layer", "detector", "int8", True, "", "calorimeter layer 0-5 (ECAL 0-2, HCAL 3-5)"),
    _c("cell_eta", "detector", "float32", True, "", "cell centre pseudorapidity"),
    _c("cell_phi", "detector", "float32", True, "rad", "cell centre azimuth"),
    _c("cell_x", "detector", "float32", True, "mm", "cell centre x"),
    _c("cell_y", "detector", "float32", True, "mm", "cell centre y"),
    _c("cell_z", "detector", "float32", True, "mm", "cell centre z"),
)


def columns_of(group: str) -> tuple[Column, ...]:
    """The columns of one group, in schema order."""
    if group not in GROUPS:
        raise KeyError(f"unknown column group '{group}'; groups are {GROUPS}")
    return tuple(c for c in COLUMNS if c.group == group)


def markdown_table() -> str:
    """The schema as a Markdown table (the README prints this; a test keeps them in sync)."""
    lines = ["| column | group | dtype | unit | meaning |", "|---|---|---|---|---|"]
    for c in COLUMNS:
        dtype = f"var * {c.dtype}" if c.jagged else c.dtype
        doc = f"{c.doc} (optional)" if c.optional else c.doc
        lines.append(f"| `{c.name}` | {c.group} | {dtype} | {c.unit} | {doc} |")
    for c in DERIVED_COLUMNS:
        lines.append(f"| `{c.name}` | {c.group}, derived | var * {c.dtype} | {c.unit} | {c.doc} (not stored: from `cell_index`) |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
