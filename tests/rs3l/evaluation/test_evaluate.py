"""evaluate(): input checks, and an end-to-end run on a tiny synthetic dataset.

The dataset: jets are collimated sprays around (eta, phi) = (0, 0); quark jets have few hard
constituents, gluon jets many soft ones, Hbb jets two prongs with more constituents still
(so a sum-pooled embedding separates them even before much training). Views of a group
share the group's jet axis, energy and label and differ in the constituents'
smearing, so a tagger's output moves a little between views.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from rs3l.config import RunConfig
from rs3l.evaluation.config import EvaluateConfig
from rs3l.evaluation.evaluate import (EvaluationError, dataset_inventory, evaluate, evaluation_inputs,
                                      evaluation_is_current)
from rs3l.evaluation.tasks import TaskError
from sim_pairs.io import shard_name, write_metadata, write_shard

LABEL_NAMES = ("quark", "gluon", "Hbb")


def _jet(rng, label, energy, shift):
    if label == "quark":
        n, prongs = rng.integers(6, 12), [(0.0, 0.0)]
    elif label == "gluon":
        n, prongs = rng.integers(14, 24), [(0.0, 0.0)]
    else:
        n, prongs = rng.integers(26, 34), [(-0.2, 0.05), (0.2, -0.05)]
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


def write_tiny_dataset(directory, n_groups=150, views=("nominal", "fsr_up"), labels=LABEL_NAMES, seed=0, shards=2,
                       first_group=10_000):
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
            rows.append({"group_id": first_group + g, "event_number": g, "view": view, "shower_view": view,
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


def test_model_of_other_inputs_is_refused(tiny_dataset, tmp_path):
    import torch

    config = _tiny_run_config(tasks=["q_vs_g"])
    backbone = _save_backbone(config, tmp_path / "model")
    blob = torch.load(tmp_path / "model" / "model.pt", weights_only=False)
    blob["input_dims"] = {"particle": 4}
    torch.save(blob, tmp_path / "model" / "model.pt")
    with pytest.raises(ValueError, match=r"pre-trained on inputs \{'particle': 4\}"):
        evaluate(config, tiny_dataset, tmp_path / "model", tmp_path / "out", device="cpu")


def _tiny_run_config(**evaluate):
    import torch

    from rs3l.models.config import BackboneConfig
    from graphs.contract import DataContract

    config = RunConfig()
    config.data = DataContract(graph="particles", features="rs3l15", max_particles=40, val_fraction=0.2,
                               test_fraction=0.3, num_workers=0, shuffle_buffer=64)
    config.model = BackboneConfig(encoder_channels=[16], edge_conv_channels=[[16], [16]], feature_k=4, head_channels=[16],
                                  embedding_dim=8)
    config.evaluate = EvaluateConfig(**evaluate)
    return config


def _save_backbone(config, model_dir, seed=0):
    """A model.pt in the layout pre-training writes ({"model": state_dict, "config": {...}})."""
    import torch

    from rs3l.models.backbone import build_backbone
    from sim_pairs.typed_config import to_mapping

    torch.manual_seed(seed)
    backbone = build_backbone(config.model, config.data.input_dims())
    model_dir.mkdir(parents=True, exist_ok=True)
    torch.save({"model": backbone.state_dict(), "config": {"model": to_mapping(config.model)}}, model_dir / "model.pt")
    return backbone


def test_a_report_is_current_only_for_its_config_and_model(tmp_path):
    config = _tiny_run_config(epochs=5)
    model, report = tmp_path / "model", tmp_path / "report"
    model.mkdir()
    report.mkdir()
    (model / "model.pt").write_bytes(b"weights 1")
    assert not evaluation_is_current(report, config, model)  # no metrics.json yet
    (report / "metrics.json").write_text(json.dumps({"inputs": evaluation_inputs(config, model)}))
    assert evaluation_is_current(report, config, model)
    assert not evaluation_is_current(report, _tiny_run_config(epochs=6), model)
    (model / "model.pt").write_bytes(b"weights 2")  # pre-trained further
    assert not evaluation_is_current(report, config, model)
    (report / "metrics.json").write_text("{truncated")
    assert not evaluation_is_current(report, config, model)


@pytest.mark.slow
def test_evaluate_end_to_end(tiny_dataset, tmp_path):
    from rs3l.evaluation.predictions import read_predictions
    from rs3l.evaluation.metrics import auc

    config = _tiny_run_config(tasks=["hbb_vs_qcd", "multiclass", "energy"], label_fractions=[0.3, 1.0],
                              epochs=10, finetune_epochs=1, batch_size=32, bootstrap=10, tsne_samples=60,
                              plot_formats=["png"])
    from rs3l.train.config import PretrainConfig
    from rs3l.train.pretrain import pretrain

    config.pretrain = PretrainConfig(epochs=1, batch_size=16, num_workers=0, max_steps_per_epoch=4, max_val_steps=2)
    pretrain(config, tiny_dataset, tmp_path / "model", device="cpu", progress=False)
    out = tmp_path / "report"
    metrics = evaluate(config, tiny_dataset, tmp_path / "model", out, device="cpu")
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk == json.loads(json.dumps(metrics))
    assert evaluation_is_current(out, config, tmp_path / "model")
    assert metrics["views"] == ["nominal", "fsr_up"]
    assert metrics["taggers"] == ["frozen_linear", "frozen_mlp", "finetune_mlp", "supervised_mlp"]
    assert set(metrics["tasks"]) == {"hbb_vs_qcd", "multiclass", "energy"}
    hbb = metrics["tasks"]["hbb_vs_qcd"]
    assert set(hbb["results"]) == set(metrics["taggers"])
    # Hbb jets have two prongs: heads on the (briefly) pre-trained embedding find them; the one-epoch
    # fine-tuned and supervised taggers only have to produce valid numbers here.
    for tagger in metrics["taggers"]:
        value = hbb["results"][tagger]["1"]["nominal"]["auc"]["value"]
        assert value > 0.7 if tagger.startswith("frozen") else 0.0 <= value <= 1.0, tagger
        assert set(hbb["results"][tagger]["1"]["robustness"]) == {"fsr_up"}
    assert set(hbb["robustness_ratio"]) == {"frozen_linear", "frozen_mlp", "finetune_mlp"}
    # recompute one number from the saved predictions
    cols, info = read_predictions(out / "predictions" / "hbb_vs_qcd.parquet")
    sel = (cols["tagger"] == "frozen_mlp") & (cols["label_fraction"] == 1.0) & (cols["view"] == "nominal")
    assert hbb["results"]["frozen_mlp"]["1"]["nominal"]["auc"]["value"] == pytest.approx(auc(cols["label"][sel], cols["score"][sel]))
    # each test jet once, and every test group in both views
    other = (cols["tagger"] == "frozen_mlp") & (cols["label_fraction"] == 1.0) & (cols["view"] == "fsr_up")
    assert len(set(cols["group_id"][sel])) == sel.sum()
    assert sorted(cols["group_id"][sel]) == sorted(cols["group_id"][other])
    energy = metrics["tasks"]["energy"]["results"]["frozen_linear"]["1"]["nominal"]
    assert energy["inclusive"]["median_response"] == pytest.approx(1.0, abs=0.3)
    assert metrics["tasks"]["multiclass"]["classes"] == ["quark", "gluon", "Hbb"]
    assert (out / "plots" / "embedding_tsne.png").is_file() and (out / "plots" / "hbb_vs_qcd_roc.png").is_file()
    assert (out / "heads" / "hbb_vs_qcd" / "supervised_mlp" / "fraction_0.3" / "best.pt").is_file()
    html = (out / "report.html").read_text()
    assert "fine-tuned backbone, MLP head" in html and "embedding_tsne" in html


@pytest.mark.slow
def test_frozen_heads_without_val_split(tiny_dataset, tmp_path):
    """An empty val split: no model selection; predictions cover the test split's two views."""
    from rs3l.evaluation.predictions import read_predictions

    config = _tiny_run_config(tasks=["hbb_vs_qcd"], modes=["frozen"], heads=["linear"], label_fractions=[1.0],
                              epochs=2, batch_size=64, bootstrap=0, tsne_samples=0, plot_formats=["png"])
    config.data.val_fraction = 0.0
    _save_backbone(config, tmp_path / "model")
    metrics = evaluate(config, tiny_dataset, tmp_path / "model", tmp_path / "out", device="cpu")
    assert metrics["training"]["hbb_vs_qcd"]["frozen_linear"]["1"]["best_val_loss"] is None
    # the linear probe is fitted to its optimum in one full-batch L-BFGS run, whatever the epochs
    assert metrics["training"]["hbb_vs_qcd"]["frozen_linear"]["1"]["epochs"] == 1
    assert metrics["training"]["hbb_vs_qcd"]["frozen_linear"]["1"]["steps"] > 1
    cols, _ = read_predictions(tmp_path / "out" / "predictions" / "hbb_vs_qcd.parquet")
    assert sorted(set(cols["view"])) == ["fsr_up", "nominal"]
    n_test = metrics["tasks"]["hbb_vs_qcd"]["n_test"]
    assert n_test["nominal"] == n_test["fsr_up"] == (cols["view"] == "nominal").sum() > 20
    # a second run reuses every head's finished checkpoint: same numbers, nothing trained or written again
    checkpoint = tmp_path / "out" / "heads" / "hbb_vs_qcd" / "frozen_linear" / "fraction_1" / "checkpoint.pt"
    before = (checkpoint.read_bytes(), checkpoint.stat().st_mtime_ns)
    again = evaluate(config, tiny_dataset, tmp_path / "model", tmp_path / "out", device="cpu")
    assert {k: v for k, v in again.items() if k != "seconds"} == {k: v for k, v in metrics.items() if k != "seconds"}
    assert (checkpoint.read_bytes(), checkpoint.stat().st_mtime_ns) == before
    # changed settings train again (the probe's optimum does not depend on epochs: same score)
    config.evaluate.epochs = 3
    third = evaluate(config, tiny_dataset, tmp_path / "model", tmp_path / "out", device="cpu")
    assert checkpoint.read_bytes() != before[0]
    assert third["tasks"]["hbb_vs_qcd"]["results"]["frozen_linear"]["1"]["nominal"]["auc"] == \
        pytest.approx(metrics["tasks"]["hbb_vs_qcd"]["results"]["frozen_linear"]["1"]["nominal"]["auc"])


