"""Named Pythia tunes a view can ask for with ``tune: NAME``.

Tunes shipped with Pythia are selected through ``Tune:pp`` (Pythia manual,
"Tunes"; indices checked against Pythia 8.317's ``xmldoc/Tunes.xml`` and the
``share/Pythia8/tunes/*.cmnd`` files, see tests/sim_pairs/test_tunes.py). The
A14 eigentune variations (ATL-PHYS-PUB-2014-021) are variations of A14 with
NNPDF2.3LO (``Tune:pp = 21``).

CMS CP5 (CMS, arXiv 1903.12179, the tune RS3L used) is not shipped with Pythia;
it is given here as the explicit strings of CMSSW's
``Configuration/Generator/python/MCTunes2017/PythiaCP5Settings_cfi.py``, with
Pythia's built-in NNPDF3.1 NNLO (``PDF:pSet = 20``), the set CMSSW uses, so no
LHAPDF is needed.

``Tune:pp`` resets many parameters when it is read, so a view's tune is applied
before the view's own settings (see :func:`sim_pairs.shower.view_settings`).
"""

from __future__ import annotations

__all__ = ["TUNES", "tune_settings"]

_TUNE_PP = {
    "Monash": 14,
    "CUETP8M1": 18,
    "A14-CTEQL1": 19,
    "A14-MSTW2008LO": 20,
    "A14": 21,
    "A14-Var1+": 23,
    "A14-Var1-": 24,
    "A14-Var2+": 25,
    "A14-Var2-": 26,
    "A14-Var3a+": 27,
    "A14-Var3a-": 28,
    "A14-Var3b+": 29,
    "A14-Var3b-": 30,
    "A14-Var3c+": 31,
    "A14-Var3c-": 32,
    "Detroit": 33,
}

_CP5 = [
    "Tune:pp = 14",
    "Tune:ee = 7",
    "MultipartonInteractions:ecmPow = 0.03344",
    "PDF:pSet = 20",
    "MultipartonInteractions:bProfile = 2",
    "MultipartonInteractions:pT0Ref = 1.41",
    "MultipartonInteractions:coreRadius = 0.7634",
    "MultipartonInteractions:coreFraction = 0.63",
    "ColourReconnection:range = 5.176",
    "SigmaTotal:zeroAXB = off",
    "SpaceShower:alphaSorder = 2",
    "SpaceShower:alphaSvalue = 0.118",
    "SigmaProcess:alphaSvalue = 0.118",
    "SigmaProcess:alphaSorder = 2",
    "MultipartonInteractions:alphaSvalue = 0.118",
    "MultipartonInteractions:alphaSorder = 2",
    "TimeShower:alphaSorder = 2",
    "TimeShower:alphaSvalue = 0.118",
]

TUNES: dict[str, list[str]] = {name: [f"Tune:pp = {index}"] for name, index in _TUNE_PP.items()}
TUNES["CP5"] = _CP5


def tune_settings(name: str, *, where: str = "tune") -> list[str]:
    """The Pythia setting strings of a named tune ('' gives none).

    Raises:
        ValueError: unknown name, listing the known ones.
    """
    if not name:
        return []
    if name not in TUNES:
        raise ValueError(f"{where}: unknown tune {name!r}; known tunes: {', '.join(sorted(TUNES))}")
    return list(TUNES[name])
