"""The data contract: which graphs a run builds from a dataset, separate from the network.

The ``data:`` section of a run config (built with ``sim_pairs.typed_config.from_mapping``;
every field has a default). It names the graph kind, the node features and their
normalisation, how many nodes of each type are kept, the detector graphs' edges, which views
form a positive pair, the JetCLR augmentations, the train/val/test split and the
label classes. The network reads its input sizes from :meth:`DataContract.input_dims`; kNN
graphs of particle-like jets are the model's business (``model.position_k``, ``model.feature_k``).

Example (``configs/data/particles_rs3l.yaml``)::

    graph: particles
    features: rs3l15
    pairing: anchor
    anchor_views: [nominal]
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Literal

from sim_pairs.schema import ALL_LABELS, N_CALO_LAYERS

from .features import NODE_TYPES, Normalisation, feature_names

__all__ = ["DataContract", "DetectorEdges", "AugmentationConfig", "Normalisation", "MissingColumnsError", "FEATURE_COLUMNS"]

#: particle feature -> the optional per-particle columns it is computed from (without the
#: ``part_`` / ``pfc_`` prefix); features not listed need only the four-momentum.
FEATURE_COLUMNS = {
    "charge": ("charge",),
    "tanh_d0": ("d0",),
    "tanh_dz": ("dz",),
    "is_photon": ("pid",),
    "is_muon": ("pid",),
    "is_electron": ("pid",),
    "is_charged_hadron": ("pid", "charge"),
    "is_neutral_hadron": ("pid", "charge"),
}

_PREFIX = {"particles": "part", "pflow": "pfc"}


class MissingColumnsError(ValueError):
    """A dataset that lacks columns the contract's features need (e.g. an imported public dataset)."""


@dataclass
class DetectorEdges:
    """Edges of detector graphs, one value per calorimeter layer (COCOA's defaults).

    Attributes:
        cell_k: same-layer kNN neighbours per cell, per layer.
        cell_max_dr: same-layer neighbours farther than this dR are dropped.
        interlayer_k: links from a cell to its nearest cells in each adjacent layer,
            per layer of the cell; the dR cut is the larger of the two layers' cuts.
        track_k: cells linked to a track at its extrapolated position, per layer.
        track_max_dr: dR cut of track-cell links, per layer.
    """

    cell_k: list[int] = field(default_factory=lambda: [8, 8, 8, 6, 6, 6])
    cell_max_dr: list[float] = field(default_factory=lambda: [0.05, 0.07, 0.14, 0.30, 0.30, 0.60])
    interlayer_k: list[int] = field(default_factory=lambda: [1, 2, 2, 2, 2, 1])
    track_k: list[int] = field(default_factory=lambda: [4, 4, 4, 3, 3, 3])
    track_max_dr: list[float] = field(default_factory=lambda: [0.15, 0.15, 0.4, 1.1, 1.1, 2.0])

    def __post_init__(self):
        for name in ("cell_k", "cell_max_dr", "interlayer_k", "track_k", "track_max_dr"):
            values = getattr(self, name)
            if len(values) != N_CALO_LAYERS:
                raise ValueError(f"{name} needs {N_CALO_LAYERS} values (one per layer), got {len(values)}")
            if any(v < 0 for v in values):
                raise ValueError(f"{name} values must be >= 0, got {values}")


@dataclass
class AugmentationConfig:
    """JetCLR augmentations (Dillon et al., arXiv 2108.04253), all off by default.

    Applied to a jet's constituents before features are computed, independently to
    each view of a pair (soft smearing to the second view only, as JetCLR does).

    Attributes:
        rotate: rotate the constituents about the jet axis by one uniform angle.
        translate: shift all constituents by a uniform offset in +-width * (max - min)
            of the jet's eta and phi.
        translate_width: ``w`` above.
        smear: shift eta and phi of each constituent by N(0, strength / max(pT, pt_min)).
        smear_strength: Lambda, GeV.
        smear_pt_min: pT floor, GeV.
        collinear_split: split constituents into two collinear ones of pT fractions
            r and 1 - r, r ~ U(0, 1), conserving pT.
        split_max: constituents to split per jet; 0 fills up to the node limit
            (JetCLR), never more than the jet has.
    """

    rotate: bool = False
    translate: bool = False
    translate_width: float = 1.0
    smear: bool = False
    smear_strength: float = 0.1
    smear_pt_min: float = 0.1
    collinear_split: bool = False
    split_max: int = 0

    @property
    def any(self) -> bool:
        return self.rotate or self.translate or self.smear or self.collinear_split


