"""Final-state particles of many Pythia events at once, from ``Pythia.nextBatch``.

pythia8mc (8.315 and later) generates a batch of events in one call and returns
their records as one awkward array, filled in C++ (Pythia's "Batch Generation",
``htmldoc/PythonInterface.html``). Reading the same records one Python call per
particle attribute (:func:`sim_pairs.shower.final_state_particles`) costs 1.5-2.5 ms
per event with MPI, 15-25% of Pythia's own time; here the columns of a whole batch
come out of a few gathers from the batch's buffers (about 50 us per event with MPI,
measured on a loaded machine). ``nextBatch`` calls ``Pythia::next`` once per event,
so a batch gives the same events, draw for draw, as a loop of ``next``.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from .event import Particles

__all__ = ["batch_final_states"]


def batch_final_states(batch: ak.Array, particle_data) -> list[Particles | None]:
    """The final-state particles (neutrinos included) of each event of a batch.

    Args:
        batch: the result of ``pythia.nextBatch(n, "none")``: one record per event
            with its particles in ``prt`` (``status``, ``id``, ``p.{px,py,pz,e}``,
            ``vProd.{px,py,pz}`` in GeV and mm; ``vProd`` missing for particles
            without a production vertex, which Pythia reports at the origin); None
            for an event Pythia failed.
        particle_data: ``pythia.particleData``, for the charge of each PDG id.

    Returns:
        One :class:`Particles` per event (None where the event failed), in event
        order, with the dtypes and values of ``final_state_particles``.
    """
    flat = _from_layout(batch)
    failed, counts, columns = flat if flat is not None else _from_arrays(batch)
    pid = columns.pop("pid")
    unique, inverse = np.unique(pid, return_inverse=True)
    columns["charge"] = np.rint([particle_data.charge(int(i)) for i in unique]).astype(np.int8)[inverse.reshape(-1)]
    columns["pid"] = pid
    bounds = np.concatenate([[0], np.cumsum(counts)])
    good = iter(Particles(**{k: v[lo:hi] for k, v in columns.items()}) for lo, hi in zip(bounds[:-1], bounds[1:]))
    return [None if bad else next(good) for bad in failed]


_FIELDS = {"px": ("p", "px"), "py": ("p", "py"), "pz": ("p", "pz"), "e": ("p", "e"),
           "vx": ("vProd", "px"), "vy": ("vProd", "py"), "vz": ("vProd", "pz")}


def _from_arrays(batch: ak.Array):
    """(failed, final particles per good event, flat columns of the final particles), through awkward's API."""
    failed = ak.to_numpy(ak.is_none(batch, axis=0))
    prt = batch[~failed].prt
    final = ak.to_numpy(ak.flatten(prt.status)) > 0
    counts = ak.to_numpy(ak.sum(prt.status > 0, axis=1))
    columns = {"pid": np.ascontiguousarray(ak.to_numpy(ak.flatten(prt.id))[final], dtype=np.int32)}
    for name, (vector, component) in _FIELDS.items():
        values = ak.fill_none(prt[vector][component], 0.0) if vector == "vProd" else prt[vector][component]
        columns[name] = np.ascontiguousarray(ak.to_numpy(ak.flatten(values))[final], dtype=np.float64)
    return failed, counts, columns


def _from_layout(batch: ak.Array):
    """What :func:`_from_arrays` returns, read from the layout nextBatch builds; None for any other layout.

    Each awkward call above costs 0.8-1.7 ms of Python dispatch per batch, about 11 ms
    for 64 events with MPI; gathering from the layout's buffers costs a tenth of that.
    """
    from awkward.contents import IndexedOptionArray, ListOffsetArray, NumpyArray, RecordArray

    layout = batch.layout
    if isinstance(layout, IndexedOptionArray) and isinstance(layout.content, RecordArray):
        index, events = np.asarray(layout.index.data), layout.content
    elif isinstance(layout, RecordArray):
        index, events = np.arange(layout.length), layout
    else:
        return None
    prt = events.content("prt") if "prt" in events.fields else None
    if not (isinstance(prt, ListOffsetArray) and isinstance(prt.content, RecordArray)):
        return None
    particles = prt.content
    vertex = particles.content("vProd")
    leaves = {"pid": particles.content("id"), "status": particles.content("status")}
    for name, (vector, component) in _FIELDS.items():
        holder = particles.content(vector)
        if vector == "vProd":
            if not (isinstance(holder, IndexedOptionArray) and isinstance(holder.content, RecordArray)):
                return None
            holder = holder.content
        leaves[name] = holder.content(component)
    if not all(isinstance(leaf, NumpyArray) for leaf in leaves.values()):
        return None

    failed = index < 0
    offsets = np.asarray(prt.offsets.data)
    rows = index[~failed]
    starts, lengths = offsets[:-1][rows], np.diff(offsets)[rows]
    # positions of every particle of the good events, event after event
    take = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(lengths.sum())
    final = np.asarray(leaves.pop("status").data)[take] > 0
    kept = take[final]
    counts = np.bincount(np.repeat(np.arange(len(rows)), lengths)[final], minlength=len(rows))
    has_vertex = np.asarray(vertex.index.data)[kept]
    columns = {}
    for name, leaf in leaves.items():
        values = np.asarray(leaf.data)
        if name in ("vx", "vy", "vz"):  # no production vertex: Pythia's xProd() is 0
            columns[name] = np.where(has_vertex >= 0, values[np.maximum(has_vertex, 0)], 0.0).astype(np.float64)
        else:
            columns[name] = values[kept].astype(np.int32 if name == "pid" else np.float64)
    return failed, counts, columns
