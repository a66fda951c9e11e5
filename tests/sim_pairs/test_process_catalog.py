"""Tests for sim_pairs/process_catalog.py: every built-in process is known to the config and read by Pythia."""

import pytest

from sim_pairs.config import ProcessConfig
from sim_pairs.process_catalog import PROCESSES
from sim_pairs.pythia_settings import new_pythia


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_each_setting_is_one_pythia_reads(name):
    # new_pythia raises PythiaSettingError on any string Pythia's readString rejects
    new_pythia(PROCESSES[name], seed=1, where=f"process '{name}'")


def test_the_config_accepts_exactly_the_catalog():
    for name in PROCESSES:
        kwargs = {"lhe_files": ["x.lhe"]} if name == "lhe" else {}
        assert ProcessConfig(name=name, **kwargs).name == name
    with pytest.raises(ValueError, match="unknown process 'qcd_top'; known processes: " + ", ".join(sorted(PROCESSES))):
        ProcessConfig(name="qcd_top")