def test_an_independent_test_dataset_gives_every_test_jet(tiny_dataset, tmp_path):
    """With test_dir, every jet of that dataset is predicted and none of the training dataset's."""
    from rs3l.evaluation.predictions import read_predictions

    test_dir = write_tiny_dataset(tmp_path / "test_data", n_groups=45, seed=1, shards=1, first_group=50_000)
    config = _tiny_run_config(tasks=["hbb_vs_qcd"], modes=["frozen", "finetune"], heads=["linear"],
                              finetune_head="linear", label_fractions=[1.0], finetune_epochs=1, min_steps=1,
                              batch_size=64, bootstrap=0, tsne_samples=0, plot_formats=["png"])
    config.data.cache_dir = str(tmp_path / "caches")  # one cache root for both datasets
    _save_backbone(config, tmp_path / "model")
    out = tmp_path / "out"
    metrics = evaluate(config, tiny_dataset, tmp_path / "model", out, device="cpu", test_dir=test_dir)
    assert metrics["test_dir"] == str(test_dir)
    cols, _ = read_predictions(out / "predictions" / "hbb_vs_qcd.parquet")
    hbb_vs_qcd = [50_000 + g for g in range(45)]  # every group is H->bb or QCD (quark, gluon)
    for tagger in ("frozen_linear", "finetune_linear"):
        for view in ("nominal", "fsr_up"):
            sel = (cols["tagger"] == tagger) & (cols["view"] == view)
            assert sorted(cols["group_id"][sel]) == hbb_vs_qcd, (tagger, view)
    assert metrics["tasks"]["hbb_vs_qcd"]["n_test"]["nominal"] == 45
    # the two datasets' caches, same settings, do not replace each other
    assert len(list((tmp_path / "caches").glob("particles-*"))) == 1
    assert len(list((tmp_path / "caches" / "test-data").glob("particles-*"))) == 1
    # the report is current for this test dataset only, and not after it changes
    assert evaluation_is_current(out, config, tmp_path / "model", test_dir)
    assert not evaluation_is_current(out, config, tmp_path / "model")
    write_tiny_dataset(test_dir, n_groups=46, seed=1, shards=1, first_group=50_000)
    assert not evaluation_is_current(out, config, tmp_path / "model", test_dir)


