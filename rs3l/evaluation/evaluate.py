"""``rs3l evaluate``: heads on the pre-trained backbone, metrics, robustness and the report.

Steps (RS3L's evaluation, arXiv 2403.07066, REFERENCE.md section 2):

1. check the dataset holds the labels of the requested tasks and the requested views;
2. load the pre-trained backbone (``MODEL_DIR/model.pt``);
3. for each task and each tagger (frozen linear, frozen MLP, fine-tuned, supervised)
   and each label fraction, one cell of the table (:func:`rs3l.evaluation.cells.train_cell`):
   train on the ``train`` split's nominal view (the linear probe to its optimum, the
   others keeping the epoch with the lowest loss on the ``val`` split), predict every
   view of the ``test`` split, or of every jet of an independent test dataset
   (``test_dir``: more test jets than training jets cost only their generation);
4. save the predictions (``predictions/<task>.parquet``), compute every number of
   ``metrics.json`` from them, draw the figures (``plots/``) and write ``report.html``.

Output directory::

    OUT/metrics.json            all numbers (keys in docs/evaluation.md)
    OUT/report.html             self-contained report
    OUT/predictions/<task>.parquet
    OUT/plots/*.png, *.pdf
    OUT/heads/<task>/<tagger>/fraction_<f>/   checkpoints (and the Trainer's logs for graph taggers)

A re-run with the same settings resumes from the heads' checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from pathlib import Path

import numpy as np
from sim_pairs.io import check_dataset, read_shard, shard_paths
from sim_pairs.typed_config import to_mapping

from rs3l import __version__
from rs3l.device import resolve_device
from rs3l.models.backbone import Pooled, Projected

from .cells import EvaluationContext, embed_splits, train_cell
from .predictions import read_predictions, write_predictions
from .pretrained import load_pretrained_backbone
from .report import json_safe, write_metrics_json, write_report
from .summary import summarise_task
from .targets import NoTrainingJets, TaskTarget
from .task_figures import task_figures
from .tasks import TaskError, resolve_tasks

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


def _require_view(view: str, views: Counter, data_dir: Path, key: str) -> None:
    if view not in views:
        raise EvaluationError(f"{data_dir}: view '{view}' requested by evaluate.{key} is not in the dataset; "
                              f"its views are {sorted(views)}")


def _check_views(config, views: Counter, data_dir: Path) -> list[str]:
    ecfg = config.evaluate
    wanted = [ecfg.nominal_view] + [v for v in ecfg.views if v != ecfg.nominal_view]
    for v in wanted:
        _require_view(v, views, data_dir, "nominal_view" if v == ecfg.nominal_view else "views")
        if not config.data.view_allowed(v):
            raise EvaluationError(f"view '{v}' is excluded by data.views = {config.data.views} in the config")
    if ecfg.views:
        return wanted
    return [ecfg.nominal_view] + sorted(v for v in views if v != ecfg.nominal_view and config.data.view_allowed(v))


def evaluation_inputs(config, model_dir: str | Path, test_dir: str | Path | None = None) -> dict:
    """What an evaluation's numbers depend on besides the dataset: the ``evaluate`` and
    ``data`` sections and the SHA-256 of ``model.pt`` (a model trained further changes it);
    with an independent test dataset, its path and its shards' fingerprint."""
    from graphs.cache import dataset_fingerprint

    digest = hashlib.sha256((Path(model_dir) / "model.pt").read_bytes()).hexdigest()
    inputs = {"evaluate": to_mapping(config.evaluate), "data": to_mapping(config.data), "model_sha256": digest}
    if test_dir is not None:
        inputs["test_data"] = {"path": str(Path(test_dir).resolve()), **dataset_fingerprint(Path(test_dir))}
    return json.loads(json.dumps(json_safe(inputs)))


def evaluation_is_current(report_dir: str | Path, config, model_dir: str | Path,
                          test_dir: str | Path | None = None) -> bool:
    """True when ``report_dir/metrics.json`` was made from this config, this ``model.pt``
    and this independent test dataset (or none)."""
    path = Path(report_dir) / "metrics.json"
    if not path.is_file():
        return False
    try:
        saved = json.loads(path.read_text()).get("inputs")
    except (json.JSONDecodeError, AttributeError):
        return False
    return saved == evaluation_inputs(config, model_dir, test_dir)


def _log_headlines(name: str, summary: dict) -> None:
    from .summary import headline

    label = {"binary": "AUC", "multiclass": "accuracy", "regression": "resolution"}[summary["kind"]]
    for tagger, by_fraction in summary["results"].items():
        values = ", ".join(f"{f}: {headline(summary['kind'], e['nominal']) or float('nan'):.4g}"
                           for f, e in by_fraction.items())
        log.info("task %s, %s: %s by label fraction {%s}", name, tagger, label, values)


