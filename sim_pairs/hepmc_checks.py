"""Checks of a HepMC file before its events become jets.

pyhepmc's reader is lenient: an empty or random file reads as zero events, a word
that is not a number in a momentum reads as some number, NaN reads as NaN. Any of
these would change jets silently (or leave a view with no events), so
:func:`scan_hepmc` reads the text of a HepMC3 ASCII file first (Buckley et al.,
arXiv 1912.08005, section 4): the header, then every event line ``E number vertices
particles``, particle line ``P id parent pid px py pz e m status`` and vertex line,
checking that

* the file starts with ``HepMC::Version`` and a known listing (``Asciiv3`` or
  HepMC2's ``IO_GenEvent``) and ends with the listing's end line (not truncated);
* every field of a particle line is a number (integers where HepMC writes integers);
* each event holds as many particle lines as its ``E`` line declares;
* the file holds at least one event.

Those are format errors (:class:`HepMCError` naming the file, the event and the
field). Per event it also records content that no jet should be made from: a
non-finite momentum or mass, or a final-state particle (status 1) whose PDG id
Pythia's particle table does not know; :class:`HepMCView` stops at such an event, or
skips and counts it when asked. HepMC2 files get the header check here and the
finite-momentum check on the events pyhepmc reads.
"""

from __future__ import annotations

import gzip
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["HepMCError", "HepMCScan", "scan_hepmc"]

_V3, _V2 = b"HepMC::Asciiv3-START_EVENT_LISTING", b"HepMC::IO_GenEvent-START_EVENT_LISTING"
_P_FIELDS = ("id", "parent", "pid", "px", "py", "pz", "e", "m", "status")
_P_INTEGER = {"id", "parent", "pid", "status"}


class HepMCError(ValueError):
    """A HepMC file that is missing, malformed or does not belong to the LHE events."""


@dataclass
class HepMCScan:
    """What :func:`scan_hepmc` found.

    Attributes:
        version: 3 (Asciiv3, fully checked) or 2 (HepMC2 IO_GenEvent, header only).
        events: number of events (None for HepMC2).
        bad: HepMC event number -> the message saying which particle and field is unusable.
    """

    version: int
    events: int | None
    bad: dict[int, str] = field(default_factory=dict)


def _open(path: Path):
    with open(path, "rb") as raw:
        magic = raw.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def scan_hepmc(path: str | Path, known_pid=None) -> HepMCScan:
    """Check the text of a HepMC file (see the module docstring).

    Args:
        path: the file (gzip-compressed or not; detected from its first bytes).
        known_pid: ``known_pid(pid) -> bool`` for final-state particles (None: no check).

    Raises:
        HepMCError: an empty, random, damaged, truncated or malformed file, naming it,
            the event and the field.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise HepMCError(f"{path}: empty file, expected a HepMC3 file starting with 'HepMC::Version'")
    try:
        with _open(path) as stream:
            return _scan(path, stream, known_pid)
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise HepMCError(f"{path}: damaged or truncated gzip data ({type(error).__name__}: {error})") from None


def _header(path: Path, stream) -> int:
    first = stream.readline(200).strip()
    if not first.startswith(b"HepMC::Version"):
        raise HepMCError(f"{path}: line 1 is {first[:40]!r}, expected 'HepMC::Version ...': not a HepMC ASCII file")
    second = stream.readline(200).strip()
    if second == _V3:
        return 3
    if second == _V2:
        return 2
    raise HepMCError(f"{path}: line 2 is {second[:50]!r}, expected {_V3.decode()!r} (or HepMC2's "
                     f"{_V2.decode()!r}): truncated or unknown header")


def _scan(path: Path, stream, known_pid) -> HepMCScan:
    version = _header(path, stream)
    if version == 2:
        return HepMCScan(version=2, events=None)
    scan = HepMCScan(version=3, events=0)
    event, declared, counts, ended = None, (0, 0), [0, 0], False

    def close_event():
        # vertices without a position or with one parent get no V line, so only particles are counted
        if event is not None and counts[1] != declared[1]:
            raise HepMCError(f"{path}: HepMC event {event}: the E line declares {declared[1]} particle(s), the "
                             f"event holds {counts[1]} P line(s) (truncated?)")

    for number, raw in enumerate(stream, start=3):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise HepMCError(f"{path}: line {number}: bytes that are not UTF-8 text: not a HepMC ASCII file") from None
        words = line.split()
        if not words:
            continue
        tag = words[0]
        if tag == "E":
            close_event()
            event, counts = _event_line(path, number, words), [0, 0]
            declared = (_int(path, number, words, 2, "vertices"), _int(path, number, words, 3, "particles"))
            scan.events += 1
        elif tag == "HepMC::Asciiv3-END_EVENT_LISTING":
            close_event()
            ended = True
            break
        elif tag in ("P", "V"):
            if event is None:
                raise HepMCError(f"{path}: line {number}: a {tag} line before any E (event) line")
            counts[tag == "P"] += 1
            if tag == "P":
                _particle_line(path, number, words, event, scan, known_pid)
    if not ended:
        where = f"HepMC event {event}" if event is not None else "after the header"
        raise HepMCError(f"{path}: {where}: the file ends without 'HepMC::Asciiv3-END_EVENT_LISTING' (truncated)")
    if scan.events == 0:
        raise HepMCError(f"{path}: holds no events")
    return scan


def _int(path, number, words, index, what) -> int:
    try:
        return int(words[index])
    except (IndexError, ValueError):
        got = words[index] if index < len(words) else "nothing"
        raise HepMCError(f"{path}: line {number}: field '{what}' of the E line is {got!r}, expected an integer") \
            from None


def _event_line(path, number, words) -> int:
    return _int(path, number, words, 1, "event number")


def _particle_line(path, number, words, event, scan: HepMCScan, known_pid) -> None:
    if len(words) != len(_P_FIELDS) + 1:
        raise HepMCError(f"{path}: HepMC event {event}, line {number}: a P line has {len(words) - 1} fields, expected "
                         f"{len(_P_FIELDS)} ({' '.join(_P_FIELDS)})")
    values = {}
    for name, word in zip(_P_FIELDS, words[1:]):
        try:
            values[name] = int(word) if name in _P_INTEGER else float(word)
        except ValueError:
            kind = "an integer" if name in _P_INTEGER else "a number"
            raise HepMCError(f"{path}: HepMC event {event}, particle {words[1]}: field '{name}' is {word!r}, "
                             f"expected {kind}") from None
    if event in scan.bad:
        return
    for name in ("px", "py", "pz", "e", "m"):
        if not math.isfinite(values[name]):
            scan.bad[event] = (f"{path}: HepMC event {event}, particle {values['id']} (pid {values['pid']}): "
                               f"field '{name}' is {values[name]}, expected a finite number")
            return
    if values["status"] == 1 and known_pid is not None and not known_pid(values["pid"]):
        scan.bad[event] = (f"{path}: HepMC event {event}, particle {values['id']}: field 'pid' is {values['pid']}, "
                           "expected a PDG id known to Pythia's particle table")
