"""What an installed nbtzip needs beyond its tests: every package directory
is a regular package (a non-editable install finds only those) and the
console script names the click command."""

import importlib
import re
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nbtzip"


def test_every_directory_of_modules_is_a_regular_package():
    folders = {p.parent for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    missing = sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").exists())
    assert not missing, f"no __init__.py in {missing}"


def test_the_console_script_runs_the_click_command():
    text = (ROOT / "pyproject.toml").read_text()
    section = text.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    targets = dict(re.findall(r'^(\S+)\s*=\s*"([^"]+)"', section, re.M))
    module, _, attr = targets["nbtzip"].partition(":")
    entry = getattr(importlib.import_module(module), attr)
    assert callable(entry)
    assert isinstance(importlib.import_module("nbtzip.cli.main").main, click.Command)
    result = CliRunner().invoke(importlib.import_module("nbtzip.cli.main").main, ["--help"])
    assert result.exit_code == 0 and "compress" in result.output
    # The entry itself ends the process (os._exit after flushing): run it in a child,
    # as the installed script does, and check its output and status survive.
    code = f"import sys; sys.argv = ['nbtzip', '--help']; from {module} import {attr}; {attr}()"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300)
    assert child.returncode == 0 and b"compress" in child.stdout
    code = code.replace("'--help'", "'info', '/nonexistent.nbt'")
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300)
    assert child.returncode == 1 and child.stderr.count(b"\n") == 1


def test_the_command_line_ends_its_process_with_output_flushed(tmp_path):
    """os._exit skips Python's own flush: a large output through a pipe must arrive whole."""
    code = (
        "import sys\n"
        "from nbtzip.cli import terminal\n"
        "import click\n"
        "@click.command()\n"
        "def big():\n"
        "    sys.stdout.write('x' * 1_000_000)\n"
        "    sys.stderr.write('done')\n"
        "terminal.run_process(big)\n"
    )
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300)
    assert child.returncode == 0
    assert child.stdout == b"x" * 1_000_000 and child.stderr == b"done"
