"""Cells stored as card indices: the positions of schema version 1 come back bit for bit."""

import json

import numpy as np
import pytest

from sim_pairs.detector import load_card, simulate_jet
from sim_pairs.detector.cell_index import (
    POSITION_COLUMNS, CardRecordError, card_record, cards_from_metadata, cell_index, decode_cells, encode_cells,
    layer_offsets,
)
from sim_pairs.detector.geometry import cell_centre, cell_xyz
from sim_pairs.event import Particles


def _jet(rng, n=80):
    """Photons and pions around (eta, phi) = (0.5, 1.0), some from displaced vertices."""
    pid = rng.choice([22, 211, -211, 130], n)
    energy = rng.exponential(10.0, n) + 1.0
    eta, phi = 0.5 + rng.normal(0, 0.2, n), 1.0 + rng.normal(0, 0.2, n)
    pt = energy / np.cosh(eta)
    charge = np.sign(pid) * (np.abs(pid) == 211)
    return Particles(px=pt * np.cos(phi), py=pt * np.sin(phi), pz=pt * np.sinh(eta), e=energy, pid=pid.astype(np.int32),
                     charge=charge.astype(np.int8), vx=np.zeros(n), vy=np.zeros(n), vz=rng.normal(0, 10, n))


def test_offsets_count_every_cell_of_the_card():
    card = load_card("cocoa")
    offsets = layer_offsets(card)
    assert offsets[-1] == 2 * 256**2 + 128**2 + 2 * 64**2 + 32**2 == 156672
    assert offsets[-1] < np.iinfo(np.int32).max


@pytest.mark.parametrize("card_name", ["cocoa", "coarse"])
def test_decoding_the_stored_index_rebuilds_the_version_1_columns_exactly(card_name):
    # the reference: the positions the detector kernel itself writes for the same cells
    card = load_card(card_name)
    rng = np.random.default_rng(11)
    n_cells = 0
    for seed, (eta, phi) in enumerate([(0.5, 1.0), (2.3, -3.1), (-1.45, 3.1)]):
        final = _jet(rng)
        final.px, final.py = (np.cos(phi - 1.0) * final.px - np.sin(phi - 1.0) * final.py,
                              np.sin(phi - 1.0) * final.px + np.cos(phi - 1.0) * final.py)
        out = simulate_jet(final, eta, phi, 0.8, card, np.random.default_rng(seed), cell_positions=True)
        assert out["cell_index"].dtype == np.int32
        decoded = decode_cells(card, out["cell_index"])
        for name in POSITION_COLUMNS:
            assert decoded[name].dtype == out[name].dtype, name
            assert decoded[name].tobytes() == out[name].tobytes(), name
        n_cells += len(out["cell_index"])
    assert n_cells > 100


def test_decoding_agrees_with_the_geometry_functions():
    # an independent route: bin centres and (x, y, z) from geometry's numpy functions
    card = load_card("cocoa")
    rng = np.random.default_rng(2)
    layer = rng.integers(0, 6, 500)
    n = np.array([l.n_cells for l in card.layers])[layer]
    ieta, iphi = rng.integers(0, n), rng.integers(0, n)
    decoded = decode_cells(card, cell_index(card, layer, ieta, iphi))
    np.testing.assert_array_equal(decoded["cell_layer"], layer)
    eta = np.array([cell_centre(k, e, p)[0] for k, e, p in zip(n, ieta, iphi)])
    phi = np.array([cell_centre(k, e, p)[1] for k, e, p in zip(n, ieta, iphi)])
    np.testing.assert_allclose(decoded["cell_eta"], eta, rtol=0, atol=1e-6)
    np.testing.assert_allclose(decoded["cell_phi"], phi, rtol=0, atol=1e-6)
    for got, want in zip((decoded["cell_x"], decoded["cell_y"], decoded["cell_z"]), cell_xyz(card, layer, eta, phi)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-3)


def test_encoding_cell_centres_gives_the_index_back():
    card = load_card("cocoa")
    index = np.arange(0, layer_offsets(card)[-1], 37, dtype=np.int32)
    decoded = decode_cells(card, index)
    np.testing.assert_array_equal(encode_cells(card, decoded["cell_layer"], decoded["cell_eta"], decoded["cell_phi"]), index)


def test_bad_index_layer_or_eta_is_refused():
    card = load_card("cocoa")
    with pytest.raises(ValueError, match="cell index must be in 0..156671"):
        decode_cells(card, [156672])
    with pytest.raises(ValueError, match="layer"):
        encode_cells(card, [6], [0.0], [0.0])
    with pytest.raises(ValueError, match="eta"):
        encode_cells(card, [0], [3.2], [0.0])


def test_card_record_round_trips_through_json_and_detects_edits():
    card = load_card("coarse", {"noise_scale": 1.5})
    metadata = json.loads(json.dumps({"detector_cards": {"replica0": card_record(card)}}))
    back = cards_from_metadata(metadata)["replica0"]
    assert back == card
    metadata["detector_cards"]["replica0"]["card"]["noise_scale"] = 3.0
    with pytest.raises(CardRecordError, match="detector_cards.replica0.*sha256"):
        cards_from_metadata(metadata, source="m.json")
    with pytest.raises(CardRecordError, match="m.json: field 'detector_cards' is missing"):
        cards_from_metadata({}, source="m.json")
