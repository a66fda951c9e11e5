"""The robustness claim: RS3L's protocol and a held-out protocol, every tagger, several seeds, errors.

Does pre-training on re-simulated pairs give a tagger whose output moves less when the
shower model changes? One dataset (``configs/generation/robustness.yaml``: QCD and
H->bb, showered nominal, new seed, FSR up/down, Vincia and the thermal string model,
one COCOA-like detector replica), the same backbone (``configs/model/quickstart.yaml``)
and epochs, pre-trained under each *arm* and each seed:

==============  =====================================================================
``rs3l``        RS3L protocol (``configs/robustness_rs3l.yaml``): nominal paired with
                seed, FSR up/down and Vincia (standing in for RS3L's Herwig); robustness
                measured on Vincia, a variation the pairs contain
``heldout``     held-out protocol (``configs/robustness_heldout.yaml``): Vincia and thermal
                never paired, only seed and FSR up/down
``projection``  the RS3L protocol with a projection head after the 8-d embedding
                (``model.projection: [64, 8]``, SimCLR practice); heads on the embedding
                before it (``evaluate.representation: embedding``)
==============  =====================================================================

Ablations of the RS3L protocol, run when named in ``--arms``: ``temperature`` (NT-Xent
T = 0.5 instead of 0.1), ``wide`` (32-d embedding instead of 8), ``long`` (three
times the pre-training epochs) and ``vincia`` (every pair is nominal with Vincia: the
most direct invariance to the shower model that robustness is measured on) and
``finetune`` (the fine-tuned model at the supervised tagger's lr 1e-3 instead of RS3L's
1e-4, which a few hundred steps may leave too close to the pre-trained backbone) and
``pooled`` (heads on the pooled node features (64-d) of the RS3L protocol's backbones,
before the MLP to the 8-d embedding: that MLP is itself a projection head, and SimCLR's
linear probes read the representation before theirs); ``standardised`` and ``pooled_std``
(frozen heads on the embedding or the pooled features standardised per feature with the
training jets' mean and standard deviation instead of divided by their L2 norm: sum
pooling writes the multiplicity into the norm, which the L2 normalisation removes).

Each pre-trained backbone is evaluated with ``rs3l.evaluation.evaluate`` (H->bb vs
QCD): a frozen linear probe, a frozen MLP and the fine-tuned ("floating") model, at
1%, 10% and 100% of the labels; the supervised tagger (the same architecture from
scratch, MLP head) is trained once per seed. The thermal model stays out of the pairs
in every arm. Figures (``rs3l.evaluation.comparison``): AUC, R50 = 1/eps_B at
eps_S = 0.5, W1(nominal, V) on H->bb jets, the normalised W1 (divided by the same
tagger's W1 between H->bb and QCD jets on nominal), and the background-efficiency
shift at the nominal working point eps_S = 0.5. Each is the mean over seeds with a
bootstrap error (test groups resampled, the same resamples for every run) and a seed
error; each ratio to the supervised tagger is *resolved* when its distance from 1 is
at least three total errors, and the table says which are.

The test jets come from an independent dataset (``--test-events HBB QCD``: other hard
events, generation seed + 1, only the compared views nominal, seed, Vincia and thermal),
and the training dataset keeps no test split. A W1 between two views is resolved by the
number of test jets, which cost only their generation and inference, not training;
``--test-events 0 0`` tests on the training dataset's test split instead.

Every stage is cached in ``--out`` and a re-run resumes (generation shard by shard, a
pre-training from its checkpoint, an evaluation whose metrics match its inputs).

Usage::

    python benchmarks/bench_robustness.py --size hour       # the 2-core preset (about an hour)
    python benchmarks/bench_robustness.py --size quick      # a smoke test, minutes
    python benchmarks/bench_robustness.py --size large --device cuda --out runs/robust_gpu
    python benchmarks/bench_robustness.py --arms rs3l heldout --seeds 0 1 2 3 4
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from pathlib import Path

# the pairing benchmark's stage-time file, settings check and generation step (benchmarks/ is on sys.path)
from bench_quality import Timings, check_settings, generate_once
from sim_pairs.shipped_configs import CONFIG_DIR

log = logging.getLogger("bench_robustness")

TASK = "hbb_vs_qcd"
NOMINAL, SEED, VINCIA, THERMAL = "nominal@replica0", "seed@replica0", "vincia@replica0", "thermal@replica0"
VIEWS = [VINCIA, THERMAL, SEED]
TEST_VIEWS = [NOMINAL, *VIEWS]  # the views whose outputs are compared (FSR up/down only pair)
ARMS = {  # name -> (table label, run config, section -> overrides)
    "rs3l": ("RS3L protocol", "robustness_rs3l.yaml", {}),
    "heldout": ("held-out protocol", "robustness_heldout.yaml", {}),
    "projection": ("RS3L protocol + projection head", "robustness_rs3l.yaml", {"model": {"projection": [64, 8]}}),
    # ablations of the RS3L protocol, run on request (--arms): what else might move the robustness
    "temperature": ("RS3L protocol, T = 0.5", "robustness_rs3l.yaml", {"pretrain": {"temperature": 0.5}}),
    "wide": ("RS3L protocol, 32-d embedding", "robustness_rs3l.yaml", {"model": {"embedding_dim": 32}}),
    "long": ("RS3L protocol, 3x epochs", "robustness_rs3l.yaml", {"pretrain": {"epochs_factor": 3}}),
    "vincia": ("RS3L protocol, Vincia the only positive", "robustness_rs3l.yaml",
               {"data": {"positive_views": ["vincia@replica0"]}}),
    "finetune": ("RS3L protocol, fine-tuned at lr 1e-3", "robustness_rs3l.yaml",
                 {"evaluate": {"finetune_lr": 1.0e-3, "modes": ["finetune"]}}),
    "pooled": ("RS3L protocol, heads on the pooled features", "robustness_rs3l.yaml",
               {"evaluate": {"representation": "pooled"}}),
    "standardised": ("RS3L protocol, frozen heads on the standardised embedding", "robustness_rs3l.yaml",
                     {"evaluate": {"head_input": "standardise", "modes": ["frozen"]}}),
    "pooled_std": ("RS3L protocol, frozen heads on the standardised pooled features", "robustness_rs3l.yaml",
                   {"evaluate": {"representation": "pooled", "head_input": "standardise", "modes": ["frozen"]}}),
}
SUPERVISED = "supervised"
FROZEN_LINEAR, FROZEN_MLP, FINETUNE, SUPERVISED_MLP = "frozen_linear", "frozen_mlp", "finetune_mlp", "supervised_mlp"
TAGGERS = {FROZEN_LINEAR: "frozen linear", FROZEN_MLP: "frozen MLP", FINETUNE: "fine-tuned"}
FRACTIONS = (0.01, 0.1, 1.0)

SIZES = {  # events per process, seeds, pre-training epochs, fine-tune/supervised epochs, bootstrap resamples
    "quick": dict(events=200, test_events=[300, 100], seeds=[0, 1], epochs=2, finetune_epochs=2, min_steps=10,
                  resamples=50, arms=["rs3l", "heldout"]),
    # training jets as before; the test jets come from an independent dataset 12x the old test split's H->bb
    "hour": dict(events=5000, test_events=[24000, 6000], seeds=[0, 1, 2, 3], epochs=10, finetune_epochs=10,
                 min_steps=200, resamples=200, arms=["rs3l", "heldout"]),
    # for a GPU machine with many cores (not run here): 8x the hour preset's H->bb test jets and 20x its training jets
    "large": dict(events=100000, test_events=[200000, 50000], seeds=[0, 1, 2, 3, 4], epochs=30, finetune_epochs=20,
                  min_steps=200, resamples=200, arms=["rs3l", "heldout", "projection"]),
}


# --- configs ------------------------------------------------------------------------------
def generation_config(args, test: bool = False) -> dict:
    """The ``generation`` section: the training dataset, or (``test``) the independent test dataset.

    The test dataset has other hard events (the generation seed + 1), its own events per
    process (``--test-events``) and only the views that are compared.
    """
    from sim_pairs.typed_config import load_yaml

    generation = load_yaml(CONFIG_DIR / "generation" / "robustness.yaml")
    events = dict(zip(("hbb", "qcd"), args.test_events)) if test else {}
    generation["processes"] = [{**p, "events": events.get(p["name"], args.events)} for p in generation["processes"]]
    if test:
        generation["seed"] += 1
        generation["views"] = {v: generation["views"][v] for v in (view.split("@")[0] for view in TEST_VIEWS)}
    return generation


def has_test_data(args) -> bool:
    return any(args.test_events)


def build_config(arm: str, seed: int, args, modes=("frozen", "finetune")):
    """The run config of one arm and seed: the shipped protocol config with this run's sizes.

    With an independent test dataset the training dataset keeps no test split.
    """
    from rs3l.config import load_config
    from sim_pairs.typed_config import to_mapping

    _, name, overrides = ARMS.get(arm, ARMS["heldout"])
    base = load_config(CONFIG_DIR / name)
    pretrain = dict(overrides.get("pretrain", {}))
    pretrain["epochs"] = args.epochs * pretrain.pop("epochs_factor", 1)
    evaluate = {"modes": list(modes), "finetune_epochs": args.finetune_epochs, "min_steps": args.min_steps,
                "seed": seed, "tsne_samples": 0, "plot_formats": ["png"], "bootstrap": 20, "views": TEST_VIEWS,
                **overrides.get("evaluate", {})}
    data = {**to_mapping(base.data), **overrides.get("data", {})}
    if has_test_data(args):
        data["test_fraction"] = 0.0
    return load_config(CONFIG_DIR / name, overrides={
        "generation": generation_config(args), "data": data,
        "model": {**to_mapping(base.model), **overrides.get("model", {})},
        "pretrain": {**pretrain, "seed": seed}, "evaluate": evaluate})


# --- stages -------------------------------------------------------------------------------
def generate_dataset(args, data: Path, timings: Timings) -> dict:
    config = build_config("heldout", 0, args)
    return generate_once(config, data, args.workers, timings,
                         f"{args.events} hard events per process (qcd, hbb), views {list(config.generation.views)}")


def generate_test_dataset(args, data: Path, timings: Timings) -> dict | None:
    """The independent test dataset (``--test-events``), or None: the training dataset's test split."""
    from rs3l.config import load_config

    if not has_test_data(args):
        return None
    hbb, qcd = args.test_events
    config = load_config(CONFIG_DIR / ARMS["heldout"][1], overrides={"generation": generation_config(args, test=True)})
    return generate_once(config, data, args.workers, timings, f"independent test jets: {hbb} H->bb and {qcd} QCD hard "
                         f"events, generation seed {config.generation.seed}, views {list(config.generation.views)}")


