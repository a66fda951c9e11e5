"""rs3l: self-supervised learning of jets from re-simulated positive pairs.

Three packages, data flowing one way: ``sim_pairs`` makes pairs of jets from
simulation and writes Parquet shards; ``graphs`` turns them into PyG graphs;
``rs3l`` (this package) learns and evaluates. Importing ``rs3l`` is cheap: torch is
imported by the submodules that need it.
"""

__version__ = "0.2.1"
