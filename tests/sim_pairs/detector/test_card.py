from pathlib import Path

import pytest
import yaml

from sim_pairs.typed_config import ConfigError, to_mapping
from sim_pairs.detector import DetectorCard, builtin_cards, load_card
from sim_pairs.detector.card import BUILTIN_CARD_DIR


def test_cocoa_card_file_equals_the_dataclass_defaults():
    assert (BUILTIN_CARD_DIR / "cocoa.yaml").is_file()
    assert load_card("cocoa") == DetectorCard()


def test_cocoa_defaults_are_the_published_ones():
    card = load_card("cocoa")
    assert [l.n_cells for l in card.layers] == [256, 256, 128, 64, 64, 32]
    assert [l.noise for l in card.layers] == pytest.approx([0.013, 0.034, 0.041, 0.075, 0.050, 0.025])
    assert [l.depth_x0 for l in card.layers[:3]] == [4.0, 16.0, 2.0]
    assert [l.depth_lambda for l in card.layers[3:]] == [1.5, 4.1, 1.8]
    assert card.layers[0].r_inner == 1500.0 and card.field_tesla == 3.8
    assert (card.ecal.sampling_fraction, card.hcal.sampling_fraction) == (0.07, 0.025)
    assert (card.topo.seed, card.topo.neighbour, card.topo.boundary) == (4.6, 2.0, 0.0)
    assert (card.barrel_abs_eta, card.abs_eta_max) == (1.5, 3.0)
    # ATLAS's splitter: maxima above 0.5 GeV with 4 neighbours, shared cells by a 5 cm scale
    split = card.split
    assert (split.primary_layers, split.secondary_layers, split.merge_margin) == ([1, 2], [3, 4, 5], 1.0)
    assert (split.min_energy, split.min_neighbours, split.share_scale) == (0.5, 4, 0.03)


def test_variants_and_overrides():
    assert {"cocoa", "noisy", "coarse"} <= set(builtin_cards())
    noisy = load_card("noisy")
    assert noisy.noise_sigmas() == pytest.approx([2 * s for s in DetectorCard().noise_sigmas()])
    assert [l.n_cells for l in load_card("coarse").layers] == [128, 128, 64, 32, 32, 16]
    card = load_card("cocoa", {"noise_scale": 3.0, "topo": {"seed": 4.0}})
    assert card.noise_scale == 3.0 and card.topo.seed == 4.0 and card.topo.neighbour == 2.0


def _write(tmp_path: Path, mapping, name="card.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(mapping))
    return path


def test_card_file_with_base_and_relative_path(tmp_path):
    _write(tmp_path, {"base": "cocoa", "name": "mine", "field_tesla": 2.0})
    card = load_card("card.yaml", base_dir=tmp_path)
    assert card.name == "mine" and card.field_tesla == 2.0 and len(card.layers) == 6


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda m: m["layers"].pop(), "layers"),
        (lambda m: m["layers"][2].update(noise=-0.01), "layers[2]"),
        (lambda m: m["layers"][4].update(r_inner=100.0, r_outer=200.0), "layers[4]"),
        (lambda m: m["layers"][1].update(n_cells=0), "layers[1]"),
        (lambda m: m.update(noise_scael=2.0), "noise_scael"),
        (lambda m: m["topo"].update(seed=1.0), "topo"),
        (lambda m: m["tracker"].update(layer_radii=[39.0, 30.0, 155.0]), "tracker"),
        (lambda m: m["layers"][0].pop("n_cells"), "layers[0].n_cells"),
        (lambda m: m["split"].update(primary_layers=[1, 6]), "split"),
        (lambda m: m["split"].update(secondary_layers=[2, 3]), "split"),
        (lambda m: m["split"].update(share_scale=0.0), "split"),
        (lambda m: m["split"].update(min_energy=-0.5), "split"),
    ],
)
def test_malformed_card_is_rejected_naming_file_and_field(tmp_path, change, field):
    mapping = to_mapping(DetectorCard())
    change(mapping)
    path = _write(tmp_path, mapping, "bad.yaml")
    with pytest.raises(ConfigError) as err:
        load_card(str(path))
    message = str(err.value)
    assert "bad.yaml" in message and field in message


def test_non_monotonic_radii_message_says_what_is_wrong(tmp_path):
    mapping = to_mapping(DetectorCard())
    mapping["layers"][3]["r_inner"] = 1700.0
    with pytest.raises(ConfigError, match=r"layers\[3\].r_inner: radii must increase"):
        load_card(str(_write(tmp_path, mapping)))


def test_unknown_builtin_and_base_loop(tmp_path):
    with pytest.raises(ConfigError, match="not a built-in card"):
        load_card("no_such_card")
    _write(tmp_path, {"base": "b.yaml"}, "a.yaml")
    _write(tmp_path, {"base": "a.yaml"}, "b.yaml")
    with pytest.raises(ConfigError, match="loop"):
        load_card("a.yaml", base_dir=tmp_path)


def test_bad_override_names_the_override():
    with pytest.raises(ConfigError, match="overrides.*noise_scale"):
        load_card("cocoa", {"noise_scale": -1.0})
