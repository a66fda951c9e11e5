"""The shard driver behind ``rs3l generate``: hard events, showers, jets, groups, Parquet.

Each process is cut into shards of ``events_per_shard`` hard events. A shard is
fully determined by (config, seed, shard index): it writes its hard events to
``OUT/lhe/shard-NNNNN.lhe.gz`` (``sim_pairs.processes``), showers them under every
view (``sim_pairs.shower``), clusters, matches and assembles the groups
(``sim_pairs.groups``), optionally runs the detector replicas
(``sim_pairs.detector``), and writes ``OUT/shard-NNNNN.parquet`` atomically. The
same seed gives the same bytes, so a stopped run resumed later yields the dataset an
uninterrupted run would have: finished shards are skipped, and a half-written shard
is never visible.

Shards run on a ``dask.distributed`` LocalCluster (one single-threaded worker
process per core) by default, on any Dask scheduler given by address, or in a plain
loop in this process with ``workers=1``.

``OUT/metadata.json`` holds the config, its hash, package versions, seeds, view
definitions, the full view names of the rows and per-shard counts. It is written
before the first shard (so a resumed run can refuse a changed config) and rewritten
when all shards are done.

While it writes, a run holds an exclusive lock on ``OUT``
(:mod:`sim_pairs.dataset_lock`): a second run on the same directory stops at once,
naming the pid and host of the first. Every shard records the hash of the config it
was made with, so a directory holding shards of another config or seed is refused on
resume (and by :func:`sim_pairs.io.check_dataset` on read).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import GenerationConfig, ProcessConfig
from .dataset_lock import DatasetLocked, dataset_lock
from .io import DatasetError, package_versions, read_metadata, shard_attrs, shard_config_hash, shard_name, write_metadata, write_shard
from .matching import PROCESS_LABELS
from .schema import LABELS

__all__ = ["Shard", "GenerationError", "plan_shards", "effective_config", "config_hash", "run_shard", "generate",
           "check_scheduler"]


class GenerationError(RuntimeError):
    """A generation run that cannot proceed (changed config on resume, a directory in use, failed shard)."""


@dataclass(frozen=True)
class Shard:
    """One unit of work: ``n_events`` hard events of one process.

    Attributes:
        index: global shard index (file name and ``group_id``), processes in config order.
        process: the process config.
        number: index of this shard within its process.
        first_event: index of the shard's first hard event within the process.
        n_events: hard events in this shard.
        position: index of the process in ``config.processes`` (two processes may share a name).
    """

    index: int
    process: ProcessConfig
    number: int
    first_event: int
    n_events: int
    position: int = 0

    @property
    def name(self) -> str:
        return shard_name(self.index)


def plan_shards(config: GenerationConfig) -> list[Shard]:
    """All shards of a config, in order: each process's events cut into events_per_shard."""
    shards = []
    for position, process in enumerate(config.processes):
        for number, first in enumerate(range(0, process.events, config.events_per_shard)):
            n = min(config.events_per_shard, process.events - first)
            shards.append(Shard(len(shards), process, number, first, n, position))
    return shards


def effective_config(config: GenerationConfig, *, events: int | None = None, seed: int | None = None) -> GenerationConfig:
    """``config`` with the command-line overrides applied (events of every process, master seed)."""
    if events is not None:
        if events < 0:
            raise ValueError(f"events must be >= 0, got {events}")
        config = dataclasses.replace(config, processes=[dataclasses.replace(p, events=events) for p in config.processes])
    if seed is not None:
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        config = dataclasses.replace(config, seed=seed)
    return config


def _versions() -> dict[str, str]:
    return package_versions(("pythia8mc", "fastjet", "awkward", "pyarrow", "numpy", "rs3l"))


def _config_mapping(config: GenerationConfig) -> dict[str, Any]:
    from sim_pairs.typed_config import to_mapping

    return to_mapping(config)


def config_hash(config: GenerationConfig, versions: dict[str, str] | None = None,
                cards: dict[str, dict] | None = None) -> str:
    """SHA-256 of the config, the package versions and the detector cards' contents (their
    ``sha256`` from ``metadata.json``'s ``detector_cards``): two runs mix shards only if equal,
    so a card whose file changed under the same name is not resumed into old shards."""
    body = {"config": _config_mapping(config), "versions": versions if versions is not None else _versions()}
    if cards:
        body["cards"] = {name: record["sha256"] for name, record in sorted(cards.items())}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _labels(config: GenerationConfig, process: ProcessConfig) -> tuple[str, ...]:
    if config.jets.labels:
        return tuple(config.jets.labels)
    return PROCESS_LABELS.get(process.name, LABELS)


