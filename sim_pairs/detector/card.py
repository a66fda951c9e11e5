"""The detector card: every number the fast detector simulation uses, typed and validated.

Defaults are COCOA's (cocoa-hep/cocoa-hep, arXiv 2303.02101; REFERENCE section 3):
three ECAL layers of 4, 16, 2 X0 (LAr/Pb, sampling fraction 0.07) and three HCAL
layers of 1.5, 4.1, 1.8 lambda_int (scintillator/Fe, sampling fraction 0.025) behind
80 mm of iron, calorimeter inner radius 1500 mm, 3.8 T solenoid, granularity
N = 256, 256, 128, 64, 64, 32 with d_eta = 6/N and d_phi = 2 pi/N, cell noise 13, 34,
41, 75, 50, 25 MeV, topo-clustering 4.6/2/0 sigma; clusters split at local maxima as
ATLAS does (primary maxima in ECAL2-3, secondary in HCAL1-3, E > 0.5 GeV). Resolutions are the textbook
parametric values REFERENCE gives (EM 10%/sqrt(E) + 1%, hadronic 50%/sqrt(E) + 3%,
tracker sigma(pT)/pT = 1.5e-4 pT + 0.5%); layer radii and endcap z positions are
derived from the depths (about 2 cm per X0 in the ECAL, 20 cm per lambda in the HCAL)
and are approximate.

A card is a YAML file read by :func:`load_card` with ``sim_pairs.typed_config.from_mapping``
(unknown keys are errors naming the key and the file). Cards are frozen: what the
kernels derive from one is cached beside it (``card_cache.per_card``). A card file may start from
another card with ``base: <name or file>`` and then list only what it changes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

from sim_pairs.typed_config import ConfigError, from_mapping, load_yaml, to_mapping

from ..shipped_configs import CONFIG_DIR

__all__ = [
    "CaloLayer",
    "CaloResponse",
    "TopoThresholds",
    "SplitCard",
    "TrackerCard",
    "PFlowCard",
    "DetectorCard",
    "BUILTIN_CARD_DIR",
    "builtin_cards",
    "load_card",
]

#: Where built-in cards (``cocoa``, ``noisy``, ``coarse``) live.
BUILTIN_CARD_DIR = CONFIG_DIR / "detector"

N_LAYERS = 6


@dataclass(frozen=True)
class CaloLayer:
    """One calorimeter layer (barrel cylinder plus two endcap discs).

    Args:
        name: label, e.g. ``ECAL1``.
        kind: ``ecal`` or ``hcal``.
        n_cells: granularity N: d_eta = 6 / N, d_phi = 2 pi / N.
        noise: Gaussian noise sigma per cell in GeV (calibrated scale).
        depth_x0: thickness in radiation lengths (EM longitudinal profile).
        depth_lambda: thickness in nuclear interaction lengths (hadronic profile).
        r_inner, r_outer: barrel radii in mm.
        z_inner, z_outer: endcap abs(z) in mm.
        mip: calibrated energy a minimum-ionising particle leaves in the layer, GeV.
    """

    name: str
    kind: Literal["ecal", "hcal"]
    n_cells: int
    noise: float
    depth_x0: float
    depth_lambda: float
    r_inner: float
    r_outer: float
    z_inner: float
    z_outer: float
    mip: float = 0.0

    def __post_init__(self):
        if self.n_cells < 1:
            raise ValueError(f"layer {self.name}: n_cells must be >= 1, got {self.n_cells}")
        for key in ("noise", "depth_x0", "depth_lambda", "mip"):
            if getattr(self, key) < 0:
                raise ValueError(f"layer {self.name}: {key} must be >= 0, got {getattr(self, key)}")
        if not 0 < self.r_inner < self.r_outer:
            raise ValueError(f"layer {self.name}: need 0 < r_inner < r_outer, got {self.r_inner}, {self.r_outer}")
        if not 0 < self.z_inner < self.z_outer:
            raise ValueError(f"layer {self.name}: need 0 < z_inner < z_outer, got {self.z_inner}, {self.z_outer}")

    @property
    def r_mid(self) -> float:
        return 0.5 * (self.r_inner + self.r_outer)

    @property
    def z_mid(self) -> float:
        return 0.5 * (self.z_inner + self.z_outer)


def _cocoa_layers() -> list[CaloLayer]:
    rows = [  # name, kind, N, noise GeV, X0, lambda, r_in, r_out, z_in, z_out, mip GeV
        ("ECAL1", "ecal", 256, 0.013, 4.0, 0.13, 1500.0, 1580.0, 3200.0, 3280.0, 0.03),
        ("ECAL2", "ecal", 256, 0.034, 16.0, 0.53, 1580.0, 1900.0, 3280.0, 3600.0, 0.12),
        ("ECAL3", "ecal", 128, 0.041, 2.0, 0.07, 1900.0, 1940.0, 3600.0, 3640.0, 0.015),
        ("HCAL1", "hcal", 64, 0.075, 14.0, 1.5, 2020.0, 2320.0, 3720.0, 4020.0, 0.35),
        ("HCAL2", "hcal", 64, 0.050, 39.0, 4.1, 2320.0, 3140.0, 4020.0, 4840.0, 0.95),
        ("HCAL3", "hcal", 32, 0.025, 17.0, 1.8, 3140.0, 3500.0, 4840.0, 5200.0, 0.42),
    ]
    return [CaloLayer(*row) for row in rows]


@dataclass(frozen=True)
class CaloResponse:
    """Energy response of one calorimeter section (ECAL or HCAL).

    Args:
        stochastic: a in sigma/E = a / sqrt(E[GeV]) (+) c.
        constant: c.
        sampling_fraction: visible / deposited energy of the sampling calorimeter;
            cells are stored calibrated (visible / sampling_fraction), so the
            sampling fluctuation is the stochastic term.
        lateral_width: Rayleigh width of the lateral shower profile in (eta, phi) units.
    """

    stochastic: float
    constant: float
    sampling_fraction: float
    lateral_width: float

    def __post_init__(self):
        if self.stochastic < 0 or self.constant < 0:
            raise ValueError(f"stochastic and constant must be >= 0, got {self.stochastic}, {self.constant}")
        if not 0 < self.sampling_fraction <= 1:
            raise ValueError(f"sampling_fraction must be in (0, 1], got {self.sampling_fraction}")
        if self.lateral_width <= 0:
            raise ValueError(f"lateral_width must be > 0, got {self.lateral_width}")


@dataclass(frozen=True)
class TopoThresholds:
    """Topological clustering thresholds in units of the cell noise sigma.

    A seed needs E > seed * sigma; a neighbour that grows the cluster needs
    abs(E) > neighbour * sigma; a boundary cell needs abs(E) >= boundary * sigma.
    """

    seed: float = 4.6
    neighbour: float = 2.0
    boundary: float = 0.0

    def __post_init__(self):
        if not self.seed >= self.neighbour >= self.boundary >= 0:
            raise ValueError(f"need seed >= neighbour >= boundary >= 0, got {self.seed}, {self.neighbour}, {self.boundary}")


@dataclass(frozen=True)
class SplitCard:
    """Splitting topo-clusters at local maxima (ATLAS's splitter, arXiv 1603.02934 section 5.1.2).

    Args:
        primary_layers: layers whose cells may be local maxima. ATLAS uses the EM
            middle and back samplings; here ECAL2 and ECAL3 (indices 1, 2).
        secondary_layers: layers whose local maxima count only where no primary
            maximum of the same cluster overlaps them in (eta, phi); here the HCAL
            layers (3, 4, 5), so that neutral hadrons apart from photons get their
            own sub-cluster, also those that shower late. Both lists empty: no splitting (one sub-cluster per cluster,
            the detector before it).
        merge_margin: "overlaps" reaches this many cells (of the coarser layer)
            beyond the cell, and two maxima of the same kind in different layers that
            close count once, the more energetic (ATLAS: 0 and no such rule; 1 here,
            so a hadron whose ECAL core and HCAL shower, or HCAL1 and HCAL2 showers,
            fall on two sides of a cell edge stays one sub-cluster).
        min_energy: a local maximum has E > min_energy, GeV (ATLAS: 0.5 GeV)...
        min_neighbours: ...at least this many neighbours in its cluster (ATLAS: 4),
            and more energy than each neighbour in a primary or secondary layer.
        share_scale: a cell reached by two sub-clusters at once is shared with weights
            w1 = E1 / (E1 + r E2), r = exp(d1 - d2), d the (eta, phi) distance of the
            cell to each sub-cluster's centroid in units of share_scale (ATLAS: 5 cm,
            about the Moliere radius; 0.03 is 5 cm at the ECAL's 1.6 m radius).
    """

    primary_layers: list[int] = field(default_factory=lambda: [1, 2])
    secondary_layers: list[int] = field(default_factory=lambda: [3, 4, 5])
    merge_margin: float = 1.0
    min_energy: float = 0.5
    min_neighbours: int = 4
    share_scale: float = 0.03

    def __post_init__(self):
        for key in ("primary_layers", "secondary_layers"):
            layers = getattr(self, key)
            if any(not 0 <= l < N_LAYERS for l in layers) or len(set(layers)) != len(layers):
                raise ValueError(f"{key} must be distinct layer indices in [0, {N_LAYERS - 1}], got {layers}")
        if set(self.primary_layers) & set(self.secondary_layers):
            raise ValueError(f"a layer cannot be primary and secondary, got {self.primary_layers} and {self.secondary_layers}")
        if self.merge_margin < 0:
            raise ValueError(f"merge_margin must be >= 0, got {self.merge_margin}")
        if self.min_energy < 0 or self.min_neighbours < 0:
            raise ValueError(f"min_energy and min_neighbours must be >= 0, got {self.min_energy}, {self.min_neighbours}")
        if self.share_scale <= 0:
            raise ValueError(f"share_scale must be > 0, got {self.share_scale}")


@dataclass(frozen=True)
class TrackerCard:
    """Tracker acceptance and resolution.

    Args:
        layer_radii: silicon layer radii in mm (pixels then strips), increasing.
        min_hits: a particle produced at a radius with fewer than ``min_hits``
            layers outside it is not reconstructed.
        efficiency: probability to reconstruct a track in acceptance.
        pt_min: minimum pT in GeV.
        abs_eta_max: tracker coverage.
        pt_slope, pt_constant: sigma(pT)/pT = pt_slope * pT[GeV] (+) pt_constant,
            applied to the curvature 1/pT.
        d0_constant, d0_slope: sigma(d0) = d0_constant (+) d0_slope / pT, in mm and mm GeV.
        z0_constant, z0_slope: the same for z0.
        angle_resolution: sigma of eta and phi at the vertex (rad).
    """

    layer_radii: list[float] = field(default_factory=lambda: [39.0, 75.0, 155.0, 213.0, 271.0, 405.0, 562.0, 762.0, 1000.0])
    min_hits: int = 5
    efficiency: float = 0.97
    pt_min: float = 0.5
    abs_eta_max: float = 2.5
    pt_slope: float = 1.5e-4
    pt_constant: float = 0.005
    d0_constant: float = 0.01
    d0_slope: float = 0.03
    z0_constant: float = 0.03
    z0_slope: float = 0.06
    angle_resolution: float = 1e-4

    def __post_init__(self):
        radii = self.layer_radii
        if not radii or any(r <= 0 for r in radii) or any(b <= a for a, b in zip(radii, radii[1:])):
            raise ValueError(f"layer_radii must be positive and strictly increasing, got {radii}")
        if not 1 <= self.min_hits <= len(radii):
            raise ValueError(f"min_hits must be in [1, {len(radii)}], got {self.min_hits}")
        if not 0 <= self.efficiency <= 1:
            raise ValueError(f"efficiency must be in [0, 1], got {self.efficiency}")
        for key in ("pt_min", "pt_slope", "pt_constant", "d0_constant", "d0_slope", "z0_constant", "z0_slope", "angle_resolution"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must be >= 0, got {getattr(self, key)}")


@dataclass(frozen=True)
class PFlowCard:
    """Particle-flow settings.

    Args:
        neutral_e_min: smallest neutral candidate energy kept, GeV.
        neutral_nsigma: a cluster's energy left after subtracting its tracks makes a
            neutral candidate only above this many sigma of the expected track deposit.
        photon_em_fraction: a neutral cluster with at least this fraction of its
            energy in the ECAL is a photon (22), otherwise a neutral hadron (130).
    """

    neutral_e_min: float = 0.5
    neutral_nsigma: float = 1.0
    photon_em_fraction: float = 0.8


@dataclass(frozen=True)
class DetectorCard:
    """A whole detector: calorimeter layers, responses, noise, clustering, tracker, particle flow.

    Args:
        name: the card's name (kept in the dataset metadata).
        field_tesla: solenoid field in T.
        barrel_abs_eta: barrel / endcap boundary in abs(eta).
        abs_eta_max: calorimeter coverage.
        layers: exactly six layers, ECAL then HCAL, radii and z increasing.
        gap_depth_x0, gap_depth_lambda: dead material (iron) between ECAL and HCAL.
        noise_scale: multiplies every layer's noise sigma (replica variants).
        ecal, hcal: energy response of each section.
        topo: clustering thresholds.
        split: splitting of clusters at local maxima.
        tracker: track reconstruction.
        pflow: particle flow.
        spots_per_deposit: a shower's lateral centroid fluctuates like the mean of this
            many independent energy spots (sigma = lateral_width / sqrt(spots)).
        window_margin: cells (with their noise) are simulated in a window of half-width
            radius + window_margin around the jet axis, so clusters growing into the
            jet are complete; particles within radius + window_margin + 0.5 are
            simulated, so showers and low-pT tracks bending in are included.
        cell_energy_bits: explicit mantissa bits a cell energy keeps (1-23): the
            readout's digitisation (:mod:`sim_pairs.detector.readout`); 9 is a relative
            step of 0.2%, 23 leaves float32 as it is.
    """

    name: str = "cocoa"
    field_tesla: float = 3.8
    barrel_abs_eta: float = 1.5
    abs_eta_max: float = 3.0
    layers: list[CaloLayer] = field(default_factory=_cocoa_layers)
    gap_depth_x0: float = 4.5
    gap_depth_lambda: float = 0.48
    noise_scale: float = 1.0
    ecal: CaloResponse = field(default_factory=lambda: CaloResponse(0.10, 0.01, 0.07, 0.012))
    hcal: CaloResponse = field(default_factory=lambda: CaloResponse(0.50, 0.03, 0.025, 0.05))
    topo: TopoThresholds = field(default_factory=TopoThresholds)
    split: SplitCard = field(default_factory=SplitCard)
    tracker: TrackerCard = field(default_factory=TrackerCard)
    pflow: PFlowCard = field(default_factory=PFlowCard)
    spots_per_deposit: int = 12
    window_margin: float = 0.2
    cell_energy_bits: int = 9

    def __post_init__(self):
        if len(self.layers) != N_LAYERS:
            raise ValueError(f"layers: expected {N_LAYERS} layers (3 ecal then 3 hcal), got {len(self.layers)}")
        kinds = [layer.kind for layer in self.layers]
        if kinds != ["ecal"] * 3 + ["hcal"] * 3:
            raise ValueError(f"layers: expected kinds ecal, ecal, ecal, hcal, hcal, hcal; got {', '.join(kinds)}")
        for i in range(1, N_LAYERS):
            below, above = self.layers[i - 1], self.layers[i]
            if above.r_inner < below.r_outer:
                raise ValueError(f"layers[{i}].r_inner: radii must increase layer by layer, {above.r_inner} < {below.r_outer}")
            if above.z_inner < below.z_outer:
                raise ValueError(f"layers[{i}].z_inner: z must increase layer by layer, {above.z_inner} < {below.z_outer}")
        if self.field_tesla <= 0:
            raise ValueError(f"field_tesla must be > 0, got {self.field_tesla}")
        if not 0 < self.barrel_abs_eta <= self.abs_eta_max <= 3.0:
            raise ValueError(f"need 0 < barrel_abs_eta <= abs_eta_max <= 3, got {self.barrel_abs_eta}, {self.abs_eta_max}")
        if self.noise_scale < 0:
            raise ValueError(f"noise_scale must be >= 0, got {self.noise_scale}")
        if self.gap_depth_x0 < 0 or self.gap_depth_lambda < 0:
            raise ValueError("gap_depth_x0 and gap_depth_lambda must be >= 0")
        if self.spots_per_deposit < 1:
            raise ValueError(f"spots_per_deposit must be >= 1, got {self.spots_per_deposit}")
        if self.window_margin < 0:
            raise ValueError(f"window_margin must be >= 0, got {self.window_margin}")
        if not 1 <= self.cell_energy_bits <= 23:
            raise ValueError(f"cell_energy_bits must be in 1..23 (float32 mantissa bits), got {self.cell_energy_bits}")

    def noise_sigmas(self) -> list[float]:
        """Per-layer noise sigma in GeV, ``noise_scale`` applied."""
        return [layer.noise * self.noise_scale for layer in self.layers]


def builtin_cards() -> list[str]:
    """Names of the built-in cards (``cocoa`` always; more in a source checkout)."""
    names = {"cocoa"}
    if BUILTIN_CARD_DIR.is_dir():
        names.update(p.stem for p in BUILTIN_CARD_DIR.glob("*.yaml"))
    return sorted(names)


def _merge(base: dict, changes: Mapping[str, Any]) -> dict:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _card_mapping(spec: str, base_dir: Path, seen: tuple[str, ...]) -> tuple[dict, str]:
    """The plain mapping of a card (bases resolved) and the file it came from."""
    if spec in seen:
        raise ConfigError(f"{seen[-1]}: base: cards inherit from each other in a loop: {' -> '.join(seen + (spec,))}")
    path = Path(spec) if spec.endswith((".yaml", ".yml")) else None
    if path is None:
        builtin = BUILTIN_CARD_DIR / f"{spec}.yaml"
        if builtin.is_file():
            path = builtin
        elif spec == "cocoa":
            return to_mapping(DetectorCard()), "<built-in cocoa>"
        else:
            raise ConfigError(f"detector card '{spec}': not a built-in card ({', '.join(builtin_cards())}) nor a .yaml file")
    elif not path.is_absolute():
        path = base_dir / path
    data = load_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: <top>: expected a mapping for DetectorCard, got {data!r}")
    data = dict(data)
    base = data.pop("base", None)
    if base is None:
        return data, str(path)
    if not isinstance(base, str):
        raise ConfigError(f"{path}: base: expected a card name or file, got {base!r}")
    parent, _ = _card_mapping(base, path.parent, seen + (spec,))
    return _merge(parent, data), str(path)


def load_card(spec: str, overrides: Mapping[str, Any] | None = None, base_dir: Path = Path(".")) -> DetectorCard:
    """Read a detector card.

    Args:
        spec: a built-in card name (see :func:`builtin_cards`) or a YAML file path,
            relative to ``base_dir``.
        overrides: card fields to change, e.g. ``{"noise_scale": 2.0}`` or
            ``{"topo": {"seed": 4.0}}`` (nested mappings merge).
        base_dir: directory relative paths are resolved against.

    Raises:
        ConfigError: the file is missing or malformed (unknown key, missing layer,
            negative noise, non-monotonic radii...); the message names the file and field.
    """
    data, source = _card_mapping(str(spec), Path(base_dir), ())
    if overrides:
        if not isinstance(overrides, Mapping):
            raise ConfigError(f"{source}: overrides: expected a mapping, got {overrides!r}")
        data = _merge(data, overrides)
        source = f"{source} (with overrides {dict(overrides)})"
    return from_mapping(DetectorCard, data, source=source)
