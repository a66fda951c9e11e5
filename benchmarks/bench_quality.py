"""Pairing strategies compared: one dataset, one backbone, five ways to make positive pairs.

Generates one dataset (QCD, H->bb and W->qq; shower views nominal, new seed, FSR
up/down, Vincia, thermal string model and a re-hadronisation; every jet through two
replicas of the COCOA-like detector), then pre-trains the same backbone
(``configs/model/quickstart.yaml``) on the same detector-level particle-flow graphs,
for the same epochs and seed, with each pairing strategy:

=================  ============================================================
re-shower          nominal@replica0 vs seed, fsr_up, fsr_down (@replica0): RS3L
re-hadronise       nominal@replica0 vs rehadronize@replica0 (arXiv 2503.11632)
detector replica   nominal@replica0 vs nominal@replica1
JetCLR             two augmentations of nominal@replica0 (configs/data/jetclr.yaml)
combination        nominal@* vs nominal@*, seed@*, fsr_*@*, rehadronize@*
=================  ============================================================

Vincia and the thermal string model are never paired: they are held out to measure
robustness. One seed and a few hundred test jets: the robustness claim itself (RS3L's
protocol against a held-out one, every tagger, several seeds, normalised W1 and
errors that say what is resolved) is ``benchmarks/bench_robustness.py``. Each backbone is evaluated with ``rs3l.evaluation.evaluate`` (a frozen
linear probe on the embedding, trained on 1% and 100% of the labelled training
jets); the supervised baseline (the same backbone trained from scratch with an MLP
head on the same labels) runs once. A frozen linear probe on the *untrained*
backbone is printed as a control.

Prints one markdown table (and writes it, with a JSON copy, to ``--out``): H vs QCD
and quark vs gluon AUC and rejection 1/eps_B at eps_S = 0.5 (R50, +- bootstrap std),
the inclusive energy resolution, the Wasserstein-1 distance of the H-vs-QCD output
on H->bb jets between nominal and Vincia / thermal, and the label-efficiency gain
(R50 at 1% labels over the supervised tagger's R50 at 1% labels); then the issue's
three aims for the re-shower strategy with PASS / MISS:

* frozen linear R50 >= 0.9 x supervised R50 (100% labels, H vs QCD);
* W1 (nominal vs Vincia, vs thermal) <= 0.7 x the supervised tagger's;
* R50 at 1% labels >= 2 x the supervised tagger's at 1% labels.

Everything is cached in ``--out`` and a re-run resumes: generation shard by shard, a
strategy whose ``model/model.pt`` or ``report/metrics.json`` exists is not redone.
A strategy directory made with other settings is refused (use another ``--out``).

Usage::

    python benchmarks/bench_quality.py               # about 18-20 minutes on 2 idle cores (measured 18.5)
    python benchmarks/bench_quality.py --quick       # tiny sizes, about 3-4 minutes (a smoke test)
    python benchmarks/bench_quality.py --events 4000 --epochs 30 --device cuda --out runs/bq_big
    python benchmarks/bench_quality.py --strategies reshower jetclr
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from pathlib import Path

from sim_pairs.shipped_configs import CONFIG_DIR

log = logging.getLogger("bench_quality")

QUICKSTART = CONFIG_DIR / "quickstart.yaml"
VIEW_CATALOGUE = CONFIG_DIR / "views.yaml"
JETCLR_DATA = CONFIG_DIR / "data" / "jetclr.yaml"

# dataset view name -> entry of configs/views.yaml
VIEWS = {"nominal": "nominal", "seed": "seed", "fsr_up": "fsr_up", "fsr_down": "fsr_down",
         "vincia": "vincia", "thermal": "thermal_hadronization", "rehadronize": "rehadronize"}
NOMINAL, VINCIA, THERMAL = "nominal@replica0", "vincia@replica0", "thermal@replica0"

# the generation section, pinned here so that edits of the quickstart never change this dataset
GENERATION = {
    "sqrt_s": 13000.0, "seed": 1, "events_per_shard": 100, "mpi": False,
    "processes": [{"name": p, "events": 1000, "pthat_min": 450.0, "pthat_max": 700.0} for p in ("qcd", "hbb", "wqq")],
    "jets": {"radius": 0.8, "pt_min": 400.0, "abs_eta_max": 2.5, "max_particles": 200},
    "detector": {"replicas": {"replica0": {"card": "cocoa"}, "replica1": {"card": "cocoa", "seed_offset": 1}}},
}

_ANCHOR = {"pairing": "anchor", "anchor_views": [NOMINAL], "augment": {}}
STRATEGIES = {  # name -> (table label, data-section overrides)
    "reshower": ("re-shower", {**_ANCHOR, "positive_views": ["seed@replica0", "fsr_up@replica0", "fsr_down@replica0"]}),
    "rehadronise": ("re-hadronise", {**_ANCHOR, "positive_views": ["rehadronize@replica0"]}),
    "replica": ("detector replica", {**_ANCHOR, "positive_views": ["nominal@replica1"]}),
    "jetclr": ("JetCLR augmentations", {"pairing": "jetclr", "anchor_views": [NOMINAL], "positive_views": []}),
    "combination": ("combination", {"pairing": "anchor", "anchor_views": ["nominal@*"], "augment": {},
                                    "positive_views": ["nominal@*", "seed@*", "fsr_*@*", "rehadronize@*"]}),
}
SUPERVISED, CONTROL = "supervised", "random"
TASKS = ("hbb_vs_qcd", "q_vs_g", "energy")
FULL, FEW = 1.0, 0.01  # label fractions
W1_CLASS = "Hbb"  # RS3L compares the tagger output on Higgs jets (Pythia vs Herwig)

# A linear probe on the L2-normalised embedding needs a weight norm of order 10 to reach the
# logistic-regression optimum; at lr 1e-3 with a few batches per epoch it stays far below (H vs
# QCD AUC 0.68 where scikit-learn's LogisticRegression reaches 0.94 on the same embedding), so
# the probes use lr 1e-2, batches of 64 (evaluate's defaults) and many cheap epochs on cached
# embeddings. The supervised tagger uses the pre-training's batch size (64) and epochs.
HEAD_LR, BATCH = 1e-2, 64

SIZES = {  # events per process, pre-training epochs, supervised epochs, frozen-head epochs
    "default": dict(events=1500, epochs=10, supervised_epochs=10, head_epochs=300),
    "quick": dict(events=150, epochs=2, supervised_epochs=2, head_epochs=100),
}


# --- configs ------------------------------------------------------------------------------
def _views() -> dict:
    from sim_pairs.typed_config import load_yaml

    catalogue = load_yaml(VIEW_CATALOGUE)
    return {name: catalogue[entry] for name, entry in VIEWS.items()}


def _data_overrides(name: str) -> dict:
    data = dict(STRATEGIES[name][1]) if name in STRATEGIES else dict(STRATEGIES["reshower"][1])
    if name == "jetclr":
        from sim_pairs.typed_config import load_yaml

        data["augment"] = load_yaml(JETCLR_DATA)["augment"]
    return data


def build_config(name: str, args, modes=("frozen",)):
    """The run config of one strategy: the quickstart with this benchmark's overrides."""
    from rs3l.config import load_config

    generation = {**GENERATION, "views": _views()}
    generation["processes"] = [{**p, "events": args.events} for p in GENERATION["processes"]]
    evaluate = {
        "tasks": list(TASKS), "heads": ["linear"], "modes": list(modes), "finetune_head": "mlp",
        "label_fractions": [FEW, FULL], "epochs": args.head_epochs, "finetune_epochs": args.supervised_epochs,
        "lr": HEAD_LR, "supervised_lr": 1e-3, "batch_size": BATCH, "head_batch_size": BATCH, "signal_efficiencies": [0.5], "bootstrap": 50,
        "nominal_view": NOMINAL, "views": [NOMINAL, VINCIA, THERMAL], "tsne_samples": 0, "plot_formats": ["png"],
        "seed": 0,
    }
    return load_config(QUICKSTART, overrides={
        "generation": generation, "data": _data_overrides(name),
        "pretrain": {"epochs": args.epochs, "seed": 0}, "evaluate": evaluate})