def _shard_seed(config: GenerationConfig, shard: Shard) -> int:
    from .pythia_settings import derive_seed

    return derive_seed(config.seed, "shard", shard.position, shard.process.name, shard.number)


def row_views(config: GenerationConfig) -> list[str]:
    """The full view names of a group's rows, in row order."""
    if config.detector is None:
        return list(config.views)
    return [f"{v}@{r}" for v in config.views for r in config.detector.replicas]


def run_shard(config: GenerationConfig, shard: Shard, out: Path, base_dir: Path = Path("."),
              digest: str | None = None) -> dict[str, Any]:
    """Generate one shard (skipped if its Parquet file exists) and return its counts.

    Args:
        config: the effective generation config.
        shard: which shard (from :func:`plan_shards`).
        out: the dataset directory.
        base_dir: directory relative paths in the config are resolved against.
        digest: the run's :func:`config_hash`, recorded in the shard (computed when None).

    Returns:
        ``{"shard", "process", "events", "groups", "rows", "labels", "skipped_events"}`` read
        back from the file (``skipped_events``: unusable input events left out under
        ``bad_events: skip``).
    """
    from .groups import assemble_groups
    from .lhe import count_lhe_events
    from .processes import generate_hard_events
    from .shower import shower_views

    out, base_dir = Path(out), Path(base_dir)
    path = out / shard.name
    if not path.exists():
        seed = _shard_seed(config, shard)
        lhe = generate_hard_events(shard.process, shard.n_events, out / "lhe" / f"shard-{shard.index:05d}.lhe.gz",
                                   sqrt_s=config.sqrt_s, seed=seed, base_settings=config.base_settings,
                                   base_dir=base_dir, skip=shard.first_event, bad_events=config.bad_events)
        skipped_lhe = shard.n_events - count_lhe_events(lhe)
        if skipped_lhe and any(v.hepmc for v in config.views.values()):
            raise GenerationError(
                f"shard {shard.name}: {skipped_lhe} unusable LHE event(s) skipped, but HepMC views are matched to "
                "the LHE events by number, which skipping would shift; fix or remove those events in the LHE file "
                "and the HepMC file alike (generation.bad_events = skip works without HepMC views)")
        skipped: list[str] = []
        events = list(shower_views(config.views, lhe, sqrt_s=config.sqrt_s, seed=seed, mpi=config.mpi,
                                   base_settings=config.base_settings, base_dir=base_dir,
                                   hepmc_event_offset=shard.first_event, bad_events=config.bad_events,
                                   skipped=skipped))
        replicas, simulate_jet = [], None
        if config.detector is not None:
            try:
                from .detector import load_card, simulate_jet
            except ImportError as error:
                raise GenerationError(f"generation.detector is configured but sim_pairs.detector cannot be used: {error}") \
                    from error
            replicas = [(name, load_card(r.card, r.overrides, base_dir), config.seed + r.seed_offset)
                        for name, r in config.detector.replicas.items()]
        columns, _ = assemble_groups(shard.process.name, events, views=list(config.views), jets=config.jets,
                                     shard=shard.index, labels=_labels(config, shard.process), replicas=replicas,
                                     simulate_jet=simulate_jet)
        write_shard(columns, path, attrs={"config_hash": digest if digest is not None else config_hash(config),
                                          "skipped_events": skipped_lhe + len(skipped)})
    return shard_counts(path, shard)


def shard_counts(path: Path, shard: Shard) -> dict[str, Any]:
    """Counts of a written shard, read from the file (so a resumed run reports the same)."""
    import awkward as ak

    table = ak.from_parquet(path, columns=["group_id", "label"])
    ids, first = np.unique(ak.to_numpy(table["group_id"]), return_index=True)
    labels = ak.to_list(table["label"][first]) if len(first) else []
    return {"shard": shard.name, "process": shard.process.name, "events": shard.n_events, "groups": len(ids),
            "rows": len(table), "labels": {label: labels.count(label) for label in sorted(set(labels))},
            "skipped_events": int(shard_attrs(path).get("skipped_events", 0))}


