"""The shipped robustness protocols: which views the pre-training pairs really draw, and the configs' sizes."""

import dataclasses

import pytest

from graphs.dataset import make_loader
from graphs.synthetic import write_synthetic_dataset
from rs3l.config import load_config
from sim_pairs.shipped_configs import CONFIG_DIR

VIEWS = tuple(f"{v}@replica0" for v in ("nominal", "seed", "fsr_up", "fsr_down", "vincia", "thermal"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_synthetic_dataset(tmp_path_factory.mktemp("protocols"), n_shards=2, groups_per_shard=40, views=VIEWS,
                                   detector=False, n_particles=(5, 12))


def _drawn_views(data_dir, protocol: str, epochs: int = 4) -> tuple[set, set]:
    """(anchor views, positive views) of every pair the cached loader draws in a few epochs."""
    contract = load_config(CONFIG_DIR / f"robustness_{protocol}.yaml").data
    # the synthetic jets have no detector columns: particle graphs, the same pairing rules
    contract = dataclasses.replace(contract, graph="particles")
    loader = make_loader(data_dir, contract, "train", 16, mode="pairs", seed=0)
    anchors, positives = set(), set()
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)
        for batch in loader:
            anchors.update(batch.a.view_name)
            positives.update(batch.b.view_name)
    return anchors, positives


def test_rs3l_protocol_pairs_vincia_and_the_held_out_protocol_never_does(data_dir):
    anchors, rs3l = _drawn_views(data_dir, "rs3l")
    assert anchors == {"nominal@replica0"}
    assert rs3l == {"seed@replica0", "fsr_up@replica0", "fsr_down@replica0", "vincia@replica0"}
    anchors, heldout = _drawn_views(data_dir, "heldout")
    assert anchors == {"nominal@replica0"}
    assert heldout == {"seed@replica0", "fsr_up@replica0", "fsr_down@replica0"}
    assert "thermal@replica0" not in rs3l | heldout


def test_the_two_protocols_differ_only_in_their_positive_views():
    rs3l = load_config(CONFIG_DIR / "robustness_rs3l.yaml").to_dict()
    heldout = load_config(CONFIG_DIR / "robustness_heldout.yaml").to_dict()
    assert rs3l["data"].pop("positive_views") == [*heldout["data"].pop("positive_views"), "vincia@replica0"]
    rs3l.pop("base_dir", None), heldout.pop("base_dir", None)
    assert rs3l == heldout


def test_the_benchmarks_test_dataset_has_other_hard_events_and_only_the_compared_views(monkeypatch):
    """bench_robustness.py's independent test dataset: another generation seed, its own sizes, no pair-only views."""
    import argparse
    import sys
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "benchmarks"))
    monkeypatch.delitem(sys.modules, "bench_robustness", raising=False)
    import bench_robustness as bench

    args = argparse.Namespace(events=100, test_events=[300, 50], epochs=1, finetune_epochs=1, min_steps=1)
    train, test = bench.generation_config(args), bench.generation_config(args, test=True)
    assert test["seed"] != train["seed"]
    assert {p["name"]: p["events"] for p in train["processes"]} == {"qcd": 100, "hbb": 100}
    assert {p["name"]: p["events"] for p in test["processes"]} == {"qcd": 50, "hbb": 300}
    assert set(test["views"]) == {"nominal", "seed", "vincia", "thermal"}
    assert {k: v for k, v in test.items() if k not in ("seed", "processes", "views")} == \
        {k: v for k, v in train.items() if k not in ("seed", "processes", "views")}
    config = bench.build_config("rs3l", 0, args)
    assert config.data.test_fraction == 0.0  # every training-dataset jet trains or validates
    assert config.evaluate.views == [f"{v}@replica0" for v in test["views"]]
    args.test_events = [0, 0]  # no test dataset: the training dataset keeps its test split
    assert bench.build_config("rs3l", 0, args).data.test_fraction == load_config(
        CONFIG_DIR / "robustness_rs3l.yaml").data.test_fraction


def test_the_benchmarks_ablation_arms_change_only_their_own_setting(monkeypatch):
    """Each ablation differs from the RS3L protocol in the section it names, and the
    fine-tuning one only in the fine-tuned tagger's learning rate (it reuses the RS3L backbones)."""
    import argparse
    import sys
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "benchmarks"))
    monkeypatch.delitem(sys.modules, "bench_robustness", raising=False)
    import bench_robustness as bench

    args = argparse.Namespace(events=100, test_events=[300, 50], epochs=2, finetune_epochs=1, min_steps=1)
    rs3l = bench.build_config("rs3l", 0, args).to_dict()
    sections = ("data", "model", "pretrain", "evaluate")
    for arm, (_, _, overrides) in bench.ARMS.items():
        if arm in ("rs3l", "heldout"):
            continue
        config = bench.build_config(arm, 0, args).to_dict()
        changed = {s for s in sections if config[s] != rs3l[s]}
        assert changed == set(overrides), arm
    finetune = bench.build_config("finetune", 0, args)
    assert finetune.evaluate.finetune_lr == 1e-3 != rs3l["evaluate"]["finetune_lr"]
    assert finetune.evaluate.modes == ["finetune"]
    assert bench.build_config("long", 0, args).pretrain.epochs == 3 * args.epochs
    assert bench.build_config("pooled", 0, args).evaluate.representation == "pooled" != rs3l["evaluate"]["representation"]
    pooled_std = bench.build_config("pooled_std", 0, args).evaluate
    assert (pooled_std.representation, pooled_std.head_input, pooled_std.modes) == ("pooled", "standardise", ["frozen"])
    assert rs3l["evaluate"]["head_input"] == "l2"