def evaluate(config, data_dir: str | Path, model_dir: str | Path, out_dir: str | Path, *, device: str = "auto",
             allow_incomplete: bool = False, test_dir: str | Path | None = None) -> dict:
    """Evaluate a pre-trained backbone and write the report.

    Args:
        config: the :class:`rs3l.config.RunConfig` (sections ``data``, ``model``, ``evaluate``).
        data_dir: the dataset (Parquet shards; train / val / test splits by the data contract).
        model_dir: the pre-training output holding ``model.pt``.
        out_dir: where metrics.json, report.html, predictions/, plots/ and heads/ go.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        allow_incomplete: accept a dataset whose ``metadata.json`` says ``complete: false``.
        test_dir: an independent dataset (other hard events, the same feature columns)
            whose every jet is a test jet; the ``test`` split of ``data_dir`` is then unused.

    Returns:
        The metrics dict, also written to ``out_dir/metrics.json``.

    Raises:
        EvaluationError / TaskError: a requested view or label missing from the dataset
            (naming it and the dataset path), or an unusable model directory.
    """
    # metadata, completeness, mixed or unreadable shards: refused before anything is trained
    check_dataset(data_dir, allow_incomplete=allow_incomplete)
    if test_dir is not None:
        check_dataset(test_dir, allow_incomplete=allow_incomplete)
    started = time.perf_counter()
    ctx, tasks, present = _context(config, Path(data_dir), Path(model_dir), Path(out_dir), resolve_device(device),
                                   None if test_dir is None else Path(test_dir))
    ecfg = config.evaluate
    metrics = {"schema": "rs3l-metrics/1", "rs3l_version": __version__, "data_dir": str(data_dir),
               "test_dir": None if test_dir is None else str(test_dir), "model_dir": str(model_dir),
               "inputs": ctx.settings["inputs"], "nominal_view": ecfg.nominal_view,
               "views": ctx.views, "taggers": [f"{m}_{h}" for m, h in ecfg.taggers],
               "label_fractions": list(ecfg.label_fractions), "signal_efficiencies": list(ecfg.signal_efficiencies),
               "bootstrap": ecfg.bootstrap, "confidence": ecfg.confidence, "training": {}, "tasks": {}}
    figures: dict[str, list] = {}
    for task in tasks:
        target = TaskTarget(task, config.data.labels, present)
        if task.kind == "regression":
            target.fit_energy(ctx.embedded["train"].jet_energy.numpy())
        chunks = []
        for mode, head in ecfg.taggers:
            for fraction in sorted(ecfg.label_fractions):
                try:
                    cols, record = train_cell(ctx, target, mode, head, fraction)
                except NoTrainingJets as err:
                    log.warning("task %s, %s_%s at fraction %g skipped: %s", task.name, mode, head, fraction, err)
                    continue
                if len(cols["label"]) == 0:
                    raise EvaluationError(f"{test_dir or data_dir}: the test split has no jets for task '{task.name}'")
                chunks.append(cols)
                metrics["training"].setdefault(task.name, {}).setdefault(f"{mode}_{head}", {})[f"{fraction:g}"] = record
        if chunks:
            metrics["tasks"][task.name], figures[task.name] = _summarise(ctx, task, target, chunks)
        else:
            log.warning("task %s: no tagger could be trained", task.name)
    if ecfg.tsne_samples and ctx.embedded.get("test") is not None and len(ctx.embedded["test"]) >= 4:
        figures["embedding"] = _tsne(ctx)
    metrics["seconds"] = time.perf_counter() - started
    metrics = json_safe(metrics)
    write_metrics_json(metrics, ctx.out_dir / "metrics.json")
    write_report(metrics, ctx.out_dir, figures)
    log.info("evaluation written to %s in %.1f s", ctx.out_dir / "report.html", metrics["seconds"])
    return metrics


