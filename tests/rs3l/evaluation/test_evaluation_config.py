"""EvaluateConfig (rs3l/evaluation/config.py; named apart from other packages' test_config) and tasks."""

import dataclasses
from pathlib import Path

import pytest

from rs3l.evaluation.config import EvaluateConfig
from rs3l.evaluation.tasks import TASKS, TaskError, resolve_tasks
from sim_pairs.typed_config import ConfigError, from_mapping, load_yaml

CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "evaluate"


def test_presets_load_and_rs3l_is_the_default():
    # RS3L's settings are the defaults, except how the frozen heads train: RS3L's lr 1e-3 at
    # batch 1000 suits millions of jets, the defaults suit thousands
    rs3l = from_mapping(EvaluateConfig, load_yaml(CONFIGS / "rs3l.yaml"))
    assert (rs3l.epochs, rs3l.lr, rs3l.head_batch_size) == (20, 1e-3, 1000)
    assert dataclasses.replace(rs3l, epochs=100, lr=1e-2, head_batch_size=64) == EvaluateConfig()
    quick = from_mapping(EvaluateConfig, load_yaml(CONFIGS / "quick.yaml"))
    assert quick.taggers == [("frozen", "linear"), ("frozen", "mlp"), ("supervised", "mlp")]


def test_taggers_order_and_defaults():
    c = EvaluateConfig()
    assert c.taggers == [("frozen", "linear"), ("frozen", "mlp"), ("finetune", "mlp"), ("supervised", "mlp")]
    assert c.finetune_lr == 1e-4 and c.batch_size == 1000 and c.signal_efficiencies == [0.3, 0.5, 0.7]


@pytest.mark.parametrize("mapping,match", [
    ({"label_fractions": [0.0]}, "label_fractions: 0.0 is not in"),
    ({"signal_efficiencies": [1.0]}, "signal_efficiencies"),
    ({"heads": ["cnn"]}, "expected one of"),
    ({"modes": []}, "modes: at least one"),
    ({"energy_bins": [500, 100]}, "energy_bins: edges must increase"),
    ({"finetune_lr": -1}, "finetune_lr: must be positive"),
    ({"bootstrapp": 3}, "did you mean 'bootstrap'"),
])
def test_bad_values_name_the_field(mapping, match):
    with pytest.raises(ConfigError, match=match) as err:
        from_mapping(EvaluateConfig, mapping, source="run.yaml", where="evaluate")
    assert "run.yaml" in str(err.value)


def test_resolve_tasks():
    present = ["quark", "gluon", "Hbb"]
    assert [t.name for t in resolve_tasks(["auto"], present, "d")] == ["q_vs_g", "hbb_vs_qcd", "multiclass", "energy"]
    assert [t.name for t in resolve_tasks(["auto"], ["quark", "gluon"], "d")] == ["q_vs_g", "energy"]
    assert resolve_tasks(["hbb_vs_qcd"], ["Hbb", "gluon"], "d") == [TASKS["hbb_vs_qcd"]]
    with pytest.raises(TaskError, match=r"needs background jets labelled one of \['quark', 'gluon', 'qcd'\]"):
        resolve_tasks(["hbb_vs_qcd"], ["Hbb"], "data/x")
