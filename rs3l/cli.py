"""The ``rs3l`` command line: parse, build the config, call the library.

Every subcommand is a thin wrapper over a function a user can call from a
notebook just the same:

=========  ==========================================  ==========================
command    does                                        library function
=========  ==========================================  ==========================
generate   hard events, showers, jets -> Parquet        sim_pairs.generate.generate
import     a public jet dataset -> Parquet              sim_pairs.importers.import_*
pretrain   contrastive pre-training of the backbone     rs3l.train.pretrain.pretrain
evaluate   heads, metrics, robustness, report           rs3l.evaluation.evaluate.evaluate
run        all three, skipping finished stages          rs3l.pipeline.run
config     print the resolved config as YAML            rs3l.config.load_config
=========  ==========================================  ==========================

``torchrun --nproc-per-node N -m rs3l pretrain ...`` runs pre-training with
DistributedDataParallel.

Bad input (an option, a config file, a dataset, a model file) exits with status 2
and one line naming the option or the file and field; ``-v`` adds the traceback.
Every command resumes when run again with the same arguments.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sim_pairs.generate import GenerationError

from sim_pairs.typed_config import ConfigError

# Errors raised for bad input or a failed stage carry a message naming the file, field or
# view; every one of them subclasses ValueError (or is GenerationError); the OSErrors are
# a mistyped or unwritable path, and name it.
_USER_ERRORS = (ValueError, GenerationError, FileNotFoundError, FileExistsError, IsADirectoryError,
                NotADirectoryError, PermissionError)

log = logging.getLogger("rs3l")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rs3l", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    def config_arg(p):
        p.add_argument("--config", type=Path, default=None, help="run config YAML (default: the embedded configs/quickstart.yaml)")

    def device_arg(p):
        p.add_argument("--device", default="auto", help="auto (CUDA if available, else CPU), cpu, cuda, cuda:N, mps")

    def incomplete_arg(p):
        p.add_argument("--allow-incomplete", action="store_true",
                       help="use a dataset whose generation has not finished (metadata.json complete: false)")

    def generation_args(p):
        p.add_argument("--events", type=int, default=None, help="hard events per process (overrides the config)")
        p.add_argument("--seed", type=int, default=None, help="master seed (overrides the config)")
        p.add_argument("--scheduler", default=None, help="Dask scheduler address (tcp://host:8786); default: a local cluster")
        p.add_argument("--workers", type=int, default=None,
                       help="local Dask workers, >= 1 (default: one per core; 1: no cluster)")

    p = sub.add_parser("generate", help="generate a dataset of jet views")
    config_arg(p)
    p.add_argument("--out", type=Path, required=True, help="dataset directory to write (resumes if it exists)")
    generation_args(p)

    p = sub.add_parser("pretrain", help="contrastive pre-training of the backbone")
    config_arg(p)
    p.add_argument("--data", type=Path, required=True, help="dataset directory from `rs3l generate`")
    p.add_argument("--out", type=Path, required=True, help="model directory to write (resumes from its checkpoint)")
    p.add_argument("--restart", action="store_true",
                   help="start again from epoch 1, discarding the checkpoint in --out (default: resume from it)")
    p.add_argument("--resume", action="store_true", help=argparse.SUPPRESS)  # the default now; kept for old scripts
    incomplete_arg(p)
    device_arg(p)

    p = sub.add_parser("prepare", help="build the graph cache of a dataset for the config's data section")
    config_arg(p)
    p.add_argument("--data", type=Path, required=True, help="dataset directory")
    p.add_argument("--rebuild", action="store_true", help="build it again even when it is current")
    incomplete_arg(p)

    p = sub.add_parser("evaluate", help="train heads on the frozen backbone and write the report")
    config_arg(p)
    p.add_argument("--data", type=Path, required=True, help="dataset directory")
    p.add_argument("--model", type=Path, required=True, help="model directory from `rs3l pretrain`")
    p.add_argument("--out", type=Path, required=True, help="report directory to write")
    p.add_argument("--test-data", type=Path, help="an independent dataset (other hard events) whose every jet is a "
                   "test jet, instead of the test split of --data")
    incomplete_arg(p)
    device_arg(p)

    p = sub.add_parser("run", help="generate, pretrain and evaluate, skipping finished stages")
    config_arg(p)
    p.add_argument("--out", type=Path, required=True, help="run directory (data/, model/, report/ inside)")
    generation_args(p)
    device_arg(p)

    p = sub.add_parser("import", help="import a public jet dataset (JetClass, Top Tagging, q/g) as an rs3l dataset")
    p.set_defaults(config=None)  # the run config plays no part in an import
    formats = p.add_subparsers(dest="format", required=True)
    for name, files, what in (("jetclass", "FILE.root", "JetClass ROOT files (tree 'tree')"),
                              ("toptag", "FILE.h5", "Top Tagging HDF5 files (pandas key 'table')"),
                              ("qg", "FILE.npz", "Pythia or Herwig quark/gluon .npz files (X, y)")):
        q = formats.add_parser(name, help=what)
        q.add_argument("files", nargs="+", type=Path, metavar=files, help=what)
        q.add_argument("--out", type=Path, required=True, help="dataset directory (created, resumed or appended to)")
        q.add_argument("--view", default="nominal", help="view name of these jets, e.g. pythia or herwig (default: nominal)")
        q.add_argument("--chunk-size", type=int, default=50_000, help="jets per shard (bounds memory; default 50000)")

    p = sub.add_parser("config", help="print the resolved config")
    config_arg(p)
    return parser


def _check_options(args: argparse.Namespace) -> str | None:
    """The first bad option as one line naming it, or None."""
    for name, least in (("workers", 1), ("seed", 0), ("events", 0)):
        value = getattr(args, name, None)
        if value is not None and value < least:
            return f"--{name} {value}: expected an integer >= {least}"
    for name in ("out", "data", "model"):
        path = getattr(args, name, None)
        if path is not None and path.exists() and not path.is_dir():
            return f"--{name} {path}: is a file, expected a directory"
    if getattr(args, "resume", False) and getattr(args, "restart", False):
        return "--resume and --restart exclude each other"
    return None


def _one_line(err: BaseException) -> str:
    """The message of ``err`` on one line; from a DataLoader worker, the worker's own error line."""
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    if len(lines) > 1 and "Original Traceback" in str(err):
        return lines[-1]
    return " ".join(lines) if len(lines) <= 3 else lines[0]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging(args.verbose)
    from .config import load_config

    problem = _check_options(args)
    if problem is not None:
        log.error("%s", problem)
        return 2
    try:
        config = load_config(args.config)
    except ConfigError as err:
        log.error("%s", _one_line(err))
        return 2
    base_dir = Path(config.base_dir)

    try:
        return _dispatch(args, config, base_dir)
    except _USER_ERRORS as err:
        # bad input (a file, a field, a view): the message names it; the traceback is noise
        # unless asked for
        if args.verbose:
            log.exception("%s", err)
        else:
            log.error("%s: %s", type(err).__name__, _one_line(err))
        return 2
    except KeyboardInterrupt:
        log.error("interrupted; the same command resumes where this one stopped")
        return 130


