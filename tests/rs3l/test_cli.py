import pytest
import yaml

from rs3l.cli import main


def test_config_prints_the_resolved_config(capsys):
    assert main(["config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert set(printed) >= {"generation", "data", "model", "pretrain", "evaluate"}
    assert printed["generation"]["views"]["nominal"]["tune"] == "Monash"


def test_bad_config_exits_2_and_names_the_key(tmp_path, caplog):
    bad = tmp_path / "bad.yaml"
    bad.write_text("generation: {sqrt_S: 13000}\n")
    assert main(["config", "--config", str(bad)]) == 2
    assert "bad.yaml" in caplog.text and "generation.sqrt_S" in caplog.text and "sqrt_s" in caplog.text


def test_missing_dataset_exits_2_and_names_the_directory(tmp_path, caplog):
    missing = tmp_path / "no_such_dataset"
    assert main(["pretrain", "--data", str(missing), "--out", str(tmp_path / "model")]) == 2
    assert "no_such_dataset" in caplog.text
    assert "Traceback" not in caplog.text


def test_import_qg_two_views_then_a_malformed_file(tmp_path, caplog):
    import numpy as np

    from sim_pairs.io import read_metadata

    rng = np.random.default_rng(0)
    for name, n in (("pythia", 6), ("herwig", 4)):
        x = np.zeros((n, 3, 4))
        x[:, :2] = np.stack([rng.uniform(1, 50, (n, 2)), rng.normal(0, 0.2, (n, 2)), rng.normal(0, 0.2, (n, 2)),
                             np.full((n, 2), 211.0)], axis=2)
        np.savez(tmp_path / f"{name}.npz", X=x, y=np.arange(n) % 2)
        assert main(["import", "qg", str(tmp_path / f"{name}.npz"), "--out", str(tmp_path / "data"),
                     "--view", name, "--chunk-size", "4"]) == 0
    meta = read_metadata(tmp_path / "data")
    assert meta["views"] == ["pythia", "herwig"] and len(meta["shards"]) == 3
    np.savez(tmp_path / "bad.npz", X=np.zeros((2, 3, 4)))
    assert main(["import", "qg", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "other")]) == 2
    assert "bad.npz: field 'y' missing" in caplog.text


TINY = """
model: {encoder_channels: [8], edge_conv_channels: [[8]], head_channels: [8], embedding_dim: 4}
pretrain: {epochs: 2, batch_size: 4, deterministic: true, max_steps_per_epoch: 2, max_val_steps: 1, seed: 5}
data: {num_workers: 0}
"""


def _dataset(tmp_path):
    from graphs.synthetic import synthetic_columns
    from sim_pairs.io import shard_name, write_metadata, write_shard

    data = tmp_path / "data"
    for s in range(2):
        write_shard(synthetic_columns(8, ("nominal", "fsr_up"), seed=s, first_group_id=8 * s, detector=False),
                    data / shard_name(s), attrs={"config_hash": "e" * 64})
    write_metadata(data, {"generator": "sim_pairs.generate", "config_hash": "e" * 64, "complete": True,
                          "shards": {shard_name(s): {} for s in range(2)}})
    return data


@pytest.mark.slow
def test_pretrain_after_ctrl_c_resumes_with_the_same_command(tmp_path, caplog, monkeypatch):
    """Issue 19, item 6: the command that was interrupted, run again, finishes the run; the
    weights equal those of an uninterrupted run."""
    import logging

    import torch

    from rs3l.train.trainer import Trainer

    caplog.set_level(logging.INFO)
    data, config = _dataset(tmp_path), tmp_path / "tiny.yaml"
    config.write_text(TINY)
    argv = ["pretrain", "--config", str(config), "--data", str(data), "--device", "cpu", "--out"]
    assert main(argv + [str(tmp_path / "straight")]) == 0

    train_epoch = Trainer.train_epoch

    def interrupted(self, *args, **kwargs):
        if self.epoch == 1:
            raise KeyboardInterrupt
        return train_epoch(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "train_epoch", interrupted)
    assert main(argv + [str(tmp_path / "stopped")]) == 130
    assert "the same command resumes" in caplog.text
    monkeypatch.setattr(Trainer, "train_epoch", train_epoch)
    caplog.clear()
    assert main(argv + [str(tmp_path / "stopped")]) == 0
    assert "resuming from" in caplog.text and "after epoch 1" in caplog.text
    straight = torch.load(tmp_path / "straight" / "model.pt", weights_only=True)["model"]
    resumed = torch.load(tmp_path / "stopped" / "model.pt", weights_only=True)["model"]
    assert straight.keys() == resumed.keys() and all(torch.equal(straight[k], resumed[k]) for k in straight)
    caplog.clear()
    assert main(argv + [str(tmp_path / "stopped"), "--restart"]) == 0
    assert "resuming from" not in caplog.text



def test_prepare_builds_the_graph_cache_and_a_damaged_one_is_named(tmp_path, caplog):
    from graphs.synthetic import write_synthetic_dataset

    data = write_synthetic_dataset(tmp_path / "data", n_shards=1, groups_per_shard=5, detector=False)
    config = tmp_path / "run.yaml"
    config.write_text("data: {graph: particles, cache_dir: %s}\n" % (tmp_path / "caches"))
    assert main(["prepare", "--config", str(config), "--data", str(data)]) == 0
    (built,) = (tmp_path / "caches").iterdir()
    before = {p.name: p.read_bytes() for p in built.iterdir()}
    assert main(["prepare", "--config", str(config), "--data", str(data), "--rebuild"]) == 0
    assert {p.name: p.read_bytes() for p in built.iterdir()} == before  # same bytes
    (built / "pos.bin").write_bytes(b"\0" * 12)
    caplog.clear()
    assert main(["prepare", "--config", str(config), "--data", str(data)]) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "pos.bin" in errors[0] and "rs3l prepare --rebuild" in errors[0]
    assert main(["prepare", "--config", str(config), "--data", str(data), "--rebuild"]) == 0
