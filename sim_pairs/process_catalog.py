"""The built-in hard processes by name: the Pythia settings that switch each one on.

Kept apart from :mod:`sim_pairs.processes` (which runs Pythia) so that the config
(:class:`sim_pairs.config.ProcessConfig`) can check a process name without importing the
code that generates it, and without an import cycle between the two.

========== ===================================================================
qcd        all 2 -> 2 QCD (``HardQCD:all``)
qcd_quark  2 -> 2 QCD with two quarks out (qq -> qq, qqbar -> qqbar, gg -> qqbar)
qcd_gluon  2 -> 2 QCD with two gluons out (gg -> gg, qqbar -> gg)
hbb        H + jet through the top loop (so the Higgs recoils and is boosted), H -> b bbar
wqq        W + jet, W -> q q'bar (u, d, s, c, b)
zqq        Z + jet (no photon), Z -> q qbar (u, d, s, c, b)
ttbar      t tbar, both W -> q q'bar (fully hadronic)
lhe        the user's own LHE files (``lhe_files``), validated and copied
========== ===================================================================
"""

from __future__ import annotations

__all__ = ["PROCESSES"]

_HADRONIC_W = ["24:onMode = off", "24:onIfAny = 1 2 3 4 5"]

PROCESSES: dict[str, list[str]] = {
    "qcd": ["HardQCD:all = on"],
    "qcd_quark": ["HardQCD:qq2qq = on", "HardQCD:qqbar2qqbarNew = on", "HardQCD:gg2qqbar = on"],
    "qcd_gluon": ["HardQCD:gg2gg = on", "HardQCD:qqbar2gg = on"],
    "hbb": ["HiggsSM:gg2Hg(l:t) = on", "HiggsSM:qg2Hq(l:t) = on", "HiggsSM:qqbar2Hg(l:t) = on",
            "25:onMode = off", "25:onIfMatch = 5 -5"],
    "wqq": ["WeakBosonAndParton:qqbar2Wg = on", "WeakBosonAndParton:qg2Wq = on"] + _HADRONIC_W,
    "zqq": ["WeakBosonAndParton:qqbar2gmZg = on", "WeakBosonAndParton:qg2gmZq = on", "WeakZ0:gmZmode = 2",
            "23:onMode = off", "23:onIfAny = 1 2 3 4 5"],
    "ttbar": ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on"] + _HADRONIC_W,
    "lhe": [],
}
