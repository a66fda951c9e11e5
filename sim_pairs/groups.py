"""Groups: one row per (matched jet, view), the rows a shard holds.

A *group* is one truth object of one hard event (a parton or a resonance, see
``sim_pairs.matching``) whose jet passes the selection in **every** view and is
matched to that same object in every view (the RS3L rule). Each group gives one row
per view, and per detector replica when a detector is configured, with the columns
of ``sim_pairs.schema``:

* jet kinematics of the matched anti-kt jet and its soft-drop mass (beta = 0,
  z_cut = 0.1, R0 = R) computed on all its constituents;
* the constituents sorted by decreasing pT and truncated to ``max_particles``
  (``jet_nparticles`` is the number stored);
* ``part_d0`` / ``part_dz``: impact parameters of the straight line through each
  constituent's production vertex along its momentum, with respect to the z axis
  (the beam spot is at the origin, no magnetic field bending):
  d0 = (vx py - vy px) / pT, dz = vz - (vx px + vy py) pz / pT^2, in mm;
* ``parton_*``: the matched object's four-momentum and id copied from the hard
  record, so they are bit-identical in every view of a group.

``group_id`` = shard index * 2^40 + event number * 2^8 + index of the object in the
hard record: unique in a dataset and equal across views.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Mapping, Sequence

import awkward as ak
import numpy as np

from .config import JetConfig
from .event import ShoweredEvent
from .jets import ClusteredJets, cluster_events, softdrop_mass
from .matching import match_objects, truth_objects
from .schema import columns_of

__all__ = ["GroupStats", "assemble_groups", "group_id", "impact_parameters"]

_MAX_EVENTS = 2**32
_MAX_OBJECTS = 2**8
_PER_LAYER = ("track_eta_layer", "track_phi_layer")


def group_id(shard: int, event_number: int, object_index: int) -> int:
    """The dataset-wide id of a group (see the module docstring)."""
    if not (0 <= event_number < _MAX_EVENTS and 0 <= object_index < _MAX_OBJECTS and 0 <= shard < 2**23):
        raise ValueError(f"group id out of range: shard {shard}, event {event_number}, object {object_index}")
    return shard * 2**40 + event_number * _MAX_OBJECTS + object_index


def impact_parameters(vx, vy, vz, px, py, pz) -> tuple[np.ndarray, np.ndarray]:
    """Signed transverse (d0) and longitudinal (dz) impact parameters in mm (see module docstring)."""
    pt2 = np.asarray(px, np.float64) ** 2 + np.asarray(py, np.float64) ** 2
    pt = np.sqrt(pt2)
    with np.errstate(divide="ignore", invalid="ignore"):
        d0 = np.where(pt > 0, (vx * py - vy * px) / pt, 0.0)
        dz = np.where(pt > 0, vz - (vx * px + vy * py) * pz / pt2, vz)
    return d0, dz


@dataclass
class GroupStats:
    """What one shard's assembly kept and dropped (for metadata and the empty-selection check)."""

    events: int = 0
    failed_events: int = 0
    objects: int = 0
    groups: int = 0
    rows: int = 0
    labels: dict[str, int] = field(default_factory=dict)


@dataclass
class _Group:
    event: int  # position in the shard's event list
    event_number: int
    obj: Any
    jets: dict[str, int]  # shower view -> global jet index in that view's ClusteredJets


def _strings(values: Sequence[str]) -> ak.Array:
    import pyarrow as pa

    return ak.from_arrow(pa.array(list(values), pa.string()), generate_bitmasks=False)


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of arange(s, s + c) for each (s, c), without a Python loop."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    ends = np.cumsum(counts)
    return np.repeat(starts - ends + counts, counts) + np.arange(total)


