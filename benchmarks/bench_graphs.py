"""Graph building and kNN speed on one CPU core, against torch-cluster and scipy's cKDTree.

Prints three tables:

1. kNN on a batch of jets (k = 16, points in 2-d and features in 64-d):
   the dense pure-torch path and the backend ``auto`` picks on CPU (the numba
   kernel for positions, dense torch for features) against ``torch_cluster.knn_graph``
   and a per-jet ``scipy.spatial.cKDTree`` loop; ratio = reference time / auto time
   (> 1: ours is faster).
2. Graph building (shard row -> PyG graph -> batch, kNN edges included) for particle
   graphs of 50, 100, 200 nodes and for detector graphs, graphs per second.
3. When ``rs3l.models`` is importable: how many jets per second a training step of
   the default backbone consumes (all cores), and the ratio building / training.

Usage::

    python benchmarks/bench_graphs.py            # about 2 minutes
    python benchmarks/bench_graphs.py --quick    # about 30 seconds
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from graphs.builder import GraphBuilder
from graphs.collate import collate_pairs, collate_single
from graphs.contract import DataContract
from graphs.knn import knn_graph
from graphs.shard_reader import ShardArrays
from graphs.synthetic import write_synthetic_dataset


def best_time(fn, repeat: int) -> float:
    """Best of ``repeat`` runs after one warm-up, seconds (the least disturbed by other load)."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _auto_name(x) -> str:
    from graphs.knn import _resolve_backend

    return _resolve_backend("auto", x)


