"""From a data contract and a shard row to a graph: the one place the contract meets the builders.

:class:`GraphBuilder` turns ``DataContract`` settings into the plain arguments of
:func:`graphs.particle_graph.build_particle_graph` and
:func:`graphs.detector_graph.build_detector_graph`, and attaches the graph-level
attributes every graph carries: ``group_id``, ``label`` (index into the contract's
label classes), ``view_name``, and ``jet_pt``, ``jet_eta``, ``jet_energy`` of the
(truth) jet from the shard, the regression target. A shard without the optional
columns the contract's features need is refused here (:meth:`DataContract.check_columns`).
"""

from __future__ import annotations

import numpy as np
from torch_geometric.data import Data

from .contract import DataContract
from .detector_graph import build_detector_graph
from .particle_graph import build_particle_graph
from .shard_reader import INPUT_COLUMNS, ShardArrays

__all__ = ["GraphBuilder"]


class GraphBuilder:
    """Builds the graph of one shard row as the contract says.

    Args:
        contract: the data contract.
    """

    def __init__(self, contract: DataContract):
        self.contract = contract
        self.names = contract.feature_names()

    def __call__(self, shard: ShardArrays, row: int, label: int, *, augment=None, rng: np.random.Generator | None = None) -> Data:
        c = self.contract
        if shard.absent:  # an imported dataset without charge / impact parameters / type
            c.check_columns(set(INPUT_COLUMNS[c.graph]) - set(shard.absent), shard.path)
        attributes = dict(
            group_id=int(shard.jet["group_id"][row]),
            label=int(label),
            view_name=shard.jet["view"][row],
            jet_pt=float(shard.jet["jet_pt"][row]),
            jet_eta=float(shard.jet["jet_eta"][row]),
            jet_energy=float(shard.jet["jet_energy"][row]),
        )
        if c.graph == "detector":
            e = c.detector_edges
            return build_detector_graph(
                shard.detector(row),
                cell_features=self.names["cell"],
                track_features=self.names["track"],
                normalise=c.normalise,
                max_cells=c.max_cells,
                max_tracks=c.max_tracks,
                cell_k=e.cell_k,
                cell_max_dr=e.cell_max_dr,
                interlayer_k=e.interlayer_k,
                track_k=e.track_k,
                track_max_dr=e.track_max_dr,
                **attributes,
            )
        return build_particle_graph(
            shard.constituents(row),
            features=self.names["particle"],
            normalise={name: c.normalisation("particle", name) for name in self.names["particle"] if c.normalisation("particle", name)},
            max_nodes=c.max_particles,
            keep_by=c.keep_by,
            build_edges=False,
            augment=augment,
            rng=rng,
            **attributes,
        )
