"""Tests for README.md: the parts of the user guide that the code can check stay in step with it.

* the schema table between the SCHEMA markers is ``sim_pairs.schema.markdown_table()``;
* the first two code blocks are the install-and-run and install-and-test commands, and
  ``.ci/run`` runs the second one's pip / pytest steps;
* every ``rs3l`` command in a bash block parses with the real command line;
* every YAML block made of run-config sections loads through ``rs3l.config.load_config``;
* relative links point to files (and headings) that exist.
"""

import re
import shlex
from pathlib import Path

import pytest
import yaml

from rs3l.cli import _parser
from rs3l.config import RunConfig, load_config
from sim_pairs.schema import markdown_table

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def _text() -> str:
    return README.read_text(encoding="utf-8")


def _blocks(lang: str | None = None) -> list[str]:
    """Fenced code blocks in file order (of one language when given)."""
    return [body for kind, body in FENCE.findall(_text()) if lang is None or kind == lang]


def _steps(command: str) -> list[str]:
    """A one-line shell chain as its ``&&`` steps, pip's ``-q`` dropped (CI installs quietly)."""
    steps = [" ".join(step.split()) for step in command.strip().split("&&")]
    return [re.sub(r" -q(?= |$)", "", s) if s.startswith("pip ") else s for s in steps]


def test_schema_table_is_generated_from_the_code():
    text = _text()
    assert text.count("<!-- SCHEMA START -->") == 1 and text.count("<!-- SCHEMA END -->") == 1
    table = text.split("<!-- SCHEMA START -->")[1].split("<!-- SCHEMA END -->")[0]
    assert table.strip() == markdown_table().strip(), "regenerate it with: python -m sim_pairs.schema"


def test_first_two_code_blocks_install_and_run_then_install_and_test():
    first, second = _blocks()[:2]
    assert FENCE.findall(_text())[0][0] == "bash" and FENCE.findall(_text())[1][0] == "bash"
    assert first.count("\n") == 1 and second.count("\n") == 1, "each is one line a user pastes"
    run, test = _steps(first), _steps(second)
    assert run[:2] == test[:2] == ["python3 -m venv .venv", ". .venv/bin/activate"]
    torch_pin = [s for s in run if s.startswith("pip install torch==")]
    assert torch_pin and torch_pin == [s for s in test if s.startswith("pip install torch==")]
    assert "pip install -e ." in run and run[-1].startswith("rs3l run ")
    assert 'pip install -e ".[test]"' in test and test[-1] == "python -m pytest -q"


def test_ci_runs_the_readme_test_command():
    wanted = [s for s in _steps(_blocks()[1]) if s.startswith(("pip ", "python -m pytest"))]
    ci_lines = [_steps(line) for line in (ROOT / ".ci" / "run").read_text().splitlines() if "pytest" in line]
    assert any([s for s in line if s.startswith(("pip ", "python -m pytest"))] == wanted for line in ci_lines), (
        f".ci/run does not run the README's {' && '.join(wanted)}")


def _rs3l_commands() -> list[list[str]]:
    commands = []
    for block in _blocks("bash"):
        for line in block.splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                for stop in (">", "|"):
                    words = words[: words.index(stop)] if stop in words else words
                if words[:1] == ["rs3l"]:
                    commands.append(words[1:])
                elif words[:1] == ["torchrun"] and "rs3l" in words:
                    commands.append(words[words.index("rs3l") + 1:])
    return commands


def test_rs3l_commands_in_the_readme_parse():
    commands = _rs3l_commands()
    assert {c[0] for c in commands if c} >= {"generate", "pretrain", "evaluate", "run", "config"}
    parser = _parser()
    for words in commands:
        try:
            parser.parse_args(words)
        except SystemExit:
            pytest.fail(f"README command does not parse: rs3l {' '.join(words)}")


def test_yaml_config_blocks_load(tmp_path):
    for sub in (ROOT / "configs").iterdir():  # so that `model: model/rs3l.yaml` resolves
        if sub.is_dir():
            (tmp_path / sub.name).symlink_to(sub)
    sections = set(RunConfig.__dataclass_fields__) - {"base_dir"}
    checked = 0
    for i, block in enumerate(_blocks("yaml")):
        body = yaml.safe_load(block)
        if isinstance(body, dict) and set(body) <= sections:
            path = tmp_path / f"block{i}.yaml"
            path.write_text(block)
            load_config(path)
            checked += 1
    assert checked >= 3


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {_slug(m) for m in re.findall(r"^#+ (.+)$", text, re.M)}


def test_relative_links_resolve():
    links = re.findall(r"\]\(([^)\s]+)\)", FENCE.sub("", _text()))
    assert links
    for link in links:
        if link.startswith(("http://", "https://")):
            continue
        target, _, anchor = link.partition("#")
        path = ROOT / target if target else README
        assert path.is_file(), f"README links to missing {target}"
        if anchor:
            assert anchor in _anchors(path), f"README links to {link}, but {path.name} has no such heading"
