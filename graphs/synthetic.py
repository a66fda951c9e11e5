"""Random but physical-looking jets written in the rs3l shard schema, for tests and benchmarks.

Not a simulation: jets of a few hundred GeV whose constituents share the jet's pT
with a steeply falling spectrum and spread around the axis with a width shrinking
with pT; calorimeter cells on COCOA's (eta, phi) grids (256, 256, 128, 64, 64, 32
divisions, stored as indices into the COCOA card) collect the particles' energy (photons and electrons in the ECAL, hadrons
mostly in the HCAL); charged particles above 1 GeV give tracks whose extrapolated
phi bends with charge / pT. Views of a group share the jet and differ by a
per-view reshuffle of soft constituents, so pairs are similar but not identical.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Sequence

import numpy as np

from sim_pairs.detector import load_card
from sim_pairs.detector.cell_index import card_record, encode_cells
from sim_pairs.io import shard_name, write_metadata, write_shard
from sim_pairs.schema import COLUMNS, LABELS, N_CALO_LAYERS

__all__ = ["synthetic_columns", "write_synthetic_dataset"]

_GRID = (256, 256, 128, 64, 64, 32)
_RADIUS_MM = (1500.0, 1600.0, 1800.0, 2000.0, 2300.0, 2700.0)
@functools.lru_cache(maxsize=1)
def _card():
    """The COCOA card, loaded once (its grids are ``_GRID``)."""
    return load_card("cocoa")


_TYPES = ((22, 0, 0.35), (211, 1, 0.25), (-211, -1, 0.25), (130, 0, 0.1), (11, -1, 0.02), (-13, 1, 0.03))


def _particles(rng, jet_pt, jet_eta, jet_phi, n):
    frac = rng.pareto(1.5, n) + 1.0
    pt = jet_pt * frac / frac.sum()
    width = 0.05 + 0.3 / np.sqrt(1.0 + pt)
    eta = jet_eta + rng.normal(size=n) * width
    phi = jet_phi + rng.normal(size=n) * width
    kind = rng.choice(len(_TYPES), size=n, p=[t[2] for t in _TYPES])
    pid = np.array([_TYPES[i][0] for i in kind], dtype=np.int32)
    charge = np.array([_TYPES[i][1] for i in kind], dtype=np.int8)
    mass = np.where(np.abs(pid) == 211, 0.1396, np.where(pid == 130, 0.4976, np.where(np.abs(pid) == 13, 0.1057, 0.0)))
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    energy = np.sqrt(px**2 + py**2 + pz**2 + mass**2)
    d0 = np.where(charge != 0, rng.normal(0.0, 0.05, n), 0.0)
    dz = np.where(charge != 0, rng.normal(0.0, 0.08, n), 0.0)
    return dict(px=px, py=py, pz=pz, energy=energy, pid=pid, charge=charge, d0=d0, dz=dz, pt=pt, eta=eta, phi=phi)


def _detector(rng, p):
    """Cells (summed per grid cell, per layer) and tracks from particles ``p``."""
    em = (np.abs(p["pid"]) == 22) | (np.abs(p["pid"]) == 11)
    muon = np.abs(p["pid"]) == 13
    share = np.where(em[:, None], [0.3, 0.6, 0.1, 0.0, 0.0, 0.0], [0.05, 0.1, 0.05, 0.4, 0.3, 0.1])
    share = np.where(muon[:, None], 0.0, share)
    cells = {}
    for layer, n_div in enumerate(_GRID):
        deta, dphi = 6.0 / n_div, 2 * np.pi / n_div
        ieta = np.floor((p["eta"] + 3.0) / deta).astype(np.int64)
        iphi = np.floor(np.mod(p["phi"], 2 * np.pi) / dphi).astype(np.int64)
        e = p["energy"] * share[:, layer]
        for a, b, value in zip(ieta, iphi, e):
            if value > 0:
                cells[(layer, a, b)] = cells.get((layer, a, b), 0.0) + value
    keys = sorted(cells)
    layer = np.array([k[0] for k in keys], dtype=np.int8)
    n_div = np.array([_GRID[k[0]] for k in keys])
    cell_eta = (np.array([k[1] for k in keys]) + 0.5) * 6.0 / n_div - 3.0
    cell_phi = (np.array([k[2] for k in keys]) + 0.5) * 2 * np.pi / n_div
    cell_phi = np.pi - np.mod(np.pi - cell_phi, 2 * np.pi)
    energy = np.array([cells[k] for k in keys]) * rng.normal(1.0, 0.05, len(keys))
    charged = (p["charge"] != 0) & (p["pt"] > 1.0)
    pt, eta, phi, q = p["pt"][charged], p["eta"][charged], p["phi"][charged], p["charge"][charged].astype(np.float64)
    # bending in a 3.8 T field: dphi ~ 0.3 * B * r / (2 pT) with r in m
    bend = -q[:, None] * 0.3 * 3.8 * (np.array(_RADIUS_MM)[None, :] / 1000.0) / (2.0 * pt[:, None])
    phi_layer = np.pi - np.mod(np.pi - (phi[:, None] + bend), 2 * np.pi)
    return dict(
        cell_index=encode_cells(_card(), layer, cell_eta, cell_phi), cell_energy=energy,
        track_pt=pt * rng.normal(1.0, 0.01, len(pt)), track_eta=eta, track_phi=phi,
        track_charge=p["charge"][charged], track_d0=p["d0"][charged], track_z0=p["dz"][charged],
        track_eta_layer=np.repeat(eta[:, None], N_CALO_LAYERS, axis=1), track_phi_layer=phi_layer,
    )  # fmt: skip


def synthetic_columns(
    n_groups: int,
    views: Sequence[str] = ("nominal", "fsr_up", "herwig"),
    *,
    seed: int = 0,
    first_group_id: int = 0,
    n_particles: tuple[int, int] = (20, 80),
    detector: bool = True,
    jet_phi: float | None = None,
) -> dict[str, list]:
    """Columns of a shard with ``n_groups * len(views)`` rows (one per group and view).

    Args:
        n_groups: groups (hard events) in the shard.
        views: view names; every group has all of them.
        seed: random seed (same seed, same columns).
        first_group_id: group ids are consecutive from this.
        n_particles: (min, max) constituents per jet.
        detector: also write the ``detector`` and ``pflow`` column groups.
        jet_phi: fix every jet's azimuth (e.g. pi, to test wrap-around).
    """
    rng = np.random.default_rng(seed)
    jagged = {c.name for c in COLUMNS if c.jagged and (detector or c.group == "particles")}
    out: dict[str, list] = {c.name: [] for c in COLUMNS if not c.jagged} | {name: [] for name in jagged}
    for g in range(n_groups):
        gid = first_group_id + g
        label = LABELS[gid % len(LABELS)]
        jet_pt = rng.uniform(300.0, 700.0)
        eta0 = rng.uniform(-1.2, 1.2)
        phi0 = rng.uniform(-np.pi, np.pi) if jet_phi is None else jet_phi
        n0 = int(rng.integers(n_particles[0], n_particles[1] + 1))
        for v, view in enumerate(views):
            n = max(2, n0 + int(rng.integers(-3, 4)))
            p = _particles(rng, jet_pt * rng.normal(1.0, 0.03), eta0, phi0, n)
            total = np.array([p["px"].sum(), p["py"].sum(), p["pz"].sum(), p["energy"].sum()])
            pt = float(np.hypot(total[0], total[1]))
            row = dict(
                group_id=gid, event_number=gid, view=view, shower_view=view, detector_view="", process="synthetic",
                label=label, jet_pt=pt, jet_eta=float(np.arcsinh(total[2] / pt)), jet_phi=float(np.arctan2(total[1], total[0])),
                jet_energy=float(total[3]), jet_mass=float(np.sqrt(max(total[3] ** 2 - pt**2 - total[2] ** 2, 0.0))),
                jet_sdmass=0.0, jet_nparticles=n, parton_px=total[0], parton_py=total[1], parton_pz=total[2],
                parton_energy=total[3], parton_pid=21,
            )  # fmt: skip
            for name in ("px", "py", "pz", "energy", "pid", "charge", "d0", "dz"):
                row[f"part_{name}"] = p[name].tolist()
            if detector:
                for name, values in _detector(rng, p).items():
                    row[name] = values.tolist()
                for name in ("px", "py", "pz", "energy", "pid", "charge", "d0", "dz"):
                    row[f"pfc_{name}"] = p[name][p["pt"] > 1.0].tolist()
            for name in out:
                out[name].append(row[name])
    return out


def write_synthetic_dataset(
    directory: str | Path,
    n_shards: int = 2,
    groups_per_shard: int = 20,
    views: Sequence[str] = ("nominal", "fsr_up", "herwig"),
    *,
    seed: int = 0,
    detector: bool = True,
    n_particles: tuple[int, int] = (20, 80),
) -> Path:
    """Write a small dataset directory (shards plus ``metadata.json``); returns it."""
    directory = Path(directory)
    for s in range(n_shards):
        columns = synthetic_columns(
            groups_per_shard, views, seed=seed * 1000 + s, first_group_id=s * groups_per_shard,
            detector=detector, n_particles=n_particles,
        )  # fmt: skip
        write_shard(columns, directory / shard_name(s))
    # rows have detector_view '': their cells are indices into the COCOA card
    cards = {"": card_record(_card())} if detector else {}
    write_metadata(directory, {"generator": "graphs.synthetic", "views": list(views), "seed": seed,
                               "detector_cards": cards})
    return directory
