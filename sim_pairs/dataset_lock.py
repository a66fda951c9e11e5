"""An exclusive lock on a dataset directory while ``rs3l generate`` writes it.

Two ``generate`` runs writing one directory at once would interleave shards of two
configs or seeds under one ``metadata.json``. The writer holds ``OUT/.generate.lock``:
a file opened and locked with ``fcntl.flock`` (exclusive, non-blocking) that holds
the holder's pid, host, start time (UTC) and command line as JSON. The kernel drops
the lock when the holder exits, however it exits (``kill -9`` included), so a lock
file left behind by a dead run is stale and the next run takes it over, saying so.
A second run while the first is alive gets :class:`DatasetLocked` naming the holder.

``flock`` is exact on local file systems; on network file systems (NFS) its
behaviour depends on the server, so run one writer per directory there.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import Iterator

__all__ = ["DatasetLocked", "dataset_lock", "LOCK_NAME"]

LOCK_NAME = ".generate.lock"

log = logging.getLogger(__name__)


class DatasetLocked(RuntimeError):
    """Another live process holds the dataset directory's lock."""


def _holder(path: Path) -> dict:
    try:
        body = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


@contextlib.contextmanager
def dataset_lock(directory: str | Path) -> Iterator[Path]:
    """Hold the exclusive write lock of ``directory`` (created) for the ``with`` block.

    Raises:
        DatasetLocked: a live process holds it (the message gives its pid, host,
            start time and command, and the lock file).
    """
    import fcntl

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            held = _holder(path)
            raise DatasetLocked(
                f"{directory}: being written by another `rs3l generate` (pid {held.get('pid', '?')} on host "
                f"{held.get('host', '?')}, since {held.get('started', '?')}: {held.get('command', '?')}); "
                f"wait for it to finish (lock file {path})") from None
        # the holder before us may have removed the file between our open and our lock:
        # then we locked an orphan inode, and must try again on the file now at ``path``
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    stale = _holder(path)
    if stale:
        log.warning("%s: taking over a stale lock left by pid %s on host %s (that run is gone)", path,
                    stale.get("pid", "?"), stale.get("host", "?"))
    body = {"pid": os.getpid(), "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "command": " ".join(sys.argv)}
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(body) + "\n").encode(), 0)
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # while still locked, so no one can lock this inode after we leave
        os.close(fd)
