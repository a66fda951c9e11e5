"""Opening a ROOT tree with uproot and reading named branches, with errors that name what is missing.

Shared by the COCOA and Delphes readers. A missing file, tree or branch raises
:class:`ReaderError` naming the file, the tree and the branch (with the nearest
branch names present), never a bare ``KeyError`` from uproot.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Iterable

import awkward as ak

__all__ = ["ReaderError", "has_branch", "open_tree", "read_branches"]


class ReaderError(ValueError):
    """An input file that does not have the tree or branches a reader needs."""


def _uproot():
    try:
        import uproot
    except ImportError as err:  # pragma: no cover - uproot is a core dependency
        raise ImportError(f"reading ROOT files needs uproot (pip install 'uproot>=5'): {err}") from None
    return uproot


def open_tree(path: str | Path, tree: str):
    """The TTree ``tree`` of the ROOT file ``path`` (an uproot ``TTree``)."""
    uproot = _uproot()
    path = Path(path)
    if not path.is_file():
        raise ReaderError(f"{path}: file not found")
    try:
        root = uproot.open(path)
    except Exception as err:  # uproot raises several types for a non-ROOT file
        raise ReaderError(f"{path}: not a readable ROOT file: {err}") from None
    names = {key.split(";")[0] for key in root.keys(recursive=False)}
    if tree not in names:
        raise ReaderError(f"{path}: no tree '{tree}' (the file holds: {', '.join(sorted(names)) or 'nothing'})")
    return root[tree]


def read_branches(
    tree_obj, branches: Iterable[str], *, path: str | Path, tree: str,
    entry_start: int | None = None, entry_stop: int | None = None,
) -> dict[str, ak.Array]:
    """Read the named branches (jagged ones as awkward arrays), one entry per event.

    Raises:
        ReaderError: a branch is missing; the message names the file, tree and branch.
    """
    present = set(tree_obj.keys(recursive=True))
    out = {}
    for name in branches:
        if name not in present:
            near = difflib.get_close_matches(name, sorted(present), n=3)
            hint = f" (nearest: {', '.join(near)})" if near else ""
            raise ReaderError(f"{path}: tree '{tree}' has no branch '{name}'{hint}")
        out[name] = tree_obj[name].array(library="ak", entry_start=entry_start, entry_stop=entry_stop)
    return out


def has_branch(tree_obj, name: str) -> bool:
    """Whether the tree holds a branch of that name."""
    return name in set(tree_obj.keys(recursive=True))
