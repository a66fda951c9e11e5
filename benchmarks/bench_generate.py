"""Generation speed: rs3l's chain against bare Pythia, and the speed-up on Dask workers.

**Per process** (``--processes``, MPI on and off): N hard events (13 TeV, pT-hat >
450 GeV) are written to an LHE file once; then, ``--repeats`` times, alternately,

* **bare Pythia** (the reference): for each of the two views ``nominal`` and
  ``seed``, a Pythia instance reads the same LHE file (``Beams:frameType = 4``) with
  the same settings and runs ``next()`` over all events, nothing else;
* **rs3l**: ``sim_pairs.shower.shower_views`` (the same two showers, fed from memory,
  final states read in bulk), then ``sim_pairs.groups.assemble_groups`` (anti-kt, soft
  drop, matching, columns) and ``sim_pairs.io.write_shard``.

Times are CPU seconds of this process (``time.process_time``), so other load on the
machine inflates them less than wall time; Pythia's construction and ``init()``
are left out of both (in rs3l by timing ``new_pythia`` and ``init_pythia`` and
subtracting), and a warm-up run loads numba's and fastjet's code first. The table
gives the median over the repeats of each ratio, with the range.

**Dask** (``--dask``): ``sim_pairs.generate.generate`` on a ``LocalCluster`` started
beforehand with 1, 2 and all cores' worker processes (one thread each), passed by
scheduler address as on a real cluster; hard events per wall-clock second, the
speed-up over one worker (the aim is >= 0.9 x workers), and the CPU seconds the
workers used per worker and wall-clock second (near 1: busy on a core of their own;
well below: the machine's other load or waiting on the scheduler). Cluster start-up is not
timed; each worker generates 4 events in-process before the clock starts (loading the
modules, Pythia, FastJet and numba's kernels once, a cost a long run pays once per worker).
The machine's ceiling column times plain Pythia on one worker alone and on all at once.

    python benchmarks/bench_generate.py                      # qcd and hbb, 200 events, 3 repeats, Dask (8 shards per core)
    python benchmarks/bench_generate.py --quick              # 60 events, 3 repeats, smaller Dask run
    python benchmarks/bench_generate.py --processes qcd hbb wqq zqq ttbar --repeats 5 --no-dask
    python benchmarks/bench_generate.py --no-chain --dask-shards 16
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sim_pairs.shower as shower_module
from sim_pairs.config import GenerationConfig, JetConfig, ProcessConfig, ViewConfig
from sim_pairs.groups import assemble_groups
from sim_pairs.io import write_shard
from sim_pairs.matching import PROCESS_LABELS
from sim_pairs.processes import generate_hard_events
from sim_pairs.pythia_settings import derive_seed, init_pythia, new_pythia
from sim_pairs.shower import shower_views, view_settings

SQRT_S = 13000.0
VIEWS = {"nominal": ViewConfig(), "seed": ViewConfig()}


def bare_pythia(lhe: Path, n_events: int, *, mpi: bool, seed: int) -> float:
    """CPU seconds for plain Pythia to shower and hadronise the LHE file under every view (init excluded)."""
    total = 0.0
    for name in VIEWS:
        settings = ["Beams:frameType = 4", f"Beams:LHEF = {lhe}"] + view_settings(name, VIEWS, mpi=mpi)
        pythia = new_pythia(settings, seed=derive_seed(seed, name), where=f"bare view {name!r}")
        init_pythia(pythia, where=f"bare view {name!r}")
        start = time.process_time()
        done = 0
        while done < n_events:
            if not pythia.next():
                if pythia.infoPython().atEndOfFile():
                    break
                continue
            done += 1
        total += time.process_time() - start
    return total


class _SetupClock:
    """Counts the CPU time rs3l spends constructing and initialising Pythia (left out, as for bare Pythia)."""

    def __init__(self):
        self.seconds = 0.0

    def wrap(self, function):
        def timed(*args, **kwargs):
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.process_time() - start
        return timed

    def __enter__(self):
        self._saved = shower_module.new_pythia, shower_module.init_pythia
        shower_module.new_pythia, shower_module.init_pythia = self.wrap(new_pythia), self.wrap(init_pythia)
        return self

    def __exit__(self, *exc):
        shower_module.new_pythia, shower_module.init_pythia = self._saved


def rs3l_chain(lhe: Path, process: str, out: Path, *, mpi: bool, seed: int, jets: JetConfig) -> dict[str, float]:
    """CPU seconds of rs3l's showering (init excluded) and of its own work, and the number of pairs."""
    with _SetupClock() as setup:
        start = time.process_time()
        events = list(shower_views(VIEWS, lhe, sqrt_s=SQRT_S, seed=seed, mpi=mpi))
        shower = time.process_time() - start - setup.seconds
    mine_start = time.process_time()
    columns, stats = assemble_groups(process, events, views=list(VIEWS), jets=jets, shard=0,
                                     labels=PROCESS_LABELS[process])
    write_shard(columns, out / "shard-00000.parquet")
    return {"shower": shower, "mine": time.process_time() - mine_start, "pairs": stats.groups}