def _context(config, data_dir: Path, model_dir: Path, out_dir: Path, device,
             test_dir: Path | None) -> tuple[EvaluationContext, list, list]:
    """Check the dataset(s) against the config, load the backbone, size the splits, embed them."""
    ecfg, contract = config.evaluate, config.data
    labels_count, views_count = dataset_inventory(data_dir)
    if test_dir is None:
        views = _check_views(config, views_count, data_dir)
    else:
        _require_view(ecfg.nominal_view, views_count, data_dir, "nominal_view (the training view)")
        test_labels, test_views = dataset_inventory(test_dir)
        views = _check_views(config, test_views, test_dir)
        lacking = sorted(c for c in contract.labels if c in labels_count and c not in test_labels)
        if lacking:
            raise EvaluationError(f"{test_dir}: the test dataset has no jets labelled {lacking}, which the training "
                                  f"dataset {data_dir} has; its labels are {sorted(test_labels)}")
    unknown = sorted(set(labels_count) - set(contract.labels))
    if unknown:
        log.info("labels %s are not in data.labels and are skipped", unknown)
    present = [c for c in contract.labels if c in labels_count]
    tasks = resolve_tasks(ecfg.tasks, present, str(data_dir))
    if not tasks:
        raise TaskError(f"{data_dir}: no task fits the labels {present}; name tasks in evaluate.tasks")
    log.info("evaluating %s on %s%s: tasks %s, taggers %s, views %s, device %s", model_dir, data_dir,
             f" (test jets: every jet of {test_dir})" if test_dir is not None else "",
             [t.name for t in tasks], [f"{m}_{h}" for m, h in ecfg.taggers], views, device)
    input_dims = contract.input_dims()
    backbone, model_config = load_pretrained_backbone(model_dir, config.model, input_dims, device)
    if ecfg.representation == "projection" and backbone.projection is not None:
        log.info("heads train on the projection head's output (%d-d), evaluate.representation = projection",
                 backbone.projection_dim)
        backbone = Projected(backbone).eval()
    elif ecfg.representation == "pooled":
        log.info("heads train on the pooled node features (%d-d) before the MLP to the %d-d embedding, "
                 "evaluate.representation = pooled", backbone.representation_dim, backbone.embedding_dim)
        backbone = Pooled(backbone).eval()
    # a head is reused only under the same settings and backbone (one trained further retrains its heads)
    settings = {"inputs": evaluation_inputs(config, model_dir, test_dir), "model": to_mapping(model_config)}
    ctx = EvaluationContext(config, data_dir, out_dir, device, backbone, model_config, input_dims, views, False,
                            settings, test_dir=test_dir)
    sizes = {split: len(ctx.loader(split, which).dataset)
             for split, which in (("train", ctx.nominal), ("val", ctx.nominal), ("test", views))}
    for split in ("train", "test"):
        if sizes[split] == 0:
            where = test_dir if split == "test" and test_dir is not None else data_dir
            raise EvaluationError(f"{where}: the {split} split has no jets of view(s) "
                                  f"{ctx.nominal if split == 'train' else views} (data.val_fraction / test_fraction?)")
    ctx.has_val = sizes["val"] > 0
    if not ctx.has_val:
        log.warning("the val split is empty: no model selection, every head keeps its last epoch")
    log.info("jets per split: %s", sizes)
    if "frozen" in ecfg.modes or ecfg.tsne_samples or any(t.kind == "regression" for t in tasks):
        embed_splits(ctx, sizes)
        missing = [v for v in views if v not in set(ctx.embedded["test"].view.tolist())]
        if missing:
            raise EvaluationError(f"{test_dir or data_dir}: the test split has no jets of view(s) {missing}")
    return ctx, tasks, present


def _summarise(ctx: EvaluationContext, task, target: TaskTarget, chunks: list[dict]) -> tuple[dict, list]:
    """Save a task's predictions, then compute its metrics and figures from the saved file."""
    ecfg = ctx.config.evaluate
    columns = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
    path = write_predictions(ctx.out_dir / "predictions" / f"{task.name}.parquet", columns, task=task.name,
                             kind=task.kind, classes=target.classes)
    columns, info = read_predictions(path)  # every number below comes from the saved file
    summary = summarise_task(columns, info, ecfg)
    _log_headlines(task.name, summary)
    return summary, task_figures(columns, info, summary, ctx.out_dir / "plots", nominal=ecfg.nominal_view,
                                 formats=ecfg.plot_formats)


def _tsne(ctx: EvaluationContext) -> list:
    from .embedding_plot import plot_embedding

    ecfg, t = ctx.config.evaluate, ctx.embedded["test"]
    log.info("t-SNE of %d test jets", min(ecfg.tsne_samples, len(t)))
    return [p for p in plot_embedding(t.z.numpy(), t.label.numpy(), t.view, ctx.config.data.labels,
                                      ctx.out_dir / "plots" / "embedding_tsne", max_points=ecfg.tsne_samples,
                                      perplexity=ecfg.tsne_perplexity, seed=ecfg.seed, formats=ecfg.plot_formats)
            if p.suffix == ".png"]