def _evaluate(config, args, data: Path, model: Path, report: Path, timings: Timings, stage: str) -> Path:
    from rs3l.evaluation.evaluate import evaluate, evaluation_is_current

    test = args.test_data if has_test_data(args) else None
    if evaluation_is_current(report, config, model, test):
        log.info("%s: metrics found in %s, skipping evaluation", stage, report)
    else:
        log.info("%s: evaluating %s -> %s", stage, [f"{m}_{h}" for m, h in config.evaluate.taggers], report)
        t0 = time.perf_counter()
        evaluate(config, data, model, report, device=args.device, test_dir=test)
        timings.set(f"{stage}/evaluate", time.perf_counter() - t0)
    return report / "predictions" / f"{TASK}.parquet"


def run_arm(arm: str, seed: int, args, data: Path, out: Path, timings: Timings) -> Path:
    """Pre-train one arm with one seed and evaluate it; the path of its predictions.

    An arm that changes only the ``evaluate`` section evaluates the RS3L protocol's backbones.
    """
    from rs3l.train.pretrain import pretrain

    config = build_config(arm, seed, args)
    directory = out / arm / f"seed_{seed}"
    heads_only = arm != "rs3l" and set(ARMS[arm][2]) == {"evaluate"}
    pretrained = out / "rs3l" / f"seed_{seed}" if heads_only else directory
    d = config.to_dict()
    check_settings(pretrained, {"events": args.events, **{k: d[k] for k in ("data", "model", "pretrain")}})
    model = pretrained / "model"
    stage = f"{arm}/seed_{seed}"
    if not (model / "model.pt").is_file():
        log.info("%s: pre-training %d epochs, positives %s%s", stage, config.pretrain.epochs,
                 config.data.positive_views, f", projection head {config.model.projection}" if config.model.projection else "")
        t0 = time.perf_counter()
        pretrain(config, data, model, device=args.device, resume=True)
        timings.set(f"{stage}/pretrain", time.perf_counter() - t0)
    return _evaluate(config, args, data, model, directory / "report", timings, stage)


