"""Tasks on the labels of generated and imported datasets."""

import numpy as np
import pytest

from rs3l.evaluation.tasks import TASKS, TaskError, resolve_tasks
from sim_pairs.importers.jetclass import JETCLASS_LABELS
from sim_pairs.schema import ALL_LABELS


def test_top_tagging_labels_give_top_vs_qcd():
    tasks = [t.name for t in resolve_tasks(["auto"], ["qcd", "top"], "toptag")]
    assert tasks == ["top_vs_qcd", "energy"]
    mask, target = TASKS["top_vs_qcd"].select(np.array([0, 1, 0]), ["qcd", "top"])
    assert mask.tolist() == [True, True, True] and target.tolist() == [0, 1, 0]


def test_quark_gluon_labels_give_q_vs_g_only_among_taggers():
    tasks = [t.name for t in resolve_tasks(["auto"], ["quark", "gluon"], "qg")]
    assert "q_vs_g" in tasks and "multiclass" not in tasks
    with pytest.raises(TaskError, match="top"):
        resolve_tasks(["top_vs_qcd"], ["quark", "gluon"], "qg")


def test_jetclass_ten_classes_give_multiclass_and_binary_taggers():
    present = list(JETCLASS_LABELS.values())
    assert set(present) <= set(ALL_LABELS) and len(set(present)) == 10
    names = [t.name for t in resolve_tasks(["auto"], present, "jetclass")]
    assert {"multiclass", "hbb_vs_qcd", "wqq_vs_qcd", "zqq_vs_qcd", "top_vs_qcd"} <= set(names)
    assert "q_vs_g" not in names  # JetClass's QCD jets carry no parton flavour
    mask, _ = TASKS["hbb_vs_qcd"].select(np.arange(len(ALL_LABELS)), ALL_LABELS)
    assert [n for n, m in zip(ALL_LABELS, mask) if m] == ["quark", "gluon", "Hbb", "qcd"]
