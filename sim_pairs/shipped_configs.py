"""Where the configs shipped with rs3l (``configs/``) live.

In a source checkout (and an editable install) they are the repository's ``configs/``;
a regular install copies them to ``<prefix>/share/rs3l/configs`` (``data_files`` in
``setup.cfg``), since ``configs/`` is not a Python package.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["CONFIG_DIR"]


def _config_dir() -> Path:
    source_tree = Path(__file__).resolve().parents[1] / "configs"
    if (source_tree / "quickstart.yaml").is_file():
        return source_tree
    for prefix in (sys.prefix, sys.base_prefix):
        installed = Path(prefix) / "share" / "rs3l" / "configs"
        if (installed / "quickstart.yaml").is_file():
            return installed
    return source_tree  # missing everywhere: errors will name the source-tree path


CONFIG_DIR = _config_dir()