def run_supervised(seed: int, args, data: Path, out: Path, timings: Timings) -> Path:
    """The supervised tagger with one seed (``evaluate`` needs a model directory: an untrained backbone)."""
    import torch

    from rs3l.models.backbone import build_backbone

    config = build_config(SUPERVISED, seed, args, modes=("supervised",))
    directory = out / SUPERVISED / f"seed_{seed}"
    d = config.to_dict()
    check_settings(directory, {"events": args.events, **{k: d[k] for k in ("data", "model")}})
    model = directory / "model"
    if not (model / "model.pt").is_file():
        torch.manual_seed(seed)
        dims = config.data.input_dims()
        model.mkdir(parents=True, exist_ok=True)
        torch.save({"model": build_backbone(config.model, dims).state_dict(), "config": config.to_dict(),
                    "input_dims": dims, "embedding_dim": config.model.embedding_dim, "history": []},
                   model / "model.pt")
    return _evaluate(config, args, data, model, directory / "report", timings, f"{SUPERVISED}/seed_{seed}")


# --- the comparison -----------------------------------------------------------------------
def compare(files: dict[tuple[str, int], Path], args):
    """Score every (arm, seed) run and the supervised tagger on shared bootstrap resamples."""
    from rs3l.evaluation.comparison import SeedComparison, read_aligned

    from rs3l.evaluation.comparison import MissingRun

    views = [NOMINAL, *VIEWS]
    ref = read_aligned(files[(SUPERVISED, args.seeds[0])], tagger=SUPERVISED_MLP, fraction=1.0, nominal=NOMINAL,
                       views=views)
    comp = SeedComparison(ref.group_id, NOMINAL, VIEWS, n_resamples=args.resamples, seed=0)
    for (arm, seed), path in files.items():
        taggers = [SUPERVISED_MLP] if arm == SUPERVISED else list(TAGGERS)
        for tagger in taggers:
            for fraction in FRACTIONS:
                try:
                    pred = read_aligned(path, tagger=tagger, fraction=fraction, nominal=NOMINAL, views=views)
                except MissingRun as error:  # evaluate skipped it: too few labelled jets at this fraction
                    log.warning("%s", error)
                    continue
                comp.add(key(arm, tagger, fraction), seed, pred, source=str(path))
    return comp