def _jet_rows(clustered: ClusteredJets, jets: np.ndarray, *, config: JetConfig) -> dict[str, Any]:
    """Jet and particle columns of the selected jets of one view (rows in the order of ``jets``)."""
    starts = clustered.constituent_offsets[jets]
    counts = clustered.constituent_offsets[jets + 1] - starts
    members = clustered.constituents[_ranges(starts, counts)]
    p = clustered.particles
    sdmass = softdrop_mass(p.px[members], p.py[members], p.pz[members], p.e[members], counts,
                           beta=0.0, z_cut=0.1, r0=config.radius)
    jet_of_member = np.repeat(np.arange(len(jets)), counts)
    pt = np.hypot(p.px[members], p.py[members])
    order = np.lexsort((-pt, jet_of_member))
    rank = np.arange(len(order)) - np.repeat(np.cumsum(counts) - counts, counts)
    keep = order[rank < config.max_particles]
    stored = np.minimum(counts, config.max_particles)
    chosen = members[keep]
    d0, dz = impact_parameters(p.vx[chosen], p.vy[chosen], p.vz[chosen], p.px[chosen], p.py[chosen], p.pz[chosen])

    def jagged(values, dtype):
        return ak.unflatten(np.asarray(values, dtype=dtype), stored)

    return {
        "jet_pt": clustered.pt[jets], "jet_eta": clustered.eta[jets], "jet_phi": clustered.phi[jets],
        "jet_energy": clustered.e[jets], "jet_mass": clustered.mass[jets], "jet_sdmass": sdmass,
        "jet_nparticles": stored.astype(np.int32),
        "part_px": jagged(p.px[chosen], np.float32), "part_py": jagged(p.py[chosen], np.float32),
        "part_pz": jagged(p.pz[chosen], np.float32), "part_energy": jagged(p.e[chosen], np.float32),
        "part_pid": jagged(p.pid[chosen], np.int32), "part_charge": jagged(p.charge[chosen], np.int8),
        "part_d0": jagged(d0, np.float32), "part_dz": jagged(dz, np.float32),
    }


def _check_hard(event_number: int, showered: Mapping[str, ShoweredEvent]) -> None:
    views = list(showered)
    first = showered[views[0]].hard
    for view in views[1:]:
        if not first.same_partons(showered[view].hard):
            raise ValueError(f"event {event_number}: view '{view}' has other hard partons than view '{views[0]}'; "
                             "every view must shower the same hard event")


def _detector_rows(groups: list[_Group], clustered: ClusteredJets, jets: np.ndarray, card, rng,
                   radius: float, simulate_jet: Callable) -> dict[str, ak.Array]:
    """Detector and particle-flow columns of the selected jets of one view through one replica."""
    # the tracks' crossings of the layers are not stored: readers compute them from the track and the card
    names = [c.name for c in columns_of("detector") + columns_of("pflow") if c.name not in _PER_LAYER]
    pieces: dict[str, list[np.ndarray]] = {n: [] for n in names}
    p = clustered.particles
    for g, jet in zip(groups, jets):
        lo, hi = clustered.particle_offsets[g.event], clustered.particle_offsets[g.event + 1]
        final = p.select(slice(lo, hi))
        out = simulate_jet(final, float(clustered.eta[jet]), float(clustered.phi[jet]), radius, card, rng)
        missing = [n for n in names if n not in out]
        if missing:
            raise ValueError(f"detector simulation returned no column(s) {', '.join(missing)}")
        for n in names:
            pieces[n].append(np.asarray(out[n]))
    columns = {}
    dtypes = {c.name: c.dtype for c in columns_of("detector") + columns_of("pflow")}
    for n in names:
        arrays = pieces[n]
        counts = np.array([len(a) for a in arrays], dtype=np.int64)
        flat = np.concatenate(arrays) if arrays else np.zeros(0)
        flat = ak.from_numpy(flat.astype(dtypes[n]))
        columns[n] = ak.unflatten(flat, counts)
    return columns