def test_an_independent_test_dataset_must_hold_the_views_and_labels(tiny_dataset, tmp_path):
    config = _tiny_run_config(tasks=["hbb_vs_qcd"], views=["nominal", "fsr_up"])
    no_view = write_tiny_dataset(tmp_path / "no_view", n_groups=9, views=("nominal",), shards=1)
    with pytest.raises(EvaluationError, match=r"view 'fsr_up' requested by evaluate.views is not in the dataset") as err:
        evaluate(config, tiny_dataset, tmp_path / "model", tmp_path / "out", test_dir=no_view)
    assert str(no_view) in str(err.value)
    no_hbb = write_tiny_dataset(tmp_path / "no_hbb", n_groups=9, labels=("quark", "gluon"), shards=1)
    with pytest.raises(EvaluationError, match=r"no_hbb: the test dataset has no jets labelled \['Hbb'\]"):
        evaluate(config, tiny_dataset, tmp_path / "model", tmp_path / "out", test_dir=no_hbb)
    config.evaluate.nominal_view = "herwig"
    with pytest.raises(EvaluationError, match=r"view 'herwig' requested by evaluate.nominal_view \(the training view\)"):
        evaluate(config, tiny_dataset, tmp_path / "model", tmp_path / "out", test_dir=no_view)


