"""Making Pythia 8 instances from setting strings, with errors that say what went wrong.

Every Pythia object of ``sim_pairs`` is built here: settings are applied one by
one with ``readString`` and one that Pythia rejects is an error naming the string
and where it came from (a view, a process), never a warning lost in the log.
Seeds are derived here too, so that every (seed, name) pair gets its own
independent random stream.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

__all__ = ["PythiaSettingError", "import_pythia", "derive_seed", "new_pythia", "init_pythia", "PYTHIA_SEED_MAX"]

# Pythia's Random:seed accepts 0..900_000_000; 0 means "from the clock", so never use it.
PYTHIA_SEED_MAX = 900_000_000


class PythiaSettingError(ValueError):
    """A Pythia setting that Pythia rejected, or an init() that failed."""


def import_pythia():
    """The ``pythia8mc`` module, or an ImportError saying how to install it."""
    try:
        import pythia8mc
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("sim_pairs needs Pythia 8's Python binding: pip install 'pythia8mc==8.317.2'") from error
    return pythia8mc


def derive_seed(seed: int, *names: object) -> int:
    """A Pythia seed in 1..900_000_000 derived from ``seed`` and any names.

    SHA-256 of the joined text, so that ``(1, "nominal")`` and ``(1, "seed")`` give
    unrelated seeds and the mapping never changes between Python versions
    (unlike ``hash``). Distinct Pythia seeds start independent Marsaglia-Zaman
    sequences (Pythia manual, "Random-Number Seed").
    """
    text = "\x1f".join([str(int(seed))] + [str(n) for n in names]).encode()
    digest = int.from_bytes(hashlib.sha256(text).digest()[:8], "big")
    return 1 + digest % PYTHIA_SEED_MAX


def new_pythia(settings: Sequence[str], *, seed: int, where: str):
    """A Pythia object with ``settings`` applied (not yet initialised).

    Args:
        settings: Pythia setting strings, applied in order.
        seed: Random:seed, 1..900_000_000.
        where: what the settings belong to, for error messages (e.g. "view 'fsr_up'").

    Raises:
        PythiaSettingError: a setting rejected by ``readString``, naming ``where``
            and the string.
    """
    if not 1 <= seed <= PYTHIA_SEED_MAX:
        raise PythiaSettingError(f"{where}: seed {seed} outside Pythia's range 1..{PYTHIA_SEED_MAX}")
    pythia8mc = import_pythia()
    pythia = pythia8mc.Pythia("", False)
    # Print:quiet leaves Vincia's initialisation banner on; verbosity 0 silences it too,
    # so the logs of a long run stay readable
    quiet = ["Print:quiet = on", "Print:verbosity = 0", "Next:numberCount = 0", "Random:setSeed = on", f"Random:seed = {seed}"]
    for text in quiet + list(settings):
        if not pythia.readString(text):
            raise PythiaSettingError(f"{where}: Pythia rejected the setting {text!r}")
        _check_flag_value(pythia, text, where)
    return pythia


_FLAG_WORDS = {"on", "off", "yes", "no", "true", "false", "1", "0"}


def _check_flag_value(pythia, text: str, where: str) -> None:
    """Pythia reads any unknown word as 'off' for a flag; treat that as a rejection."""
    key, _, value = text.replace("=", " ", 1).partition(" ")
    key, value = key.strip(), value.strip().split()[:1]
    if value and pythia.settings.isFlag(key) and value[0].lower() not in _FLAG_WORDS:
        raise PythiaSettingError(f"{where}: flag setting {text!r} needs on/off (or yes/no, true/false, 1/0)")


def init_pythia(pythia, *, where: str) -> None:
    """``pythia.init()``, raising :class:`PythiaSettingError` naming ``where`` when it fails."""
    if not pythia.init():
        raise PythiaSettingError(f"{where}: Pythia init() failed (inconsistent settings or unreadable input; "
                                 "add 'Print:quiet = off', 'Print:verbosity = 2' and 'Print:errors = on' to the settings to see Pythia's log)")
