"""``rs3l evaluate``: heads on the pre-trained backbone, metrics, robustness and the report.

Steps (RS3L's evaluation, arXiv 2403.07066, REFERENCE.md section 2):

1. check the dataset holds the labels of the requested tasks and the requested views;
2. load the pre-trained backbone (``MODEL_DIR/model.pt``);
3. for each task and each tagger (frozen linear, frozen MLP, fine-tuned, supervised)
   and each label fraction: train on the ``train`` split's nominal view, keep the
   epoch with the lowest loss on the ``val`` split, predict every view of the
   ``test`` split; all training goes through :class:`rs3l.train.trainer.Trainer`;
4. save the predictions (``predictions/<task>.parquet``), compute every number of
   ``metrics.json`` from them, draw the figures (``plots/``) and write ``report.html``.

Output directory::

    OUT/metrics.json            all numbers (keys in docs/evaluation.md)
    OUT/report.html             self-contained report
    OUT/predictions/<task>.parquet
    OUT/plots/*.png, *.pdf
    OUT/heads/<task>/<tagger>/fraction_<f>/   Trainer checkpoints and logs

A re-run with the same settings resumes from the heads' checkpoints.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import shutil
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from sim_pairs.io import check_dataset, read_shard, shard_paths
from sim_pairs.typed_config import to_mapping

from rs3l import __version__
from rs3l.device import resolve_device

from .heads import Tagger, build_head
from .predictions import read_predictions, write_predictions
from .pretrained import load_pretrained_backbone
from .report import json_safe, write_metrics_json, write_report
from .summary import summarise_task
from .targets import NoTrainingJets, TaskTarget
from .task_figures import task_figures
from .tasks import TaskError, resolve_tasks
from .embedding_heads import train_on_embeddings
from .train_heads import embed, predict_embeddings, predict_graphs, task_selector, train_on_graphs

__all__ = ["evaluate", "evaluation_inputs", "evaluation_is_current", "dataset_inventory", "EvaluationError"]

log = logging.getLogger(__name__)


class EvaluationError(ValueError):
    """A dataset or model that cannot be evaluated as configured."""


def dataset_inventory(data_dir: str | Path) -> tuple[Counter, Counter]:
    """Rows per label and per view over all shards (reads only those two columns)."""
    paths = shard_paths(data_dir)
    if not paths:
        raise EvaluationError(f"{data_dir}: no shard-*.parquet files: not an rs3l dataset")
    labels, views = Counter(), Counter()
    for path in paths:
        array = read_shard(path, ["label", "view"])
        labels.update(array["label"].to_list())
        views.update(array["view"].to_list())
    return labels, views


def _check_views(config, views: Counter, data_dir: Path) -> list[str]:
    ecfg = config.evaluate
    wanted = [ecfg.nominal_view] + [v for v in ecfg.views if v != ecfg.nominal_view]
    for v in wanted:
        if v not in views:
            raise EvaluationError(f"{data_dir}: view '{v}' requested by evaluate.{'nominal_view' if v == ecfg.nominal_view else 'views'} "
                                  f"is not in the dataset; its views are {sorted(views)}")
        if not config.data.view_allowed(v):
            raise EvaluationError(f"view '{v}' is excluded by data.views = {config.data.views} in the config")
    if ecfg.views:
        return wanted
    return [ecfg.nominal_view] + sorted(v for v in views if v != ecfg.nominal_view and config.data.view_allowed(v))


def _loader(config, data_dir, split, views, *, shuffle, seed, select=None):
    from graphs.dataset import make_loader

    ecfg = config.evaluate
    return make_loader(data_dir, config.data, split, ecfg.batch_size, mode="single", seed=seed, shuffle=shuffle,
                       num_workers=ecfg.num_workers, views=views, select=select)


def evaluation_inputs(config, model_dir: str | Path) -> dict:
    """What an evaluation's numbers depend on besides the dataset: the ``evaluate`` and
    ``data`` sections and the SHA-256 of ``model.pt`` (a model trained further changes it)."""
    digest = hashlib.sha256((Path(model_dir) / "model.pt").read_bytes()).hexdigest()
    return json.loads(json.dumps(json_safe({"evaluate": to_mapping(config.evaluate), "data": to_mapping(config.data),
                                            "model_sha256": digest})))


def evaluation_is_current(report_dir: str | Path, config, model_dir: str | Path) -> bool:
    """True when ``report_dir/metrics.json`` was made from this config and this ``model.pt``."""
    path = Path(report_dir) / "metrics.json"
    if not path.is_file():
        return False
    try:
        saved = json.loads(path.read_text()).get("inputs")
    except (json.JSONDecodeError, AttributeError):
        return False
    return saved == evaluation_inputs(config, model_dir)


def _run_dir(path: Path, settings: dict) -> bool:
    """Prepare a head's Trainer directory; True when its checkpoint may be resumed."""
    ckpt = path / "checkpoint.pt"
    if ckpt.is_file():
        from rs3l.train.checkpoint import load_checkpoint

        if (load_checkpoint(ckpt).get("config") or {}) == settings:
            return True
        log.info("%s: settings changed since the last run, training again", path)
        shutil.rmtree(path)
    return False


