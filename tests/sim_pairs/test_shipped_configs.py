import shutil
import subprocess
import sys

from sim_pairs.detector.card import builtin_cards
from sim_pairs.shipped_configs import CONFIG_DIR


def test_config_dir_holds_the_default_config_and_the_detector_cards():
    assert (CONFIG_DIR / "quickstart.yaml").is_file()
    assert {"cocoa", "noisy", "coarse"} <= set(builtin_cards())


def test_an_install_ships_every_config(tmp_path):
    """The wheel's data files (share/rs3l/configs) hold every YAML in configs/."""
    # build from a copy: setuptools leaves build/ and *.egg-info in the tree it builds
    src = tmp_path / "src"
    shutil.copytree(CONFIG_DIR.parent, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "runs", "*.egg-info", "__pycache__", "tests", "benchmarks", "docs"))
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                          str(src), "-w", str(tmp_path)], capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError(out.stderr[-2000:])
    import zipfile

    (wheel,) = tmp_path.glob("rs3l-*.whl")
    shipped = {name.split("share/rs3l/configs/", 1)[1] for name in zipfile.ZipFile(wheel).namelist()
               if "share/rs3l/configs/" in name}
    expected = {str(p.relative_to(CONFIG_DIR)) for p in CONFIG_DIR.rglob("*.yaml")}
    assert shipped == expected