def check_settings(directory: Path, settings: dict, name: str = "settings.json") -> None:
    """Refuse to mix runs made with other settings into one table (``directory/name`` records them)."""
    path = directory / name
    settings = json.loads(json.dumps(settings))
    if path.is_file():
        if json.loads(path.read_text()) != settings:
            raise SystemExit(f"{directory} was made with other settings (see {path}); pass another --out "
                             "or delete that directory")
        return
    directory.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(settings, indent=1, sort_keys=True))
    tmp.replace(path)


def _check_pretrain_settings(directory: Path, config, args) -> None:
    d = config.to_dict()
    check_settings(directory, {"events": args.events, **{k: d[k] for k in ("data", "model", "pretrain")}},
                   "pretrain_settings.json")


class Timings:
    """Seconds per stage, kept in OUT/timings.json so a resumed run reports the whole cost."""

    def __init__(self, path: Path):
        self.path = path
        self.values = json.loads(path.read_text()) if path.is_file() else {}

    def add(self, stage: str, seconds: float) -> None:
        self.set(stage, self.values.get(stage, 0.0) + seconds)

    def set(self, stage: str, seconds: float) -> None:
        self.values[stage] = seconds
        self.path.write_text(json.dumps(self.values, indent=1))

    @property
    def total(self) -> float:
        return sum(self.values.values())