def _dispatch(args: argparse.Namespace, config, base_dir: Path) -> int:
    if args.command == "config":
        import yaml

        print(yaml.safe_dump(config.to_dict(), sort_keys=False))
        return 0
    if args.command == "import":
        from sim_pairs import importers

        run = {"jetclass": importers.import_jetclass, "toptag": importers.import_toptag, "qg": importers.import_qg}
        done = run[args.format](args.files, args.out, view=args.view, chunk_size=args.chunk_size)
        log.info("%s: view '%s' holds %d jets in %d shards (%s)", done.out, done.view, done.n_jets, len(done.shards),
                 ", ".join(f"{k} {v}" for k, v in done.labels.items()))
        return 0
    if args.command == "generate":
        from sim_pairs.generate import generate

        generate(config.generation, args.out, base_dir=base_dir, events=args.events, seed=args.seed,
                 scheduler=args.scheduler, workers=args.workers)
        return 0
    if args.command == "pretrain":
        from .train.pretrain import pretrain

        pretrain(config, args.data, args.out, device=args.device, resume=not args.restart,
                 allow_incomplete=args.allow_incomplete)
        return 0
    if args.command == "prepare":
        from graphs.cache import build_cache, cache_dir_for, open_cache
        from sim_pairs.io import check_dataset

        check_dataset(args.data, allow_incomplete=args.allow_incomplete)
        if args.rebuild:
            build_cache(args.data, config.data, cache_dir_for(args.data, config.data, config.data.cache_dir))
        cache = open_cache(args.data, config.data, root=config.data.cache_dir)
        log.info("graph cache %s: %d jets, %d nodes (%s graphs)", cache.directory, cache.n_jets, len(cache.x), cache.graph)
        return 0
    if args.command == "evaluate":
        from .evaluation.evaluate import evaluate
        from .threads import set_torch_threads

        ecfg = config.evaluate
        set_torch_threads(ecfg.num_workers if ecfg.num_workers is not None else config.data.num_workers)
        evaluate(config, args.data, args.model, args.out, device=args.device, allow_incomplete=args.allow_incomplete,
                 test_dir=args.test_data)
        return 0
    if args.command == "run":
        from .pipeline import run

        run(config, args.out, events=args.events, seed=args.seed, scheduler=args.scheduler,
            workers=args.workers, device=args.device)
        return 0
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