def _metadata(config: GenerationConfig, versions: dict, digest: str, counts: list[dict] | None,
              base_dir: Path = Path(".")) -> dict:
    shards = plan_shards(config)
    return {
        "generator": "sim_pairs.generate",
        "config": _config_mapping(config),
        "config_hash": digest,
        "versions": versions,
        "seed": config.seed,
        "shard_seeds": {s.name: _shard_seed(config, s) for s in shards},
        "views": {name: _config_mapping(view) if dataclasses.is_dataclass(view) else view
                  for name, view in config.views.items()},
        "view_pythia_settings": _pythia_settings(config),
        "row_views": row_views(config),
        "detector_cards": _detector_cards(config, base_dir),
        "complete": counts is not None,
        "shards": {c["shard"]: c for c in counts} if counts is not None else {},
        "bad_events": config.bad_events,
        "skipped_events": sum(c.get("skipped_events", 0) for c in counts or []),
    }


def _detector_cards(config: GenerationConfig, base_dir: Path) -> dict[str, dict]:
    """Each replica's card, every key written out: shards store cells as indices into it."""
    if config.detector is None:
        return {}
    from .detector import load_card
    from .detector.cell_index import card_record

    return {name: card_record(load_card(r.card, r.overrides, base_dir)) for name, r in config.detector.replicas.items()}


def _pythia_settings(config: GenerationConfig) -> dict[str, list[str]]:
    """The Pythia strings each Pythia view runs with (tunes expanded), for the record."""
    from .shower import view_settings

    return {name: view_settings(name, config.views, mpi=config.mpi, base_settings=config.base_settings)
            for name, view in config.views.items() if not view.hepmc}


def _check_resume(out: Path, digest: str) -> None:
    existing = sorted(out.glob("shard-*.parquet")) if out.is_dir() else []
    if not (out / "metadata.json").exists():
        if existing:
            raise GenerationError(f"{out}: holds shards but no metadata.json, so it cannot be resumed safely; "
                                  "use a new output directory")
        return
    try:
        old = read_metadata(out)
    except DatasetError as error:
        raise GenerationError(f"{out}: cannot resume: {error}") from None
    if old.get("config_hash") != digest and existing:
        raise GenerationError(
            f"{out}/metadata.json: field 'config_hash' is {old.get('config_hash')!r}, but this run's config "
            f"(with its --events/--seed overrides and package versions) hashes to {digest!r}; the directory holds "
            "another dataset. Use a new output directory or remove this one; shards are never mixed.")
    for path in existing:
        try:
            found = shard_config_hash(path)
        except DatasetError as error:
            raise GenerationError(f"cannot resume: {error}; remove that file and run again") from None
        if found != digest:
            what = "no config hash" if found is None else f"config hash {found[:12]}..."
            raise GenerationError(
                f"{path}: shard made with {what}, but this run's config (with its --events/--seed overrides and "
                f"package versions) hashes to {digest[:12]}...; the directory holds another dataset. Use a new "
                "output directory or remove this one; shards are never mixed.")


#: seconds to wait for a Dask scheduler given by address before giving up
_CONNECT_TIMEOUT_S = 10


def check_scheduler(address: str, timeout: float = _CONNECT_TIMEOUT_S) -> None:
    """Fail fast, naming ``address``, when no Dask scheduler listens there (a TCP connect).

    Raises:
        GenerationError: a malformed address, or nothing answers within ``timeout`` seconds.
    """
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if parts.scheme not in ("tcp", "tls") or not host or port is None:
        raise GenerationError(f"scheduler {address!r}: expected an address like tcp://host:8786")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as error:
        raise GenerationError(f"scheduler {address!r}: no Dask scheduler answers at {host}:{port} "
                              f"({error.strerror or error})") from None


def _run_dask(tasks, config, out, base_dir, digest, *, scheduler, workers, bar) -> list[dict]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("parallel generation needs Dask: pip install 'dask[distributed]' (or pass workers=1)") \
            from error
    import logging

    # Worker start-up and shutdown chatter would bury the progress bar.
    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        return _submit_all(tasks, config, out, base_dir, digest, scheduler=scheduler, workers=workers, bar=bar,
                           Client=Client, LocalCluster=LocalCluster, as_completed=as_completed)
    finally:
        quiet.setLevel(level)


