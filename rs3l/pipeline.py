"""``rs3l run``: generation, pre-training and evaluation chained in one directory.

Layout of a run directory::

    OUT/data/     the dataset (sim_pairs.io layout)
    OUT/model/    the pre-trained backbone (rs3l.train.pretrain)
    OUT/report/   metrics.json, predictions, plots, report.html (rs3l.evaluation)

A stage whose output is complete is skipped, so re-running a stopped run picks up
where it stopped: generation resumes shard by shard, pre-training from its last
checkpoint, evaluation from its finished heads. A dataset or model made with a
different config is refused, never mixed in; a report made from another evaluate
config or another ``model.pt`` is made again.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from .config import RunConfig

__all__ = ["run"]

log = logging.getLogger(__name__)


def run(config: RunConfig, out: Path, *, events: int | None = None, seed: int | None = None,
        scheduler: str | None = None, workers: int | None = None, device: str = "auto") -> dict:
    """Run every stage into ``out`` and return the evaluation metrics.

    Args:
        config: the run config.
        out: run directory (created).
        events: hard events per process, overriding the config (quick runs).
        seed: master seed, overriding the config.
        scheduler: Dask scheduler address for generation (default: a local cluster).
        workers: local Dask workers (default: one per core).
        device: training device, ``auto`` picks CUDA when present.
    """
    from sim_pairs.generate import generate
    from .evaluation.evaluate import evaluate, evaluation_is_current
    from .train.pretrain import pretrain

    out = Path(out)
    data, model, report = out / "data", out / "model", out / "report"
    started = time.perf_counter()

    log.info("stage 1/3: generation -> %s", data)
    generate(config.generation, data, base_dir=Path(config.base_dir), events=events, seed=seed,
             scheduler=scheduler, workers=workers)

    if (model / "model.pt").is_file():
        from .train.checkpoint import load_checkpoint
        from .train.same_config import check_same_training_config

        check_same_training_config(load_checkpoint(model / "model.pt").get("config"), config.to_dict(),
                                   model / "model.pt")
        log.info("stage 2/3: pre-training already complete in %s, skipping", model)
    else:
        log.info("stage 2/3: pre-training -> %s", model)
        pretrain(config, data, model, device=device, resume=True)

    if evaluation_is_current(report, config, model):
        log.info("stage 3/3: evaluation already complete in %s, skipping", report)
        import json

        metrics = json.loads((report / "metrics.json").read_text())
    else:
        if (report / "metrics.json").is_file():
            log.info("stage 3/3: the evaluate/data config or model.pt changed since %s was written: evaluating "
                     "again (heads whose settings did not change resume)", report / "metrics.json")
        log.info("stage 3/3: evaluation -> %s", report)
        from .threads import set_torch_threads

        set_torch_threads(config.evaluate.num_workers)
        metrics = evaluate(config, data, model, report, device=device)

    log.info("done in %.1f min; open %s", (time.perf_counter() - started) / 60, report / "report.html")
    return metrics
