"""Is the data pipeline the bottleneck? The loader alone, and pre-training end to end against the model alone.

Prints two markdown tables (issue 13):

1. **Loader alone**, pairs mode with the config's ``data`` section, the train split:
   graphs per second, and per CPU core, of the streaming per-jet path
   (``make_loader(..., cache=False)``, :class:`graphs.dataset.PairDataset`) and of the
   graph cache (``cache=True``, :mod:`graphs.cached_loader`), with 0 workers (the main
   process, one core) and with ``--workers`` worker processes (default: every core);
   ratio cached / streaming. Rates are the median over whole epochs after the first (each
   epoch of the streaming path starts its workers and fills its shuffle buffer again, as in
   training); the one-off cache build is timed separately.
2. **Pre-training end to end**: jets per second (two views per pair) of the real
   pre-training step, :class:`rs3l.train.trainer.Trainer` running
   ``ContrastiveModel`` + NT-Xent + the config's optimiser (Adam) over the loader, batches
   moved to the device non-blocking (bf16 autocast and gradient clipping as configured),
   beside the model-only rate: the same Trainer step repeated on one fixed batch of the same
   jets already on the device, at the same torch threads (and once with every core as a
   thread); ratio end-to-end / model-only. Each rate is the median of ``--repeat`` timed
   passes of at most ``--steps`` steps after one warm-up pass, the end-to-end and model-only
   passes alternating (the load of a shared machine drifts during a run).

torch threads follow :mod:`rs3l.threads` (``cores - workers``, at least 1, as
``rs3l pretrain`` sets them); the loader table runs with one torch thread in the main
process. The dataset is ``--data`` or one made here: ``rs3l generate`` on the config with
``--events`` hard events per process (default), or ``--synthetic``
(:func:`graphs.synthetic.write_synthetic_dataset`, not a simulation; seconds to make).

Usage::

    python benchmarks/bench_pipeline.py                          # quickstart, rs3l generate --events 400, CPU
    python benchmarks/bench_pipeline.py --data DIR --model rs3l --batch 512 --workers 16 --device cuda
    python benchmarks/bench_pipeline.py --synthetic --quick      # a minute or two on 2 idle cores
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _load(args: argparse.Namespace):
    """The run config, with the model preset of ``--model`` when given."""
    from rs3l.config import load_config
    from rs3l.models.config import BackboneConfig
    from sim_pairs.shipped_configs import CONFIG_DIR
    from sim_pairs.typed_config import from_mapping, load_yaml

    config = load_config(args.config)
    if args.model:
        path = Path(args.model) if args.model.endswith((".yaml", ".yml")) else CONFIG_DIR / "model" / f"{args.model}.yaml"
        config = dataclasses.replace(config, model=from_mapping(BackboneConfig, load_yaml(path), source=str(path)))
    return config


# --- the dataset ------------------------------------------------------------------------
def make_dataset(args: argparse.Namespace, config, tmp: Path) -> tuple[Path, str]:
    """``--data``, or a dataset written under ``tmp``; returns it and a line saying what it is."""
    if args.data is not None:
        return Path(args.data), f"{args.data} (given)"
    if args.synthetic:
        from graphs.synthetic import write_synthetic_dataset

        # view names that the quickstart's anchor / positive patterns (nominal@*, seed@*, ...) pair
        views = ("nominal@replica0", "nominal@replica1", "seed@replica0", "rehadronize@replica0", "vincia@replica0")
        data = write_synthetic_dataset(tmp / "data", n_shards=4, groups_per_shard=args.events // 2, views=views,
                                       n_particles=(40, 120))
        return data, f"synthetic (graphs.synthetic, not a simulation): 4 shards x {args.events // 2} groups x {len(views)} views"
    data = tmp / "data"
    cmd = [sys.executable, "-m", "rs3l", "generate", "--out", str(data), "--events", str(args.events)]
    if args.config is not None:
        cmd[4:4] = ["--config", str(args.config)]
    print(f"making the dataset: {' '.join(cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"rs3l generate failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    return data, (f"rs3l generate, {args.config or 'quickstart'} config, --events {args.events} per process "
                  f"({time.perf_counter() - t0:.0f} s to generate)")


def _set_epoch(loader, epoch: int) -> None:
    for obj in (getattr(loader, "sampler", None), getattr(loader, "dataset", None)):
        if obj is not None and hasattr(obj, "set_epoch"):
            obj.set_epoch(epoch)


# --- table 1: the loader alone ----------------------------------------------------------
def loader_rate(data_dir: Path, contract, batch: int, workers: int, cache: bool, seconds: float,
                max_batches: int) -> dict:
    """Graphs per second over whole epochs (median after the first), first-batch latency, epochs timed."""
    from graphs.dataset import make_loader
    from rs3l.train.trainer import count_jets

    loader = make_loader(data_dir, contract, "train", batch, mode="pairs", seed=0, shuffle=True,
                         num_workers=workers, cache=cache, progress=False)
    rates, first, start, epoch = [], None, time.perf_counter(), 0
    while epoch < 3 or (time.perf_counter() - start < seconds and epoch < 50):
        _set_epoch(loader, epoch)
        t0, graphs = time.perf_counter(), 0
        for i, item in enumerate(loader):
            if first is None:
                first = time.perf_counter() - t0
            graphs += count_jets(item)
            if i + 1 >= max_batches:
                break
        rates.append(graphs / (time.perf_counter() - t0))
        epoch += 1
    del loader  # stops persistent workers before the next measurement
    return {"rate": statistics.median(rates[1:]), "first": first, "epochs": len(rates) - 1}


def loader_table(data_dir: Path, contract, args: argparse.Namespace, tmp: Path) -> list[str]:
    from graphs.cache import open_cache

    contract = dataclasses.replace(contract, cache_dir=str(tmp / "graph-cache"))  # a fresh cache, timed here
    t0 = time.perf_counter()
    cache = open_cache(data_dir, contract, root=contract.cache_dir, progress=False)
    build = time.perf_counter() - t0
    torch.set_num_threads(1)
    rows = {}
    for workers in (0, args.workers):
        for cached in (False, True):
            rows[workers, cached] = loader_rate(data_dir, contract, args.batch, workers, cached, args.seconds,
                                                args.max_batches)
    lines = [f"Loader alone: {contract.graph} graphs, pairs of `{contract.pairing}` pairing, batch {args.batch} pairs, "
             f"train split; median graphs/s over {min(r['epochs'] for r in rows.values())}+ epochs after the first; "
             f"per core = graphs/s / max(1, workers); main process 1 torch thread",
             f"One-off cache build: {build:.1f} s for {cache.n_jets} jets and views, {len(cache.x)} nodes "
             f"({cache.n_jets / build:.0f} jets/s, one process)", "",
             "| path | workers | cores | graphs/s | graphs/s per core | first batch s | ratio cached/streaming |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for workers in (0, args.workers):
        cores = max(1, workers)
        for cached in (False, True):
            r = rows[workers, cached]
            ratio = f"{r['rate'] / rows[workers, False]['rate']:.1f}" if cached else ""
            lines.append(f"| {'cached' if cached else 'streaming'} | {workers} | {cores} | {r['rate']:,.0f} | "
                         f"{r['rate'] / cores:,.0f} | {r['first']:.2f} | {ratio} |")
    return lines


# --- table 2: pre-training end to end against the model alone ----------------------------
def _trainer(config, contract, device: str, steps: int, out: Path):
    from rs3l.losses.nt_xent import NTXentLoss
    from rs3l.models.backbone import build_backbone
    from rs3l.train.pretrain import ContrastiveModel, contrastive_step
    from rs3l.train.trainer import Trainer, seed_everything

    seed_everything(0)
    settings = dataclasses.replace(config.pretrain, max_steps_per_epoch=steps, patience=None)
    model = ContrastiveModel(build_backbone(config.model, contract.input_dims()))
    return Trainer(model, contrastive_step(NTXentLoss(settings.temperature), "pairs"), settings, out_dir=out,
                   device=device, progress=False)


def _pass(trainer, batches, epoch: int) -> float:
    """Jets/s of one Trainer pass over ``batches`` (a loader's epoch, at most ``--steps`` steps)."""
    trainer.epoch = epoch  # the loader reshuffles per epoch, as in training
    return trainer.train_epoch(batches)["jets_per_s"]


def training_row(config, data_dir: Path, contract, args, workers: int, cache: bool, fixed, out: Path) -> dict:
    """End to end and model only at the torch threads ``rs3l pretrain`` would use beside ``workers``;
    their timed passes alternate, so a drift in the load of a shared machine hits both alike."""
    from graphs.dataset import make_loader
    from rs3l.device import move_to_device
    from rs3l.threads import set_torch_threads

    threads = set_torch_threads(workers)
    end_to_end, alone = (_trainer(config, contract, args.device, args.steps, out) for _ in range(2))
    loader = make_loader(data_dir, contract, "train", args.batch, mode="pairs", seed=0, shuffle=True,
                         num_workers=workers, cache=cache, progress=False)
    on_device = [move_to_device(fixed, alone.device)] * args.steps
    rates: dict[str, list[float]] = {"e2e": [], "model": []}
    for r in range(args.repeat + 1):  # pass 0 warms up: workers, the kNN kernel, CUDA kernels
        e2e, model = _pass(end_to_end, loader, r), _pass(alone, on_device, r)
        if r:
            rates["e2e"].append(e2e)
            rates["model"].append(model)
    del loader  # stops persistent workers before the next row
    return {"threads": threads, **{k: statistics.median(v) for k, v in rates.items()}}


def training_table(config, data_dir: Path, contract, args, tmp: Path) -> list[str]:
    from graphs.dataset import make_loader
    from rs3l.device import move_to_device

    contract = dataclasses.replace(contract, cache_dir=str(tmp / "graph-cache"))
    # the model-only batch: real jets of this dataset, the first batch of the cached loader
    fixed = next(iter(make_loader(data_dir, contract, "train", args.batch, mode="pairs", seed=0, num_workers=0,
                                  progress=False)))
    rows = {(cached, workers): training_row(config, data_dir, contract, args, workers, cached, fixed, tmp / "run")
            for cached in (True, False) for workers in (0, args.workers)}
    cores = _cores()
    torch.set_num_threads(cores)
    every_core = _trainer(config, contract, args.device, args.steps, tmp / "run")
    on_device = [move_to_device(fixed, every_core.device)] * args.steps
    every = statistics.median([_pass(every_core, on_device, r) for r in range(args.repeat + 1)][1:])
    lines = [f"Pre-training on {args.device}: model {args.model or 'of the config'}, "
             f"batch {args.batch} pairs ({2 * args.batch} jets), NT-Xent, {config.pretrain.optimizer}; median of "
             f"{args.repeat} passes of at most {args.steps} steps (a pass ends with the loader's epoch) after a "
             f"warm-up pass, end-to-end and model-only passes alternating; jets/s count both views",
             f"Model only with every core as a torch thread ({cores}): {every:,.0f} jets/s", "",
             "| loader | workers | torch threads | end-to-end jets/s | model-only jets/s | ratio end-to-end / model-only |",
             "|---|---:|---:|---:|---:|---:|"]
    for (cached, workers), r in rows.items():
        lines.append(f"| {'cached' if cached else 'streaming'} | {workers} | {r['threads']} | {r['e2e']:,.0f} | "
                     f"{r['model']:,.0f} | {r['e2e'] / r['model']:.2f} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=None, help="an existing rs3l dataset (default: make one)")
    p.add_argument("--synthetic", action="store_true", help="make a synthetic dataset instead of rs3l generate")
    p.add_argument("--events", type=int, default=None,
                   help="hard events per process for rs3l generate (default 400, quick 200); synthetic: groups")
    p.add_argument("--config", type=Path, default=None, help="run config (default: the embedded quickstart)")
    p.add_argument("--model", default=None, help="model preset (configs/model/NAME.yaml, e.g. rs3l) or a YAML file")
    p.add_argument("--batch", type=int, default=None, help="pairs per batch (default: the config's pretrain.batch_size)")
    p.add_argument("--steps", type=int, default=None, help="training steps per timed pass (default 20, quick 8)")
    p.add_argument("--repeat", type=int, default=None, help="timed passes, median reported (default 3, quick 2)")
    p.add_argument("--workers", type=int, default=None, help="loader workers of the 'all cores' rows (default: cores)")
    p.add_argument("--seconds", type=float, default=None, help="least seconds per loader measurement (default 4, quick 1)")
    p.add_argument("--max-batches", type=int, default=200, help="batches per loader epoch at most")
    p.add_argument("--device", default="cpu", help="cpu or cuda (training)")
    p.add_argument("--quick", action="store_true", help="fewer events, steps and repeats")
    p.add_argument("--skip", choices=("loader", "training"), default=None, help="leave one table out")
    args = p.parse_args(argv)
    args.events = args.events or (200 if args.quick else 400)
    args.steps = args.steps or (8 if args.quick else 20)
    args.repeat = args.repeat or (2 if args.quick else 3)
    args.seconds = args.seconds if args.seconds is not None else (1.0 if args.quick else 4.0)
    args.workers = _cores() if args.workers is None else args.workers
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("--device cuda: CUDA is not available here")
    config = _load(args)
    args.batch = args.batch or config.pretrain.batch_size
    contract = config.data

    with tempfile.TemporaryDirectory(prefix="bench_pipeline.") as tmp:
        tmp = Path(tmp)
        data_dir, what = make_dataset(args, config, tmp)
        load = os.getloadavg()
        print(f"\ndataset: {what}")
        print(f"machine: {_cores()} usable CPU cores, load average {load[0]:.2f} at start; torch {torch.__version__}"
              + (f", {torch.cuda.get_device_name()}" if args.device.startswith("cuda") else "") + "\n", flush=True)
        if args.skip != "loader":
            print("\n".join(loader_table(data_dir, contract, args, tmp)) + "\n", flush=True)
        if args.skip != "training":
            print("\n".join(training_table(config, data_dir, contract, args, tmp)) + "\n", flush=True)
        print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