def _submit_all(tasks, config, out, base_dir, digest, *, scheduler, workers, bar, Client, LocalCluster, as_completed):
    import logging

    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout=_CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as error:
            raise GenerationError(f"scheduler {scheduler!r}: cannot connect ({error})") from None
    else:
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    try:
        futures = {client.submit(run_shard, config, shard, out, base_dir, digest, pure=False): shard
                   for shard in tasks}
        counts = []
        try:
            for future in as_completed(futures):
                result = future.result()
                counts.append(result)
                bar.update(futures[future].n_events)
        except BaseException:
            client.cancel(list(futures))
            raise
        return counts
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def generate(config: GenerationConfig, out: Path, *, base_dir: Path = Path("."), events: int | None = None,
             seed: int | None = None, scheduler: str | None = None, workers: int | None = None,
             progress: bool = True) -> Path:
    """Generate (or finish) a dataset of re-simulated jet groups.

    Args:
        config: the ``generation`` section.
        out: dataset directory (created).
        base_dir: directory relative paths in the config (LHE, HepMC, cards) are resolved against.
        events: override the number of hard events of every process.
        seed: override the master seed.
        scheduler: address of a Dask scheduler (``tcp://host:8786``); workers there
            need rs3l installed. None: a LocalCluster on this machine.
        workers: LocalCluster worker processes (default: one per core), at least 1; 1
            runs the shards in this process without Dask.
        progress: show a progress bar (events/s, time left).

    Returns:
        ``out``.

    Raises:
        GenerationError: ``out`` holds a dataset made with another config, another run is
            writing it, it is a file, or the scheduler does not answer.
        ValueError, PythiaSettingError, LHEError: bad input, naming the file, event or setting.
    """
    out, base_dir = Path(out), Path(base_dir)
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1 (1: no cluster), got {workers}")
    if out.exists() and not out.is_dir():
        raise GenerationError(f"{out}: exists and is not a directory; expected a dataset directory (new or to resume)")
    config = effective_config(config, events=events, seed=seed)
    if scheduler:
        check_scheduler(scheduler)
    try:
        with dataset_lock(out):
            return _generate_locked(config, out, base_dir, scheduler=scheduler, workers=workers, progress=progress)
    except DatasetLocked as error:
        raise GenerationError(str(error)) from None


def _generate_locked(config: GenerationConfig, out: Path, base_dir: Path, *, scheduler, workers, progress) -> Path:
    from tqdm.auto import tqdm

    versions = _versions()
    digest = config_hash(config, versions, _detector_cards(config, base_dir))
    _check_resume(out, digest)
    write_metadata(out, _metadata(config, versions, digest, None, base_dir))

    shards = plan_shards(config)
    done = [s for s in shards if (out / s.name).exists()]
    todo = [s for s in shards if not (out / s.name).exists()]
    counts = [shard_counts(out / s.name, s) for s in done]
    with tqdm(total=sum(s.n_events for s in todo), unit="ev", desc=f"generate {out.name}", disable=not progress,
              dynamic_ncols=True) as bar:
        if todo and workers == 1 and not scheduler:
            for shard in todo:
                counts.append(run_shard(config, shard, out, base_dir, digest))
                bar.update(shard.n_events)
        elif todo:
            counts += _run_dask(todo, config, out, base_dir, digest, scheduler=scheduler, workers=workers, bar=bar)
    counts.sort(key=lambda c: c["shard"])
    skipped = sum(c.get("skipped_events", 0) for c in counts)
    if skipped:
        import logging

        logging.getLogger(__name__).warning("%d unusable input event(s) skipped (generation.bad_events = skip); "
                                            "counted in %s field 'skipped_events'", skipped, out / "metadata.json")
    write_metadata(out, _metadata(config, versions, digest, counts, base_dir))
    _warn_empty(config, counts)
    return out


def _warn_empty(config: GenerationConfig, counts: list[dict]) -> None:
    for process in config.processes:
        mine = [c for c in counts if c["process"] == process.name]
        if process.events > 0 and sum(c["groups"] for c in mine) == 0:
            jets = config.jets
            warnings.warn(
                f"process '{process.name}': no jet passed the selection in every view over {process.events} hard "
                f"events (pT >= {jets.pt_min} GeV, abs(eta) < {jets.abs_eta_max}, R = {jets.radius}, labels "
                f"{list(_labels(config, process))}, views {list(config.views)}); the dataset has no rows for it. "
                "Check pthat_min against jets.pt_min.", stacklevel=2)
