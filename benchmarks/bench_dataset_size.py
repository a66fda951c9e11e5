"""Dataset size: bytes per jet and view of the compact schema (version 2) against version 1.

Generates the quickstart config's ``generation`` section (QCD, H->bb, W->qq; five
views, two detector replicas) with ``--events`` hard events per process, then
rewrites the very same rows as schema version 1 stored them (cell layer, eta, phi,
x, y, z per cell, rebuilt from ``cell_index`` with the card, the tracks' layer
crossings, and pyarrow's default zstd without byte-stream split or dictionaries):
the reference. (The cell energies are the card's digitised ones in both.) Prints the bytes per
row (one jet seen in one view) of each, the columns that take the most room, and the
quickstart dataset's size extrapolated from bytes per hard event of each process.

    python benchmarks/bench_dataset_size.py                 # 200 events per process (one shard each), ~2 min
    python benchmarks/bench_dataset_size.py --events 60
"""

from __future__ import annotations

import argparse
import collections
import tempfile
from pathlib import Path

import awkward as ak
import numpy as np
import pyarrow.parquet as pq
import yaml

from sim_pairs.config import GenerationConfig
from sim_pairs.detector.cell_index import cards_from_metadata, decode_cells
from sim_pairs.generate import generate
from sim_pairs.io import read_metadata
from sim_pairs.shipped_configs import CONFIG_DIR
from sim_pairs.typed_config import from_mapping


def _column_bytes(path: Path) -> collections.Counter:
    meta = pq.ParquetFile(path).metadata
    out = collections.Counter()
    for g in range(meta.num_row_groups):
        for c in range(meta.row_group(g).num_columns):
            column = meta.row_group(g).column(c)
            out[column.path_in_schema.split(".")[0]] += column.total_compressed_size
    return out


def _as_version_1(path: Path, cards: dict, out: Path) -> Path:
    """The shard's rows with cell positions stored per cell and the old writer options."""
    array = ak.from_parquet(path)
    index = ak.to_numpy(ak.flatten(array["cell_index"]))
    counts = ak.to_numpy(ak.num(array["cell_index"]))
    replica = np.repeat(np.asarray(ak.to_list(array["detector_view"])), counts)
    columns = {name: array[name] for name in array.fields if name != "cell_index"}
    positions = {}
    for name in sorted(set(replica)):
        mine = replica == name
        for key, values in decode_cells(cards[name], index[mine]).items():
            positions.setdefault(key, np.empty(len(index), values.dtype))[mine] = values
    for key, values in positions.items():
        columns[key] = ak.unflatten(values, counts)
    # version 1 stored the tracks' layer crossings too; now readers compute them from the track and the card
    from graphs.shard_reader import ShardArrays

    tracks = ShardArrays(path, "detector")
    for name in ("track_eta_layer", "track_phi_layer"):
        flat, offsets = tracks.flat(name)
        columns[name] = ak.unflatten(ak.from_numpy(flat, regulararray=True), np.diff(offsets))
    ak.to_parquet(ak.zip(columns, depth_limit=1), out, compression="zstd")
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200, help="hard events per process (the quickstart's shard size)")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)

    quickstart = yaml.safe_load((CONFIG_DIR / "quickstart.yaml").read_text())["generation"]
    config = from_mapping(GenerationConfig, quickstart, source="quickstart.yaml", where="generation")
    full_events = {p.name: p.events for p in config.processes}
    with tempfile.TemporaryDirectory() as tmp:
        data = generate(config, Path(tmp) / "data", events=args.events, workers=args.workers, progress=False)
        meta = read_metadata(data)
        cards = cards_from_metadata(meta)
        rows = collections.Counter()
        new, old = collections.Counter(), collections.Counter()
        per_process_new, per_process_old = collections.Counter(), collections.Counter()
        for name, counts in meta["shards"].items():
            path = data / name
            reference = _as_version_1(path, cards, Path(tmp) / f"v1-{name}")
            rows[counts["process"]] += counts["rows"]
            new += _column_bytes(path)
            old += _column_bytes(reference)
            per_process_new[counts["process"]] += path.stat().st_size
            per_process_old[counts["process"]] += reference.stat().st_size
    n_rows = sum(rows.values())
    size_new, size_old = sum(per_process_new.values()), sum(per_process_old.values())

    print(f"\nDataset size, quickstart generation config, {args.events} hard events per process "
          f"({n_rows} rows = jets x views)\n")
    print("| schema | bytes per jet and view | quickstart dataset (extrapolated) | ratio to version 1 |")
    print("|---|---|---|---|")
    for label, size, per_process in (("version 1 (positions per cell, zstd default)", size_old, per_process_old),
                                     ("version 2 (cell index, byte-stream split, zstd 9)", size_new, per_process_new)):
        full = sum(per_process[p] / args.events * full_events[p] for p in per_process)
        print(f"| {label} | {size / n_rows:.0f} | {full / 1e6:.0f} MB | {size / size_old:.3f} |")
    print("\n| column | version 1 bytes/row | version 2 bytes/row |")
    print("|---|---|---|")
    for name, _ in (old + new).most_common(12):
        print(f"| {name} | {old[name] / n_rows:.0f} | {new[name] / n_rows:.0f} |")


if __name__ == "__main__":
    main()
