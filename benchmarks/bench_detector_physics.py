"""Physics of the fast detector: jet energy, mass and soft-drop mass against the truth jet, per process.

Generates Pythia 8 events (13 TeV, pT-hat 450-700 GeV, Monash, simple shower, MPI
off: the quickstart's settings) of H->bb, W->qq and QCD with ``sim_pairs.processes``'
settings, clusters anti-kt R = 0.8 jets of the visible final state with fastjet,
keeps jets with pT > 400 GeV and abs(eta) < 2.5 (H and W: the jet within dR < 0.5 of
the boson and both decay quarks within 0.8, so that the truth mass peak is there),
and runs ``sim_pairs.detector.simulate_jet`` on each. Per process and per graph type
it prints:

* particle flow (``pfc_*``) and cells (``cell_*``, each a massless vector at the
  cell centre; soft drop on the cells with E > 0): the energy and mass response,
  median and 16-84% interval of reco / truth;
* the soft-drop mass (beta 0, z_cut 0.1: ``sim_pairs.jets.softdrop_mass``) peak and
  width for H and W: the centre and half-length / 0.674 of the shortest interval
  holding half the jets with 40 < m_SD < 250 GeV (a Gaussian's sigma);
* charged and neutral multiplicities and the neutral component's mass against the
  truth constituents (charged / neutral visible particles);
* the detector's time per jet (median of ``--passes`` passes) against Pythia's
  time per selected jet on the same events.

``--compare`` runs the same jets through the card with cluster splitting off
(``split.primary_layers`` and ``secondary_layers`` empty: one neutral candidate per
topo-cluster, the detector before issue 18) and then the card as given.

    python benchmarks/bench_detector_physics.py                  # 300 jets per process, about 2 minutes
    python benchmarks/bench_detector_physics.py --jets 100 --compare
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import time

import numpy as np

from sim_pairs.detector import load_card, simulate_jet
from sim_pairs.jets import cluster_events, pt_eta_phi_mass, softdrop_mass
from sim_pairs.processes import PROCESSES
from sim_pairs.pythia_settings import init_pythia, new_pythia
from sim_pairs.shower import final_state_particles

RADIUS = 0.8
if "cell_positions" in inspect.signature(simulate_jet).parameters:  # cells stored by index: ask for positions
    simulate_jet = functools.partial(simulate_jet, cell_positions=True)
BOSONS = {"hbb": 25, "wqq": 24}
NO_SPLIT = {"split": {"primary_layers": [], "secondary_layers": []}}


def _dr(eta1, phi1, eta2, phi2):
    return np.hypot(eta1 - eta2, (phi1 - phi2 + np.pi) % (2 * np.pi) - np.pi)


def _boson(process_record, pid: int):
    """(eta, phi) of the boson and of its two daughters in Pythia's hard-process record."""
    for i in range(process_record.size()):
        p = process_record[i]
        if abs(p.id()) == pid:
            d1, d2 = p.daughter1(), p.daughter2()
            if d1 > 0 and d2 >= d1:
                daughters = [process_record[d] for d in range(d1, d2 + 1)]
                return (p.eta(), p.phi()), [(d.eta(), d.phi()) for d in daughters]
    return None


def generate(process: str, n_jets: int, seed: int, pt_min: float = 400.0):
    """Up to ``n_jets`` selected jets: (final particles, jet index info) and Pythia's time per jet."""
    settings = (["Beams:eCM = 13000.", "PartonLevel:MPI = off", "PhaseSpace:pTHatMin = 450.",
                 "PhaseSpace:pTHatMax = 700."] + PROCESSES[process])
    pythia = new_pythia(settings, seed=seed, where=f"process {process}")
    init_pythia(pythia, where=f"process {process}")
    samples, seconds = [], 0.0
    while len(samples) < n_jets:
        start = time.process_time()
        ok = pythia.next()
        seconds += time.process_time() - start
        if not ok:
            continue
        final = final_state_particles(pythia.event)
        jets = cluster_events([final], radius=RADIUS, pt_min=pt_min)
        boson = _boson(pythia.process, BOSONS[process]) if process in BOSONS else None
        for j in range(len(jets.pt)):
            if abs(jets.eta[j]) >= 2.5 or jets.mass[j] < 1.0:  # (a lone lepton or photon is no jet to resolve)
                continue
            if process in BOSONS:
                if boson is None or _dr(jets.eta[j], jets.phi[j], *boson[0]) >= 0.5:
                    continue
                if any(_dr(jets.eta[j], jets.phi[j], *d) >= RADIUS for d in boson[1]):
                    continue
            members = jets.constituents_of(j)
            samples.append((final, float(jets.eta[j]), float(jets.phi[j]), final.select(members)))
            if process not in BOSONS:
                break  # the leading jet only: QCD events have two alike
    return samples[:n_jets], seconds / max(len(samples), 1)


def _mass(px, py, pz, e):
    return float(np.sqrt(max(e.sum() ** 2 - px.sum() ** 2 - py.sum() ** 2 - pz.sum() ** 2, 0.0)))


def _truth(members):
    charged = members.charge != 0
    v = (members.px, members.py, members.pz, members.e)
    neutral = [a[~charged] for a in v]
    return dict(e=members.e.sum(), m=_mass(*v), n_ch=int(charged.sum()), n_neu=int((~charged).sum()),
                m_neu=_mass(*neutral)), v


