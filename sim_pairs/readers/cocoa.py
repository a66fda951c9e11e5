"""Reader for COCOA's output ntuple (cocoa-hep/cocoa-hep, arXiv 2303.02101) into rs3l's detector columns.

COCOA's ``Standard`` run writes one entry per event to the tree ``Out_Tree``, with
the cells kept by its topo-clustering (``cell_layer``, ``cell_x``, ``cell_y``,
``cell_z``, ``cell_eta``, ``cell_phi``, ``cell_e``, ...) and the tracks' perigee
parameters (``track_d0``, ``track_z0``, ``track_theta``, ``track_phi``,
``track_qoverp``) with the track's position in each calorimeter layer i
(``track_eta_layer_i``/``track_phi_layer_i`` where present, else computed from
``track_x_layer_i``, ``track_y_layer_i``, ``track_z_layer_i``).

Units: COCOA writes Geant4's internal units, MeV and mm; ``energy_scale`` (default
1e-3) converts energies and momenta to GeV, lengths stay in mm.

rs3l datasets store a cell as its index in a detector card (schema version 2,
``sim_pairs.detector.cell_index``): the reader adds ``cell_index`` for the card given
(COCOA's default granularity is the ``cocoa`` card's) and keeps COCOA's own cell
positions beside it.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np

from ..schema import N_CALO_LAYERS
from .root_tree import ReaderError, has_branch, open_tree, read_branches

__all__ = ["COCOA_TREE", "COCOA_CELL_BRANCHES", "COCOA_TRACK_BRANCHES", "read_cocoa"]

COCOA_TREE = "Out_Tree"
COCOA_CELL_BRANCHES = ("cell_layer", "cell_x", "cell_y", "cell_z", "cell_eta", "cell_phi", "cell_e")
COCOA_TRACK_BRANCHES = ("track_d0", "track_z0", "track_theta", "track_phi", "track_qoverp")


def _layer_positions(tree, path, tree_name, entry_start, entry_stop):
    """Per-track (eta, phi) at each calorimeter layer, each as var * 6 arrays."""
    if all(has_branch(tree, f"track_eta_layer_{i}") and has_branch(tree, f"track_phi_layer_{i}") for i in range(N_CALO_LAYERS)):
        names = [f"track_{v}_layer_{i}" for i in range(N_CALO_LAYERS) for v in ("eta", "phi")]
        b = read_branches(tree, names, path=path, tree=tree_name, entry_start=entry_start, entry_stop=entry_stop)
        etas = [b[f"track_eta_layer_{i}"] for i in range(N_CALO_LAYERS)]
        phis = [b[f"track_phi_layer_{i}"] for i in range(N_CALO_LAYERS)]
    else:
        names = [f"track_{v}_layer_{i}" for i in range(N_CALO_LAYERS) for v in ("x", "y", "z")]
        b = read_branches(tree, names, path=path, tree=tree_name, entry_start=entry_start, entry_stop=entry_stop)
        etas, phis = [], []
        for i in range(N_CALO_LAYERS):
            x, y, z = b[f"track_x_layer_{i}"], b[f"track_y_layer_{i}"], b[f"track_z_layer_{i}"]
            etas.append(np.arcsinh(z / np.hypot(x, y)))
            phis.append(np.arctan2(y, x))

    def stack(columns):
        joined = ak.concatenate([ak.values_astype(c, np.float32)[:, :, np.newaxis] for c in columns], axis=2)
        return ak.to_regular(joined, axis=2)

    return stack(etas), stack(phis)


def read_cocoa(
    path: str | Path,
    *,
    tree: str = COCOA_TREE,
    energy_scale: float = 1e-3,
    reconstructed_only: bool = True,
    card="cocoa",
    entry_start: int | None = None,
    entry_stop: int | None = None,
) -> ak.Array:
    """Read a COCOA output file into the ``detector`` columns of ``sim_pairs.schema``, one record per event.

    Args:
        path: the ROOT file.
        tree: tree name (``Out_Tree``; ``Low_Tree`` / ``High_Tree`` in high-granularity runs).
        energy_scale: multiplies energies and momenta to give GeV (COCOA writes MeV).
        reconstructed_only: keep only tracks with ``track_reconstructed`` true, when
            the file has that branch.
        card: the detector card (a ``DetectorCard`` or a name for ``load_card``) whose
            cells ``cell_index`` counts; None leaves ``cell_index`` out.
        entry_start, entry_stop: the range of events to read.

    Returns:
        An awkward array of events with fields ``cell_index`` (int32, unless ``card``
        is None), ``cell_layer`` (int8), ``cell_eta``, ``cell_phi``, ``cell_x``,
        ``cell_y``, ``cell_z`` (COCOA's positions), ``cell_energy``,
        ``track_pt``, ``track_eta``, ``track_phi``, ``track_charge`` (int8),
        ``track_d0``, ``track_z0``, ``track_eta_layer`` and ``track_phi_layer``
        (var * 6), all jagged per event, float32 unless stated.

    Raises:
        ReaderError: the file, tree or a branch is missing (named in the message), or
            a cell lies outside the card.
    """
    tree_obj = open_tree(path, tree)
    span = dict(entry_start=entry_start, entry_stop=entry_stop)
    b = read_branches(tree_obj, COCOA_CELL_BRANCHES + COCOA_TRACK_BRANCHES, path=path, tree=tree, **span)
    eta_layer, phi_layer = _layer_positions(tree_obj, path, tree, entry_start, entry_stop)

    f32 = np.float32
    qoverp = b["track_qoverp"]
    if ak.any(qoverp == 0):
        raise ReaderError(f"{path}: tree '{tree}' branch 'track_qoverp': zero q/p (infinite momentum) found")
    momentum = energy_scale / abs(qoverp)
    theta = b["track_theta"]
    tracks = {
        "track_pt": ak.values_astype(momentum * np.sin(theta), f32),
        "track_eta": ak.values_astype(-np.log(np.tan(0.5 * theta)), f32),
        "track_phi": ak.values_astype(b["track_phi"], f32),
        "track_charge": ak.values_astype(np.sign(qoverp), np.int8),
        "track_d0": ak.values_astype(b["track_d0"], f32),
        "track_z0": ak.values_astype(b["track_z0"], f32),
        "track_eta_layer": eta_layer,
        "track_phi_layer": phi_layer,
    }
    if reconstructed_only and has_branch(tree_obj, "track_reconstructed"):
        keep = read_branches(tree_obj, ["track_reconstructed"], path=path, tree=tree, **span)["track_reconstructed"] != 0
        tracks = {k: v[keep] for k, v in tracks.items()}
    cells = {
        "cell_layer": ak.values_astype(b["cell_layer"], np.int8),
        "cell_eta": ak.values_astype(b["cell_eta"], f32),
        "cell_phi": ak.values_astype(b["cell_phi"], f32),
        "cell_x": ak.values_astype(b["cell_x"], f32),
        "cell_y": ak.values_astype(b["cell_y"], f32),
        "cell_z": ak.values_astype(b["cell_z"], f32),
        "cell_energy": ak.values_astype(b["cell_e"] * energy_scale, f32),
    }
    if card is not None:
        cells = {"cell_index": _cell_index(cells, card, path, tree), **cells}
    return ak.zip({**cells, **tracks}, depth_limit=1)


def _cell_index(cells: dict, card, path, tree) -> ak.Array:
    """COCOA's cells as indices into ``card`` (found from their layer and centre)."""
    from ..detector import load_card
    from ..detector.cell_index import encode_cells

    card = load_card(card) if isinstance(card, str) else card
    counts = ak.num(cells["cell_layer"])
    flat = {k: ak.to_numpy(ak.flatten(cells[k])) for k in ("cell_layer", "cell_eta", "cell_phi")}
    try:
        index = encode_cells(card, flat["cell_layer"], flat["cell_eta"], flat["cell_phi"])
    except ValueError as error:
        raise ReaderError(f"{path}: tree '{tree}' branches cell_layer/cell_eta/cell_phi: {error}") from None
    return ak.unflatten(index, counts)
