"""Generation speed: jet pairs per core-second and rs3l's overhead over bare Pythia.

For each process (qcd, hbb, wqq, zqq, ttbar) with MPI on and off: N hard events
(13 TeV, pT-hat > 450 GeV) are written to an LHE file once; then

* **bare Pythia** (the reference): for each of the two views ``nominal`` and
  ``seed``, a Pythia instance reads the same LHE file (``Beams:frameType = 4``) with
  the same settings and runs ``next()`` over all events, nothing else;
* **rs3l**: ``sim_pairs.shower.shower_views`` (the same two showers plus the copy of
  the final state into numpy), then ``sim_pairs.groups.assemble_groups`` (anti-kt,
  soft drop, matching, columns) and ``sim_pairs.io.write_shard``.

Columns: events/s of bare Pythia per view; the time of jets + matching + columns +
writing over the bare Pythia time of both views (the aim is <= 10% with MPI on); the
whole rs3l time over bare Pythia; and jet pairs (groups with both views) per
core-second of the whole rs3l chain. Times are CPU seconds of this process
(``time.process_time``), so other load on the machine does not inflate them;
Pythia's init and the one-off loading of numba and fastjet are not counted.

    python benchmarks/bench_generate.py              # 200 events per row, about 2 minutes
    python benchmarks/bench_generate.py --quick      # 50 events
    python benchmarks/bench_generate.py --events 500 --processes hbb ttbar
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from sim_pairs.config import JetConfig, ProcessConfig, ViewConfig
from sim_pairs.groups import assemble_groups
from sim_pairs.io import write_shard
from sim_pairs.matching import PROCESS_LABELS
from sim_pairs.processes import generate_hard_events
from sim_pairs.pythia_settings import derive_seed, init_pythia, new_pythia
from sim_pairs.shower import shower_views, view_settings

SQRT_S = 13000.0
VIEWS = {"nominal": ViewConfig(), "seed": ViewConfig()}


def bare_pythia(lhe: Path, n_events: int, *, mpi: bool, seed: int) -> float:
    """Seconds for plain Pythia to shower and hadronise the LHE file under every view."""
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


def rs3l_chain(lhe: Path, process: str, out: Path, *, mpi: bool, seed: int, jets: JetConfig) -> dict[str, float]:
    """Seconds of the rs3l showering and of the rs3l-only part, and the number of pairs."""
    start = time.process_time()
    # Pythia init is outside the timed loop of bare_pythia too: the generator is created lazily.
    iterator = shower_views(VIEWS, lhe, sqrt_s=SQRT_S, seed=seed, mpi=mpi)
    first = next(iterator)
    shower_start = time.process_time()
    events = [first] + list(iterator)
    shower = time.process_time() - shower_start
    init = shower_start - start
    # Warm-up outside the clock: numba loads its compiled soft-drop kernel once per process.
    assemble_groups(process, events[:2], views=list(VIEWS), jets=jets, shard=0, labels=PROCESS_LABELS[process])
    mine_start = time.process_time()
    columns, stats = assemble_groups(process, events, views=list(VIEWS), jets=jets, shard=0,
                                     labels=PROCESS_LABELS[process])
    write_shard(columns, out / "shard-00000.parquet")
    mine = time.process_time() - mine_start
    return {"shower": shower, "init_and_first": init, "mine": mine, "pairs": stats.groups}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200, help="hard events per process and MPI setting")
    parser.add_argument("--quick", action="store_true", help="50 events per row")
    parser.add_argument("--processes", nargs="+", default=["qcd", "hbb", "wqq", "zqq", "ttbar"])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    n_events = 50 if args.quick else args.events
    jets = JetConfig()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for process in args.processes:
            lhe = generate_hard_events(ProcessConfig(name=process, events=n_events, pthat_min=450.0), n_events,
                                       tmp / f"{process}.lhe", sqrt_s=SQRT_S, seed=args.seed)
            for mpi in (True, False):
                bare = bare_pythia(lhe, n_events, mpi=mpi, seed=args.seed)
                chain = rs3l_chain(lhe, process, tmp, mpi=mpi, seed=args.seed, jets=jets)
                # The first event of the rs3l chain is timed with its init; scale to all events.
                per_event = chain["shower"] / max(n_events - 1, 1)
                full = per_event * n_events + chain["mine"]
                rows.append((process, "on" if mpi else "off", n_events, len(VIEWS) * n_events / bare,
                             chain["mine"] / bare, full / bare, chain["pairs"], chain["pairs"] / full))
                print(f"  {process} MPI {'on' if mpi else 'off'}: done", file=sys.stderr, flush=True)

    print(f"\nrs3l generation vs bare Pythia 8 (views nominal + seed, 13 TeV, pT-hat > 450 GeV, "
          f"anti-kt R = {jets.radius}, jet pT > {jets.pt_min} GeV), one core\n")
    print("| process | MPI | events | bare Pythia showers/s | rs3l overhead (jets+match+write) / bare | "
          "rs3l total / bare | jet pairs | jet pairs per core-s |")
    print("|---|---|---|---|---|---|---|---|")
    for process, mpi, n, rate, overhead, total, pairs, pair_rate in rows:
        print(f"| {process} | {mpi} | {n} | {rate:.0f} | {overhead:.3f} | {total:.3f} | {pairs} | {pair_rate:.1f} |")


if __name__ == "__main__":
    main()
