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
