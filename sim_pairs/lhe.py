"""Les Houches Event files: the hard events every view of rs3l re-showers.

The format is LHEF (Alwall et al., "A standard format for Les Houches Event Files",
hep-ph/0609017; version 3.0 as written by MadGraph and Pythia). rs3l writes the
``<init>`` block and one ``<event>`` block per hard event, momenta with 17
significant digits so that reading a file back gives the very same float64
numbers (the RS3L matching rule is exact equality of parton four-vectors).
Files ending in ``.gz`` are read and written gzip-compressed.

Reading is strict: a truncated file, a line with the wrong number of fields, more
or fewer particle lines than the event declares, a word that is not a number, bytes
that are not UTF-8 or a damaged gzip stream raise :class:`LHEError` naming the file,
the event (0-based position in the file) and what was expected. Every event is then
checked by :func:`sim_pairs.lhe_checks.check_lhe_event` (finite momenta, energies,
mothers in range and without loops, known PDG ids, colour flow) before anyone uses
it: an unusable event raises :class:`BadLHEEvent`, or with ``skip_bad=True`` is
yielded as that exception for the caller to count and leave out.
"""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator

import numpy as np

from .event import HardRecord
from .io import atomic_path
from .lhe_checks import BadLHEEvent, LHEError, check_lhe_event

__all__ = ["LHEError", "BadLHEEvent", "LHEInit", "LHEEvent", "read_lhe", "read_lhe_init", "read_lhe_events", "write_lhe", "count_lhe_events"]

# Pythia/LHEF float format: enough digits that float64 -> text -> float64 is exact.
_F = "{:.17g}"


@dataclass
class LHEInit:
    """The ``<init>`` block: beams and processes (HEPRUP).

    Args:
        beam_ids: PDG ids of the two beams (2212 for protons).
        beam_energies: beam energies in GeV (lab frame).
        weight_strategy: IDWTUP (3: unit-weight events).
        processes: rows of (XSECUP pb, XERRUP pb, XMAXUP, LPRUP process id).
    """

    beam_ids: tuple[int, int] = (2212, 2212)
    beam_energies: tuple[float, float] = (6500.0, 6500.0)
    weight_strategy: int = 3
    processes: list[tuple[float, float, float, int]] = field(default_factory=lambda: [(1.0, 0.0, 1.0, 1)])

    @property
    def sqrt_s(self) -> float:
        """Centre-of-mass energy in GeV of head-on massless beams."""
        return 2.0 * float(np.sqrt(self.beam_energies[0] * self.beam_energies[1]))


@dataclass
class LHEEvent:
    """One ``<event>`` block (HEPEUP): everything a shower program needs.

    Attributes: ``process_id``, ``weight``, ``scale`` (GeV), ``alpha_qed``,
    ``alpha_qcd``; per particle (arrays of length n): ``pid``, ``status`` (-1
    incoming, 1 outgoing, 2 resonance), ``mother1``/``mother2`` (1-based as in the
    file, 0 for none), ``col1``/``col2`` colour tags, ``px, py, pz, e, m`` (GeV),
    ``lifetime`` (mm), ``spin``. ``event_number`` is the 0-based position in the file.
    """

    event_number: int
    process_id: int
    weight: float
    scale: float
    alpha_qed: float
    alpha_qcd: float
    pid: np.ndarray
    status: np.ndarray
    mother1: np.ndarray
    mother2: np.ndarray
    col1: np.ndarray
    col2: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    e: np.ndarray
    m: np.ndarray
    lifetime: np.ndarray
    spin: np.ndarray

    def __len__(self) -> int:
        return len(self.pid)

    def hard_record(self) -> HardRecord:
        """The event as the :class:`HardRecord` every view shares (0-based mothers)."""
        return HardRecord(
            pid=self.pid.astype(np.int32),
            status=self.status.astype(np.int32),
            mother1=(self.mother1 - 1).astype(np.int32),
            mother2=(self.mother2 - 1).astype(np.int32),
            px=self.px.copy(),
            py=self.py.copy(),
            pz=self.pz.copy(),
            e=self.e.copy(),
        )


def _open_text(path: Path, mode: str) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, mode + "b"), encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def _numbers(path: Path, where: str, line: str, types: tuple, what: str) -> list:
    words = line.split()
    if len(words) < len(types):
        raise LHEError(f"{path}: {where}: expected {len(types)} numbers ({what}), got {len(words)}: {line.strip()!r}")
    try:
        values = [_integer(w) if t is int else t(w) for t, w in zip(types, words)]
    except (ValueError, OverflowError):
        raise LHEError(f"{path}: {where}: expected numbers ({what}), got {line.strip()!r}") from None
    return values


