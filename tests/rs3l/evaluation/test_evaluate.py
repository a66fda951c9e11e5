"""evaluate(): input checks, and an end-to-end run on a tiny synthetic dataset."""

import json

import pytest

from rs3l.config import RunConfig
from rs3l.evaluation.config import EvaluateConfig
from rs3l.evaluation.evaluate import EvaluationError, dataset_inventory, evaluate
from rs3l.evaluation.tasks import TaskError


def _config(**evaluate):
    config = RunConfig()
    config.evaluate = EvaluateConfig(**evaluate)
    return config


def test_inventory(tiny_dataset):
    labels, views = dataset_inventory(tiny_dataset)
    assert labels == {"quark": 100, "gluon": 100, "Hbb": 100}
    assert views == {"nominal": 150, "fsr_up": 150}


def test_missing_view_is_named(tiny_dataset, tmp_path):
    with pytest.raises(EvaluationError, match=r"view 'herwig' requested by evaluate.views is not in the dataset") as err:
        evaluate(_config(views=["herwig"]), tiny_dataset, tmp_path / "model", tmp_path / "out")
    assert str(tiny_dataset) in str(err.value)
    with pytest.raises(EvaluationError, match="view 'nominal_v2'"):
        evaluate(_config(nominal_view="nominal_v2"), tiny_dataset, tmp_path / "model", tmp_path / "out")


def test_missing_label_is_named(tiny_dataset, tmp_path):
    with pytest.raises(TaskError, match=r"task 'wqq_vs_qcd' needs jets labelled \['Wqq'\]") as err:
        evaluate(_config(tasks=["q_vs_g", "wqq_vs_qcd"]), tiny_dataset, tmp_path / "model", tmp_path / "out")
    assert str(tiny_dataset) in str(err.value)
    with pytest.raises(TaskError, match="unknown task 'qg'"):
        evaluate(_config(tasks=["qg"]), tiny_dataset, tmp_path / "model", tmp_path / "out")


def test_missing_model_is_named(tiny_dataset, tmp_path):
    with pytest.raises(ValueError, match="model.pt: pre-trained model not found"):
        evaluate(_config(tasks=["q_vs_g"]), tiny_dataset, tmp_path / "nomodel", tmp_path / "out")
