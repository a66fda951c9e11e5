"""graphs: jets from rs3l datasets as PyG graphs (particles, cells, tracks), kNN, pair batches.

Modules, one concept each:

* ``contract``: ``DataContract``, the ``data:`` section of a run config.
* ``knn`` / ``knn_numba``: PyG-compatible ``knn_graph`` and ``knn`` without pyg-lib.
* ``features``, ``constituents``: node features, normalisation, jet-relative constituents.
* ``particle_graph``, ``detector_graph``, ``builder``: graphs from a shard row.
* ``augmentations``: JetCLR augmentations.
* ``shard_reader``, ``dataset``, ``collate``: streaming pairs / groups / single jets.
* ``interop``: ``to_dgl``; ``synthetic``: small schema-conformant datasets for tests.
"""
