"""Arrays derived from a detector card, built once per card and kept beside it, never on it.

The kernels need the card's numbers as arrays and tuples (cell-centre tables, shower
profile tables, overlap maps...), which cost milliseconds to build and are used on
every jet. A card is a frozen dataclass, so it cannot carry them; a cache keyed by its
contents would have to hash every number of the card on each call (and its lists do
not hash). :func:`per_card` keeps them in one dictionary keyed by the card object
itself, and drops a card's entries when the card is garbage-collected.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any, Callable, TypeVar

__all__ = ["per_card"]

T = TypeVar("T")

#: id(card) -> {(builder, args): value}; an entry lives as long as its card.
_DERIVED: dict[int, dict[tuple, Any]] = {}


def _entry(card) -> dict[tuple, Any]:
    key = id(card)
    entry = _DERIVED.get(key)
    if entry is None:
        entry = _DERIVED[key] = {}
        # the id may be reused once the card is gone: forget its arrays then
        weakref.finalize(card, _DERIVED.pop, key, None)
    return entry


def per_card(build: Callable[..., T]) -> Callable[..., T]:
    """Decorator: ``build(card, *args)`` runs once per card object and arguments.

    The arguments after the card must be hashable (a half-width, say). The value is
    shared by every caller: treat it as read-only.
    """
    name = f"{build.__module__}.{build.__qualname__}"

    @functools.wraps(build)
    def cached(card, *args):
        entry = _entry(card)
        key = (name, args)
        value = entry.get(key)
        if value is None:
            value = entry[key] = build(card, *args)
        return value

    return cached
