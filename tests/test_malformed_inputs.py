"""Malformed inputs and options, as a careless or hostile user would give them (issue 19).

Every case runs the ``rs3l`` command line in this process on a file or option written
here, and asserts what the issue asks of each: exit status 2 (no crash), one error line
that names the file or option and the field (no raw traceback), no code run from a
data file (a pickle payload would create a marker file), and no silently changed data
(the inputs keep their bytes; a refused ``generate`` writes no shard). ``CASES`` lists
them; ``test_the_suite_covers_at_least_60_inputs`` keeps the count honest.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch

from graphs.synthetic import synthetic_columns
from rs3l.cli import main
from rs3l.models.backbone import build_backbone
from rs3l.models.config import BackboneConfig
from sim_pairs.io import shard_name, write_metadata, write_shard
from sim_pairs.lhe import LHEEvent, LHEInit, write_lhe

MARKER = "payload-ran"


class Payload:
    """Unpickling this calls open(path, 'w'): a file appears if a loader ran it."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


# ---------------------------------------------------------------------------------- inputs
def good_event(number: int) -> LHEEvent:
    """u g -> u g at a few hundred GeV: finite, time-like, mothers 1 2, every colour tag twice."""
    px = np.array([0.0, 0.0, 300.0, -300.0])
    py = np.array([0.0, 0.0, 100.0, -100.0])
    pz = np.array([500.0, -400.0, 200.0, -100.0])
    return LHEEvent(event_number=number, process_id=1, weight=1.0, scale=300.0, alpha_qed=1 / 128, alpha_qcd=0.118,
                    pid=np.array([21, 2, 21, 2]), status=np.array([-1, -1, 1, 1]), mother1=np.array([0, 0, 1, 1]),
                    mother2=np.array([0, 0, 2, 2]), col1=np.array([501, 502, 503, 502]),
                    col2=np.array([503, 0, 501, 0]), px=px, py=py, pz=pz, e=np.sqrt(px**2 + py**2 + pz**2),
                    m=np.zeros(4), lifetime=np.zeros(4), spin=np.full(4, 9.0))


def lhe_lines(directory: Path) -> list[str]:
    path = directory / "good.lhe"
    write_lhe(path, LHEInit(), [good_event(i) for i in range(3)])
    return path.read_text().splitlines(keepends=True)


def particle_line(lines: list[str], event: int, particle: int) -> int:
    starts = [i for i, line in enumerate(lines) if line.startswith("<event")]
    return starts[event] + 2 + particle


def set_word(lines, event, particle, word, value):
    i = particle_line(lines, event, particle)
    words = lines[i].split()
    words[word] = value
    lines[i] = " ".join(words) + "\n"
    return lines


IDUP, ISTUP, MOTH1, MOTH2, COL1, COL2, PX, PY, PZ, E, M = range(11)


def lhe_text_case(mutate: Callable[[list[str]], list[str]]):
    def write(directory: Path) -> Path:
        path = directory / "in.lhe"
        path.write_text("".join(mutate(lhe_lines(directory))))
        return path
    return write


def lhe_bytes_case(make: Callable[[bytes], bytes], name="in.lhe"):
    def write(directory: Path) -> Path:
        good = "".join(lhe_lines(directory)).encode()
        path = directory / name
        path.write_bytes(make(good))
        return path
    return write


def drop_particle(lines):
    del lines[particle_line(lines, 1, 3)]
    return lines


def extra_particle(lines):
    i = particle_line(lines, 1, 3)
    lines.insert(i + 1, lines[i])
    return lines


def truncate_mid_event(lines):
    return lines[: particle_line(lines, 2, 1)]