def _log_headlines(name: str, summary: dict) -> None:
    from .summary import headline

    label = {"binary": "AUC", "multiclass": "accuracy", "regression": "resolution"}[summary["kind"]]
    for tagger, by_fraction in summary["results"].items():
        values = ", ".join(f"{f}: {headline(summary['kind'], e['nominal']) or float('nan'):.4g}"
                           for f, e in by_fraction.items())
        log.info("task %s, %s: %s by label fraction {%s}", name, tagger, label, values)


def evaluate(config, data_dir: str | Path, model_dir: str | Path, out_dir: str | Path, *, device: str = "auto",
             allow_incomplete: bool = False) -> dict:
    """Evaluate a pre-trained backbone and write the report.

    Args:
        config: the :class:`rs3l.config.RunConfig` (sections ``data``, ``model``, ``evaluate``).
        data_dir: the dataset (Parquet shards; train / val / test splits by the data contract).
        model_dir: the pre-training output holding ``model.pt``.
        out_dir: where metrics.json, report.html, predictions/, plots/ and heads/ go.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        allow_incomplete: accept a dataset whose ``metadata.json`` says ``complete: false``.

    Returns:
        The metrics dict, also written to ``out_dir/metrics.json``.

    Raises:
        EvaluationError / TaskError: a requested view or label missing from the dataset
            (naming it and the dataset path), or an unusable model directory.
    """
    # metadata, completeness, mixed or unreadable shards: refused before anything is trained
    check_dataset(data_dir, allow_incomplete=allow_incomplete)
    started = time.perf_counter()
    ecfg, contract = config.evaluate, config.data
    data_dir, model_dir, out_dir = Path(data_dir), Path(model_dir), Path(out_dir)
    labels_count, views_count = dataset_inventory(data_dir)
    views = _check_views(config, views_count, data_dir)
    unknown = sorted(set(labels_count) - set(contract.labels))
    if unknown:
        log.info("labels %s are not in data.labels and are skipped", unknown)
    present = [c for c in contract.labels if c in labels_count]
    tasks = resolve_tasks(ecfg.tasks, present, str(data_dir))
    if not tasks:
        raise TaskError(f"{data_dir}: no task fits the labels {present}; name tasks in evaluate.tasks")
    device = resolve_device(device)
    log.info("evaluating %s on %s: tasks %s, taggers %s, views %s, device %s", model_dir, data_dir,
             [t.name for t in tasks], [f"{m}_{h}" for m, h in ecfg.taggers], views, device)
    input_dims = contract.input_dims()
    backbone, model_config = load_pretrained_backbone(model_dir, config.model, input_dims, device)
    nominal = [ecfg.nominal_view]

    def loader(split, which, shuffle=False, seed=ecfg.seed, select=None):
        return _loader(config, data_dir, split, which, shuffle=shuffle, seed=seed, select=select)

    sizes = {split: len(loader(split, which).dataset)
             for split, which in (("train", nominal), ("val", nominal), ("test", views))}
    for split in ("train", "test"):
        if sizes[split] == 0:
            raise EvaluationError(f"{data_dir}: the {split} split has no jets of view(s) "
                                  f"{nominal if split == 'train' else views} (data.val_fraction / test_fraction?)")
    has_val = sizes["val"] > 0
    if not has_val:
        log.warning("the val split is empty: no model selection, every head keeps its last epoch")
    log.info("jets per split: %s", sizes)

    frozen = "frozen" in ecfg.modes
    emb = {"val": None}
    if frozen or ecfg.tsne_samples or any(t.kind == "regression" for t in tasks):
        log.info("embedding the train / val / test splits with the pre-trained backbone")
        for split, which in (("train", nominal), ("val", nominal), ("test", views)):
            if sizes[split]:
                emb[split] = embed(backbone, loader(split, which), device, desc=f"embedding {split}")
        missing = [v for v in views if v not in set(emb["test"].view.tolist())]
        if missing:
            raise EvaluationError(f"{data_dir}: the test split has no jets of view(s) {missing}")

    inputs = evaluation_inputs(config, model_dir)
    # a head resumes only under the same settings and backbone (one trained further retrains its heads)
    settings_base = {**inputs, "model": to_mapping(model_config)}
    metrics = {"schema": "rs3l-metrics/1", "rs3l_version": __version__, "data_dir": str(data_dir),
               "model_dir": str(model_dir), "inputs": inputs, "nominal_view": ecfg.nominal_view, "views": views,
               "taggers": [f"{m}_{h}" for m, h in ecfg.taggers], "label_fractions": list(ecfg.label_fractions),
               "signal_efficiencies": list(ecfg.signal_efficiencies), "bootstrap": ecfg.bootstrap,
               "confidence": ecfg.confidence, "training": {}, "tasks": {}}
    figures: dict[str, list] = {}
    for task in tasks:
        target = TaskTarget(task, contract.labels, present)
        if task.kind == "regression":
            target.fit_energy(emb["train"].jet_energy.numpy())
        chunks = []
        for mode, head_kind in ecfg.taggers:
            tagger = f"{mode}_{head_kind}"
            for fraction in sorted(ecfg.label_fractions):
                run = out_dir / "heads" / task.name / tagger / f"fraction_{fraction:g}"
                settings = {**settings_base, "task": task.name, "tagger": tagger, "fraction": fraction,
                            "target": target.state()}
                resume = _run_dir(run, settings)
                log.info("task %s: training %s on %s of the labelled jets -> %s", task.name, tagger, f"{fraction:.0%}", run)
                torch.manual_seed(ecfg.seed)
                head = build_head(head_kind, backbone.embedding_dim, target.out_dim, ecfg.mlp_hidden)
                common = dict(out_dir=run, fraction=fraction, device=device, seed=ecfg.seed, resume=resume,
                              config=settings)
                try:
                    if mode == "frozen":
                        result = train_on_embeddings(head, emb["train"], emb["val"], target, epochs=ecfg.epochs,
                                                     lr=ecfg.lr, batch_size=ecfg.head_batch_size,
                                                     patience=ecfg.patience,
                                                     select=task_selector(target, fraction, ecfg.seed), **common)
                        cols = predict_embeddings(head.to(device), emb["test"], target)
                    else:
                        if mode == "finetune":
                            net = copy.deepcopy(backbone).train()
                            for p in net.parameters():
                                p.requires_grad_(True)
                            lr = ecfg.finetune_lr
                        else:
                            torch.manual_seed(ecfg.seed)
                            from rs3l.models.backbone import build_backbone

                            net, lr = build_backbone(model_config, input_dims), ecfg.supervised_lr
                        model = Tagger(net, head)
                        train = loader("train", nominal, True, select=task_selector(target, fraction, ecfg.seed))
                        val = loader("val", nominal, select=task_selector(target)) if has_val else None
                        result = train_on_graphs(model, train, val, target, epochs=ecfg.finetune_epochs, lr=lr,
                                                 min_steps=ecfg.min_steps, patience=ecfg.patience, **common)
                        cols, _ = predict_graphs(model, loader("test", views), target, device=device,
                                                 desc=f"predicting {tagger}")
                except NoTrainingJets as err:
                    log.warning("task %s, %s at fraction %g skipped: %s", task.name, tagger, fraction, err)
                    continue
                n = len(cols["label"])
                if n == 0:
                    raise EvaluationError(f"{data_dir}: the test split has no jets for task '{task.name}'")
                cols["tagger"], cols["label_fraction"] = np.full(n, tagger), np.full(n, fraction, np.float32)
                chunks.append(cols)
                hist = result.history
                metrics["training"].setdefault(task.name, {}).setdefault(tagger, {})[f"{fraction:g}"] = {
                    "epochs": len(hist), "steps": result.steps, "stopped_early": result.stopped_early,
                    "best_val_loss": min((r["val_loss"] for r in hist if "val_loss" in r), default=None),
                    "final_train_loss": hist[-1]["train_loss"] if hist else None}
        if not chunks:
            log.warning("task %s: no tagger could be trained", task.name)
            continue
        columns = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
        path = write_predictions(out_dir / "predictions" / f"{task.name}.parquet", columns, task=task.name,
                                 kind=task.kind, classes=target.classes)
        columns, info = read_predictions(path)  # every number below comes from the saved file
        metrics["tasks"][task.name] = summarise_task(columns, info, ecfg)
        _log_headlines(task.name, metrics["tasks"][task.name])
        figures[task.name] = task_figures(columns, info, metrics["tasks"][task.name], out_dir / "plots",
                                          nominal=ecfg.nominal_view, formats=ecfg.plot_formats)
    if ecfg.tsne_samples and "test" in emb and len(emb["test"]) >= 4:
        from .embedding_plot import plot_embedding

        log.info("t-SNE of %d test jets", min(ecfg.tsne_samples, len(emb["test"])))
        t = emb["test"]
        figures["embedding"] = [p for p in plot_embedding(
            t.z.numpy(), t.label.numpy(), t.view, contract.labels, out_dir / "plots" / "embedding_tsne",
            max_points=ecfg.tsne_samples, perplexity=ecfg.tsne_perplexity, seed=ecfg.seed,
            formats=ecfg.plot_formats) if p.suffix == ".png"]
    metrics["seconds"] = time.perf_counter() - started
    metrics = json_safe(metrics)
    write_metrics_json(metrics, out_dir / "metrics.json")
    write_report(metrics, out_dir, figures)
    log.info("evaluation written to %s in %.1f s", out_dir / "report.html", metrics["seconds"])
    return metrics
