"""sim_pairs: positive pairs of jets from re-simulation (re-shower, re-hadronise, detector replicas).

The main entry point is :func:`sim_pairs.generate.generate` (``rs3l generate`` on the
command line); the stages it chains are importable on their own:

* ``sim_pairs.processes``: hard events to LHE files;
* ``sim_pairs.shower``: every view of every hard event;
* ``sim_pairs.jets``: anti-kt jets and the soft-drop mass;
* ``sim_pairs.matching``: truth matching and labels;
* ``sim_pairs.groups``: rows of (group, view);
* ``sim_pairs.detector``: detector replicas;
* ``sim_pairs.io`` / ``sim_pairs.schema``: the dataset on disk.

This package never imports torch. Names below are imported on first use, so
``import sim_pairs`` stays light.
"""

__all__ = ["GenerationConfig", "read_shard", "read_metadata"]


def __getattr__(name):
    # ``generate`` is deliberately not re-exported: it would be shadowed by the
    # submodule of the same name once that is imported.
    if name == "GenerationConfig":
        from .config import GenerationConfig

        return GenerationConfig
    if name in ("read_shard", "read_metadata"):
        from . import io

        return getattr(io, name)
    raise AttributeError(f"module 'sim_pairs' has no attribute {name!r}")
