"""sim_pairs.generate: determinism, resume, refusal of a changed config, schema, physics peaks."""

import json
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

pytest.importorskip("pythia8mc")
pytest.importorskip("fastjet")

from sim_pairs.config import DetectorConfig, GenerationConfig, JetConfig, ProcessConfig, ReplicaConfig, ViewConfig
from sim_pairs.generate import GenerationError, generate, plan_shards
from sim_pairs.io import read_metadata, read_shard
from sim_pairs.schema import COLUMNS


def _config(**kw):
    base = dict(
        seed=5, events_per_shard=4, mpi=False,
        processes=[ProcessConfig(name="qcd", events=8, pthat_min=500.0)],
        views={"nominal": ViewConfig(), "seed": ViewConfig()},
        jets=JetConfig(pt_min=400.0),
    )
    base.update(kw)
    return GenerationConfig(**base)


def _files(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_plan_cuts_processes_into_shards():
    config = _config(processes=[ProcessConfig(name="qcd", events=9), ProcessConfig(name="hbb", events=4),
                                ProcessConfig(name="wqq", events=0)])
    shards = plan_shards(config)
    assert [(s.index, s.process.name, s.number, s.first_event, s.n_events) for s in shards] == [
        (0, "qcd", 0, 0, 4), (1, "qcd", 1, 4, 4), (2, "qcd", 2, 8, 1), (3, "hbb", 0, 0, 4)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    generate(_config(), out, workers=1, progress=False)
    return out


def test_same_seed_same_bytes_and_schema_round_trip(reference, tmp_path):
    again = generate(_config(), tmp_path / "again", workers=1, progress=False)
    assert _files(again) == _files(reference)
    meta = read_metadata(reference)
    assert meta["complete"] and meta["row_views"] == ["nominal", "seed"]
    assert sorted(meta["shards"]) == ["shard-00000.parquet", "shard-00001.parquet"]
    assert meta["config"]["seed"] == 5 and set(meta["versions"]) >= {"pythia8mc", "fastjet"}
    rows = 0
    for name, counts in meta["shards"].items():
        table = read_shard(reference / name)
        rows += len(table)
        assert counts["rows"] == len(table) and counts["groups"] * 2 == len(table)
        for column in COLUMNS:
            if column.group in ("jet", "particles"):
                assert column.name in table.fields
        ids = ak.to_numpy(table["group_id"])
        assert np.array_equal(ids[0::2], ids[1::2])
        for parton in ("parton_px", "parton_py", "parton_pz", "parton_energy", "parton_pid"):
            values = ak.to_numpy(table[parton])
            assert np.array_equal(values[0::2], values[1::2])
        # The views differ in their particles.
        assert not ak.all(table["jet_pt"][0::2] == table["jet_pt"][1::2])
    assert rows > 0
    ids = np.concatenate([ak.to_numpy(read_shard(reference / n)["group_id"])[0::2] for n in meta["shards"]])
    assert len(np.unique(ids)) == len(ids)
    assert sorted((reference / "lhe").iterdir())[0].name == "shard-00000.lhe.gz"


def test_other_seed_other_events(reference, tmp_path):
    other = generate(_config(), tmp_path / "other", seed=6, workers=1, progress=False)
    assert read_shard(other / "shard-00000.parquet")["jet_pt"].to_list() != \
        read_shard(reference / "shard-00000.parquet")["jet_pt"].to_list()


def test_interrupted_run_resumes_to_the_same_dataset(reference, tmp_path):
    out = tmp_path / "resumed"
    generate(_config(), out, workers=1, progress=False)
    # Simulate a kill during shard 1: its Parquet file never appeared, a temporary file
    # was left behind, and metadata.json is the one written at the start.
    (out / "shard-00001.parquet").unlink()
    (out / ".shard-00001.parquet.abc123.tmp").write_bytes(b"half a shard")
    meta = json.loads((out / "metadata.json").read_text())
    meta.update(complete=False, shards={})
    (out / "metadata.json").write_text(json.dumps(meta))
    before = (out / "shard-00000.parquet").stat().st_mtime_ns
    generate(_config(), out, workers=1, progress=False)
    assert (out / "shard-00000.parquet").stat().st_mtime_ns == before  # skipped, not redone
    (out / ".shard-00001.parquet.abc123.tmp").unlink()
    assert _files(out) == _files(reference)


def test_changed_config_on_resume_is_refused(reference, tmp_path):
    out = tmp_path / "changed"
    out.mkdir()
    for name, data in _files(reference).items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    with pytest.raises(GenerationError, match="config_hash"):
        generate(_config(), out, seed=99, workers=1, progress=False)
    with pytest.raises(GenerationError, match="config_hash"):
        generate(_config(jets=JetConfig(pt_min=500.0)), out, workers=1, progress=False)
    (out / "metadata.json").unlink()
    with pytest.raises(GenerationError, match="no metadata.json"):
        generate(_config(), out, workers=1, progress=False)
    assert _files(reference)["shard-00000.parquet"] == (out / "shard-00000.parquet").read_bytes()


def test_rehadronize_view_rows(tmp_path):
    config = _config(processes=[ProcessConfig(name="qcd", events=4, pthat_min=500.0)],
                     views={"nominal": ViewConfig(), "rehad": ViewConfig(rehadronize="nominal")})
    table = read_shard(generate(config, tmp_path / "rehad", workers=1, progress=False) / "shard-00000.parquet")
    assert len(table) > 0 and table["view"][:2].to_list() == ["nominal", "rehad"]
    assert ak.all(table["parton_px"][0::2] == table["parton_px"][1::2])
    assert table["part_px"][0].to_list() != table["part_px"][1].to_list()


def test_unknown_label_is_a_config_error():
    with pytest.raises(ValueError, match="unknown label.*'higgs'"):
        JetConfig(labels=["higgs"])


def test_empty_selection_warns_with_process_and_cuts(tmp_path):
    config = _config(processes=[ProcessConfig(name="qcd", events=2, pthat_min=100.0)],
                     views={"nominal": ViewConfig()}, jets=JetConfig(pt_min=3000.0))
    with pytest.warns(UserWarning, match=r"process 'qcd': no jet passed .*pT >= 3000.0 GeV"):
        generate(config, tmp_path / "empty", workers=1, progress=False)
    assert len(read_shard(tmp_path / "empty" / "shard-00000.parquet")) == 0


def test_malformed_user_lhe_names_the_file(tmp_path):
    bad = tmp_path / "bad.lhe"
    bad.write_text("<LesHouchesEvents version=\"3.0\">\n<init>\n2212 2212 6500 6500 0 0 0 0 3 1\n</init>\n"
                   "<event>\n3 1 1.0 100 0.0078 0.118\nnot a particle line\n</event>\n</LesHouchesEvents>\n")
    config = _config(processes=[ProcessConfig(name="lhe", events=1, lhe_files=["bad.lhe"])])
    with pytest.raises(ValueError, match="bad.lhe"):
        generate(config, tmp_path / "out", base_dir=tmp_path, workers=1, progress=False)
    assert not list((tmp_path / "out").glob("shard-*.parquet"))


def test_a_shard_of_another_seed_in_the_directory_is_refused_on_resume(reference, tmp_path):
    """Issue 19: shards record their config hash, so a seed-5 run does not accept a seed-6 shard."""
    other = generate(_config(seed=6, processes=[ProcessConfig(name="qcd", events=4, pthat_min=500.0)]),
                     tmp_path / "other", workers=1, progress=False)
    out = tmp_path / "mixed"
    out.mkdir()
    for name, data in _files(reference).items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    (out / "shard-00001.parquet").write_bytes((other / "shard-00000.parquet").read_bytes())
    (out / "shard-00000.parquet").unlink()  # as if the seed-5 run had stopped after a foreign shard slipped in
    with pytest.raises(GenerationError, match=r"shard-00001.parquet: shard made with config hash"):
        generate(_config(), out, workers=1, progress=False)
    assert not (out / "shard-00000.parquet").exists()  # nothing generated beside the foreign shard
    from sim_pairs.io import DatasetError, check_dataset

    (out / "shard-00000.parquet").write_bytes((reference / "shard-00000.parquet").read_bytes())
    with pytest.raises(DatasetError, match=r"shard-00001.parquet: shard made with config hash .* mixes"):
        check_dataset(out)  # and pretrain / evaluate refuse it on read


def test_a_second_run_on_a_directory_being_written_exits_naming_the_first(tmp_path):
    import os

    from sim_pairs.dataset_lock import dataset_lock

    with dataset_lock(tmp_path / "busy"):
        with pytest.raises(GenerationError, match=rf"being written by another `rs3l generate` \(pid {os.getpid()}"):
            generate(_config(seed=99), tmp_path / "busy", workers=1, progress=False)
    assert not (tmp_path / "busy" / "metadata.json").exists()


def test_bad_options_are_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="workers must be >= 1"):
        generate(_config(), tmp_path / "a", workers=0, progress=False)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        generate(_config(), tmp_path / "a", seed=-1, progress=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(GenerationError, match="exists and is not a directory"):
        generate(_config(), tmp_path / "file", workers=1, progress=False)
    with pytest.raises(GenerationError, match="no Dask scheduler answers"):
        generate(_config(), tmp_path / "a", scheduler="tcp://127.0.0.1:9", progress=False)
    assert not (tmp_path / "a").exists()


def test_bad_lhe_events_are_skipped_and_counted_when_asked(tmp_path):
    from sim_pairs.processes import generate_hard_events

    lhe = generate_hard_events(ProcessConfig(name="qcd", pthat_min=500.0), 4, tmp_path / "hard.lhe",
                               sqrt_s=13000.0, seed=3)
    lines = lhe.read_text().splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("<event")]
    words = lines[starts[1] + 4].split()
    words[6] = "nan"  # event 1, particle 2: px
    lines[starts[1] + 4] = " ".join(words) + "\n"
    lhe.write_text("".join(lines))
    config = _config(processes=[ProcessConfig(name="lhe", events=4, lhe_files=["hard.lhe"])])
    with pytest.raises(ValueError, match=r"hard.lhe: event 1, particle 2 \(IDUP -?\d+\): field PUP\(1\) px is nan"):
        generate(config, tmp_path / "strict", base_dir=tmp_path, workers=1, progress=False)
    out = generate(GenerationConfig(**{**config.__dict__, "bad_events": "skip"}), tmp_path / "lenient",
                   base_dir=tmp_path, workers=1, progress=False)
    meta = read_metadata(out)
    assert meta["skipped_events"] == 1 and meta["shards"]["shard-00000.parquet"]["skipped_events"] == 1
    events = set(read_shard(out / "shard-00000.parquet", ["event_number"])["event_number"].to_list())
    assert len(events) > 0 and len(events) <= 3  # 3 usable hard events were showered


@pytest.mark.slow
def test_detector_replicas_share_truth_and_differ_in_detector(tmp_path):
    pytest.importorskip("sim_pairs.detector")
    config = _config(processes=[ProcessConfig(name="qcd", events=3, pthat_min=500.0)],
                     detector=DetectorConfig(replicas={"r0": ReplicaConfig(), "r1": ReplicaConfig(seed_offset=1)}))
    out = generate(config, tmp_path / "det", workers=1, progress=False)
    assert read_metadata(out)["row_views"] == ["nominal@r0", "nominal@r1", "seed@r0", "seed@r1"]
    table = read_shard(out / "shard-00000.parquet")
    assert len(table) > 0 and len(table) % 4 == 0
    assert table["view"][:4].to_list() == ["nominal@r0", "nominal@r1", "seed@r0", "seed@r1"]
    assert table["shower_view"][:4].to_list() == ["nominal", "nominal", "seed", "seed"]
    assert table["detector_view"][:4].to_list() == ["r0", "r1", "r0", "r1"]
    assert "track_eta_layer" not in table.fields  # the reader computes the crossings from the track and the card
    assert all(table["cell_index"][0][1:] > table["cell_index"][0][:-1])
    # Same particles through two detector replicas: equal truth, different cells.
    assert table["part_px"][0].to_list() == table["part_px"][1].to_list()
    assert table["cell_energy"][0].to_list() != table["cell_energy"][1].to_list()
    # cells are card indices; the cards are in the metadata and the graphs' reader places them
    from graphs.shard_reader import ShardArrays
    from sim_pairs.detector import load_card
    from sim_pairs.detector.cell_index import cards_from_metadata, decode_cells

    cards = cards_from_metadata(read_metadata(out))
    assert cards == {"r0": load_card("cocoa"), "r1": load_card("cocoa")}
    jet = ShardArrays(out / "shard-00000.parquet", "detector").detector(1)
    expected = decode_cells(cards["r1"], ak.to_numpy(table["cell_index"][1]))
    assert jet.cell_eta.tobytes() == expected["cell_eta"].tobytes() and len(jet.cell_eta) > 20
    assert jet.track_eta_layer.shape == (len(table["track_pt"][1]), 6) and jet.track_eta_layer.dtype == np.float32


_KILLABLE = """
import sys
from sim_pairs.config import GenerationConfig, JetConfig, ProcessConfig, ViewConfig
from sim_pairs.generate import generate
config = GenerationConfig(seed=5, events_per_shard=4, mpi=False, jets=JetConfig(pt_min=400.0),
                          processes=[ProcessConfig(name="qcd", events=16, pthat_min=500.0)],
                          views={"nominal": ViewConfig(), "seed": ViewConfig()})
generate(config, sys.argv[1], workers=1, progress=False)
"""


@pytest.mark.slow
def test_killed_process_resumes_to_the_same_dataset(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    config = _config(processes=[ProcessConfig(name="qcd", events=16, pthat_min=500.0)])
    reference = generate(config, tmp_path / "whole", workers=1, progress=False)
    out = tmp_path / "killed"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    child = subprocess.Popen([sys.executable, "-c", _KILLABLE, str(out)], env=env)
    try:
        deadline = time.monotonic() + 120
        while not (out / "shard-00001.parquet").exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    done = sorted(p.name for p in out.glob("shard-*.parquet"))
    assert "shard-00001.parquet" in done and len(done) < 4, done  # killed mid-way
    assert not read_metadata(out)["complete"]
    generate(config, out, workers=1, progress=False)
    for leftover in out.rglob(".*.tmp"):  # a file being written when the kill came: never read
        leftover.unlink()
    assert _files(out) == _files(reference)


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_bytes(reference, tmp_path):
    out = generate(_config(), tmp_path / "dask", workers=2, progress=False)
    assert _files(out) == _files(reference)


@pytest.mark.slow
def test_shards_on_a_scheduler_by_address_give_the_same_bytes(reference, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        out = generate(_config(), tmp_path / "remote", scheduler=cluster.scheduler_address, progress=False)
    assert _files(out) == _files(reference)


def _sdmass_peak(process, tmp_path, events):
    config = GenerationConfig(seed=11, events_per_shard=events, mpi=True,
                              processes=[ProcessConfig(name=process, events=events, pthat_min=450.0)],
                              views={"nominal": ViewConfig()}, jets=JetConfig(pt_min=450.0))
    out = generate(config, tmp_path / process, workers=1, progress=False)
    sdmass = ak.to_numpy(read_shard(out / "shard-00000.parquet")["jet_sdmass"])
    counts, edges = np.histogram(sdmass, bins=np.arange(0.0, 250.0, 5.0))
    return len(sdmass), edges[np.argmax(counts)] + 2.5


@pytest.mark.slow
def test_softdrop_mass_peaks_at_the_higgs_and_w_masses(tmp_path):
    n, peak = _sdmass_peak("hbb", tmp_path, 400)
    assert n > 150 and 110.0 <= peak <= 135.0
    n, peak = _sdmass_peak("wqq", tmp_path, 400)
    assert n > 150 and 70.0 <= peak <= 90.0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_readme_cluster_recipe_dask_scheduler_and_workers_by_address(reference, tmp_path):
    # README "Scaling out": `dask scheduler`, `dask worker ADDRESS --nworkers N --nthreads 1`, then
    # `rs3l generate --scheduler ADDRESS`, each a separate process as on a real cluster
    import subprocess
    import sys

    import yaml

    distributed = pytest.importorskip("dask.distributed")
    from sim_pairs.typed_config import to_mapping

    bin_dir = Path(sys.executable).parent
    address = f"tcp://127.0.0.1:{_free_port()}"
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"generation": to_mapping(_config())}))
    started = [subprocess.Popen([str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port",
                                 address.rsplit(":", 1)[1], "--no-dashboard"], stderr=subprocess.DEVNULL)]
    try:
        started.append(subprocess.Popen([str(bin_dir / "dask"), "worker", address, "--nworkers", "2", "--nthreads", "1",
                                         "--no-dashboard"], stderr=subprocess.DEVNULL, cwd=tmp_path))
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        run = subprocess.run([str(bin_dir / "rs3l"), "generate", "--config", str(config), "--out",
                              str(tmp_path / "cluster"), "--scheduler", address], capture_output=True, text=True,
                             timeout=600)
        assert run.returncode == 0, run.stderr[-2000:]
    finally:
        for process in reversed(started):
            process.terminate()
            process.wait(timeout=30)
    assert _files(tmp_path / "cluster") == _files(reference)