def key(arm: str, tagger: str, fraction: float) -> str:
    return f"{arm}/{tagger}/{fraction:g}"


def _pm(value: float, error: float, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    text = f"{value:.{digits}g}"
    return f"{text} ± {error:.2g}" if math.isfinite(error) else text


def _ratio_cell(r) -> str:
    mark = "**" if r.resolved else ""
    return f"{mark}{_pm(r.value, r.error)}{mark}"


def tables(comp, arms: list[str]) -> tuple[str, str, dict]:
    """The accuracy and robustness tables (markdown) and their numbers."""
    accuracy = ["| arm | tagger | labels | AUC | R50 | R50 / sup. |", "|---|---|---|---|---|---|"]
    robustness = ["| arm | tagger | labels | W1 Vincia | nW1 seed (control) | nW1 Vincia | its floor | nW1 Vincia / sup. "
                  "| nW1 thermal | nW1 thermal / sup. | eps_B shift Vincia | eps_B shift thermal |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    numbers = {}
    entries = [(SUPERVISED, SUPERVISED_MLP, "supervised (from scratch)")]
    entries += [(arm, tagger, label) for arm in arms for tagger, label in TAGGERS.items()]
    for arm, tagger, label in entries:
        for fraction in FRACTIONS:
            k, ref = key(arm, tagger, fraction), key(SUPERVISED, SUPERVISED_MLP, fraction)
            if k not in comp.runs:
                continue
            est = {n: comp.estimate(k, n) for n in ("auc", "r50", f"w1@{VINCIA}", f"nw1@{SEED}", f"nw1@{VINCIA}",
                                                   f"nw1@{THERMAL}", f"shift@{VINCIA}", f"shift@{THERMAL}")}
            rat = {n: comp.ratio(k, ref, n) for n in ("r50", f"nw1@{VINCIA}", f"nw1@{THERMAL}")}
            floor = {n: comp.floor(k, n) for n in (f"nnull@{VINCIA}", f"nnull@{THERMAL}")}
            numbers[k] = {"estimates": {n: vars(e) for n, e in est.items()},
                          "floors": {n: vars(e) for n, e in floor.items()},
                          "ratios_to_supervised": {n: {**vars(r), "error": r.error, "resolved": r.resolved}
                                                   for n, r in rat.items()}}
            sup = arm == SUPERVISED
            first = [f"| {ARMS[arm][0] if arm in ARMS else '—'}", label, f"{fraction:.0%}"]
            accuracy.append(" | ".join(first + [
                _pm(est["auc"].mean, est["auc"].error), _pm(est["r50"].mean, est["r50"].error),
                "1" if sup else _ratio_cell(rat["r50"])]) + " |")
            robustness.append(" | ".join(first + [
                _pm(est[f"w1@{VINCIA}"].mean, est[f"w1@{VINCIA}"].error, 2),
                _pm(est[f"nw1@{SEED}"].mean, est[f"nw1@{SEED}"].error, 2),
                _pm(est[f"nw1@{VINCIA}"].mean, est[f"nw1@{VINCIA}"].error, 2),
                _pm(floor[f"nnull@{VINCIA}"].mean, math.nan, 2),
                "1" if sup else _ratio_cell(rat[f"nw1@{VINCIA}"]),
                _pm(est[f"nw1@{THERMAL}"].mean, est[f"nw1@{THERMAL}"].error, 2),
                "1" if sup else _ratio_cell(rat[f"nw1@{THERMAL}"]),
                _pm(est[f"shift@{VINCIA}"].mean, est[f"shift@{VINCIA}"].error, 2),
                _pm(est[f"shift@{THERMAL}"].mean, est[f"shift@{THERMAL}"].error, 2)]) + " |")
    return "\n".join(accuracy), "\n".join(robustness), numbers


def aims(comp) -> tuple[str, list[dict]]:
    """The issue's aims, each with its value, total error and whether it is met beyond the error."""
    checks = [
        ("RS3L protocol, fine-tuned: nW1(nominal, Vincia) / supervised, 100% labels", "rs3l", FINETUNE, 1.0,
         f"nw1@{VINCIA}", "<=", 0.7),
        ("RS3L protocol, fine-tuned: R50 / supervised, 100% labels", "rs3l", FINETUNE, 1.0, "r50", ">=", 0.9),
        ("held-out protocol, fine-tuned: nW1(nominal, Vincia) / supervised, 100% labels", "heldout", FINETUNE, 1.0,
         f"nw1@{VINCIA}", "<=", 0.7),
        ("RS3L protocol, frozen linear: R50 / supervised, 100% labels", "rs3l", FROZEN_LINEAR, 1.0, "r50", ">=", 0.9),
        ("RS3L protocol, frozen linear: R50 / supervised, 1% labels", "rs3l", FROZEN_LINEAR, 0.01, "r50", ">=", 2.0),
        ("held-out protocol, frozen linear: R50 / supervised, 100% labels", "heldout", FROZEN_LINEAR, 1.0, "r50", ">=", 0.9),
        ("held-out protocol, frozen linear: R50 / supervised, 1% labels", "heldout", FROZEN_LINEAR, 0.01, "r50", ">=", 2.0),
    ]
    for arm in ("finetune", "pooled"):  # the same aims for the ablations that may reach them, when run
        label = ARMS[arm][0]
        checks += [(f"{label}, fine-tuned: nW1(nominal, Vincia) / supervised, 100% labels", arm, FINETUNE, 1.0,
                    f"nw1@{VINCIA}", "<=", 0.7),
                   (f"{label}, fine-tuned: R50 / supervised, 100% labels", arm, FINETUNE, 1.0, "r50", ">=", 0.9)]
    for arm in ("pooled", "standardised", "pooled_std"):
        label = ARMS[arm][0]
        checks += [(f"{label}, frozen linear: R50 / supervised, 100% labels", arm, FROZEN_LINEAR, 1.0, "r50", ">=", 0.9),
                   (f"{label}, frozen linear: R50 / supervised, 1% labels", arm, FROZEN_LINEAR, 0.01, "r50", ">=", 2.0)]
    lines = ["| aim | measured | target | result |", "|---|---|---|---|"]
    out = []
    for text, arm, tagger, fraction, name, op, target in checks:
        k = key(arm, tagger, fraction)
        if k not in comp.runs:
            continue
        r = comp.ratio(k, key(SUPERVISED, SUPERVISED_MLP, fraction), name)
        if not math.isfinite(r.value):
            result = "n/a"
        else:
            met = r.value <= target if op == "<=" else r.value >= target
            beyond = abs(r.value - target) >= r.error if math.isfinite(r.error) else False
            result = ("met" if met else "missed") + (" (beyond its error)" if beyond else " (within its error)")
        lines.append(f"| {text} | {_pm(r.value, r.error)} | {op} {target:g} | {result} |")
        out.append({"aim": text, "value": r.value, "error": r.error, "target": f"{op} {target:g}", "result": result})
    return "\n".join(lines), out


def resolution_line(numbers: dict) -> str:
    """Which W1 ratios are resolved, and for which taggers the shower-model shift stands above its floor."""
    ratios = [(k, n, r) for k, v in numbers.items() for n, r in v["ratios_to_supervised"].items() if n.startswith("nw1")]
    ok = [f"{k} {n.split('@')[1]}" for k, n, r in ratios if r["resolved"]]
    visible = []
    for k, v in numbers.items():
        for view in (VINCIA, THERMAL):
            est, floor = v["estimates"][f"nw1@{view}"], v["floors"][f"nnull@{view}"]
            error = math.hypot(est["seed_sem"], est["boot_std"])
            if math.isfinite(error) and est["mean"] - floor["mean"] >= 3 * error:
                visible.append(f"{k} {view.split('@')[0]}")
    return (f"W1 ratios resolved (|ratio - 1| >= 3 x total error, in **bold**): {len(ok)} of {len(ratios)}"
            + (f": {', '.join(ok)}" if ok else "") + f". Shower-model shifts above their floor (nW1 - floor >= 3 x "
            f"error): {len(visible)} of {2 * len(numbers)}" + (f": {', '.join(visible)}" if visible else "") + ".")


def _groups(meta: dict) -> str:
    labels: dict[str, int] = {}
    for shard in meta.get("shards", {}).values():
        for k, v in shard.get("labels", {}).items():
            labels[k] = labels.get(k, 0) + v
    return ", ".join(f"{k} {v}" for k, v in sorted(labels.items()))


def run_size(args, meta: dict, test_meta: dict | None, comp, seconds: float, device: str) -> str:
    test = ("the training dataset's test split" if test_meta is None else
            f"an independent test dataset of {args.test_events[0]} H->bb and {args.test_events[1]} QCD hard events "
            f"(groups {_groups(test_meta)})")
    return (f"Run size: {args.events} hard events per process (qcd, hbb), groups {_groups(meta)}; test jets from "
            f"{test}: {len(comp.group_id)} H-vs-QCD test groups; seeds {args.seeds}; pre-training {args.epochs} "
            f"epochs; fine-tuned and supervised "
            f"{args.finetune_epochs} epochs (at least {args.min_steps} steps); {args.resamples} bootstrap resamples; "
            f"device {device}; {seconds / 60:.1f} min in all (sum of the stages).")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=list(SIZES), default="hour", help="preset (default: hour, the 2-core one)")
    parser.add_argument("--out", type=Path, help="cache and results directory (default runs/bench_robustness_<size>)")
    parser.add_argument("--events", type=int, help="hard events per process of the training dataset")
    parser.add_argument("--test-events", type=int, nargs=2, metavar=("HBB", "QCD"),
                        help="hard events of an independent test dataset (0 0: none, the training dataset's test split)")
    parser.add_argument("--seeds", type=int, nargs="+", help="pre-training (and head) seeds")
    parser.add_argument("--epochs", type=int, help="pre-training epochs")
    parser.add_argument("--finetune-epochs", type=int, help="epochs of the fine-tuned and supervised taggers")
    parser.add_argument("--min-steps", type=int, help="least steps of the fine-tuned and supervised taggers")
    parser.add_argument("--resamples", type=int, help="bootstrap resamples of the test groups")
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), help="arms to run")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--workers", type=int, help="generation worker processes (default: one per core)")
    args = parser.parse_args(argv)
    for k, value in SIZES[args.size].items():
        if getattr(args, k) is None:
            setattr(args, k, value)
    if len(args.seeds) < 2:
        parser.error("--seeds: at least two seeds, so that the seed spread can be measured")
    out = args.out or Path(f"runs/bench_robustness_{args.size}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    from rs3l.device import resolve_device

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    timings = Timings(out / "timings.json")
    device = str(resolve_device(args.device))
    meta = generate_dataset(args, out / "data", timings)
    args.test_data = out / "test_data"
    test_meta = generate_test_dataset(args, args.test_data, timings)
    files: dict[tuple[str, int], Path] = {}
    for seed in args.seeds:
        files[(SUPERVISED, seed)] = run_supervised(seed, args, out / "data", out, timings)
        for arm in args.arms:
            files[(arm, seed)] = run_arm(arm, seed, args, out / "data", out, timings)
    t0 = time.perf_counter()
    comp = compare(files, args)
    accuracy, robustness, numbers = tables(comp, args.arms)
    aims_text, aims_list = aims(comp)
    timings.set("comparison", time.perf_counter() - t0)
    size = run_size(args, meta, test_meta, comp, timings.total, device)
    notes = ("Mean over seeds ± total error (bootstrap of the test groups and the seed spread in quadrature); "
             "'/ sup.': ratio to the supervised tagger at the same label fraction (the supervised tagger does not "
             "depend on the arm). R50 = 1/eps_B at eps_S = 0.5 (eps_B floored at one background jet). W1: "
             "Wasserstein-1 between the output on nominal and on varied H->bb jets of the same groups; nW1: that W1 "
             "divided by the same tagger's W1 between H->bb and QCD jets on nominal; nW1 seed: the same model with "
             "a new seed, the physical control; its floor: nW1 Vincia with each jet's two views swapped at random, "
             "what re-simulation noise alone gives with this many jets (an nW1 near its floor says nothing about "
             "the shower model); eps_B shift: relative change of eps_B at the nominal eps_S = 0.5 cut.")
    body = (f"{size}\n\nAccuracy\n\n{accuracy}\n\nRobustness\n\n{robustness}\n\n{notes}\n\n"
            f"{resolution_line(numbers)}\n\n{aims_text}\n")
    print("\n" + body)
    print(f"this invocation: {(time.perf_counter() - started) / 60:.1f} min; stage times (s): "
          + ", ".join(f"{k} {v:.0f}" for k, v in timings.values.items()))
    (out / "robustness_table.md").write_text(body)
    (out / "robustness_table.json").write_text(json.dumps({
        "run": {**{k: getattr(args, k) for k in ("size", "events", "test_events", "seeds", "epochs", "finetune_epochs",
                                                 "min_steps", "resamples", "arms")},
                "device": device, "seconds": timings.total, "stage_seconds": timings.values,
                "test_groups": len(comp.group_id)},
        "taggers": numbers, "aims": aims_list}, indent=1, default=float))
    log.info("tables written to %s", out / "robustness_table.md")


if __name__ == "__main__":
    main()