# --- the stages ---------------------------------------------------------------------------
def generate_once(config, data: Path, workers: int, timings: Timings, what: str) -> dict:
    """Generate ``config.generation`` into ``data`` unless a complete dataset is there; its metadata."""
    from sim_pairs.generate import generate

    meta_path = data / "metadata.json"
    complete = meta_path.is_file() and json.loads(meta_path.read_text()).get("complete", False)
    log.info("dataset %s: %s%s", data, what, " (complete, reusing it)" if complete else "")
    t0 = time.perf_counter()
    generate(config.generation, data, base_dir=Path(config.base_dir), workers=workers)
    if not complete:
        timings.add("generation", time.perf_counter() - t0)  # a resumed generation adds its part
    return json.loads(meta_path.read_text())


def generate_dataset(args, data: Path, timings: Timings) -> dict:
    return generate_once(build_config("reshower", args), data, args.workers, timings,
                         f"{args.events} events per process (qcd, hbb, wqq), views {list(VIEWS)} x 2 detector replicas")


def pretrain_and_evaluate(name: str, args, data: Path, out: Path, timings: Timings) -> dict:
    from rs3l.train.pretrain import pretrain

    config = build_config(name, args)
    model, report = out / name / "model", out / name / "report"
    _check_pretrain_settings(out / name, config, args)
    label = STRATEGIES[name][0]
    if (model / "model.pt").is_file():
        log.info("%s: pre-trained backbone found in %s, skipping pre-training", label, model)
    else:
        log.info("%s: pre-training %d epochs, pairing %s, anchors %s, positives %s -> %s", label,
                 config.pretrain.epochs, config.data.pairing, config.data.anchor_views,
                 config.data.positive_views or "(augmentations)", model)
        t0 = time.perf_counter()
        pretrain(config, data, model, device=args.device, resume=True)
        timings.add(f"{name}/pretrain", time.perf_counter() - t0)
    return _evaluate_once(config, args, data, model, report, timings, name)