def knn_table(n_jets: int, repeat: int) -> list[tuple]:
    try:
        import torch_cluster
    except ImportError:
        torch_cluster = None
    from scipy.spatial import cKDTree

    rows = []
    rng = np.random.default_rng(0)
    for dims in (2, 64):
        for n in (50, 100, 200):
            sizes = rng.integers(n // 2, n + 1, n_jets)  # uneven jets up to n nodes
            sizes[0] = n
            x = torch.tensor(rng.normal(size=(int(sizes.sum()), dims)), dtype=torch.float32)
            batch = torch.repeat_interleave(torch.arange(n_jets), torch.tensor(sizes))
            dense = best_time(lambda: knn_graph(x, 16, batch, backend="torch"), repeat)
            ours = best_time(lambda: knn_graph(x, 16, batch, backend="auto"), repeat)
            if torch_cluster is not None:
                cluster = best_time(lambda: torch_cluster.knn_graph(x, 16, batch), repeat)
                cluster_cell = f"{cluster * 1e3:9.2f} | {cluster / ours:5.2f}"
            else:
                cluster_cell = "not installed |   -  "
            ptr = np.concatenate([[0], np.cumsum(sizes)])
            xn = x.numpy()

            def scipy_loop():
                for j in range(n_jets):
                    pts = xn[ptr[j] : ptr[j + 1]]
                    cKDTree(pts).query(pts, k=min(17, len(pts)))

            kd = best_time(scipy_loop, max(1, repeat // 2))
            rows.append((dims, n, n_jets, dense * 1e3, _auto_name(x), ours * 1e3, cluster_cell, kd * 1e3, kd / ours))
    return rows


def build_rate(data_dir: Path, contract: DataContract, seconds: float) -> float:
    """Graphs per second: shard rows -> graphs -> batches of 64 (edges included)."""
    shard = ShardArrays(sorted(data_dir.glob("shard-*.parquet"))[0], contract.graph)
    builder = GraphBuilder(contract)
    rows = len(shard)
    collate_single([builder(shard, j % rows, 0) for j in range(8)])  # warm-up (compiles the kNN kernel once)
    done, start, i = 0, time.perf_counter(), 0
    while time.perf_counter() - start < seconds or done == 0:
        graphs = [builder(shard, (i + j) % rows, 0) for j in range(64)]
        collate_single(graphs)
        i += 64
        done += 64
    return done / (time.perf_counter() - start)


def train_rate(data_dir: Path, contract: DataContract, steps: int) -> float | None:
    """Jets per second through forward + backward + Adam of the default backbone, or None."""
    try:
        from rs3l.models.backbone import build_backbone
        from rs3l.models.config import BackboneConfig
    except Exception as err:  # the backbone is another package's; the benchmark runs without it
        print(f"(training rate skipped: rs3l.models not importable: {err})")
        return None
    shard = ShardArrays(sorted(data_dir.glob("shard-*.parquet"))[0], contract.graph)
    builder = GraphBuilder(contract)
    pairs = [(builder(shard, 2 * j, 0), builder(shard, 2 * j + 1, 0)) for j in range(len(shard) // 2)][:128]
    for a, b in pairs:  # same group id for the collate check; these are timing inputs only
        b.group_id = a.group_id
    batch = collate_pairs(pairs)
    model = build_backbone(BackboneConfig(), contract.input_dims())
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        za, zb = model.embed(batch.a), model.embed(batch.b)
        loss = -(za * zb).sum(1).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    return 2 * len(batch) / best_time(step, steps)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer jets and repeats (about 30 s)")
    parser.add_argument("--jets", type=int, default=None, help="jets per kNN batch (default 256, quick 64)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per graph-building measurement")
    args = parser.parse_args(argv)
    n_jets = args.jets or (64 if args.quick else 256)
    repeat = 3 if args.quick else 7
    seconds = args.seconds or (1.0 if args.quick else 4.0)

    train_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread for kNN and building ({train_threads} for training)\n")

    print(f"kNN, k = 16, {n_jets} jets of n/2..n nodes; 'auto' is what graphs.knn picks on CPU;")
    print("ratio = reference time / auto time (> 1: graphs.knn is faster)")
    print(f"{'dims':>4} | {'n':>4} | {'jets':>4} | {'dense torch ms':>14} | {'auto':>5} | {'auto ms':>8} | {'torch-cluster ms':>16} | ratio | {'cKDTree ms':>10} | ratio")
    print("-" * 110)
    for dims, n, jets, dense, name, ours, cluster, kd, kd_ratio in knn_table(n_jets, repeat):
        print(f"{dims:>4} | {n:>4} | {jets:>4} | {dense:14.2f} | {name:>5} | {ours:8.2f} | {cluster:>24} | {kd:10.2f} | {kd_ratio:5.2f}")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rates = []
        for n in (50, 100, 200):
            data_dir = write_synthetic_dataset(
                tmp / f"p{n}", n_shards=1, groups_per_shard=64, views=("a", "b"), detector=False, n_particles=(n + 3, n + 3)
            )
            contract = DataContract(max_particles=n)
            rates.append((f"particles, {n} nodes", build_rate(data_dir, contract, seconds)))
        det_dir = write_synthetic_dataset(tmp / "det", n_shards=1, groups_per_shard=16, views=("r0", "r1"), n_particles=(60, 100))
        det = ShardArrays(det_dir / "shard-00000.parquet", "detector")
        n_nodes = np.mean([len(det.detector(r).cell_energy) + len(det.detector(r).track_pt) for r in range(len(det))])
        rates.append((f"detector, ~{n_nodes:.0f} nodes", build_rate(det_dir, DataContract(graph="detector"), seconds)))
        print("\nGraph building on one core (shard row -> graph -> batch of 64, edges included)")
        print(f"{'graphs':<24} | {'graphs/s':>9}")
        print("-" * 36)
        for name, rate in rates:
            print(f"{name:<24} | {rate:9.0f}")

        torch.set_num_threads(train_threads)
        pair_dir = write_synthetic_dataset(tmp / "train", n_shards=1, groups_per_shard=128, views=("a", "b"), detector=False, n_particles=(40, 60))
        consumed = train_rate(pair_dir, DataContract(), 2 if args.quick else 4)
        if consumed is not None:
            building = rates[0][1]
            print(f"\nDefault backbone training step: {consumed:.0f} jets/s on {train_threads} threads (jets of 40-60 nodes)")
            print(f"building / training = {building:.0f} / {consumed:.0f} = {building / consumed:.1f} (aim: >= 5)")


if __name__ == "__main__":
    main()
