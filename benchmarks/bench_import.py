"""Import rate of the public-dataset importers (``rs3l import``), against reading the same file.

Writes toy files in the exact published layouts (q/g ``.npz`` with ``X`` (N, M, 4)
float64 zero-padded and ``y``; a Top Tagging pandas fixed-format HDF5 table with
``E_i, PX_i, PY_i, PZ_i`` i < 200, ``truth*``, ``ttv``, ``is_signal_new``; a JetClass
ROOT tree ``tree``), imports each with ``sim_pairs.importers`` and prints, per
format: jets, seconds, jets per second, and the ratio against the reference, the
format's standard reader loading the whole file into memory (``numpy.load``,
``pandas.read_hdf`` or h5py, ``uproot`` ``arrays``): ratio = reference time / import
time (the importer also converts, checks and writes Parquet, in bounded memory).

The jets are toys, not physics (multiplicities and widths differ between quark and
gluon, Pythia-like and Herwig-like, top and QCD, so that taggers have something to
learn); ``--keep DIR`` leaves the files there for trying the worked example of the
README (``DIR/qg_pythia.npz``, ``DIR/qg_herwig.npz``, ``DIR/toptag.h5``, ``DIR/jetclass.root``).

Usage::

    python benchmarks/bench_import.py                      # 20k jets per format, about a minute on 2 cores
    python benchmarks/bench_import.py --jets 2000 --keep toy_inputs
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import awkward as ak
import numpy as np

from sim_pairs.importers import import_jetclass, import_qg, import_toptag
from sim_pairs.importers.jetclass import JETCLASS_LABELS

#: toy q/g settings per generator: (mean multiplicity quark, gluon; angular width quark, gluon)
QG_TOYS = {"pythia": (30.0, 50.0, 0.06, 0.10), "herwig": (27.0, 42.0, 0.065, 0.095)}


def _spray(rng, n, pt_jet, width):
    """n massless-ish constituents: pT fractions from a Dirichlet, Gaussian offsets in (y, phi)."""
    z = rng.dirichlet(np.full(n, 0.7))
    return z * pt_jet, rng.normal(0, width, n), rng.normal(0, width, n)


def write_qg(path: Path, n_jets: int, generator: str, seed: int) -> Path:
    """A q/g .npz: X (N, M, 4) = (pt, y, phi, pdgid) float64, zero-padded; y 1 = quark."""
    rng = np.random.default_rng(seed)
    mq, mg, wq, wg = QG_TOYS[generator]
    quark = rng.integers(0, 2, n_jets)
    mult = np.maximum(2, rng.poisson(np.where(quark == 1, mq, mg)))
    x = np.zeros((n_jets, int(mult.max()), 4))
    pids = np.array([22, 22, 211, -211, 130, 321, -321, 2112, 2212, -2212, 11, -13])
    for j in range(n_jets):
        n = mult[j]
        pt, dy, dphi = _spray(rng, n, rng.uniform(500, 550), wq if quark[j] else wg)
        order = np.argsort(-pt)
        x[j, :n, 0] = pt[order]
        x[j, :n, 1] = rng.uniform(-1.7, 1.7) + dy[order]
        x[j, :n, 2] = np.mod(rng.uniform(0, 2 * np.pi) + dphi[order], 2 * np.pi)
        x[j, :n, 3] = rng.choice(pids, n)
    np.savez_compressed(path, X=x, y=quark.astype(np.float64))
    return path


def _top_columns(n_jets: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    top = rng.integers(0, 2, n_jets)
    p4 = np.zeros((n_jets, 200, 4), np.float32)
    for j in range(n_jets):
        prongs = 3 if top[j] else 1
        parts = []
        for _ in range(prongs):
            centre = rng.normal(0, 0.35 if top[j] else 0.0, 2)
            pt, deta, dphi = _spray(rng, max(2, rng.poisson(20 if top[j] else 40)), 600.0 / prongs, 0.08)
            parts.append((pt, centre[0] + deta, centre[1] + dphi))
        pt, eta, phi = (np.concatenate(v)[:200] for v in zip(*parts))
        order = np.argsort(-pt)
        pt, eta, phi = pt[order], eta[order], phi[order]
        px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
        p4[j, : len(pt)] = np.stack([pt * np.cosh(eta), px, py, pz], axis=1)
    columns = {f"{c}_{i}": p4[:, i, k] for i in range(200) for k, c in enumerate(("E", "PX", "PY", "PZ"))}
    for c in ("truthE", "truthPX", "truthPY", "truthPZ"):
        columns[c] = np.zeros(n_jets, np.float32)
    columns["ttv"] = np.zeros(n_jets, np.int64)
    columns["is_signal_new"] = top.astype(np.int64)
    return columns


def write_toptag(path: Path, n_jets: int, seed: int) -> Path:
    """The Top Tagging layout: pandas ``to_hdf(key="table")`` (fixed format), or the same blocks with h5py."""
    columns = _top_columns(n_jets, seed)
    try:
        import pandas as pd
        import tables  # noqa: F401

        pd.DataFrame(columns).to_hdf(path, key="table", mode="w")
        return path
    except ImportError:
        pass
    import h5py

    with h5py.File(path, "w") as f:
        g = f.create_group("table")
        floats = [n for n in columns if columns[n].dtype == np.float32]
        ints = [n for n in columns if columns[n].dtype == np.int64]
        g["axis0"] = np.array([n.encode() for n in floats + ints])
        g["axis1"] = np.arange(n_jets)
        for b, block in enumerate((floats, ints)):
            g[f"block{b}_items"] = np.array([n.encode() for n in block])
            g[f"block{b}_values"] = np.stack([columns[n] for n in block], axis=1)
    return path


def write_jetclass(path: Path, n_jets: int, seed: int) -> Path:
    """A JetClass tree: jagged part_* (float32), jet_*, ten label_* flags."""
    import uproot

    rng = np.random.default_rng(seed)
    label = rng.integers(0, 10, n_jets)
    counts = np.maximum(2, rng.poisson(np.where(label == 0, 35, 55)))
    n = int(counts.sum())
    kind = rng.choice(5, n, p=[0.6, 0.1, 0.26, 0.02, 0.02])
    charge = np.where((kind == 0) | (kind >= 3), rng.choice([-1.0, 1.0], n), 0.0).astype(np.float32)
    pt = np.concatenate([_spray(rng, c, 600.0, 0.1)[0] for c in counts])
    eta, phi = rng.normal(0, 0.1, n), rng.normal(0, 0.1, n)

    def jag(values):
        return ak.unflatten(np.asarray(values, np.float32), counts)

    branches = {"part_px": jag(pt * np.cos(phi)), "part_py": jag(pt * np.sin(phi)), "part_pz": jag(pt * np.sinh(eta)),
                "part_energy": jag(pt * np.cosh(eta)), "part_deta": jag(eta), "part_dphi": jag(phi),
                "part_d0val": jag(np.where(charge != 0, rng.normal(0, 0.05, n), 0)), "part_d0err": jag(np.ones(n)),
                "part_dzval": jag(np.where(charge != 0, rng.normal(0, 0.1, n), 0)), "part_dzerr": jag(np.ones(n)),
                "part_charge": jag(charge)}
    for k, name in enumerate(("part_isChargedHadron", "part_isNeutralHadron", "part_isPhoton", "part_isElectron",
                              "part_isMuon")):
        branches[name] = jag(kind == k)
    energy = np.bincount(np.repeat(np.arange(n_jets), counts), weights=pt * np.cosh(eta), minlength=n_jets)
    branches.update({"jet_pt": rng.uniform(500, 1000, n_jets).astype(np.float32),
                     "jet_eta": rng.normal(0, 1, n_jets).astype(np.float32),
                     "jet_phi": rng.uniform(-np.pi, np.pi, n_jets).astype(np.float32),
                     "jet_energy": energy.astype(np.float32), "jet_nparticles": counts.astype(np.float32),
                     "jet_sdmass": rng.uniform(0, 200, n_jets).astype(np.float32)})
    for k, name in enumerate(JETCLASS_LABELS):
        branches[name] = label == k
    with uproot.recreate(path) as f:
        f["tree"] = branches
    return path


def _reference(fmt: str, path: Path) -> None:
    """Load the whole file with the format's standard reader."""
    if fmt.startswith("qg"):
        with np.load(path) as f:
            f["X"], f["y"]
    elif fmt == "toptag":
        try:
            import pandas as pd

            pd.read_hdf(path, "table")
        except ImportError:
            import h5py

            with h5py.File(path, "r") as f:
                f["table/block0_values"][()], f["table/block1_values"][()]
    else:
        import uproot

        from sim_pairs.importers.jetclass import JETCLASS_BRANCHES

        uproot.open(path)["tree"].arrays(list(JETCLASS_BRANCHES))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=20_000, help="jets per file")
    parser.add_argument("--chunk-size", type=int, default=50_000, help="jets per shard (rs3l import's default)")
    parser.add_argument("--keep", type=Path, default=None, help="write the toy input files here and keep them")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_import."))
    inputs = args.keep or work
    inputs.mkdir(parents=True, exist_ok=True)
    try:
        t = time.perf_counter()
        files = {
            "qg_pythia": write_qg(inputs / "qg_pythia.npz", args.jets, "pythia", 1),
            "qg_herwig": write_qg(inputs / "qg_herwig.npz", args.jets, "herwig", 2),
            "toptag": write_toptag(inputs / "toptag.h5", args.jets, 3),
            "jetclass": write_jetclass(inputs / "jetclass.root", args.jets, 4),
        }
        print(f"wrote toy inputs ({args.jets} jets each) to {inputs} in {time.perf_counter() - t:.1f} s")
        importers = {
            "qg_pythia": lambda p, o: import_qg([p], o, view="pythia", chunk_size=args.chunk_size, progress=False),
            "qg_herwig": lambda p, o: import_qg([p], o, view="herwig", chunk_size=args.chunk_size, progress=False),
            "toptag": lambda p, o: import_toptag([p], o, chunk_size=args.chunk_size, progress=False),
            "jetclass": lambda p, o: import_jetclass([p], o, chunk_size=args.chunk_size, progress=False),
        }
        rows = []
        for fmt, path in files.items():
            t = time.perf_counter()
            _reference(fmt, path)
            ref = time.perf_counter() - t
            out = work / f"data_{fmt}"
            t = time.perf_counter()
            done = importers[fmt](path, out)
            took = time.perf_counter() - t
            size_in = path.stat().st_size / 1e6
            size_out = sum(p.stat().st_size for p in done.shards) / 1e6
            rows.append((fmt, done.n_jets, size_in, size_out, took, done.n_jets / took, ref, ref / took))
        print()
        print("| format | jets | input MB | shards MB | import s | jets/s | reference read s | ratio (ref / import) |")
        print("|---|---|---|---|---|---|---|---|")
        for fmt, n, size_in, size_out, took, rate, ref, ratio in rows:
            print(f"| {fmt} | {n} | {size_in:.1f} | {size_out:.1f} | {took:.2f} | {rate:,.0f} | {ref:.2f} | {ratio:.2f} |")
        print("\nreference: numpy.load (q/g), pandas.read_hdf (Top Tagging), uproot arrays (JetClass), whole file in memory")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
