"""Typed configuration of dataset generation (the ``generation`` section).

Example (``configs/quickstart.yaml``)::

    generation:
      sqrt_s: 13000.0
      seed: 1
      events_per_shard: 50
      processes:
        - {name: qcd, events: 200, pthat_min: 450.0}
        - {name: hbb, events: 100, pthat_min: 450.0}
      views:
        nominal: {}
        seed: {}                                  # same settings, new seed
        fsr_up: {settings: ["TimeShower:renormMultFac = 0.5"]}
        vincia: {settings: ["PartonShowers:model = 2"]}
        rehad: {rehadronize: nominal}             # same parton level as nominal
      jets: {radius: 0.8, pt_min: 450.0, abs_eta_max: 2.5}
      detector:
        replicas: {replica0: {}, replica1: {}}

Every view starts from the same hard events; each gets its own random seed derived
from (seed, shard, view name), so ``seed: {}`` differs from ``nominal`` only by it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from .process_catalog import PROCESSES
from .schema import LABELS

__all__ = ["ProcessConfig", "ViewConfig", "JetConfig", "ReplicaConfig", "DetectorConfig", "GenerationConfig"]


@dataclass
class ProcessConfig:
    """One hard process to generate.

    Args:
        name: a process known to ``sim_pairs.processes`` (qcd, qcd_quark, qcd_gluon,
            hbb, wqq, zqq, ttbar) or ``lhe`` for a user's own LHE files.
        events: hard events to generate in total over all shards.
        pthat_min, pthat_max: pT-hat window in GeV (``pthat_max`` <= 0: no upper cut).
        lhe_files: with ``name: lhe``, the LHE files to re-shower (paths relative to
            the config file).
        settings: extra Pythia strings for the hard process only.
    """

    name: str
    events: int = 100
    pthat_min: float = 450.0
    pthat_max: float = -1.0
    lhe_files: list[str] = field(default_factory=list)
    settings: list[str] = field(default_factory=list)

    def __post_init__(self):
        if self.name not in PROCESSES:
            raise ValueError(f"unknown process '{self.name}'; known processes: {', '.join(sorted(PROCESSES))}")
        if self.events < 0:
            raise ValueError(f"process '{self.name}': events must be >= 0, got {self.events}")
        if self.pthat_max > 0 and self.pthat_max <= self.pthat_min:
            raise ValueError(f"process '{self.name}': pthat_max ({self.pthat_max}) must exceed pthat_min "
                             f"({self.pthat_min}), or be <= 0 for no upper cut")
        if (self.name == "lhe") != bool(self.lhe_files):
            raise ValueError(f"process '{self.name}': lhe_files go with name 'lhe' and only with it; "
                             f"got lhe_files = {self.lhe_files}")


@dataclass
class ViewConfig:
    """One way of showering the shared hard events.

    Args:
        settings: Pythia setting strings applied on top of the base settings; one
            Pythia rejects is an error.
        tune: a tune shipped with Pythia by name (e.g. ``Monash``, ``A14``,
            ``A14-Var1+``); empty keeps the base tune.
        rehadronize: name of another view whose parton-level events are hadronised
            again with an independent seed (arXiv 2503.11632); that view's shower is
            not rerun.
        hepmc: a HepMC3 file written by another generator from the same LHE events
            (Herwig, Sherpa), matched to the hard events by event number.
        hepmc_first_event: the HepMC event number of the LHE file's first event
            (0 if the generator counts from 0, 1 if it counts from 1).
        description: free text kept in the dataset metadata.
    """

    settings: list[str] = field(default_factory=list)
    tune: str = ""
    rehadronize: str = ""
    hepmc: str = ""
    hepmc_first_event: int = 0
    description: str = ""

    def __post_init__(self):
        from .tunes import tune_settings

        if self.rehadronize and self.hepmc:
            raise ValueError("a view takes either 'rehadronize' or 'hepmc', not both")
        if self.rehadronize and self.tune:
            raise ValueError("a 'rehadronize' view uses its source's tune; put changes in 'settings'")
        tune_settings(self.tune)  # unknown names fail here, listing the known ones


@dataclass
class JetConfig:
    """Jet clustering and selection.

    Args:
        radius: anti-kt distance parameter R.
        pt_min, pt_max: jet pT window in GeV (``pt_max`` <= 0: none). Every view of a
            group must pass.
        abs_eta_max: maximum abs(eta) of the jet.
        particle_pt_min: minimum pT of the particles clustered, GeV.
        max_particles: keep at most this many constituents (highest pT first).
        match_radius: maximum dR between the jet and the hard parton it matches;
            the decay partons of a resonance must moreover lie within ``radius``.
        labels: keep only jets with these labels (``sim_pairs.schema.LABELS``); empty
            keeps the process's own: qcd quark and gluon, hbb Hbb, wqq Wqq, zqq Zqq,
            ttbar top, lhe all.
    """

    radius: float = 0.8
    pt_min: float = 450.0
    pt_max: float = -1.0
    abs_eta_max: float = 2.5
    particle_pt_min: float = 0.0
    max_particles: int = 200
    match_radius: float = 0.5
    labels: list[str] = field(default_factory=list)

    def __post_init__(self):
        if not 0.0 < self.radius < 3.0:
            raise ValueError(f"radius must be in (0, 3), got {self.radius}")
        if self.max_particles < 1:
            raise ValueError(f"max_particles must be >= 1, got {self.max_particles}")
        if self.match_radius <= 0:
            raise ValueError(f"match_radius must be > 0, got {self.match_radius}")
        unknown = [label for label in self.labels if label not in LABELS]
        if unknown:
            raise ValueError(f"labels: unknown label(s) {unknown}; known labels are {list(LABELS)}")


@dataclass
class ReplicaConfig:
    """One detector replica: the same particles through a detector card with a seed.

    Args:
        card: a built-in card name (``cocoa``) or a YAML file (relative to the config).
        overrides: card fields to change, e.g. ``{noise_scale: 2.0}``.
        seed_offset: added to the generation seed for this replica's randomness.
    """

    card: str = "cocoa"
    overrides: dict[str, Any] = field(default_factory=dict)
    seed_offset: int = 0


@dataclass
class DetectorConfig:
    """Detector replicas: every shower view is simulated once per replica.

    The stored view name is ``"<shower view>@<replica>"``.
    """

    replicas: dict[str, ReplicaConfig] = field(default_factory=lambda: {"replica0": ReplicaConfig()})

    def __post_init__(self):
        if not self.replicas:
            raise ValueError("detector.replicas must name at least one replica")


@dataclass
class GenerationConfig:
    """Everything ``rs3l generate`` needs.

    Args:
        sqrt_s: centre-of-mass energy in GeV.
        seed: master seed; shards, views and replicas derive theirs from it.
        events_per_shard: hard events per shard (the unit of parallelism and resume).
        mpi: multi-parton interactions on (costs 4-7 times the shower time).
        base_settings: Pythia strings applied to every view (e.g. a tune).
        processes: the hard processes.
        views: named views; there must be one called ``nominal``.
        jets: clustering and selection.
        detector: detector replicas, or None for truth level only.
        bad_events: what an unusable event of the user's inputs (an LHE event with NaN
            momenta, looping mothers, unknown PDG ids or broken colour flow; a HepMC
            event with non-finite momenta) does: ``error`` stops the run naming file,
            event and field; ``skip`` leaves it out, logs it and counts it in
            ``metadata.json`` (``skipped_events``). Malformed files are errors either way.
    """

    sqrt_s: float = 13000.0
    seed: int = 1
    events_per_shard: int = 100
    mpi: bool = True
    base_settings: list[str] = field(default_factory=list)
    processes: list[ProcessConfig] = field(default_factory=lambda: [ProcessConfig(name="qcd")])
    views: dict[str, ViewConfig] = field(default_factory=lambda: {"nominal": ViewConfig()})
    jets: JetConfig = field(default_factory=JetConfig)
    detector: Optional[DetectorConfig] = None
    bad_events: str = "error"

    def __post_init__(self):
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.bad_events not in ("error", "skip"):
            raise ValueError(f"bad_events must be 'error' or 'skip', got {self.bad_events!r}")
        if "nominal" not in self.views:
            raise ValueError(f"views must include 'nominal'; got {sorted(self.views)}")
        if self.events_per_shard < 1:
            raise ValueError(f"events_per_shard must be >= 1, got {self.events_per_shard}")
        for name, view in self.views.items():
            if "@" in name:
                raise ValueError(f"view name '{name}' may not contain '@' (it separates detector replicas)")
            if view.rehadronize and view.rehadronize not in self.views:
                raise ValueError(f"views.{name}.rehadronize names unknown view '{view.rehadronize}'")
