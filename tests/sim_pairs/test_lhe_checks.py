"""sim_pairs.lhe_checks: each unusable field of an LHE event is named; good events pass.

Good events come from Pythia's own hard processes (an independent writer of the
format), so the checks are tested against real colour flow and decay chains.
"""

import copy

import numpy as np
import pytest

pytest.importorskip("pythia8mc")

from sim_pairs.config import ProcessConfig
from sim_pairs.lhe import BadLHEEvent, LHEError, read_lhe_events
from sim_pairs.lhe_checks import check_lhe_event
from sim_pairs.processes import generate_hard_events


@pytest.fixture(scope="module")
def events(tmp_path_factory):
    """Hard events of every decay topology rs3l makes: QCD 2 -> 2, H -> bb, top pairs with W decays."""
    directory = tmp_path_factory.mktemp("lhe")
    out = {}
    for name in ("qcd", "hbb", "ttbar"):
        path = generate_hard_events(ProcessConfig(name=name), 5, directory / f"{name}.lhe", sqrt_s=13000.0, seed=2)
        out[name] = list(read_lhe_events(path))  # reading runs the checks: they all pass
    return out


def _bad(event, match):
    with pytest.raises(BadLHEEvent, match=match) as err:
        check_lhe_event("x.lhe", event)
    assert isinstance(err.value, LHEError) and err.value.event_number == event.event_number
    return err.value


def test_pythia_events_pass_and_carry_resonances(events):
    assert any(2 in e.status for e in events["ttbar"]) and all(len(e) >= 4 for e in events["qcd"])


@pytest.mark.parametrize("field, value, match", [
    ("px", np.nan, r"field PUP\(1\) px is nan"), ("e", np.inf, r"PUP\(4\) E is inf"),
    ("e", -1.0, r"PUP\(4\) E is -1.0, expected an energy >= 0"), ("m", np.nan, r"PUP\(5\) m is nan")])
def test_non_finite_and_negative_values(events, field, value, match):
    event = copy.deepcopy(events["qcd"][0])
    getattr(event, field)[2] = value
    assert _bad(event, match).field.startswith("PUP")


def test_mother_loops_and_self_mothers(events):
    event = copy.deepcopy(events["hbb"][1])
    n = len(event)
    event.mother1[n - 1], event.mother2[n - 1] = n - 1, 0      # the last particle's mother is the one before
    event.mother1[n - 2], event.mother2[n - 2] = n, 0          # ... whose mother is the last one: a loop
    _bad(event, "own ancestor")
    event.mother1[n - 2] = n - 1
    _bad(event, r"MOTHUP\(1\) is .*cannot be its own mother")


def test_unknown_ids_and_statuses(events):
    event = copy.deepcopy(events["qcd"][2])
    event.pid[3] = 4_999_999
    _bad(event, "IDUP is 4999999, expected a PDG id known")
    event = copy.deepcopy(events["qcd"][3])
    event.status[0] = 5
    _bad(event, "ISTUP is 5")


def test_colour_flow(events):
    event = copy.deepcopy(events["ttbar"][0])
    quark = next(i for i in range(len(event)) if event.status[i] == 1 and 1 <= abs(event.pid[i]) <= 5
                 and event.col1[i] + event.col2[i] > 0)
    tag = max(event.col1[quark], event.col2[quark])
    event.col1[quark], event.col2[quark] = event.col2[quark], event.col1[quark]  # quark <-> antiquark colours
    _bad(event, "ICOLUP")
    event.col1[quark], event.col2[quark] = event.col2[quark], event.col1[quark]
    for field in ("col1", "col2"):
        getattr(event, field)[quark] = np.where(getattr(event, field)[quark] == tag, 999, getattr(event, field)[quark])
    _bad(event, "used exactly twice")
