"""Hard processes: generate them once with Pythia and store them as LHE files.

The hard events are the part every view shares (re-shower pairs, RS3L,
arXiv 2403.07066): Pythia runs with the parton and hadron levels switched off,
so an event is only the partons of the hard scattering (and the decays of its
resonances), which :func:`generate_hard_events` writes as Les Houches events.
Any generator can then shower the same file.

The processes (``PROCESSES``, listed in :mod:`sim_pairs.process_catalog`) run at a pT-hat
window from the config.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from .config import ProcessConfig
from .lhe import BadLHEEvent, LHEError, LHEEvent, LHEInit, read_lhe_events, read_lhe_init, write_lhe
from .process_catalog import PROCESSES
from .pythia_settings import derive_seed, init_pythia, new_pythia

__all__ = ["PROCESSES", "process_settings", "generate_hard_events", "pythia_process_to_lhe"]

log = logging.getLogger(__name__)

# Only the hard process: no shower, no MPI, no hadrons. Resonance decays stay on.
_HARD_ONLY = ["PartonLevel:all = off", "HadronLevel:all = off"]


def process_settings(process: ProcessConfig, *, sqrt_s: float, base_settings: Sequence[str] = ()) -> list[str]:
    """All Pythia strings that generate ``process`` (base settings first, the process's own last)."""
    if process.name not in PROCESSES or process.name == "lhe":
        known = ", ".join(sorted(PROCESSES))
        raise ValueError(f"unknown process {process.name!r} for Pythia generation; known processes: {known}")
    window = [f"PhaseSpace:pTHatMin = {process.pthat_min!r}"]
    if process.pthat_max > 0:
        window.append(f"PhaseSpace:pTHatMax = {process.pthat_max!r}")
    return ([f"Beams:eCM = {float(sqrt_s)!r}"] + list(base_settings) + PROCESSES[process.name] + window
            + _HARD_ONLY + list(process.settings))


def pythia_process_to_lhe(pythia, event_number: int) -> LHEEvent:
    """The hard process of Pythia's current event (``pythia.process``) as an LHE event.

    Entries 0-2 of the process record (system, beams) are dropped; Pythia indices
    i >= 3 become LHE indices i - 2 (1-based), mothers that are beams become 0.
    """
    record = pythia.process
    rows = [record[i] for i in range(3, record.size())]
    mothers = np.array([[p.mother1(), p.mother2()] for p in rows], dtype=np.int64)
    mothers = np.where(mothers <= 2, 0, mothers - 2)
    status = np.array([p.status() for p in rows], dtype=np.int64)
    lhe_status = np.where(status == -21, -1, np.where(status > 0, 1, 2))
    info = pythia.infoPython()
    return LHEEvent(
        event_number=event_number, process_id=info.code(), weight=1.0, scale=record.scale(),
        alpha_qed=info.alphaEM(), alpha_qcd=info.alphaS(),
        pid=np.array([p.id() for p in rows], dtype=np.int64), status=lhe_status,
        mother1=mothers[:, 0].copy(), mother2=mothers[:, 1].copy(),
        col1=np.array([p.col() for p in rows], dtype=np.int64), col2=np.array([p.acol() for p in rows], dtype=np.int64),
        px=np.array([p.px() for p in rows]), py=np.array([p.py() for p in rows]), pz=np.array([p.pz() for p in rows]),
        e=np.array([p.e() for p in rows]), m=np.array([p.m() for p in rows]),
        lifetime=np.array([p.tau() for p in rows]), spin=np.array([p.pol() for p in rows]),
    )


def generate_hard_events(process: ProcessConfig, n_events: int, out_lhe: Path, *, sqrt_s: float, seed: int,
                         base_settings: Sequence[str] = (), base_dir: Path = Path("."), skip: int = 0,
                         bad_events: str = "error") -> Path:
    """Write exactly ``n_events`` hard events of ``process`` to the LHE file ``out_lhe``.

    Deterministic: the same arguments give the same bytes. The Pythia seed is
    derived from (``seed``, "hard", process name).

    Args:
        process: which process, pT-hat window (GeV) and extra settings.
        n_events: hard events to write.
        out_lhe: output path (``.gz`` compresses); written atomically.
        sqrt_s: centre-of-mass energy in GeV.
        seed: master seed of this set of events (e.g. one per shard).
        base_settings: Pythia strings applied before the process's own.
        base_dir: directory that ``process.lhe_files`` are relative to.
        skip: with ``name: lhe``, events of the user's files to pass over first (so
            that shards can take consecutive slices).
        bad_events: with ``name: lhe``, ``error`` (an unusable event stops the run) or
            ``skip`` (it is left out and logged: the file then holds fewer events, one
            per usable event of the slice ``skip .. skip + n_events - 1``).

    Returns:
        ``out_lhe``.

    Raises:
        ValueError: unknown process (lists the known ones).
        PythiaSettingError: a setting Pythia rejects, or a failed init.
        LHEError: user LHE files missing, malformed, with other beams, or too short.
    """
    out_lhe = Path(out_lhe)
    if n_events < 0 or skip < 0:
        raise ValueError(f"process {process.name!r}: n_events and skip must be >= 0, got {n_events}, {skip}")
    if process.name == "lhe":
        return _copy_user_lhe(process, n_events, out_lhe, sqrt_s=sqrt_s, base_dir=Path(base_dir), skip=skip,
                              skip_bad=bad_events == "skip")
    where = f"process {process.name!r}"
    pythia = new_pythia(process_settings(process, sqrt_s=sqrt_s, base_settings=base_settings),
                        seed=derive_seed(seed, "hard", process.name), where=where)
    init_pythia(pythia, where=where)
    events = []
    failures = 0
    # hard events run at 1e4-1e5 per second: a bar only for big requests
    with tqdm(total=n_events, desc=f"hard {process.name}", unit="ev", disable=n_events < 20_000, leave=False) as bar:
        while len(events) < n_events:
            if not pythia.next():
                failures += 1
                if failures > 100 + n_events:
                    raise RuntimeError(f"{where}: Pythia failed {failures} times generating hard events")
                continue
            events.append(pythia_process_to_lhe(pythia, len(events)))
            bar.update()
    info = pythia.infoPython()
    codes = sorted({event.process_id for event in events}) or [info.code()]
    # sigmaGen is in mb; LHE cross sections are in pb.
    xsec = [(info.sigmaGen(code) * 1e9, info.sigmaErr(code) * 1e9, 1.0, code) for code in codes]
    init = LHEInit(beam_ids=(2212, 2212), beam_energies=(sqrt_s / 2, sqrt_s / 2), weight_strategy=3, processes=xsec)
    write_lhe(out_lhe, init, events, comment=f"rs3l hard events: process {process.name}, seed {seed}")
    return out_lhe


def _copy_user_lhe(process: ProcessConfig, n_events: int, out_lhe: Path, *, sqrt_s: float, base_dir: Path,
                   skip: int, skip_bad: bool = False) -> Path:
    if not process.lhe_files:
        raise LHEError(f"process 'lhe' needs lhe_files (the LHE files to re-shower); none given")
    paths = [base_dir / name for name in process.lhe_files]
    inits = [read_lhe_init(path) for path in paths]
    for path, init in zip(paths, inits):
        if not np.isclose(init.sqrt_s, sqrt_s, rtol=1e-6) or init.beam_ids != inits[0].beam_ids:
            raise LHEError(f"{path}: beams {init.beam_ids} at sqrt(s) = {init.sqrt_s} GeV, expected "
                           f"{inits[0].beam_ids} at sqrt_s = {sqrt_s} GeV as configured")
    events: list[LHEEvent] = []
    seen = bad = 0
    for path in paths:
        for event in read_lhe_events(path, skip_bad=skip_bad):
            if seen >= skip:
                if isinstance(event, BadLHEEvent):
                    bad += 1
                    log.warning("skipped (generation.bad_events = skip): %s", event)
                else:
                    event.event_number = len(events)
                    events.append(event)
            seen += 1
            if len(events) + bad == n_events:
                break
        if len(events) + bad == n_events:
            break
    if len(events) + bad < n_events:
        raise LHEError(f"{', '.join(map(str, paths))}: {seen} events in all, but events {skip}..{skip + n_events - 1} "
                       f"were asked for (process 'lhe', events = {process.events})")
    processes = [row for init in inits for row in init.processes]
    init = LHEInit(beam_ids=inits[0].beam_ids, beam_energies=inits[0].beam_energies,
                   weight_strategy=inits[0].weight_strategy, processes=processes)
    write_lhe(out_lhe, init, events, comment=f"rs3l: events {skip}..{skip + n_events - 1} of {process.lhe_files}")
    return out_lhe
