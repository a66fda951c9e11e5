"""Speed and memory of the fast detector simulation against Pythia's shower time, per jet.

Generates Pythia 8 QCD events (13 TeV, pT-hat 500-1000 GeV, simple shower, MPI on),
clusters anti-kt R = 0.8 jets with fastjet, keeps jets with 500 < pT < 1000 GeV and
abs(eta) < 2.5, and runs ``sim_pairs.detector.simulate_jet`` on each (COCOA card by
default). Prints a Markdown table: jets per core-second, detector time per jet,
Pythia time per jet (event time / selected jets), their ratio (the aim is <= 10%),
peak memory per jet, and the size of a jet's output.

The detector's pass over the jets takes well under a second, so on a shared machine
one pass can land on a burst of load; it is timed ``--passes`` times and the median
pass is compared with Pythia's (one long pass, itself an average over the load).

    python benchmarks/bench_detector.py            # 500 events, about 15 s
    python benchmarks/bench_detector.py --quick    # 40 events
    python benchmarks/bench_detector.py --events 500 --card noisy
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

import numpy as np

from sim_pairs.detector import load_card, simulate_jet
from sim_pairs.event import Particles


def _pythia(seed: int):
    try:
        import pythia8mc
    except ImportError as err:  # pragma: no cover - environment dependent
        raise SystemExit(f"this benchmark needs pythia8mc (pip install pythia8mc==8.317.2): {err}")
    pythia = pythia8mc.Pythia("", False)
    for setting in (
        "Beams:eCM = 13000", "HardQCD:all = on", "PhaseSpace:pTHatMin = 500", "PhaseSpace:pTHatMax = 1000",
        "PartonShowers:model = 1", "PartonLevel:MPI = on", "Random:setSeed = on", f"Random:seed = {seed}",
        "Next:numberCount = 0", "Print:quiet = on",
    ):
        pythia.readString(setting)
    if not pythia.init():
        raise SystemExit("Pythia failed to initialise")
    return pythia


def _final_particles(event) -> Particles:
    rows = [
        (p.px(), p.py(), p.pz(), p.e(), p.id(), p.charge(), p.xProd(), p.yProd(), p.zProd())
        for p in (event[i] for i in range(event.size())) if p.isFinal()
    ]
    a = np.array(rows, dtype=np.float64).T.copy()
    return Particles(px=a[0], py=a[1], pz=a[2], e=a[3], pid=a[4].astype(np.int32),
                     charge=np.rint(a[5]).astype(np.int8), vx=a[6], vy=a[7], vz=a[8])


def _jets(fastjet, particles: Particles, radius: float):
    visible = ~np.isin(np.abs(particles.pid), (12, 14, 16))
    inputs = [fastjet.PseudoJet(*map(float, v)) for v in zip(particles.px[visible], particles.py[visible],
                                                             particles.pz[visible], particles.e[visible])]
    sequence = fastjet.ClusterSequence(inputs, fastjet.JetDefinition(fastjet.antikt_algorithm, radius))
    jets = sequence.inclusive_jets(400.0)
    return [(j.eta(), j.phi_std()) for j in jets if 500.0 < j.pt() < 1000.0 and abs(j.eta()) < 2.5]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=500, help="Pythia events (default 500, about 15 s)")
    parser.add_argument("--quick", action="store_true", help="40 events")
    parser.add_argument("--card", default="cocoa", help="detector card name or YAML file")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--passes", type=int, default=5, help="timed passes of the detector over the jets (median reported)")
    args = parser.parse_args(argv)
    n_events = 40 if args.quick else args.events
    try:
        import fastjet
    except ImportError as err:  # pragma: no cover
        raise SystemExit(f"this benchmark needs fastjet (pip install fastjet): {err}")
    from tqdm import tqdm

    card = load_card(args.card)
    radius = 0.8
    pythia = _pythia(args.seed)
    rng = np.random.default_rng(args.seed)

    t_pythia = 0.0
    samples: list[tuple[Particles, float, float]] = []
    for _ in tqdm(range(n_events), desc="pythia", unit="event"):
        start = time.process_time()
        ok = pythia.next()
        t_pythia += time.process_time() - start
        if not ok:
            continue
        particles = _final_particles(pythia.event)
        samples.extend((particles, eta, phi) for eta, phi in _jets(fastjet, particles, radius))
    if not samples:
        raise SystemExit("no jets selected; raise --events")

    simulate_jet(*samples[0][:1], samples[0][1], samples[0][2], radius, card, rng)  # numba compilation, untimed
    n_cells = n_tracks = n_pfc = out_bytes = 0
    for particles, eta, phi in samples:
        out = simulate_jet(particles, eta, phi, radius, card, rng)
        n_cells += len(out["cell_energy"])
        n_tracks += len(out["track_pt"])
        n_pfc += len(out["pfc_energy"])
        out_bytes += sum(v.nbytes for v in out.values())
    passes = []
    for _ in tqdm(range(max(args.passes, 1)), desc="detector", unit="pass"):
        start = time.process_time()
        for particles, eta, phi in samples:
            simulate_jet(particles, eta, phi, radius, card, rng)
        passes.append(time.process_time() - start)
    t_detector = float(np.median(passes))

    peaks = []
    for particles, eta, phi in samples[: min(20, len(samples))]:
        tracemalloc.start()
        simulate_jet(particles, eta, phi, radius, card, rng)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    n_jets = len(samples)
    from sim_pairs.detector.cell_window import _workspace

    workspace = sum(a.nbytes for a in _workspace(0, 0))

    per_jet_det = t_detector / n_jets
    per_jet_pythia = t_pythia / n_jets
    print(f"\n{n_events} Pythia events (QCD, pT-hat 500-1000 GeV, MPI on, simple shower), {n_jets} jets with "
          f"500 < pT < 1000 GeV, card '{card.name}', one core (process time), pid {os.getpid()}; detector: median "
          f"of {len(passes)} passes, fastest {min(passes) / n_jets * 1e3:.3f} ms per jet\n")
    print("| quantity | detector | Pythia (reference) | detector / Pythia |")
    print("|---|---|---|---|")
    print(f"| time per jet | {per_jet_det * 1e3:.3f} ms | {per_jet_pythia * 1e3:.3f} ms | {per_jet_det / per_jet_pythia:.1%} |")
    print(f"| jets per core-second | {1 / per_jet_det:.0f} | {1 / per_jet_pythia:.0f} | |")
    print(f"| peak Python-heap memory per jet (tracemalloc) | {np.mean(peaks) / 1024:.0f} KiB | | |")
    print(f"| cell workspace, once per thread (reused) | {workspace / 1024:.0f} KiB | | |")
    print(f"| output per jet | {out_bytes / n_jets / 1024:.1f} KiB: {n_cells / n_jets:.0f} cells, "
          f"{n_tracks / n_jets:.0f} tracks, {n_pfc / n_jets:.0f} pflow candidates | | |")


if __name__ == "__main__":
    main()
