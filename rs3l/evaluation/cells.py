"""One cell of the evaluation table: a tagger trained on a task at a label fraction, and its predictions.

:func:`rs3l.evaluation.evaluate.evaluate` fills a table whose rows are taggers
(frozen linear, frozen MLP, fine-tuned, supervised) and whose columns are label
fractions, one table per task. :class:`EvaluationContext` holds what every cell
shares (the backbone, the loaders' settings, the embedded splits); :func:`train_cell`
trains one tagger and predicts every compared view of the test split.
"""

from __future__ import annotations

import copy
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .embedding_heads import train_on_embeddings
from .heads import Tagger, build_head
from .targets import TaskTarget
from .train_heads import EmbeddedSet, embed, predict_embeddings, predict_graphs, task_selector, train_on_graphs

__all__ = ["EvaluationContext", "train_cell", "embed_splits", "independent_test_contract"]

log = logging.getLogger(__name__)


@dataclass
class EvaluationContext:
    """What every cell of an evaluation shares.

    Attributes:
        config: the run config; data_dir, out_dir: dataset and report directories.
        device: where heads and taggers train.
        backbone, model_config, input_dims: the pre-trained backbone and how to build a fresh one.
        views: the compared views of the test split (nominal first).
        has_val: whether the val split has jets (model selection and early stopping).
        settings: what a head's checkpoint must match to be reused (inputs, model).
        embedded: split -> :class:`EmbeddedSet` of the frozen backbone (filled by :func:`embed_splits`).
        test_dir: an independent dataset whose every jet is a test jet, instead of the
            ``test`` split of ``data_dir`` (None: that split).
    """

    config: object
    data_dir: Path
    out_dir: Path
    device: torch.device
    backbone: torch.nn.Module
    model_config: object
    input_dims: dict
    views: list[str]
    has_val: bool
    settings: dict
    embedded: dict[str, EmbeddedSet | None] = field(default_factory=lambda: {"val": None})
    test_dir: Path | None = None

    @property
    def nominal(self) -> list[str]:
        return [self.config.evaluate.nominal_view]

    def loader(self, split: str, views: list[str], *, shuffle: bool = False, select=None):
        """Single jets of ``split`` and ``views`` from the graph cache."""
        from graphs.dataset import make_loader

        ecfg = self.config.evaluate
        data_dir, contract = self.data_dir, self.config.data
        if split == "test" and self.test_dir is not None:
            data_dir, contract = self.test_dir, independent_test_contract(contract)
        return make_loader(data_dir, contract, split, ecfg.batch_size, mode="single", seed=ecfg.seed,
                           shuffle=shuffle, num_workers=ecfg.num_workers, views=views, select=select)


def independent_test_contract(contract):
    """The ``data`` section that reads every jet of an independent test dataset as a test jet.

    A shared ``cache_dir`` gets a subdirectory, so that the two datasets' caches (same
    settings, same name) do not replace each other.
    """
    out = copy.copy(contract)  # not dataclasses.replace: a config may not give every jet to one split
    out.val_fraction, out.test_fraction = 0.0, 1.0
    if contract.cache_dir is not None:
        out.cache_dir = str(Path(contract.cache_dir) / "test-data")
    return out


def embed_splits(ctx: EvaluationContext, sizes: dict[str, int]) -> None:
    """Embed the train and val splits (nominal view) and the test split (every compared view) once."""
    log.info("embedding the train / val / test splits with the pre-trained backbone")
    for split, views in (("train", ctx.nominal), ("val", ctx.nominal), ("test", ctx.views)):
        if sizes[split]:
            ctx.embedded[split] = embed(ctx.backbone, ctx.loader(split, views), ctx.device, desc=f"embedding {split}")


