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