@pytest.mark.parametrize("representation, dim", [("embedding", 8), ("projection", 5), ("pooled", 12)])
def test_heads_train_on_the_representation_asked_for(tiny_dataset, tmp_path, representation, dim):
    """evaluate.representation picks the heads' input, for frozen heads and the supervised tagger alike: the
    embedding before the projection head (8-d), the projection head's output (5-d) or the pooled node
    features before the MLP to the embedding (12-d, the last EdgeConv block's width)."""
    import torch

    from rs3l.train.checkpoint import load_checkpoint

    config = _tiny_run_config(tasks=["hbb_vs_qcd"], modes=["frozen", "supervised"], heads=["linear"],
                              label_fractions=[1.0], finetune_head="linear", finetune_epochs=1, min_steps=1, batch_size=64, bootstrap=0,
                              tsne_samples=0, plot_formats=["png"], representation=representation)
    config.model.projection = [16, 5]
    config.model.edge_conv_channels = [[16], [12]]
    _save_backbone(config, tmp_path / "model")
    metrics = evaluate(config, tiny_dataset, tmp_path / "model", tmp_path / "out", device="cpu")
    assert metrics["tasks"]["hbb_vs_qcd"]["results"]["frozen_linear"]["1"]["nominal"]["auc"]["value"] > 0.5
    for tagger in ("frozen_linear", "supervised_linear"):
        ckpt = load_checkpoint(tmp_path / "out" / "heads" / "hbb_vs_qcd" / tagger / "fraction_1" / "checkpoint.pt")
        weights = [v for k, v in ckpt["model"].items() if k.endswith("linear.weight")]
        assert weights and all(w.shape[-1] == dim for w in weights), (tagger, [w.shape for w in weights])


def test_heads_standardise_their_input_when_asked(tiny_dataset, tmp_path):
    """evaluate.head_input: standardise gives every head a standardisation: fixed to the training embeddings'
    statistics for frozen heads, a batch normalisation that trains with the fine-tuned backbone."""
    from rs3l.train.checkpoint import load_checkpoint

    config = _tiny_run_config(tasks=["hbb_vs_qcd"], modes=["frozen", "finetune"], heads=["linear"],
                              label_fractions=[1.0], finetune_head="linear", finetune_epochs=1, min_steps=1,
                              batch_size=64, bootstrap=0, tsne_samples=0, plot_formats=["png"],
                              representation="pooled", head_input="standardise")
    _save_backbone(config, tmp_path / "model")
    metrics = evaluate(config, tiny_dataset, tmp_path / "model", tmp_path / "out", device="cpu")
    assert metrics["tasks"]["hbb_vs_qcd"]["results"]["frozen_linear"]["1"]["nominal"]["auc"]["value"] > 0.5
    heads = tmp_path / "out" / "heads" / "hbb_vs_qcd"
    frozen = load_checkpoint(heads / "frozen_linear" / "fraction_1" / "checkpoint.pt")
    assert bool(frozen["model"]["norm.standardise.fixed"]) and frozen["config"]["head_input"] == "standardise"
    assert float(frozen["model"]["norm.standardise.running_var"].min()) > 0
    tuned = load_checkpoint(heads / "finetune_linear" / "fraction_1" / "checkpoint.pt")
    norm = {k: v for k, v in tuned["model"].items() if "norm.standardise" in k}
    assert not bool(norm["head.norm.standardise.fixed"]) and int(norm["head.norm.standardise.num_batches_tracked"]) > 0