def damaged_gzip(data: bytes) -> bytes:
    packed = bytearray(gzip.compress(data, mtime=0))
    packed[len(packed) // 2: len(packed) // 2 + 24] = b"\x00" * 24
    return bytes(packed)


LHE_CASES = {
    "lhe_nan_px": (lhe_text_case(lambda l: set_word(l, 1, 2, PX, "nan")), ["event 1, particle 2", "PUP(1) px", "nan"]),
    "lhe_inf_energy": (lhe_text_case(lambda l: set_word(l, 0, 3, E, "inf")), ["event 0, particle 3", "PUP(4) E"]),
    "lhe_negative_energy": (lhe_text_case(lambda l: set_word(l, 2, 0, E, "-500")), ["event 2, particle 0", "PUP(4) E"]),
    "lhe_spacelike": (lhe_text_case(lambda l: set_word(l, 1, 2, E, "10")), ["event 1, particle 2", "E >= |p|"]),
    "lhe_nan_mass": (lhe_text_case(lambda l: set_word(l, 0, 2, M, "NaN")), ["event 0, particle 2", "PUP(5) m"]),
    "lhe_nan_weight": (lhe_text_case(lambda l: _event_head(l, 1, 2, "nan")), ["event 1", "XWGTUP"]),
    "lhe_mother_loop": (lhe_text_case(lambda l: set_word(set_word(set_word(set_word(
        l, 0, 2, MOTH1, "4"), 0, 2, MOTH2, "4"), 0, 3, MOTH1, "3"), 0, 3, MOTH2, "3")),
        ["event 0", "MOTHUP", "own ancestor"]),
    "lhe_self_mother": (lhe_text_case(lambda l: set_word(l, 1, 2, MOTH1, "3")), ["event 1, particle 2", "MOTHUP(1)"]),
    "lhe_mother_out_of_range": (lhe_text_case(lambda l: set_word(l, 0, 3, MOTH2, "9")),
                                ["event 0, particle 3", "MOTHUP(2) is 9"]),
    "lhe_negative_mother": (lhe_text_case(lambda l: set_word(l, 2, 2, MOTH1, "-1")), ["event 2, particle 2", "MOTHUP(1)"]),
    "lhe_unknown_pdg": (lhe_text_case(lambda l: set_word(l, 1, 3, IDUP, "9999999")), ["event 1, particle 3", "IDUP"]),
    "lhe_pdg_zero": (lhe_text_case(lambda l: set_word(l, 0, 2, IDUP, "0")), ["event 0, particle 2", "IDUP"]),
    "lhe_unpaired_colour": (lhe_text_case(lambda l: set_word(l, 1, 3, COL1, "507")), ["event 1", "ICOLUP", "tag"]),
    "lhe_quark_with_anticolour": (lhe_text_case(lambda l: set_word(set_word(l, 0, 3, COL1, "0"), 0, 3, COL2, "502")),
                                  ["event 0, particle 3", "ICOLUP", "triplet"]),
    "lhe_gluon_colourless": (lhe_text_case(lambda l: set_word(set_word(l, 2, 0, COL1, "0"), 2, 0, COL2, "0")),
                             ["event 2, particle 0", "ICOLUP", "octet"]),
    "lhe_negative_colour": (lhe_text_case(lambda l: set_word(l, 0, 1, COL1, "-502")), ["event 0, particle 1", "ICOLUP"]),
    "lhe_unknown_status": (lhe_text_case(lambda l: set_word(l, 1, 2, ISTUP, "7")), ["event 1, particle 2", "ISTUP"]),
    "lhe_too_few_particle_lines": (lhe_text_case(drop_particle), ["event 1", "expected 4 particle lines, found 3"]),
    "lhe_too_many_particle_lines": (lhe_text_case(extra_particle), ["event 1", "more particle lines than NUP"]),
    "lhe_word_not_a_number": (lhe_text_case(lambda l: set_word(l, 0, 2, PY, "1.0.0")), ["event 0, particle 2", "numbers"]),
    "lhe_fractional_pdg": (lhe_text_case(lambda l: set_word(l, 0, 2, IDUP, "2.5")), ["event 0, particle 2", "numbers"]),
    "lhe_infinite_integer": (lhe_text_case(lambda l: set_word(l, 0, 2, IDUP, "inf")), ["event 0, particle 2", "numbers"]),
    "lhe_nup_zero": (lhe_text_case(lambda l: _event_head(l, 0, 0, "0")), ["event 0", "NUP = 0"]),
    "lhe_truncated_mid_event": (lhe_text_case(truncate_mid_event), ["event 2", "truncated"]),
    "lhe_no_init": (lhe_text_case(lambda l: l[:l.index("<init>\n")] + l[l.index("</init>\n") + 1:]),
                    ["no <init> block"]),
    "lhe_bad_init_numbers": (lhe_text_case(lambda l: l[:4] + ["2212 2212 x y 0 0 0 0 3 1\n"] + l[5:]),
                             ["<init>", "numbers"]),
    "lhe_empty_file": (lhe_bytes_case(lambda data: b""), ["no <init> block"]),
    "lhe_random_bytes": (lhe_bytes_case(lambda data: np.random.default_rng(1).bytes(3000)), ["in.lhe", "UTF-8"]),
    "lhe_non_utf8_in_event": (lhe_bytes_case(lambda data: data.replace(b"<event>", b"<event>\n\xff\xfe", 1)),
                              ["in.lhe", "not UTF-8"]),
    "lhe_gz_random_bytes": (lhe_bytes_case(lambda data: np.random.default_rng(2).bytes(3000), "in.lhe.gz"),
                            ["in.lhe.gz", "gzip"]),
    "lhe_gz_damaged": (lhe_bytes_case(damaged_gzip, "in.lhe.gz"), ["in.lhe.gz"]),
    "lhe_gz_truncated": (lhe_bytes_case(lambda data: gzip.compress(data[: len(data) // 2], mtime=0)[:-12],
                                        "in.lhe.gz"),
                         ["in.lhe.gz"]),
}


def _event_head(lines, event, word, value):
    starts = [i for i, line in enumerate(lines) if line.startswith("<event")]
    words = lines[starts[event] + 1].split()
    words[word] = value
    lines[starts[event] + 1] = " ".join(words) + "\n"
    return lines


def lhe_config(directory: Path, lhe: Path, extra_views: str = "") -> Path:
    path = directory / "run.yaml"
    path.write_text(f"generation:\n  events_per_shard: 3\n  mpi: false\n"
                    f"  processes: [{{name: lhe, events: 3, lhe_files: [{lhe.name}]}}]\n"
                    f"  views: {{nominal: {{tune: Monash}}{extra_views}}}\n")
    return path


# ---------------------------------------------------------------------------------- HepMC
def hepmc_event(number: int, px="1.0", particles=None) -> str:
    lines = [f"E {number} 1 3", "U GEV MM",
             "P 1 0 21 0 0 100 100 0 4", "V -1 0 [1] @ 0.1 0 0 0",
             f"P 2 -1 211 {px} 2 3 10 0.13957 1", "P 3 -1 -211 1 2 -3 10 0.13957 1"]
    if particles is not None:
        lines[0] = f"E {number} 1 {particles}"
    return "\n".join(lines) + "\n"


HEAD = "HepMC::Version 3.02.05\nHepMC::Asciiv3-START_EVENT_LISTING\n"
TAIL = "HepMC::Asciiv3-END_EVENT_LISTING\n"


def hepmc_case(text: bytes | str):
    def write(directory: Path) -> Path:
        path = directory / "other.hepmc"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return path
    return write


HEPMC_CASES = {
    "hepmc_empty": (hepmc_case(b""), ["other.hepmc", "empty file"]),
    "hepmc_random_bytes": (hepmc_case(np.random.default_rng(3).bytes(2000)), ["other.hepmc", "not a HepMC"]),
    "hepmc_truncated_header": (hepmc_case("HepMC::Vers"), ["other.hepmc", "line 1"]),
    "hepmc_header_only": (hepmc_case(HEAD), ["other.hepmc", "truncated"]),
    "hepmc_no_events": (hepmc_case(HEAD + TAIL), ["other.hepmc", "no events"]),
    "hepmc_unknown_listing": (hepmc_case("HepMC::Version 3.02.05\nHepMC::Binary\n"), ["other.hepmc", "line 2"]),
    "hepmc_truncated_event": (hepmc_case(HEAD + hepmc_event(0) + hepmc_event(1)[:60]), ["HepMC event 1", "truncated"]),
    "hepmc_word_momentum": (hepmc_case(HEAD + hepmc_event(0, px="abc") + TAIL), ["HepMC event 0", "field 'px'", "abc"]),
    "hepmc_nan_momentum": (hepmc_case(HEAD + hepmc_event(0, px="nan") + TAIL), ["HepMC event 0", "field 'px'", "nan"]),
    "hepmc_inf_momentum": (hepmc_case(HEAD + hepmc_event(0, px="inf") + TAIL), ["HepMC event 0", "field 'px'"]),
    "hepmc_particle_count": (hepmc_case(HEAD + hepmc_event(0, particles=5) + TAIL), ["HepMC event 0", "declares 5"]),
    "hepmc_short_p_line": (hepmc_case(HEAD + hepmc_event(0).replace(" 0.13957 1\nP 3", " 1\nP 3") + TAIL),
                           ["HepMC event 0", "P line has 8 fields"]),
    "hepmc_fractional_pid": (hepmc_case(HEAD + hepmc_event(0).replace(" 211 ", " 211.5 ", 1) + TAIL),
                             ["HepMC event 0", "field 'pid'"]),
    "hepmc_unknown_final_pid": (hepmc_case(HEAD + hepmc_event(0).replace("P 3 -1 -211", "P 3 -1 7777777") + TAIL),
                                ["HepMC event 0", "field 'pid' is 7777777"]),
    "hepmc_non_utf8": (hepmc_case(HEAD.encode() + b"E 0 1 3\n\xff\xfe\n" + TAIL.encode()), ["other.hepmc", "UTF-8"]),
    "hepmc_gz_random": (hepmc_case(b"\x1f\x8b" + np.random.default_rng(4).bytes(500)), ["other.hepmc", "gzip"]),
}


# ---------------------------------------------------------------------------------- datasets, models
HASH = "c" * 64


def generated_like(directory: Path, complete=True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for s in range(2):
        write_shard(synthetic_columns(6, ("nominal", "fsr_up"), seed=s, first_group_id=6 * s, detector=False),
                    directory / shard_name(s), attrs={"config_hash": HASH})
    write_metadata(directory, {"generator": "sim_pairs.generate", "config_hash": HASH, "complete": complete,
                               "shards": {shard_name(s): {} for s in range(2)} if complete else {}})
    return directory


def edit_metadata(**change):
    def edit(data: Path):
        body = json.loads((data / "metadata.json").read_text())
        body.update(change)
        (data / "metadata.json").write_text(json.dumps(body))
    return edit


def write_metadata_text(text: bytes):
    return lambda data: (data / "metadata.json").write_bytes(text)


def damage_page(data: Path):
    import pyarrow.parquet as pq

    path = data / shard_name(1)
    meta = pq.ParquetFile(path).metadata
    names = [meta.row_group(0).column(i).path_in_schema for i in range(meta.num_columns)]
    chunk = meta.row_group(0).column(names.index("label"))
    offset = chunk.dictionary_page_offset or chunk.data_page_offset
    raw = bytearray(path.read_bytes())
    raw[offset:offset + 16] = b"\xff" * 16
    path.write_bytes(bytes(raw))


def foreign_shard(data: Path):
    write_shard(synthetic_columns(6, ("nominal", "fsr_up"), seed=9, detector=False), data / shard_name(1),
                attrs={"config_hash": "d" * 64})


DATASET_CASES = {
    "data_no_metadata": (lambda d: (d / "metadata.json").unlink(), ["metadata.json", "not found"]),
    "data_metadata_not_json": (write_metadata_text(b"{complete: yes"), ["metadata.json", "not valid JSON"]),
    "data_metadata_not_utf8": (write_metadata_text(b'{"a": "\xff"}'), ["metadata.json", "not valid JSON"]),
    "data_metadata_a_list": (write_metadata_text(b"[1, 2, 3]"), ["metadata.json", "expected a JSON object"]),
    "data_schema_version": (edit_metadata(schema_version=999), ["metadata.json", "field 'schema_version' is 999"]),
    "data_incomplete": (edit_metadata(complete=False, shards={}), ["metadata.json", "field 'complete' is false",
                                                                    "--allow-incomplete"]),
    "data_complete_not_bool": (edit_metadata(complete="yes"), ["metadata.json", "field 'complete' is 'yes'"]),
    "data_shard_missing": (lambda d: (d / shard_name(1)).unlink(), [shard_name(1), "listed in", "missing"]),
    "data_shard_not_listed": (lambda d: (d / shard_name(5)).write_bytes((d / shard_name(0)).read_bytes()),
                              [shard_name(5), "not listed"]),
    "data_shard_of_another_seed": (foreign_shard, [shard_name(1), "config hash dddddddddddd", "mixes"]),
    "data_no_config_hash": (edit_metadata(config_hash=None), ["metadata.json", "field 'config_hash' is missing"]),
    "data_shard_random_bytes": (lambda d: (d / shard_name(0)).write_bytes(os.urandom(5000)),
                                [shard_name(0), "not a readable Parquet file"]),
    "data_damaged_page": (damage_page, [shard_name(1), "column 'label'", "damaged"]),
}


def model_file(kind: str):
    def write(model: Path, marker: Path):
        torch.manual_seed(0)
        state = build_backbone(BackboneConfig(), {"particle": 4}).state_dict()
        blob = {"model": state}
        if kind == "payload":
            blob["config"] = Payload(marker)
        torch.save(blob, model)
        data = model.read_bytes()
        if kind == "random":
            model.write_bytes(os.urandom(len(data) // 4))
        elif kind == "truncated":
            model.write_bytes(data[: len(data) // 2])
        elif kind == "empty":
            model.write_bytes(b"")
        elif kind == "plain_pickle":
            import pickle

            model.write_bytes(pickle.dumps({"model": {}, "x": Payload(marker)}))
        elif kind == "a_list":
            torch.save([1, 2, 3], model)
    return write


MODEL_KINDS = ["payload", "random", "truncated", "empty", "plain_pickle", "a_list"]


# ---------------------------------------------------------------------------------- running
@dataclass
class Outcome:
    rc: int
    errors: list[str]
    text: str


def run_cli(argv, caplog, capsys) -> Outcome:
    caplog.clear()
    with caplog.at_level(logging.INFO):
        rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    return Outcome(rc, errors, caplog.text + captured.out + captured.err)


def assert_refused(outcome: Outcome, *fragments: str) -> None:
    """Exit 2, one error line that holds every fragment, no traceback."""
    assert outcome.rc == 2, outcome.text[-2000:]
    assert len(outcome.errors) == 1, outcome.errors
    line = outcome.errors[0]
    assert "\n" not in line, line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    assert "Traceback" not in outcome.text


def tree_digest(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


ALL_CASES = (list(LHE_CASES) + list(HEPMC_CASES) + list(DATASET_CASES) + [f"model_{k}" for k in MODEL_KINDS]
             + [f"checkpoint_{k}" for k in ("payload", "random", "truncated")])


@pytest.mark.parametrize("name", list(LHE_CASES))
def test_malformed_lhe_is_refused_before_pythia(name, tmp_path, caplog, capsys):
    write, fragments = LHE_CASES[name]
    lhe = write(tmp_path)
    before = lhe.read_bytes()
    out = tmp_path / "data"
    outcome = run_cli(["generate", "--config", lhe_config(tmp_path, lhe), "--out", out, "--workers", "1"], caplog, capsys)
    assert_refused(outcome, lhe.name, *fragments)
    assert lhe.read_bytes() == before
    assert not list(out.glob("shard-*.parquet")) and not (out / ".generate.lock").exists()


@pytest.fixture(scope="module")
def valid_lhe(tmp_path_factory):
    directory = tmp_path_factory.mktemp("lhe")
    write_lhe(directory / "hard.lhe", LHEInit(), [good_event(i) for i in range(3)])
    return directory / "hard.lhe"


@pytest.mark.parametrize("name", list(HEPMC_CASES))
def test_malformed_hepmc_is_refused_before_the_jets(name, tmp_path, valid_lhe, caplog, capsys):
    write, fragments = HEPMC_CASES[name]
    (tmp_path / valid_lhe.name).write_bytes(valid_lhe.read_bytes())
    hepmc = write(tmp_path)
    config = lhe_config(tmp_path, tmp_path / valid_lhe.name, extra_views=f", other: {{hepmc: {hepmc.name}}}")
    out = tmp_path / "data"
    outcome = run_cli(["generate", "--config", config, "--out", out, "--workers", "1"], caplog, capsys)
    assert_refused(outcome, *fragments)
    assert not list(out.glob("shard-*.parquet"))


CLI_CONFIG = "evaluate: {nominal_view: nominal, views: [nominal]}\n"


@pytest.mark.parametrize("name", list(DATASET_CASES))
@pytest.mark.parametrize("command", ["evaluate", "pretrain"])
def test_bad_datasets_are_refused_before_training(name, command, tmp_path, caplog, capsys):
    damage, fragments = DATASET_CASES[name]
    data = generated_like(tmp_path / "data")
    damage(data)
    before = tree_digest(data)
    (tmp_path / "run.yaml").write_text(CLI_CONFIG)
    argv = [command, "--config", tmp_path / "run.yaml", "--data", data, "--out", tmp_path / "out", "--device", "cpu"]
    if command == "evaluate":
        argv[5:5] = ["--model", tmp_path / "model"]
    outcome = run_cli(argv, caplog, capsys)
    assert_refused(outcome, *fragments)
    assert tree_digest(data) == before


def test_allow_incomplete_lets_an_unfinished_dataset_through_the_check(tmp_path, caplog, capsys):
    data = generated_like(tmp_path / "data", complete=False)
    (tmp_path / "run.yaml").write_text(CLI_CONFIG)
    outcome = run_cli(["evaluate", "--config", tmp_path / "run.yaml", "--data", data, "--model", tmp_path / "none",
                       "--out", tmp_path / "out", "--allow-incomplete", "--device", "cpu"], caplog, capsys)
    # past the dataset check, stopped at the missing model: the option did its job
    assert_refused(outcome, "model.pt", "not found")
    assert "used anyway: --allow-incomplete" in outcome.text


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_bad_model_files_are_refused_without_running_code(kind, tmp_path, caplog, capsys):
    data = generated_like(tmp_path / "data")
    (tmp_path / "model").mkdir()
    marker = tmp_path / MARKER
    model_file(kind)(tmp_path / "model" / "model.pt", marker)
    before = tree_digest(tmp_path / "model")
    (tmp_path / "run.yaml").write_text(CLI_CONFIG)
    outcome = run_cli(["evaluate", "--config", tmp_path / "run.yaml", "--data", data, "--model", tmp_path / "model",
                       "--out", tmp_path / "out", "--device", "cpu"], caplog, capsys)
    assert_refused(outcome, str(tmp_path / "model" / "model.pt"))
    assert not marker.exists()
    assert tree_digest(tmp_path / "model") == before


@pytest.mark.parametrize("kind", ["payload", "random", "truncated"])
def test_bad_checkpoints_are_refused_on_resume_without_running_code(kind, tmp_path, caplog, capsys):
    data = generated_like(tmp_path / "data")
    (tmp_path / "out").mkdir()
    marker = tmp_path / MARKER
    model_file(kind)(tmp_path / "out" / "checkpoint.pt", marker)
    before = tree_digest(tmp_path / "out")
    (tmp_path / "run.yaml").write_text(CLI_CONFIG)
    outcome = run_cli(["pretrain", "--config", tmp_path / "run.yaml", "--data", data, "--out", tmp_path / "out",
                       "--device", "cpu"], caplog, capsys)
    assert_refused(outcome, str(tmp_path / "out" / "checkpoint.pt"))
    assert not marker.exists()
    assert tree_digest(tmp_path / "out") == before


# ---------------------------------------------------------------------------------- options and configs
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def config_file(text: bytes | str, name="run.yaml"):
    def write(directory: Path) -> Path:
        path = directory / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return path
    return write


OPTION_CASES = {
    "workers_negative": (["generate", "--out", "{tmp}/data", "--workers", "-2"], ["--workers -2"]),
    "workers_zero": (["generate", "--out", "{tmp}/data", "--workers", "0"], ["--workers 0", ">= 1"]),
    "seed_negative": (["generate", "--out", "{tmp}/data", "--seed", "-1"], ["--seed -1"]),
    "events_negative": (["run", "--out", "{tmp}/run", "--events", "-5"], ["--events -5"]),
    "generate_out_is_a_file": (["generate", "--out", "{tmp}/file.txt", "--workers", "1"], ["--out", "file.txt", "is a file"]),
    "pretrain_out_is_a_file": (["pretrain", "--data", "{tmp}", "--out", "{tmp}/file.txt"], ["--out", "file.txt"]),
    "evaluate_model_is_a_file": (["evaluate", "--data", "{tmp}", "--model", "{tmp}/file.txt", "--out", "{tmp}/r"],
                                 ["--model", "file.txt"]),
    "data_is_a_file": (["pretrain", "--data", "{tmp}/file.txt", "--out", "{tmp}/m"], ["--data", "file.txt"]),
    "data_missing": (["pretrain", "--data", "{tmp}/nothing", "--out", "{tmp}/m"], ["nothing", "not found"]),
    "scheduler_unreachable": (["generate", "--out", "{tmp}/data", "--scheduler", "tcp://127.0.0.1:{port}"],
                              ["scheduler", "no Dask scheduler answers"]),
    "scheduler_malformed": (["generate", "--out", "{tmp}/data", "--scheduler", "not an address"],
                            ["scheduler", "expected an address like tcp://host:8786"]),
    "device_unknown": (["pretrain", "--data", "{data}", "--out", "{tmp}/m", "--device", "tpu"], ["unknown device 'tpu'"]),
    "restart_and_resume": (["pretrain", "--data", "{tmp}", "--out", "{tmp}/m", "--resume", "--restart"],
                           ["--resume and --restart"]),
}

CONFIG_CASES = {
    "config_is_a_directory": (lambda d: (d / "cfgdir").mkdir() or d / "cfgdir", ["cfgdir", "is a directory"]),
    "config_not_utf8": (config_file(b"generation:\n  seed: \xff\xfe\n"), ["run.yaml", "line 2", "not UTF-8"]),
    "config_empty": (config_file(""), ["run.yaml", "the config is empty"]),
    "config_only_comments": (config_file("# nothing here\n"), ["run.yaml", "the config is empty"]),
    "config_bad_yaml": (config_file("generation: [1, 2\n"), ["run.yaml", "not valid YAML at line"]),
    "config_top_level_list": (config_file("- generation\n"), ["run.yaml", "must be a mapping of sections"]),
    "config_section_a_list": (config_file("generation: [1, 2]\n"), ["run.yaml", "generation", "expected a mapping"]),
    "config_unknown_key": (config_file("pretrain: {epoch: 3}\n"), ["run.yaml", "pretrain.epoch"]),
    "config_included_section_a_list": (lambda d: (config_file("- a\n- b\n", "model.yaml")(d),
                                                  config_file("model: model.yaml\n")(d))[1],
                                       ["model.yaml", "section 'model'", "must be a mapping"]),
    "config_included_missing": (config_file("model: nowhere.yaml\n"), ["nowhere.yaml", "not found"]),
    "config_seed_negative": (config_file("generation: {seed: -3}\n"), ["run.yaml", "seed must be >= 0"]),
    "config_bad_events_value": (config_file("generation: {bad_events: ignore}\n"), ["run.yaml", "bad_events"]),
}

ALL_CASES += [f"option_{k}" for k in OPTION_CASES] + list(CONFIG_CASES) + ["generate_while_locked",
                                                                             "threads_env_not_a_number"]


@pytest.mark.parametrize("name", list(OPTION_CASES))
def test_bad_options_exit_2_naming_the_option(name, tmp_path, caplog, capsys):
    argv, fragments = OPTION_CASES[name]
    (tmp_path / "file.txt").write_text("a file, not a directory\n")
    data = generated_like(tmp_path / "dataset") if "{data}" in " ".join(argv) else None
    argv = [a.format(tmp=tmp_path, port=closed_port(), data=data) for a in argv]
    outcome = run_cli(argv, caplog, capsys)
    assert_refused(outcome, *fragments)
    assert (tmp_path / "file.txt").read_text() == "a file, not a directory\n"
    if data is None:
        assert not list(tmp_path.rglob("shard-*.parquet"))


@pytest.mark.parametrize("name", list(CONFIG_CASES))
def test_bad_configs_exit_2_naming_the_file_and_field(name, tmp_path, caplog, capsys):
    write, fragments = CONFIG_CASES[name]
    path = write(tmp_path)
    outcome = run_cli(["config", "--config", path], caplog, capsys)
    assert_refused(outcome, *fragments)


def test_a_second_generate_on_a_locked_directory_says_who_holds_it(tmp_path, caplog, capsys):
    from sim_pairs.dataset_lock import dataset_lock

    with dataset_lock(tmp_path / "data"):
        outcome = run_cli(["generate", "--out", tmp_path / "data", "--workers", "1"], caplog, capsys)
    assert_refused(outcome, "being written by another `rs3l generate`", f"pid {os.getpid()}")
    assert not list((tmp_path / "data").glob("shard-*.parquet"))
    assert not (tmp_path / "data" / "metadata.json").exists()


def test_a_bad_thread_override_is_named(tmp_path, caplog, capsys, monkeypatch):
    data = generated_like(tmp_path / "data")
    monkeypatch.setenv("RS3L_TORCH_THREADS", "lots")
    outcome = run_cli(["pretrain", "--data", data, "--out", tmp_path / "m", "--device", "cpu"], caplog, capsys)
    assert_refused(outcome, "RS3L_TORCH_THREADS='lots'")


def test_the_suite_covers_at_least_60_inputs():
    # distinct malformed files and options written by this module (datasets are run through two commands)
    assert len(ALL_CASES) == len(set(ALL_CASES)) and len(ALL_CASES) >= 60, len(ALL_CASES)