def _integer(word: str) -> int:
    """An integer field (``1``, ``-1``, ``2.1e3`` as Fortran writes it); 2.5 or 1e30 is not one."""
    value = float(word)
    if not value.is_integer() or abs(value) >= 2**31:
        raise ValueError(word)
    return int(value)


_EVENT_HEAD = (int, int, float, float, float, float)
_PARTICLE = (int, int, int, int, int, int, float, float, float, float, float, float, float)


# what a damaged gzip stream or non-UTF-8 bytes raise while reading
_READ_ERRORS = (EOFError, OSError, gzip.BadGzipFile, zlib.error, UnicodeDecodeError)


def _damaged(path: Path, where: str, error: Exception) -> LHEError:
    if isinstance(error, UnicodeDecodeError):
        what = f"byte {error.object[error.start:error.start + 1]!r} is not UTF-8 text"
    elif isinstance(error, (gzip.BadGzipFile, zlib.error)) or "gzip" in str(error).lower():
        what = f"damaged gzip data ({error})"
    else:
        what = f"file ends early or is damaged ({type(error).__name__}: {error})"
    return LHEError(f"{path}: {where}: {what}")


def read_lhe_init(path: str | Path) -> LHEInit:
    """Read the ``<init>`` block of an LHE file."""
    path = Path(path)
    _check_exists(path)
    try:
        with _open_text(path, "r") as stream:
            for line in stream:
                if line.lstrip().startswith("<init"):
                    return _parse_init(path, stream)
                if line.lstrip().startswith("<event"):
                    break
    except _READ_ERRORS as error:
        raise _damaged(path, "<init>", error) from None
    raise LHEError(f"{path}: no <init> block before the first <event>: not an LHE file")


def _check_exists(path: Path) -> None:
    if not path.is_file():
        raise LHEError(f"{path}: LHE file not found")


def _parse_init(path: Path, stream) -> LHEInit:
    head = _numbers(path, "<init>", next(stream, ""), (int, int, float, float, int, int, int, int, int, int),
                    "IDBMUP(2) EBMUP(2) PDFGUP(2) PDFSUP(2) IDWTUP NPRUP")
    processes = []
    for i in range(head[9]):
        row = _numbers(path, f"<init> process {i}", next(stream, ""), (float, float, float, int), "XSECUP XERRUP XMAXUP LPRUP")
        processes.append(tuple(row))
    return LHEInit(beam_ids=(head[0], head[1]), beam_energies=(head[2], head[3]), weight_strategy=head[8], processes=processes)


def read_lhe_events(path: str | Path, *, skip_bad: bool = False) -> Iterator[LHEEvent]:
    """Yield every event of an LHE file in order, with colours and masses (for re-showering).

    Args:
        path: the LHE file (``.gz``: gzip).
        skip_bad: yield a :class:`BadLHEEvent` (not raise it) for an event that fails
            :func:`~sim_pairs.lhe_checks.check_lhe_event`, so the caller can count it
            and go on; a file that breaks the format is an error either way.

    Raises:
        LHEError: the file is missing, damaged or malformed; BadLHEEvent (unless
            ``skip_bad``) for an unusable event.
    """
    path = Path(path)
    _check_exists(path)
    number = 0
    seen_init = False
    try:
        with _open_text(path, "r") as stream:
            for line in stream:
                stripped = line.lstrip()
                if stripped.startswith("<init"):
                    seen_init = True
                elif stripped.startswith("<event"):
                    if not seen_init:
                        raise LHEError(f"{path}: event {number}: <event> before any <init> block: not an LHE file")
                    event = _parse_event(path, stream, number)
                    number += 1
                    try:
                        check_lhe_event(path, event)
                    except BadLHEEvent as bad:
                        if not skip_bad:
                            raise
                        yield bad
                        continue
                    yield event
                elif stripped.startswith("</LesHouchesEvents"):
                    return
    except _READ_ERRORS as error:
        raise _damaged(path, f"event {number}", error) from None
    raise LHEError(f"{path}: after event {number - 1}: file ends without </LesHouchesEvents> (truncated?)")


