"""evaluate(): input checks, and an end-to-end run on a tiny synthetic dataset.

The dataset: jets are collimated sprays around (eta, phi) = (0, 0); quark jets have few hard
constituents, gluon jets many soft ones, Hbb jets two prongs. Views of a group
share the group's jet axis, energy and label and differ in the constituents'
smearing, so a tagger's output moves a little between views.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from rs3l.config import RunConfig
from rs3l.evaluation.config import EvaluateConfig
from rs3l.evaluation.evaluate import EvaluationError, dataset_inventory, evaluate
from rs3l.evaluation.tasks import TaskError
from sim_pairs.io import shard_name, write_metadata, write_shard

LABEL_NAMES = ("quark", "gluon", "Hbb")


def _jet(rng, label, energy, shift):
    if label == "quark":
        n, prongs = rng.integers(6, 12), [(0.0, 0.0)]
    elif label == "gluon":
        n, prongs = rng.integers(14, 24), [(0.0, 0.0)]
    else:
        n, prongs = rng.integers(10, 18), [(-0.2, 0.05), (0.2, -0.05)]
    frac = rng.dirichlet(np.ones(n) * (2.0 if label == "gluon" else 0.7))
    prong = rng.integers(0, len(prongs), n)
    centre = np.asarray(prongs)[prong]
    width = 0.06 + shift
    eta = centre[:, 0] + rng.normal(0, width, n)
    phi = centre[:, 1] + rng.normal(0, width, n)
    e = frac * energy
    pt = e / np.cosh(eta)
    pid = rng.choice([211, -211, 22, 130, 11], n)
    charge = np.where(pid == 211, 1, np.where((pid == -211) | (pid == 11), -1, 0))
    return {"part_px": pt * np.cos(phi), "part_py": pt * np.sin(phi), "part_pz": pt * np.sinh(eta),
            "part_energy": e, "part_pid": pid, "part_charge": charge,
            "part_d0": rng.normal(0, 0.01, n), "part_dz": rng.normal(0, 0.01, n)}


def write_tiny_dataset(directory, n_groups=150, views=("nominal", "fsr_up"), labels=LABEL_NAMES, seed=0, shards=2):
    """Write ``n_groups`` groups x ``views`` rows over ``shards`` shards; returns the directory."""
    rng = np.random.default_rng(seed)
    directory = Path(directory)
    rows = []
    for g in range(n_groups):
        label = labels[g % len(labels)]
        energy = rng.uniform(500, 1500)
        for v, view in enumerate(views):
            parts = _jet(rng, label, energy, 0.01 * v)
            px, py, pz, e = (float(np.sum(parts[k])) for k in ("part_px", "part_py", "part_pz", "part_energy"))
            pt = np.hypot(px, py)
            rows.append({"group_id": 10_000 + g, "event_number": g, "view": view, "shower_view": view,
                         "detector_view": "", "process": label.lower(), "label": label, "jet_pt": pt,
                         "jet_eta": np.arcsinh(pz / pt), "jet_phi": np.arctan2(py, px), "jet_energy": e,
                         "jet_mass": np.sqrt(max(e * e - px * px - py * py - pz * pz, 0.0)), "jet_sdmass": 0.0,
                         "jet_nparticles": len(parts["part_px"]), "parton_px": px, "parton_py": py, "parton_pz": pz,
                         "parton_energy": e, "parton_pid": 25 if label == "Hbb" else (21 if label == "gluon" else 1),
                         **{k: v.tolist() for k, v in parts.items()}})
    per = (len(rows) + shards - 1) // shards
    for s in range(shards):
        chunk = rows[s * per:(s + 1) * per]
        write_shard({k: [r[k] for r in chunk] for k in chunk[0]}, directory / shard_name(s))
    write_metadata(directory, {"views": list(views), "synthetic": True})
    return directory


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny_dataset"))


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
