"""Calorimeter cells by index: what a dataset stores instead of cell positions.

A card fixes every cell's position, so a cell is stored as one integer, its index
in the card's calorimeter::

    index = offset[layer] + ieta * N[layer] + iphi,    offset[layer] = sum of N[k]^2 over k < layer

with ``ieta``, ``iphi`` the cell's eta and phi bins in its layer (``geometry``: N bins
of 6/N in eta over [-3, 3] and of 2 pi/N in phi over [-pi, pi)). The COCOA card has
156,672 cells, so an index fits in int32. :func:`decode_cells` rebuilds the layer,
(eta, phi) and (x, y, z) of schema version 1 from the index and the card, bit for bit
(the detector kernel takes its cell centres from the same tables,
:func:`sim_pairs.detector.geometry.centre_tables`).

A dataset records the card of each detector replica in ``metadata.json`` under
``detector_cards`` (:func:`card_record`), so a reader needs nothing else
(:func:`cards_from_metadata`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Mapping

import numba
import numpy as np

from .card import DetectorCard
from .geometry import ETA_SPAN, centre_tables

__all__ = ["POSITION_COLUMNS", "layer_offsets", "cell_index", "encode_cells", "decode_cells", "card_record",
           "cards_from_metadata", "CardRecordError"]

#: The columns :func:`decode_cells` rebuilds (schema version 1 stored them per cell).
POSITION_COLUMNS = ("cell_layer", "cell_eta", "cell_phi", "cell_x", "cell_y", "cell_z")


class CardRecordError(ValueError):
    """A ``detector_cards`` entry of ``metadata.json`` that cannot be used."""


def layer_offsets(card: DetectorCard) -> np.ndarray:
    """Index of each layer's first cell, and the total number of cells last: shape (n_layers + 1,), int64."""
    n = np.array([layer.n_cells for layer in card.layers], dtype=np.int64)
    return np.concatenate([[0], np.cumsum(n * n)])


def cell_index(card: DetectorCard, layer, ieta, iphi) -> np.ndarray:
    """Index of cells given their layer and bins (arrays of equal shape); int32."""
    layer = np.asarray(layer, dtype=np.int64)
    n = np.array([l.n_cells for l in card.layers], dtype=np.int64)[layer]
    return (layer_offsets(card)[layer] + np.asarray(ieta, np.int64) * n + np.asarray(iphi, np.int64)).astype(np.int32)


def encode_cells(card: DetectorCard, layer, eta, phi) -> np.ndarray:
    """Index of the cells of ``card`` containing the points (layer, eta, phi), e.g. COCOA's cell centres.

    Args:
        card: the detector whose cells are meant (its granularity per layer).
        layer: calorimeter layer 0-5.
        eta, phi: a point inside the cell (its centre), phi in rad.

    Raises:
        ValueError: a layer outside 0..5 or abs(eta) >= 3.
    """
    layer = np.asarray(layer, dtype=np.int64)
    eta, phi = np.asarray(eta, np.float64), np.asarray(phi, np.float64)
    if layer.size and (layer.min() < 0 or layer.max() >= len(card.layers)):
        raise ValueError(f"cell layer must be in 0..{len(card.layers) - 1}, got {sorted(set(layer.tolist()))[:6]}")
    if eta.size and np.abs(eta).max() >= 0.5 * ETA_SPAN:
        raise ValueError(f"cell eta must be within (-{0.5 * ETA_SPAN}, {0.5 * ETA_SPAN}), got {np.abs(eta).max()}")
    n = np.array([l.n_cells for l in card.layers], dtype=np.int64)[layer]
    ieta = np.floor((eta + 0.5 * ETA_SPAN) / ETA_SPAN * n).astype(np.int64)
    iphi = np.floor((phi + np.pi) / (2 * np.pi) * n).astype(np.int64) % n
    return cell_index(card, layer, ieta, iphi)