def _parse_event(path: Path, stream, number: int) -> LHEEvent:
    where = f"event {number}"
    head_line = next(stream, None)
    if head_line is None:
        raise LHEError(f"{path}: {where}: file ends inside the event (truncated)")
    n, process_id, weight, scale, aqed, aqcd = _numbers(path, where, head_line, _EVENT_HEAD, "NUP IDPRUP XWGTUP SCALUP AQEDUP AQCDUP")
    if not 0 < n < 10_000:
        raise LHEError(f"{path}: {where}: NUP = {n}, expected a particle count between 1 and 9999")
    rows = []
    for i in range(n):
        line = next(stream, None)
        if line is None or line.lstrip().startswith("<"):
            raise LHEError(f"{path}: {where}: expected {n} particle lines, found {i} (truncated?)")
        rows.append(_numbers(path, f"{where}, particle {i}", line, _PARTICLE,
                             "IDUP ISTUP MOTHUP(2) ICOLUP(2) PUP(5) VTIMUP SPINUP"))
    for line in stream:  # optional blocks (<rwgt>, <scales>, comments) up to </event>
        if line.lstrip().startswith("</event"):
            break
        if line.lstrip().startswith("<event"):
            raise LHEError(f"{path}: {where}: new <event> before </event>")
        if _is_particle_line(line):
            raise LHEError(f"{path}: {where}: more particle lines than NUP = {n} declares: {line.strip()!r}")
    else:
        raise LHEError(f"{path}: {where}: file ends before </event> (truncated)")
    cols = list(zip(*rows))
    ints = [np.asarray(c, dtype=np.int64) for c in cols[:6]]
    floats = [np.asarray(c, dtype=np.float64) for c in cols[6:]]
    return LHEEvent(number, process_id, weight, scale, aqed, aqcd, *ints, *floats)


def _is_particle_line(line: str) -> bool:
    """A line of 13 numbers outside any tag: a particle line beyond the declared count."""
    words = line.split()
    if len(words) != len(_PARTICLE) or words[0].startswith(("<", "#")):
        return False
    try:
        [float(w) for w in words]
    except ValueError:
        return False
    return True


def read_lhe(path: str | Path) -> Iterator[HardRecord]:
    """Yield the :class:`HardRecord` of every event of an LHE file, in file order.

    Raises:
        LHEError: the file is missing, truncated or malformed (message names the
            file, the 0-based event number and what was expected).
    """
    for event in read_lhe_events(path):
        yield event.hard_record()


def count_lhe_events(path: str | Path) -> int:
    """Number of events in an LHE file (parses and so validates every event)."""
    return sum(1 for _ in read_lhe_events(path))


def _format_event(event: LHEEvent) -> str:
    lines = ["<event>", f"{len(event)} {event.process_id} {_F.format(event.weight)} {_F.format(event.scale)} "
             f"{_F.format(event.alpha_qed)} {_F.format(event.alpha_qcd)}"]
    for i in range(len(event)):
        ints = f"{event.pid[i]} {event.status[i]} {event.mother1[i]} {event.mother2[i]} {event.col1[i]} {event.col2[i]}"
        floats = " ".join(_F.format(float(getattr(event, f)[i])) for f in ("px", "py", "pz", "e", "m", "lifetime", "spin"))
        lines.append(f"{ints} {floats}")
    lines.append("</event>")
    return "\n".join(lines) + "\n"


def write_lhe(path: str | Path, init: LHEInit, events: Iterable[LHEEvent], *, comment: str = "") -> int:
    """Write an LHE file atomically (a reader never sees half a file).

    Args:
        path: output file; ``.gz`` compresses (with a fixed mtime, so the same
            events give the same bytes).
        init: the ``<init>`` block.
        events: the events, written in order.
        comment: text for the ``<header>`` (must not contain ``-->``).

    Returns:
        the number of events written.
    """
    path = Path(path)
    n = 0
    with atomic_path(path) as tmp:
        if path.suffix == ".gz":
            raw = open(tmp, "wb")
            stream = io.TextIOWrapper(gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0), encoding="utf-8")
        else:
            raw = None
            stream = open(tmp, "w", encoding="utf-8")
        try:
            stream.write('<LesHouchesEvents version="3.0">\n<header>\n')
            if comment:
                stream.write(f"<!-- {comment.replace('-->', '')} -->\n")
            stream.write("</header>\n<init>\n")
            stream.write(f"{init.beam_ids[0]} {init.beam_ids[1]} {_F.format(init.beam_energies[0])} "
                         f"{_F.format(init.beam_energies[1])} 0 0 0 0 {init.weight_strategy} {len(init.processes)}\n")
            for xsec, xerr, xmax, lprup in init.processes:
                stream.write(f"{_F.format(xsec)} {_F.format(xerr)} {_F.format(xmax)} {lprup}\n")
            stream.write("</init>\n")
            for event in events:
                stream.write(_format_event(event))
                n += 1
            stream.write("</LesHouchesEvents>\n")
        finally:
            stream.close()
            if raw is not None:
                raw.close()
    return n