def _median_range(values: list[float], fmt: str) -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def chain_table(processes, n_events: int, repeats: int, seed: int) -> None:
    jets = JetConfig()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for process in processes:
            lhe = generate_hard_events(ProcessConfig(name=process, events=n_events, pthat_min=450.0), n_events,
                                       tmp / f"{process}.lhe", sqrt_s=SQRT_S, seed=seed)
            if not rows:  # warm-up: numba's soft drop, fastjet, Parquet writing
                rs3l_chain(lhe, process, tmp, mpi=False, seed=seed, jets=jets)
            for mpi in (True, False):
                bare, total, mine, rate = [], [], [], []
                for _ in range(repeats):
                    b = bare_pythia(lhe, n_events, mpi=mpi, seed=seed)
                    chain = rs3l_chain(lhe, process, tmp, mpi=mpi, seed=seed, jets=jets)
                    full = chain["shower"] + chain["mine"]
                    bare.append(b)
                    total.append(full / b)
                    mine.append(chain["mine"] / b)
                    rate.append(chain["pairs"] / full)
                rows.append((process, "on" if mpi else "off", n_events, [len(VIEWS) * n_events / b for b in bare],
                             mine, total, chain["pairs"], rate))
                print(f"  {process} MPI {'on' if mpi else 'off'}: done", file=sys.stderr, flush=True)

    print(f"\nrs3l generation vs bare Pythia 8 (views nominal + seed, 13 TeV, pT-hat > 450 GeV, anti-kt R = "
          f"{jets.radius}, jet pT > {jets.pt_min} GeV), one core, median (min-max) of {repeats} runs\n")
    print("| process | MPI | events | bare Pythia showers/s | rs3l jets+match+write / bare | rs3l total / bare | "
          "jet pairs | jet pairs per core-s |")
    print("|---|---|---|---|---|---|---|---|")
    for process, mpi, n, rate, overhead, total, pairs, pair_rate in rows:
        print(f"| {process} | {mpi} | {n} | {_median_range(rate, '.0f')} | {_median_range(overhead, '.3f')} | "
              f"{_median_range(total, '.3f')} | {pairs} | {_median_range(pair_rate, '.1f')} |")


def _warm_worker(seed: int):
    """One-off loading in each worker, outside the clock: modules, Pythia's and FastJet's
    libraries and numba's compiled kernels, by generating 4 events in the worker itself.

    Without it every worker paid about 1.7 CPU seconds on its first shard (numba loading
    its cached kernels), which two workers pay twice: 9% of a 20 s benchmark.
    """
    from sim_pairs.generate import generate

    config = GenerationConfig(seed=seed, events_per_shard=4, mpi=True, views=dict(VIEWS),
                              processes=[ProcessConfig(name="qcd", events=4, pthat_min=450.0)])
    with tempfile.TemporaryDirectory() as tmp:
        generate(config, Path(tmp) / "warm", workers=1, progress=False)
    return os.getpid()