def _evaluate_once(config, args, data, model, report, timings, name) -> dict:
    """Evaluate unless ``report`` holds metrics made from this config and this ``model.pt``."""
    from rs3l.evaluation.evaluate import evaluate, evaluation_is_current

    if evaluation_is_current(report, config, model):
        log.info("%s: metrics found in %s, skipping evaluation", name, report)
        return json.loads((report / "metrics.json").read_text())
    log.info("%s: evaluating (%s) -> %s", name, ", ".join(f"{m}_{h}" for m, h in config.evaluate.taggers), report)
    t0 = time.perf_counter()
    metrics = evaluate(config, data, model, report, device=args.device)
    timings.set(f"{name}/evaluate", time.perf_counter() - t0)  # a re-evaluation replaces the old one
    return metrics


def supervised_baseline(args, data: Path, out: Path, timings: Timings) -> dict:
    """The backbone trained from scratch on the labels, plus a frozen probe of the untrained backbone.

    ``evaluate`` needs a model directory; an untrained backbone (seed 0) is written
    there. The supervised tagger does not start from it (evaluate builds a fresh
    backbone from the stored architecture), so one run serves every strategy.
    """
    import torch

    from rs3l.models.backbone import build_backbone

    config = build_config(SUPERVISED, args, modes=("frozen", "supervised"))
    model, report = out / SUPERVISED / "model", out / SUPERVISED / "report"
    _check_pretrain_settings(out / SUPERVISED, config, args)
    if not (model / "model.pt").is_file():
        torch.manual_seed(0)
        dims = config.data.input_dims()
        backbone = build_backbone(config.model, dims)
        model.mkdir(parents=True, exist_ok=True)
        torch.save({"model": backbone.state_dict(), "config": config.to_dict(), "input_dims": dims,
                    "embedding_dim": config.model.embedding_dim, "history": []}, model / "model.pt")
    return _evaluate_once(config, args, data, model, report, timings, SUPERVISED)


# --- the table ----------------------------------------------------------------------------
def _key(fraction: float) -> str:
    return format(float(fraction), "g")


def _get(metrics: dict, *path):
    node = metrics
    for k in path:
        if not isinstance(node, dict) or k not in node:
            return None
        node = node[k]
    return node


def row_numbers(metrics: dict, tagger: str, supervised: dict) -> dict:
    """The table's numbers for one tagger (None where evaluate could not produce them)."""
    def res(task, fraction=FULL):
        return _get(metrics, "tasks", task, "results", tagger, _key(fraction))

    out = {}
    for task, short in (("hbb_vs_qcd", "hbb"), ("q_vs_g", "qg")):
        nominal = _get(res(task), "nominal") or {}
        out[f"{short}_auc"] = _get(nominal, "auc", "value")
        out[f"{short}_r50"] = _get(nominal, "rejection@0.5", "value")
        out[f"{short}_r50_std"] = _get(nominal, "rejection@0.5", "std")
    out["energy_resolution"] = _get(res("energy"), "nominal", "inclusive", "resolution")
    for view, short in ((VINCIA, "vincia"), (THERMAL, "thermal")):
        w = _get(res("hbb_vs_qcd"), "robustness", view, "wasserstein") or {}
        out[f"w1_{short}"] = w.get(W1_CLASS)
        out[f"w1_{short}_all_classes"] = w
    out["hbb_r50_few"] = _get(res("hbb_vs_qcd", FEW), "nominal", "rejection@0.5", "value")
    ref = _get(supervised, "tasks", "hbb_vs_qcd", "results", "supervised_mlp", _key(FEW), "nominal",
               "rejection@0.5", "value")
    out["hbb_r50_gain_few"] = _ratio(out["hbb_r50_few"], ref)
    return out


def _ratio(a, b):
    if a is None or b is None or b == 0:
        return None  # a null rejection is infinite (no background passed): no finite ratio
    return a / b


def _fmt(v, digits=3, std=None) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    text = f"{v:.{digits}g}"
    return f"{text} ± {std:.2g}" if std is not None and math.isfinite(std) else text