def _pflow(out):
    v = tuple(out[k].astype(np.float64) for k in ("pfc_px", "pfc_py", "pfc_pz", "pfc_energy"))
    charged = out["pfc_charge"] != 0
    neutral = [a[~charged] for a in v]
    return dict(e=v[3].sum(), m=_mass(*v), n_ch=int(charged.sum()), n_neu=int((~charged).sum()),
                m_neu=_mass(*neutral)), v


def _cells(out):
    e = out["cell_energy"].astype(np.float64)
    eta, phi = out["cell_eta"].astype(np.float64), out["cell_phi"].astype(np.float64)
    pt = e / np.cosh(eta)
    v = (pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), e)
    positive = e > 0
    return dict(e=e.sum(), m=_mass(*v)), tuple(a[positive] for a in v)


def _softdrop(vectors):
    counts = np.array([len(v[0]) for v in vectors])
    flat = [np.concatenate([v[k] for v in vectors]) for k in range(4)]
    return softdrop_mass(*flat, counts, beta=0.0, z_cut=0.1, r0=RADIUS)


def _peak(mass):
    """Centre and Gaussian-equivalent width of the shortest interval holding half the jets in 40-250 GeV."""
    m = np.sort(mass[(mass > 40) & (mass < 250)])
    if len(m) < 10:
        return float("nan"), float("nan")
    k = len(m) // 2
    lengths = m[k:] - m[: len(m) - k]
    i = int(np.argmin(lengths))
    return 0.5 * (m[i] + m[i + k]), 0.5 * lengths[i] / 0.674


def _interval(x):
    lo, med, hi = np.percentile(x, [16, 50, 84])
    return f"{med:.3f} [{lo:.3f}, {hi:.3f}]"


def run_detector(samples, card, seed: int, passes: int):
    rng = np.random.default_rng(seed)
    outputs = [simulate_jet(final, eta, phi, RADIUS, card, rng) for final, eta, phi, _ in samples]
    times = []
    for _ in range(passes):
        rng = np.random.default_rng(seed)
        start = time.process_time()
        for final, eta, phi, _ in samples:
            simulate_jet(final, eta, phi, RADIUS, card, rng)
        times.append(time.process_time() - start)
    return outputs, float(np.median(times)) / len(samples)


def report(process, samples, outputs, t_det, t_pythia, label):
    truth = [_truth(m) for *_, m in samples]
    rows = []
    sd_truth = _softdrop([v for _, v in truth])
    for graph, fn in (("particle flow", _pflow), ("cells", _cells)):
        reco = [fn(o) for o in outputs]
        e_resp = np.array([r["e"] / t["e"] for (r, _), (t, _) in zip(reco, truth)])
        m_resp = np.array([r["m"] / t["m"] for (r, _), (t, _) in zip(reco, truth)])
        sd = _softdrop([v for _, v in reco])
        peak, width = _peak(sd)
        t_peak, t_width = _peak(sd_truth)
        sd_text = f"{peak:.1f} / {width:.1f} (truth {t_peak:.1f} / {t_width:.1f})" if process in BOSONS else "-"
        if graph == "particle flow":
            mult = (f"{np.mean([r['n_ch'] for r, _ in reco]):.1f} / {np.mean([t['n_ch'] for t, _ in truth]):.1f}",
                    f"{np.mean([r['n_neu'] for r, _ in reco]):.1f} / {np.mean([t['n_neu'] for t, _ in truth]):.1f}",
                    f"{np.median([r['m_neu'] for r, _ in reco]):.1f} / {np.median([t['m_neu'] for t, _ in truth]):.1f}")
        else:
            mult = ("-", "-", "-")
        rows.append(f"| {label} | {process} | {graph} | {len(samples)} | {_interval(e_resp)} | {_interval(m_resp)} | "
                    f"{sd_text} | {' | '.join(mult)} | {t_det * 1e3:.3f} ms ({t_det / t_pythia:.1%} of {t_pythia * 1e3:.2f} ms) |")
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jets", type=int, default=300, help="jets per process (default 300)")
    parser.add_argument("--processes", default="hbb,wqq,qcd")
    parser.add_argument("--card", default="cocoa", help="detector card name or YAML file")
    parser.add_argument("--overrides", type=json.loads, default=None,
                        help='card overrides as JSON, e.g. \'{"split": {"min_energy": 0.3}}\'')
    parser.add_argument("--compare", action="store_true", help="also run the card with cluster splitting off, first")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--passes", type=int, default=3, help="timed detector passes (median reported)")
    args = parser.parse_args(argv)

    cards = [("card", load_card(args.card, args.overrides))]
    if args.compare:
        cards.insert(0, ("no split", load_card(args.card, {**(args.overrides or {}), **NO_SPLIT})))
    header = ("| card | process | graph | jets | E reco/truth: median [16%, 84%] | mass reco/truth | "
              "soft-drop mass peak / width, GeV | charged reco / truth | neutral reco / truth | "
              "neutral mass reco / truth, GeV (median) | detector time per jet (of Pythia's) |")
    rows = []
    for i, process in enumerate(args.processes.split(",")):
        samples, t_pythia = generate(process, args.jets, seed=args.seed + i)
        simulate_jet(samples[0][0], samples[0][1], samples[0][2], RADIUS, cards[0][1], np.random.default_rng(0))
        for label, card in cards:
            outputs, t_det = run_detector(samples, card, args.seed, args.passes)
            rows += report(process, samples, outputs, t_det, t_pythia, label)
    print(f"\n13 TeV, pT-hat 450-700 GeV, MPI off; truth jets anti-kt R = 0.8, pT > 400 GeV, abs(eta) < 2.5; "
          f"card '{args.card}'; one core (process time)\n")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
