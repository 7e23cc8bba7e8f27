"""What an installed nbtzip needs beyond its tests: every package directory
is a regular package (a non-editable install finds only those) and the
console script names the click command."""

import importlib
import re
from pathlib import Path

import click
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nbtzip"


def test_every_directory_of_modules_is_a_regular_package():
    folders = {p.parent for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    missing = sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").exists())
    assert not missing, f"no __init__.py in {missing}"


def test_the_console_script_is_the_click_command():
    text = (ROOT / "pyproject.toml").read_text()
    section = text.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    targets = dict(re.findall(r'^(\S+)\s*=\s*"([^"]+)"', section, re.M))
    module, _, attr = targets["nbtzip"].partition(":")
    command = getattr(importlib.import_module(module), attr)
    assert isinstance(command, click.Command)
    result = CliRunner().invoke(command, ["--help"])
    assert result.exit_code == 0 and "compress" in result.output
