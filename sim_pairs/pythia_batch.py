"""Final-state particles of many Pythia events at once, from ``Pythia.nextBatch``.

pythia8mc (8.315 and later) generates a batch of events in one call and returns
their records as one awkward array, filled in C++ (Pythia's "Batch Generation",
``htmldoc/PythonInterface.html``). Reading the same records one Python call per
particle attribute (:func:`sim_pairs.shower.final_state_particles`) costs 1.5-2.5 ms
per event with MPI, 15-25% of Pythia's own time; here the columns of a whole batch
come out of a few flattening operations (about 5 us per event). ``nextBatch`` calls
``Pythia::next`` once per event, so a batch gives the same events, draw for draw, as
a loop of ``next``.
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
    failed = ak.to_numpy(ak.is_none(batch, axis=0))
    prt = batch[~failed].prt
    final = ak.to_numpy(ak.flatten(prt.status)) > 0
    counts = ak.to_numpy(ak.sum(prt.status > 0, axis=1))

    def column(values, dtype=np.float64):
        return np.ascontiguousarray(ak.to_numpy(ak.flatten(values))[final], dtype=dtype)

    pid = column(prt.id, np.int32)
    unique, inverse = np.unique(pid, return_inverse=True)
    charge = np.rint([particle_data.charge(int(i)) for i in unique]).astype(np.int8)[inverse.reshape(-1)]
    columns = dict(px=column(prt.p.px), py=column(prt.p.py), pz=column(prt.p.pz), e=column(prt.p.e), pid=pid,
                   charge=charge, vx=column(ak.fill_none(prt.vProd.px, 0.0)),
                   vy=column(ak.fill_none(prt.vProd.py, 0.0)), vz=column(ak.fill_none(prt.vProd.pz, 0.0)))
    bounds = np.concatenate([[0], np.cumsum(counts)])
    good = iter(Particles(**{k: v[lo:hi] for k, v in columns.items()}) for lo, hi in zip(bounds[:-1], bounds[1:]))
    return [None if bad else next(good) for bad in failed]
