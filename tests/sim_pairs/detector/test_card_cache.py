import dataclasses
import gc

import numpy as np
import pytest

from sim_pairs.detector import load_card, simulate_jet
from sim_pairs.detector.card_cache import _DERIVED, per_card
from sim_pairs.event import Particles


def test_values_are_built_once_per_card_object_and_arguments():
    calls = []

    @per_card
    def build(card, scale=1.0):
        calls.append((id(card), scale))
        return np.arange(3) * scale

    a, b = load_card("cocoa"), load_card("cocoa")
    assert a == b and a is not b
    assert build(a) is build(a)
    assert build(a, 2.0) is build(a, 2.0) and build(a, 2.0) is not build(a)
    assert build(b) is not build(a)  # keyed by the card object, not by its contents
    assert len(calls) == 3


def test_a_cards_entries_go_with_the_card():
    @per_card
    def build(card):
        return np.zeros(4)

    card = load_card("cocoa")
    build(card)
    key = id(card)
    assert key in _DERIVED
    del card
    gc.collect()
    assert key not in _DERIVED


def test_cards_are_frozen_and_simulation_leaves_them_untouched():
    card = load_card("cocoa")
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.noise_scale = 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.topo.seed = 3.0
    before = dict(card.__dict__)
    zero = np.zeros(1)
    photon = Particles(px=np.array([50.0]), py=zero, pz=zero.copy(), e=np.array([50.0]), pid=np.array([22], np.int32),
                       charge=np.zeros(1, np.int8), vx=zero.copy(), vy=zero.copy(), vz=zero.copy())
    simulate_jet(photon, 0.0, 0.0, 0.4, card, np.random.default_rng(0))
    assert card.__dict__ == before  # nothing cached on the card itself
    assert dataclasses.replace(card, noise_scale=2.0).noise_sigmas()[0] == pytest.approx(2 * card.noise_sigmas()[0])