def assemble_groups(process: str, events: Sequence[tuple[int, Mapping[str, ShoweredEvent | None]]], *,
                    views: Sequence[str], jets: JetConfig, shard: int, labels: Collection[str],
                    replicas: Sequence[tuple[str, Any, int]] = (), simulate_jet: Callable | None = None) -> tuple[dict[str, Any], GroupStats]:
    """The rows of one shard: cluster, match, keep complete groups, build columns.

    Args:
        process: process name stored in the ``process`` column.
        events: (event number, view name -> ShoweredEvent or None) per hard event.
        views: the shower views, in the order rows are written.
        jets: clustering and selection (radius, pT and eta window, max_particles).
        shard: global shard index (part of ``group_id``).
        labels: labels to keep (e.g. ``("Hbb",)``); objects with others are ignored.
        replicas: (name, detector card, seed) per detector replica; empty for truth
            level only. The detector randomness of (shard, view, replica) is a numpy
            Generator seeded from (seed, shard, view name, replica name).
        simulate_jet: ``sim_pairs.detector.simulate_jet`` (needed with replicas).

    Returns:
        (columns, stats): column name -> one value per row, in row order group,
        shower view, replica; and counts for the metadata.

    Raises:
        ValueError: views of one event with different hard partons.
    """
    stats = GroupStats(events=len(events))
    loose_pt = max(0.5 * jets.pt_min, 5.0)
    clustered = {
        view: cluster_events([ev.get(view).final if ev.get(view) is not None else None for _, ev in events],
                             radius=jets.radius, pt_min=loose_pt, particle_pt_min=jets.particle_pt_min,
                             eta_max=jets.abs_eta_max + 2 * jets.radius)
        for view in views
    }
    groups: list[_Group] = []
    for position, (event_number, showered) in enumerate(events):
        if any(showered.get(view) is None for view in views):
            stats.failed_events += 1
            continue
        _check_hard(event_number, {v: showered[v] for v in views})
        objects = [o for o in truth_objects(showered[views[0]].hard) if o.label in labels]
        stats.objects += len(objects)
        if not objects:
            continue
        matched = {}
        passing = np.ones(len(objects), dtype=bool)
        for view in views:
            cj = clustered[view]
            window = cj.jets_of(position)
            local = match_objects(objects, cj.eta[window], cj.phi[window], match_radius=jets.match_radius,
                                  radius=jets.radius)
            jet = np.where(local >= 0, local + window.start, -1)
            ok = local >= 0
            if ok.any():
                pt, eta = cj.pt[jet[ok]], cj.eta[jet[ok]]
                inside = (pt >= jets.pt_min) & (np.abs(eta) < jets.abs_eta_max)
                if jets.pt_max > 0:
                    inside &= pt < jets.pt_max
                ok[ok] = inside
            passing &= ok
            matched[view] = jet
        for k in np.flatnonzero(passing):
            groups.append(_Group(position, event_number, objects[k], {v: int(matched[v][k]) for v in views}))

    stats.groups = len(groups)
    for g in groups:
        stats.labels[g.obj.label] = stats.labels.get(g.obj.label, 0) + 1
    if replicas and simulate_jet is None:
        raise ValueError("replicas given without a simulate_jet function")

    blocks = []  # one dict of columns per (shower view, replica), rows in group order
    names = []
    for view in views:
        selected = np.array([g.jets[view] for g in groups], dtype=np.int64)
        truth = _jet_rows(clustered[view], selected, config=jets)
        for replica, card, replica_seed in (replicas or [("", None, 0)]):
            block = dict(truth)
            if replica:
                entropy = [replica_seed, shard, zlib.crc32(view.encode()), zlib.crc32(replica.encode())]
                rng = np.random.default_rng(np.random.SeedSequence(entropy))
                block.update(_detector_rows(groups, clustered[view], selected, card, rng, jets.radius, simulate_jet))
            blocks.append(block)
            names.append((view, replica))

    n_blocks, n_groups = len(blocks), len(groups)
    # Row r = group * n_blocks + block: all views of a group sit together.
    order = (np.arange(n_blocks)[None, :] * n_groups + np.arange(n_groups)[:, None]).ravel()
    columns: dict[str, Any] = {}
    for name in blocks[0]:
        values = blocks[0][name]
        if isinstance(values, ak.Array):
            columns[name] = ak.concatenate([b[name] for b in blocks])[order] if n_groups else values
        else:
            columns[name] = np.concatenate([np.asarray(b[name]) for b in blocks])[order]
    view_names = [f"{v}@{r}" if r else v for v, r in names]
    columns["group_id"] = np.repeat([group_id(shard, g.event_number, g.obj.index) for g in groups],
                                    n_blocks).astype(np.int64)
    columns["event_number"] = np.repeat([g.event_number for g in groups], n_blocks).astype(np.int64)
    columns["view"] = _strings(view_names * n_groups)
    columns["shower_view"] = _strings([v for v, _ in names] * n_groups)
    columns["detector_view"] = _strings([r for _, r in names] * n_groups)
    columns["process"] = _strings([process] * (n_groups * n_blocks))
    columns["label"] = _strings([g.obj.label for g in groups for _ in range(n_blocks)])
    for key, attr in (("parton_px", "px"), ("parton_py", "py"), ("parton_pz", "pz"), ("parton_energy", "e")):
        columns[key] = np.repeat(np.array([getattr(g.obj, attr) for g in groups], dtype=np.float64), n_blocks)
    columns["parton_pid"] = np.repeat(np.array([g.obj.pid for g in groups], dtype=np.int32), n_blocks)
    stats.rows = n_groups * n_blocks
    return columns, stats
