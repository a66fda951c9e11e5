"""Evaluation speed and agreement: rs3l's metrics against scikit-learn / scipy, and
frozen-head training on cached embeddings against running the frozen backbone.

Prints two tables:

1. Metrics on N random scores: rs3l's AUC, rejections (1/eps_B at eps_S 0.3, 0.5,
   0.7), bootstrap (100 resamples) and Wasserstein-1 against ``sklearn.metrics``
   (``roc_auc_score``, ``roc_curve`` + linear interpolation) and
   ``scipy.stats.wasserstein_distance``; ratio = reference time / rs3l time (> 1:
   rs3l is faster) and the largest relative difference of the values.
2. One epoch of a frozen MLP head through the shared Trainer: on embeddings cached
   once (what ``rs3l evaluate`` does) against a ``FrozenBackbone`` run on graphs each
   step (graph building from the shards included), jets per second and the ratio.

Usage::

    python benchmarks/bench_evaluation.py            # about 2 minutes on 2 idle cores
    python benchmarks/bench_evaluation.py --quick    # about 20 seconds
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from rs3l.evaluation import metrics as m
from rs3l.evaluation.robustness import wasserstein_1


def best_time(fn, repeat: int):
    """(best of ``repeat`` runs after a warm-up in seconds, the last return value)."""
    out = fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def _rel(a, b) -> float:
    a, b = np.atleast_1d(np.asarray(a, float)), np.atleast_1d(np.asarray(b, float))
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def metrics_table(n: int, repeat: int) -> list[tuple]:
    from scipy.stats import wasserstein_distance
    from sklearn.metrics import roc_auc_score, roc_curve

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, n)
    scores = rng.normal(labels * 1.5, 1.0)
    other = scores + rng.normal(0.05, 0.02, n)
    effs = (0.3, 0.5, 0.7)

    def sk_rejections(lab=labels, sco=scores):
        fpr, tpr, _ = roc_curve(lab, sco)
        return [1.0 / np.interp(e, tpr, fpr) for e in effs]

    nb = n // 10  # the bootstrap runs 100 ROC curves: a tenth of the scores keeps it short
    lab_b, sco_b = labels[:nb], scores[:nb]

    def sk_bootstrap(resamples=100):
        r = np.random.default_rng(1)
        sig, bkg = np.flatnonzero(lab_b == 1), np.flatnonzero(lab_b == 0)
        out = []
        for _ in range(resamples):
            idx = np.r_[r.choice(sig, len(sig)), r.choice(bkg, len(bkg))]
            out.append([roc_auc_score(lab_b[idx], sco_b[idx]), *sk_rejections(lab_b[idx], sco_b[idx])])
        return np.std(np.asarray(out)[:, 0])

    rows = []
    for name, ours, ref in (
        ("AUC", lambda: m.auc(labels, scores), lambda: roc_auc_score(labels, scores)),
        ("rejection@0.3/0.5/0.7", lambda: [v for k, v in m.binary_metrics(labels, scores, effs).items() if k != "auc"],
         sk_rejections),
        ("bootstrap x100 (AUC std)", lambda: m.bootstrap_binary(lab_b, sco_b, effs, n_resamples=100)["auc"]["std"],
         sk_bootstrap),
        ("Wasserstein-1", lambda: wasserstein_1(scores, other), lambda: wasserstein_distance(scores, other)),
    ):
        reps = 1 if name.startswith("bootstrap") else repeat
        t_ours, v_ours = best_time(ours, reps)
        t_ref, v_ref = best_time(ref, reps)
        # the two bootstraps draw different resamples: compare their spreads loosely
        diff = _rel(v_ours, v_ref)
        rows.append((name, nb if name.startswith("bootstrap") else n, t_ours, t_ref, t_ref / t_ours, diff))
    return rows


def heads_table(n_groups: int, epochs: int) -> list[tuple]:
    from graphs.contract import DataContract
    from graphs.dataset import make_loader
    from graphs.synthetic import write_synthetic_dataset
    from rs3l.evaluation.heads import FrozenBackbone, MLPHead, Tagger
    from rs3l.evaluation.targets import TaskTarget
    from rs3l.evaluation.tasks import TASKS
    from rs3l.evaluation.embedding_heads import train_on_embeddings
    from rs3l.evaluation.train_heads import embed, train_on_graphs
    from rs3l.models.backbone import build_backbone
    from rs3l.models.config import BackboneConfig

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = write_synthetic_dataset(Path(tmp) / "data", n_shards=2, groups_per_shard=n_groups // 2,
                                       views=("nominal",), detector=False)
        contract = DataContract(graph="particles", val_fraction=0.0, test_fraction=0.0, num_workers=0)
        target = TaskTarget(TASKS["multiclass"], contract.labels)
        torch.manual_seed(0)
        backbone = build_backbone(BackboneConfig(), contract.input_dims())  # the RS3L backbone
        loader = make_loader(data, contract, "train", 256, mode="single", shuffle=False, num_workers=0)

        t0 = time.perf_counter()
        cached = embed(backbone, loader, progress=False)
        t_embed = time.perf_counter() - t0
        t0 = time.perf_counter()
        train_on_embeddings(MLPHead(8, target.out_dim), cached, None, target, out_dir=Path(tmp) / "e", epochs=epochs,
                            lr=1e-3, batch_size=256)
        t_cached = (time.perf_counter() - t0) / epochs
        t0 = time.perf_counter()
        train_on_graphs(Tagger(FrozenBackbone(backbone), MLPHead(8, target.out_dim)), loader, None, target,
                        out_dir=Path(tmp) / "g", epochs=epochs, lr=1e-3, progress=False)
        t_graphs = (time.perf_counter() - t0) / epochs
        n = len(cached)
        rows.append(("embed once (RS3L backbone)", n, n / t_embed, "", ""))
        rows.append(("head epoch, cached embeddings", n, n / t_cached, "", f"{t_graphs / t_cached:.0f}"))
        rows.append(("head epoch, FrozenBackbone on graphs", n, n / t_graphs, "", "1 (reference)"))
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, about 20 s")
    parser.add_argument("--scores", type=int, default=None, help="scores in the metrics table (default 1e6, quick 1e5)")
    parser.add_argument("--jets", type=int, default=None, help="jets in the heads table (default 600, quick 200)")
    args = parser.parse_args(argv)
    n = args.scores or (100_000 if args.quick else 1_000_000)
    jets = args.jets or (200 if args.quick else 600)
    repeat = 2 if args.quick else 3

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| metric | N | rs3l (s) | reference (s) | ratio ref/rs3l | max rel. diff |")
    print("|---|---|---|---|---|---|")
    for name, size, t_ours, t_ref, ratio, diff in metrics_table(n, repeat):
        print(f"| {name} | {size:.0e} | {t_ours:.4f} | {t_ref:.4f} | {ratio:.2f} | {diff:.1e} |")
    print("\nreferences: sklearn roc_auc_score; sklearn roc_curve + np.interp; 100 x (both) on resamples; "
          "scipy wasserstein_distance. The bootstraps draw different resamples, so their difference is statistical.\n")
    print("| frozen head | jets | jets/s | | speed-up vs graphs |")
    print("|---|---|---|---|---|")
    for name, size, rate, _, ratio in heads_table(jets, epochs=2):
        print(f"| {name} | {size} | {rate:.0f} | | {ratio} |")


if __name__ == "__main__":
    main()