def decode_cells(card: DetectorCard, index) -> dict[str, np.ndarray]:
    """Layer, centre (eta, phi) and centre (x, y, z) of cells given their index.

    Args:
        card: the card the indices refer to.
        index: cell indices, shape (n,).

    Returns:
        ``cell_layer`` (int8), ``cell_eta``, ``cell_phi`` (rad), ``cell_x``, ``cell_y``,
        ``cell_z`` (mm) (float32), each of shape (n,): the values the detector kernel
        computes for these cells.

    Raises:
        ValueError: an index outside the card's cells.
    """
    index = np.ascontiguousarray(index, dtype=np.int64)
    offsets = layer_offsets(card)
    if index.size and (index.min() < 0 or index.max() >= offsets[-1]):
        raise ValueError(f"cell index must be in 0..{offsets[-1] - 1} for card '{card.name}', "
                         f"got {index.min()}..{index.max()}")
    n_cells = np.array([l.n_cells for l in card.layers], dtype=np.int64)
    layer, f32 = _decode_kernel(index, offsets, n_cells, centre_tables(card))
    return dict(zip(POSITION_COLUMNS, (layer, f32[0], f32[1], f32[2], f32[3], f32[4])))


@numba.njit(cache=True, error_model="numpy")
def _decode_kernel(index, offsets, n_cells, centres):
    """The loop of :func:`decode_cells` (numpy fancy indexing cost ~0.4 us per cell, this loop ~20 ns).

    Same arithmetic as the detector kernel: centres from the card's tables, x and y as
    rho times the tabulated cos and sin, then rounded to float32.
    """
    n = index.shape[0]
    layer = np.empty(n, dtype=np.int8)
    out = np.empty((5, n), dtype=np.float32)  # eta, phi, x, y, z
    for i in range(n):
        c = index[i]
        l = 0
        while c >= offsets[l + 1]:
            l += 1
        rel = c - offsets[l]
        ieta = rel // n_cells[l]
        iphi = rel - ieta * n_cells[l]
        rho = centres.rho[l, ieta]
        layer[i] = l
        out[0, i] = centres.eta[l, ieta]
        out[1, i] = centres.phi[l, iphi]
        out[2, i] = rho * centres.cos_phi[l, iphi]
        out[3, i] = rho * centres.sin_phi[l, iphi]
        out[4, i] = centres.z[l, ieta]
    return layer, out


def _digest(mapping: Mapping) -> str:
    return hashlib.sha256(json.dumps(mapping, sort_keys=True).encode()).hexdigest()


def card_record(card: DetectorCard) -> dict:
    """A card as ``metadata.json`` keeps it: ``{"sha256": hash of the contents, "card": every key}``."""
    from sim_pairs.typed_config import to_mapping

    mapping = to_mapping(card)
    return {"sha256": _digest(mapping), "card": mapping}


def cards_from_metadata(metadata: Mapping, source: str = "metadata.json") -> dict[str, DetectorCard]:
    """The detector card of each replica name recorded in a dataset's metadata.

    Args:
        metadata: the mapping of ``metadata.json``.
        source: the file, for error messages.

    Returns:
        replica name (the ``detector_view`` column's value) -> card.

    Raises:
        CardRecordError: ``detector_cards`` missing, or an entry whose contents do not
            match its hash or are not a valid card.
    """
    from sim_pairs.typed_config import ConfigError, from_mapping

    records = metadata.get("detector_cards")
    if not isinstance(records, Mapping):
        raise CardRecordError(f"{source}: field 'detector_cards' is missing; the detector cells are stored as card "
                              "indices and cannot be placed without the cards (regenerate the dataset)")
    cards = {}
    for name, record in records.items():
        where = f"{source}: field 'detector_cards.{name}'"
        if not isinstance(record, Mapping) or not isinstance(record.get("card"), Mapping):
            raise CardRecordError(f"{where}: expected {{'sha256': ..., 'card': {{...}}}}")
        if record.get("sha256") != _digest(record["card"]):
            raise CardRecordError(f"{where}: the card's contents do not match its sha256 (edited by hand?)")
        try:
            cards[name] = from_mapping(DetectorCard, record["card"], source=source, where=f"detector_cards.{name}.card")
        except (ConfigError, ValueError) as error:
            raise CardRecordError(f"{where}: not a valid detector card: {error}") from None
    return cards
