"""Importers for the public jet datasets users already have, into rs3l dataset directories.

* :func:`import_jetclass`: JetClass ROOT files (tree ``tree``), ten classes, ``pflow`` group;
* :func:`import_toptag`: the Top Tagging reference dataset (HDF5, pandas key ``table``),
  top vs QCD, ``pflow`` group with four-momenta only;
* :func:`import_qg`: the Pythia / Herwig quark-gluon samples (``.npz``, ``X`` and ``y``),
  ``particles`` group without impact parameters.

Each writes shards and ``metadata.json`` of ``sim_pairs.schema`` (atomic, resumable,
streamed in chunks) and can append another view (e.g. ``herwig`` beside ``pythia``) to
the same directory. Formats and fields: README "Public jet datasets".
"""

from .jetclass import import_jetclass
from .qg import import_qg
from .toptag import import_toptag
from .writer import ImportedView, ImportFormatError

__all__ = ["ImportFormatError", "ImportedView", "import_jetclass", "import_qg", "import_toptag"]