HEADER = ("| pairing strategy | H vs QCD AUC | H vs QCD R50 | q vs g AUC | q vs g R50 | energy resolution "
          "| W1 nominal-Vincia | W1 nominal-thermal | R50 gain at 1% labels |\n|---|---|---|---|---|---|---|---|---|")


def table(rows: dict[str, tuple[str, dict]]) -> str:
    lines = [HEADER]
    for label, r in rows.values():
        lines.append(" | ".join([
            f"| {label}", _fmt(r["hbb_auc"]), _fmt(r["hbb_r50"], std=r["hbb_r50_std"]), _fmt(r["qg_auc"]),
            _fmt(r["qg_r50"], std=r["qg_r50_std"]), _fmt(r["energy_resolution"]), _fmt(r["w1_vincia"], 2),
            _fmt(r["w1_thermal"], 2), _fmt(r["hbb_r50_gain_few"])]) + " |")
    return "\n".join(lines)


def aims(rows: dict) -> tuple[str, list[dict]]:
    """The issue's aims for the re-shower strategy against the supervised tagger."""
    if "reshower" not in rows or SUPERVISED not in rows:
        return "", []
    rs, sup = rows["reshower"][1], rows[SUPERVISED][1]
    checks = [
        ("frozen linear R50 / supervised R50, H vs QCD, 100% labels", _ratio(rs["hbb_r50"], sup["hbb_r50"]), ">=", 0.9),
        ("W1 nominal-Vincia / supervised W1 (H->bb jets)", _ratio(rs["w1_vincia"], sup["w1_vincia"]), "<=", 0.7),
        ("W1 nominal-thermal / supervised W1 (H->bb jets)", _ratio(rs["w1_thermal"], sup["w1_thermal"]), "<=", 0.7),
        ("R50 at 1% labels / supervised R50 at 1% labels, H vs QCD", rs["hbb_r50_gain_few"], ">=", 2.0),
    ]
    lines = ["| aim (re-shower) | measured | target | result |", "|---|---|---|---|"]
    out = []
    for text, value, op, target in checks:
        ok = value is not None and (value >= target if op == ">=" else value <= target)
        result = "n/a" if value is None else ("PASS" if ok else "MISS")
        lines.append(f"| {text} | {_fmt(value)} | {op} {target:g} | {result} |")
        out.append({"aim": text, "measured": value, "target": f"{op} {target:g}", "result": result})
    return "\n".join(lines), out


def constant_resolution(report: Path) -> float | None:
    """Resolution of a constant energy prediction on the nominal test jets: what a head that learnt nothing scores."""
    import numpy as np

    from rs3l.evaluation.metrics import response_resolution
    from rs3l.evaluation.predictions import read_predictions

    path = report / "predictions" / "energy.parquet"
    if not path.is_file():
        return None
    columns, _ = read_predictions(path)
    first = (columns["tagger"] == columns["tagger"][0]) & (columns["label_fraction"] == columns["label_fraction"][0])
    true = np.asarray(columns["jet_energy"], dtype=np.float64)[first & (columns["view"] == NOMINAL)]
    if len(true) == 0:
        return None
    edges = [true.min(), np.nextafter(true.max(), np.inf)]
    return response_resolution(np.full(len(true), np.median(true)), true, edges)["inclusive"]["resolution"]


