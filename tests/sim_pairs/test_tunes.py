"""Tests for sim_pairs/tunes.py: each named tune sets what Pythia's own tune files say."""

import re
from pathlib import Path

import pytest

from sim_pairs.pythia_settings import import_pythia
from sim_pairs.tunes import TUNES, tune_settings

A14_FILES = {"A14": "ATLAS-A14-NNPDF23LO", "A14-CTEQL1": "ATLAS-A14-CTEQL1", "A14-MSTW2008LO": "ATLAS-A14-MSTW2008LO",
             **{f"A14-Var{v}{s}": f"ATLAS-A14-v{s}{v}" for v in ("1", "2", "3a", "3b", "3c") for s in "+-"}}
OTHER_FILES = {"Monash": "Monash2013", "CUETP8M1": "CMS-CUETP8M1-NNPDF23LO", "Detroit": "Detroit2021"}


def _tune_dir() -> Path:
    pythia8mc = import_pythia()
    return Path(pythia8mc.Pythia("", False).settings.word("xmlPath")).parent / "tunes"


def _cmnd_settings(path: Path) -> dict[str, str]:
    """key -> value of a Pythia .cmnd file, without comments and includes."""
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("!")[0].strip()
        if "=" in line and not line.lower().startswith("include"):
            key, value = (part.strip() for part in line.split("=", 1))
            out[key] = value
    return out


@pytest.mark.parametrize("name", sorted({**A14_FILES, **OTHER_FILES}))
def test_tune_sets_the_values_of_its_cmnd_file(name):
    path = _tune_dir() / f"{({**A14_FILES, **OTHER_FILES})[name]}.cmnd"
    expected = _cmnd_settings(path)
    assert expected, path
    pythia = import_pythia().Pythia("", False)
    for text in tune_settings(name):
        assert pythia.readString(text), text
    for key, value in expected.items():
        if re.fullmatch(r"[-+0-9.eE]+", value) and "." in value:
            assert pythia.settings.parm(key) == pytest.approx(float(value)), (name, key)
        elif key == "PDF:pSet":
            assert pythia.settings.word(key).split(":")[-1] == value.split(":")[-1], (name, key)


def test_cp5_values_read_back():
    pythia = import_pythia().Pythia("", False)
    for text in tune_settings("CP5"):
        assert pythia.readString(text), text
    assert pythia.settings.parm("MultipartonInteractions:pT0Ref") == pytest.approx(1.41)
    assert pythia.settings.parm("ColourReconnection:range") == pytest.approx(5.176)
    assert pythia.settings.parm("TimeShower:alphaSvalue") == pytest.approx(0.118)
    assert pythia.settings.mode("MultipartonInteractions:bProfile") == 2
    assert pythia.settings.word("PDF:pSet") == "20"


def test_unknown_tune_lists_known():
    with pytest.raises(ValueError, match="view 'x': unknown tune 'A15'.*A14.*CP5.*Monash"):
        tune_settings("A15", where="view 'x'")
    assert tune_settings("") == []
    assert set(A14_FILES) | set(OTHER_FILES) | {"CP5"} == set(TUNES)
