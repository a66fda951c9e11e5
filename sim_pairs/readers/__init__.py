"""Readers for detector-level files users already have: COCOA ntuples and Delphes ROOT files.

Both read through uproot into awkward arrays whose field names are the columns of
``sim_pairs.schema`` (``detector`` group for COCOA, ``pflow`` group for Delphes).
"""

from .cocoa import read_cocoa
from .delphes import read_delphes
from .root_tree import ReaderError

__all__ = ["ReaderError", "read_cocoa", "read_delphes"]