def run_size(args, meta: dict, metrics: dict, seconds: float, device: str) -> str:
    labels: dict[str, int] = {}
    for shard in meta.get("shards", {}).values():
        for k, v in shard.get("labels", {}).items():
            labels[k] = labels.get(k, 0) + v
    n_test = _get(metrics, "tasks", "hbb_vs_qcd", "n_test", NOMINAL)
    groups = ", ".join(f"{k} {v}" for k, v in sorted(labels.items()))
    return (f"Run size: {args.events} hard events per process (qcd, hbb, wqq), jets (groups) {groups}; "
            f"7 shower views x 2 detector replicas; pflow graphs, backbone configs/model/quickstart.yaml; "
            f"pre-training {args.epochs} epochs (seed 0), supervised {args.supervised_epochs} epochs (batch {BATCH}), "
            f"linear probes {args.head_epochs} epochs (lr {HEAD_LR:g}, batch {BATCH}); {n_test} H-vs-QCD test jets; "
            f"device {device}; "
            f"{seconds / 60:.1f} min in all (sum of the stages).")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/bench_quality"), help="cache and results directory")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a 3-4 minute smoke test")
    parser.add_argument("--events", type=int, help=f"hard events per process (default {SIZES['default']['events']}, "
                                                   f"quick {SIZES['quick']['events']})")
    parser.add_argument("--epochs", type=int, help="pre-training epochs of every strategy")
    parser.add_argument("--supervised-epochs", type=int, help="epochs of the supervised baseline")
    parser.add_argument("--head-epochs", type=int, help="epochs of the frozen linear probes")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--workers", type=int, help="generation worker processes (default: one per core)")
    parser.add_argument("--strategies", nargs="+", choices=list(STRATEGIES), default=list(STRATEGIES))
    args = parser.parse_args(argv)
    for key, value in SIZES["quick" if args.quick else "default"].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")

    from rs3l.device import resolve_device

    started = time.perf_counter()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    timings = Timings(out / "timings.json")
    device = str(resolve_device(args.device))
    meta = generate_dataset(args, out / "data", timings)
    results = {name: pretrain_and_evaluate(name, args, out / "data", out, timings) for name in args.strategies}
    supervised = supervised_baseline(args, out / "data", out, timings)

    rows = {name: (STRATEGIES[name][0], row_numbers(m, "frozen_linear", supervised)) for name, m in results.items()}
    rows[SUPERVISED] = ("supervised (from scratch)", row_numbers(supervised, "supervised_mlp", supervised))
    rows[CONTROL] = ("untrained backbone (control)", row_numbers(supervised, "frozen_linear", supervised))
    size = run_size(args, meta, supervised, timings.total, device)
    text_table, text_aims = table(rows), aims(rows)
    flat = _fmt(constant_resolution(out / SUPERVISED / "report"))
    notes = ("R50 = 1/eps_B at eps_S = 0.5 (± bootstrap std over test jets); pre-trained rows: frozen linear probe "
             "on the 8-d embedding, 100% labels; supervised: the same backbone + MLP head trained from scratch. "
             "Energy resolution: (q84 - q16) / 2 / median of E_pred / E_true. W1: Wasserstein-1 between the H-vs-QCD "
             "output on nominal and varied H->bb test jets (same groups). Gain: R50 at 1% labels / supervised R50 "
             "at 1% labels. n/a: not computable (e.g. no background passes: infinite rejection, or no labelled "
             f"jet of a class at 1%). A constant energy prediction has resolution {flat}.")
    print(f"\n{size}\n\n{text_table}\n\n{notes}\n")
    if text_aims[0]:
        print(text_aims[0] + "\n")
    print(f"this invocation: {(time.perf_counter() - started) / 60:.1f} min; stage times (s): "
          + ", ".join(f"{k} {v:.0f}" for k, v in timings.values.items()))
    (out / "quality_table.md").write_text(f"{size}\n\n{text_table}\n\n{notes}\n\n{text_aims[0]}\n")
    (out / "quality_table.json").write_text(json.dumps({
        "run": {"events_per_process": args.events, "epochs": args.epochs, "supervised_epochs": args.supervised_epochs,
                "head_epochs": args.head_epochs, "device": device, "seconds": timings.total,
                "stage_seconds": timings.values, "size": size},
        "rows": {name: {"label": label, **numbers} for name, (label, numbers) in rows.items()},
        "aims": text_aims[1]}, indent=1))
    log.info("table written to %s and %s", out / "quality_table.md", out / "quality_table.json")


if __name__ == "__main__":
    main()