def _pythia_seconds(n_events: int) -> float:
    """CPU seconds of a plain Pythia run in this process (QCD, pT-hat > 450 GeV, MPI on), init excluded.

    Run on one worker alone and then on every worker at once, it gives the machine's own
    ceiling for the speed-up: how much slower each core runs when all of them work (shared
    caches, memory bandwidth, a hypervisor's sibling threads), whatever Dask does.
    """
    from sim_pairs.pythia_settings import init_pythia, new_pythia

    pythia = new_pythia(["Beams:eCM = 13000", "HardQCD:all = on", "PhaseSpace:pTHatMin = 450"], seed=1,
                        where="ceiling")
    init_pythia(pythia, where="ceiling")
    start = time.process_time()
    for _ in range(n_events):
        pythia.next()
    return time.process_time() - start


def dask_table(n_shards: int, events_per_shard: int, seed: int) -> None:
    from dask.distributed import Client, LocalCluster

    from sim_pairs.generate import generate

    cores = os.cpu_count() or 1
    config = GenerationConfig(seed=seed, events_per_shard=events_per_shard, mpi=True, views=dict(VIEWS),
                              processes=[ProcessConfig(name="qcd", events=n_shards * events_per_shard,
                                                       pthat_min=450.0)])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in sorted({1, 2, cores}):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                    Client(cluster) as client:
                client.run(_warm_worker, seed + 1)
                names = sorted(client.scheduler_info()["workers"])
                alone = client.run(_pythia_seconds, 600, workers=names[:1])[names[0]]
                together = client.run(_pythia_seconds, 600)
                ceiling = workers * alone / (sum(together.values()) / len(together))
                load = os.getloadavg()[0]
                cpu_before = client.run(time.process_time)
                start = time.perf_counter()
                generate(config, Path(tmp) / f"w{workers}", scheduler=cluster.scheduler_address, progress=False)
                wall = time.perf_counter() - start
                cpu_after = client.run(time.process_time)
            cpu = sum(cpu_after[w] - cpu_before[w] for w in cpu_after)
            rows.append((workers, wall, n_shards * events_per_shard / wall, load, cpu / (wall * workers), ceiling))
            print(f"  Dask {workers} worker(s): done", file=sys.stderr, flush=True)

    print(f"\nrs3l generate on a Dask LocalCluster passed by address ({n_shards} shards x {events_per_shard} qcd "
          f"events, MPI on, views nominal + seed, truth level); {cores} cores\n")
    print("| workers | wall s | hard events/s | speed-up | speed-up / workers | machine ceiling / workers | "
          "worker CPU / wall | load average at start |")
    print("|---|---|---|---|---|---|---|---|")
    base = rows[0][2]
    for workers, wall, rate, load, busy, ceiling in rows:
        print(f"| {workers} | {wall:.1f} | {rate:.1f} | {rate / base:.2f} | {rate / base / workers:.2f} | "
              f"{ceiling / workers:.2f} | {busy:.2f} | {load:.1f} |")
    print("\n(machine ceiling: plain Pythia's speed on every worker at once over its speed on one worker alone, "
          "times the workers: what any scheduler could reach here)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200, help="hard events per process and MPI setting")
    parser.add_argument("--quick", action="store_true", help="60 events per row, 6 Dask shards of 20")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each row (the median is printed)")
    parser.add_argument("--processes", nargs="+", default=["qcd", "hbb"])
    parser.add_argument("--no-dask", dest="dask", action="store_false", help="skip the Dask scaling table")
    parser.add_argument("--no-chain", dest="chain", action="store_false", help="skip the table against bare Pythia")
    parser.add_argument("--dask-shards", type=int, default=None,
                        help="shards of 40 events (default 8 per core: with 4 per worker the last shard of "
                             "one worker running alone cost 2 workers 0.86 instead of 0.95 of their ideal)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    n_events = 60 if args.quick else args.events
    if args.chain:
        chain_table(args.processes, n_events, args.repeats, args.seed)
    if args.dask:
        shards = args.dask_shards or 8 * (os.cpu_count() or 1)
        dask_table(6 if args.quick else shards, 20 if args.quick else 40, args.seed)


if __name__ == "__main__":
    main()