@dataclass
class DataContract:
    """The ``data:`` section: how jets on disk become graphs and pairs.

    Attributes:
        graph: ``particles`` (truth constituents), ``pflow`` (detector-level
            particle-flow candidates) or ``detector`` (calorimeter cells and tracks).
        features: ``rs3l15`` or ``kinematic4`` for particle-like graphs,
            ``detector`` or ``kinematic4`` for detector graphs; ``auto`` picks
            ``rs3l15`` or ``detector``.
        normalise: feature name (or ``type.feature``, e.g. ``track.log_pt``) ->
            normalisation; features not named are passed through.
        max_particles, max_cells, max_tracks: node limits per type; the highest-pT
            (``keep_by: pt``) or highest-energy nodes are kept. Cells by energy always.
        keep_by: ``pt`` or ``energy``, for particles and tracks.
        detector_edges: per-layer edge settings of detector graphs.
        views: the views used at all (glob patterns on the ``view`` column); empty = all.
        pairing: ``any`` (two distinct allowed views, uniformly), ``anchor`` (one of
            ``anchor_views`` with one of ``positive_views``; RS3L's nominal vs one
            variation) or ``jetclr`` (two augmentations of the same anchor view).
        anchor_views, positive_views: glob patterns; empty ``positive_views`` = every
            allowed view that is not an anchor.
        augment: JetCLR augmentations.
        val_fraction, test_fraction: split by a stable hash of ``group_id``, so every
            view of a group lands in the same split.
        labels: label classes; ``Data.label`` is the index into this list, rows with
            other labels are skipped. Default: every label of ``sim_pairs.schema.ALL_LABELS``
            (generated ones first, then those of imported public datasets).
        num_workers: DataLoader worker processes.
        shuffle_buffer: items held for shuffling in each worker (the streaming path).
        cache_dir: where graph caches go (:mod:`graphs.cache`); null: ``<dataset>/.graph-cache``.
    """

    graph: Literal["particles", "pflow", "detector"] = "particles"
    features: Literal["auto", "rs3l15", "kinematic4", "detector"] = "auto"
    normalise: dict[str, Normalisation] = field(default_factory=dict)
    max_particles: int = 200
    max_cells: int = 4000
    max_tracks: int = 200
    keep_by: Literal["pt", "energy"] = "pt"
    detector_edges: DetectorEdges = field(default_factory=DetectorEdges)
    views: list[str] = field(default_factory=list)
    pairing: Literal["any", "anchor", "jetclr"] = "any"
    anchor_views: list[str] = field(default_factory=lambda: ["nominal"])
    positive_views: list[str] = field(default_factory=list)
    augment: AugmentationConfig = field(default_factory=AugmentationConfig)
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    labels: list[str] = field(default_factory=lambda: list(ALL_LABELS))
    num_workers: int = 2
    shuffle_buffer: int = 2000
    cache_dir: str | None = None

    def __post_init__(self):
        names = self.feature_names()  # raises for a feature set that does not fit the graph
        known = {f for fs in names.values() for f in fs} | {f"{t}.{f}" for t, fs in names.items() for f in fs}
        for key in self.normalise:
            if key not in known:
                raise ValueError(f"normalise: unknown feature '{key}'; features of this contract: {sorted(known)}")
        for name in ("max_particles", "max_cells", "max_tracks"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not (0 <= self.val_fraction and 0 <= self.test_fraction and self.val_fraction + self.test_fraction < 1):
            raise ValueError(
                f"val_fraction and test_fraction must be >= 0 with a sum below 1, got {self.val_fraction}, {self.test_fraction}"
            )
        if not self.labels or len(set(self.labels)) != len(self.labels):
            raise ValueError(f"labels must be a non-empty list without repeats, got {self.labels}")
        if self.pairing == "jetclr" and not self.augment.any:
            raise ValueError("pairing 'jetclr' needs at least one augmentation switched on under 'augment'")
        if self.augment.any and self.graph == "detector":
            raise ValueError("augment: JetCLR augmentations act on constituents; they need graph 'particles' or 'pflow'")
        if self.pairing == "jetclr" and self.graph == "detector":
            raise ValueError("pairing 'jetclr' augments constituents; it needs graph 'particles' or 'pflow'")
        if self.pairing in ("anchor", "jetclr") and not self.anchor_views:
            raise ValueError(f"pairing '{self.pairing}' needs at least one entry in anchor_views")
        if self.num_workers < 0 or self.shuffle_buffer < 1:
            raise ValueError("num_workers must be >= 0 and shuffle_buffer >= 1")

    @property
    def feature_set(self) -> str:
        if self.features != "auto":
            return self.features
        return "detector" if self.graph == "detector" else "rs3l15"

    def feature_names(self) -> dict[str, tuple[str, ...]]:
        """Node type -> the names of its features, in column order."""
        return feature_names(self.feature_set, self.graph)

    def input_dims(self) -> dict[str, int]:
        """Node type -> number of input features; ``Data.x`` is padded to the largest."""
        return {t: len(names) for t, names in self.feature_names().items()}

    def node_type_index(self) -> dict[str, int]:
        """Node type name -> the integer stored in ``Data.node_type``."""
        return {t: NODE_TYPES.index(t) for t in self.feature_names()}

    def normalisation(self, node_type: str, feature: str) -> Normalisation | None:
        """The normalisation of one feature of one node type (None: unchanged)."""
        return self.normalise.get(f"{node_type}.{feature}", self.normalise.get(feature))

    def required_columns(self) -> dict[str, tuple[str, ...]]:
        """Optional per-node column -> the features that need it (particle-like graphs)."""
        prefix = _PREFIX.get(self.graph)
        if prefix is None:
            return {}
        out: dict[str, tuple[str, ...]] = {}
        for feature in self.feature_names()["particle"]:
            for name in FEATURE_COLUMNS.get(feature, ()):
                out[f"{prefix}_{name}"] = out.get(f"{prefix}_{name}", ()) + (feature,)
        return out

    def check_columns(self, available, source) -> None:
        """Refuse a dataset whose columns ``available`` lack what the features need.

        Raises:
            MissingColumnsError: naming ``source``, the missing columns and the features needing them.
        """
        missing = {c: f for c, f in self.required_columns().items() if c not in set(available)}
        if missing:
            detail = "; ".join(f"{c} (for {', '.join(f)})" for c, f in sorted(missing.items()))
            raise MissingColumnsError(
                f"{source}: feature set '{self.feature_set}' on '{self.graph}' graphs needs column(s) {detail}, "
                f"absent from this dataset (imported from a format without them); use features: kinematic4")

    def check_dataset(self, data_dir) -> None:
        """:meth:`check_columns` against every shard of a dataset directory (footers only), so a
        run stops before training rather than in a loader worker."""
        from sim_pairs.io import shard_columns, shard_paths

        for path in shard_paths(data_dir):
            self.check_columns(shard_columns(path), path)

    def label_index(self, label: str) -> int | None:
        return self.labels.index(label) if label in self.labels else None

    # --- which views take part, and how pairs are drawn -------------------------------
    def view_allowed(self, view: str) -> bool:
        return not self.views or _matches(view, self.views)

    def is_anchor(self, view: str) -> bool:
        return _matches(view, self.anchor_views)

    def is_positive(self, view: str) -> bool:
        if self.positive_views:
            return _matches(view, self.positive_views)
        return not self.is_anchor(view)


def _matches(view: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(view, p) for p in patterns)