def _reusable(path: Path, settings: dict) -> bool:
    """Prepare a head's directory; True when its checkpoint was made with these settings."""
    ckpt = path / "checkpoint.pt"
    if ckpt.is_file():
        from rs3l.train.checkpoint import load_checkpoint

        if (load_checkpoint(ckpt).get("config") or {}) == settings:
            return True
        log.info("%s: settings changed since the last run, training again", path)
        shutil.rmtree(path)
    return False


def _graph_tagger(ctx: EvaluationContext, mode: str, head: torch.nn.Module) -> tuple[Tagger, float]:
    ecfg = ctx.config.evaluate
    if mode == "finetune":
        net = copy.deepcopy(ctx.backbone).train()
        for p in net.parameters():
            p.requires_grad_(True)
        return Tagger(net, head), ecfg.finetune_lr
    from rs3l.models.backbone import Pooled, Projected, build_backbone

    torch.manual_seed(ecfg.seed)
    net = build_backbone(ctx.model_config, ctx.input_dims)
    if isinstance(ctx.backbone, (Projected, Pooled)):  # the same architecture as the heads of the other rows see
        net = type(ctx.backbone)(net)
    return Tagger(net, head), ecfg.supervised_lr


def train_cell(ctx: EvaluationContext, target: TaskTarget, mode: str, head_kind: str,
               fraction: float) -> tuple[dict[str, np.ndarray], dict]:
    """Train one tagger on ``fraction`` of the task's labelled jets; predict the test split.

    Returns:
        (prediction columns with ``tagger`` and ``label_fraction``, the training record
        ``{epochs, steps, stopped_early, best_val_loss, final_train_loss}``).

    Raises:
        NoTrainingJets: the task and fraction leave no training jets.
    """
    ecfg, task = ctx.config.evaluate, target.task
    tagger = f"{mode}_{head_kind}"
    run = ctx.out_dir / "heads" / task.name / tagger / f"fraction_{fraction:g}"
    settings = {**ctx.settings, "task": task.name, "tagger": tagger, "fraction": fraction, "target": target.state(),
                "head_input": ecfg.head_input}
    resume = _reusable(run, settings)
    log.info("task %s: training %s on %s of the labelled jets -> %s", task.name, tagger, f"{fraction:.0%}", run)
    torch.manual_seed(ecfg.seed)
    head = build_head(head_kind, ctx.backbone.embedding_dim, target.out_dim, ecfg.mlp_hidden, ecfg.head_input)
    common = dict(out_dir=run, fraction=fraction, device=ctx.device, seed=ecfg.seed, resume=resume, config=settings,
                  patience=ecfg.patience)
    select = task_selector(target, fraction, ecfg.seed)
    if mode == "frozen":
        result = train_on_embeddings(head, ctx.embedded["train"], ctx.embedded["val"], target, epochs=ecfg.epochs,
                                     lr=ecfg.lr, batch_size=ecfg.head_batch_size, select=select, **common)
        cols = predict_embeddings(head.to(ctx.device), ctx.embedded["test"], target)
    else:
        model, lr = _graph_tagger(ctx, mode, head)
        train = ctx.loader("train", ctx.nominal, shuffle=True, select=select)
        val = ctx.loader("val", ctx.nominal, select=task_selector(target)) if ctx.has_val else None
        result = train_on_graphs(model, train, val, target, epochs=ecfg.finetune_epochs, lr=lr,
                                 min_steps=ecfg.min_steps, **common)
        cols, _ = predict_graphs(model, ctx.loader("test", ctx.views, select=task_selector(target)), target,
                                 device=ctx.device, desc=f"predicting {tagger}")
    n = len(cols["label"])
    cols["tagger"], cols["label_fraction"] = np.full(n, tagger), np.full(n, fraction, np.float32)
    hist = result.history
    record = {"epochs": len(hist), "steps": result.steps, "stopped_early": result.stopped_early,
              "best_val_loss": min((r["val_loss"] for r in hist if "val_loss" in r), default=None),
              "final_train_loss": hist[-1]["train_loss"] if hist else None}
    return cols, record
