"""Fast parametric detector simulation for detector replicas (COCOA-like calorimeter and tracker).

Public API::

    card = load_card("cocoa", overrides={"noise_scale": 2.0})
    columns = simulate_jet(final_particles, jet_eta, jet_phi, 0.8, card, np.random.default_rng(seed))

See ``docs/detector.md`` for the model, the card keys and the approximations. This
package imports numpy, scipy and numba, never torch or pythia.
"""

from .card import DetectorCard, builtin_cards, load_card
from .simulate import simulate_jet

__all__ = ["DetectorCard", "builtin_cards", "load_card", "simulate_jet"]
