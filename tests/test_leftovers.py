"""A writer killed outright (kill -9) leaves its hidden temporary file behind; the
next writer of the same output removes it when provably stale, else says so."""

import fcntl
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

import nbtzip
from nbtzip import atomic
from nbtzip.cli import main as cli
from nbtzip.config import CTWConfig
from nbtzip.sample import english_like

ROOT = Path(__file__).resolve().parent.parent
CTW = ["--model", "ctw", "--depth", "3"]


def _dead_pid():
    """The id of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _leftover(directory, name, pid, random="k3x9_q2z"):
    path = Path(directory) / f".{name}.{pid}.{random}.tmp" if pid else None
    path = path or Path(directory) / f".{name}.{random}.tmp"
    path.write_bytes(b"half a stream")
    return path


def _compress(*args):
    return CliRunner().invoke(cli.main, ["compress", *CTW, *map(str, args)])


def test_a_killed_writer_leaves_a_temporary_named_after_it_that_the_next_run_removes(tmp_path):
    src = tmp_path / "big.txt"
    src.write_bytes(english_like(4 << 20))  # seconds of work: killed long before the end
    child = subprocess.Popen(
        [sys.executable, "-m", "nbtzip", "compress", *CTW, str(src)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while not (temps := [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]):
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    [temp] = temps
    assert re.fullmatch(rf"\.big\.txt\.nbt\.{child.pid}\.[a-z0-9_]{{8}}\.tmp", temp.name)
    assert temp.exists() and not (tmp_path / "big.txt.nbt").exists()
    src.write_bytes(b"now a small file\n")
    result = _compress(src)
    assert result.exit_code == 0
    assert result.stderr == (
        f"nbtzip: removed {temp}, left behind by process {child.pid}, which was killed\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.txt", "big.txt.nbt"]
    assert nbtzip.decompress((tmp_path / "big.txt.nbt").read_bytes()) == b"now a small file\n"


def test_a_temporary_that_may_still_be_in_use_is_only_reported(tmp_path):
    src = tmp_path / "a"
    src.write_bytes(b"some text\n" * 10)
    alive = _leftover(tmp_path, "a.nbt", os.getppid())  # a process that runs
    old = _leftover(tmp_path, "a.nbt", None)  # named before ids were in the names
    locked = _leftover(tmp_path, "a.nbt", _dead_pid(), "lockedxx")
    fd = os.open(locked, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # its id is gone, but someone still holds it
    try:
        result = _compress(src)
    finally:
        os.close(fd)
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert sorted(lines) == sorted(
        f"nbtzip: {path} may be left behind by an interrupted nbtzip "
        f"(remove it if nothing is writing {tmp_path / 'a.nbt'})"
        for path in (alive, old, locked)
    )
    assert alive.exists() and old.exists() and locked.exists()
    assert _compress("-q", "-f", src).stderr == ""  # -q: errors only


def test_only_our_own_temporaries_of_that_output_are_touched(tmp_path):
    dead = _dead_pid()
    others = [
        _leftover(tmp_path, "b.nbt", dead),  # another output's
        tmp_path / f"a.nbt.{dead}.k3x9_q2z.tmp",  # not hidden
        tmp_path / ".a.nbt.notes.tmp",
        tmp_path / f".a.nbt.{dead}.k3x9_q2z.tmp.bak",
    ]
    for path in others[1:]:
        path.write_bytes(b"not ours")
    os.symlink("elsewhere", tmp_path / f".a.nbt.{dead}.symlinkx.tmp")
    (tmp_path / "a").write_bytes(b"text\n")
    result = _compress(tmp_path / "a")
    assert result.exit_code == 0
    assert result.stderr.count("may be left behind") == 1  # the symbolic link: not removed
    assert all(path.exists() for path in others)
    assert os.path.islink(tmp_path / f".a.nbt.{dead}.symlinkx.tmp")


def test_the_api_removes_a_stale_temporary_quietly(tmp_path):
    (tmp_path / "a").write_bytes(b"text\n")
    stale = _leftover(tmp_path, "a.nbt", _dead_pid())
    nbtzip.compress_file(tmp_path / "a", tmp_path / "a.nbt", config=CTWConfig(depth=2))
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "a.nbt"]


def test_the_writer_holds_the_lock_that_proves_it_alive(tmp_path):
    with atomic.atomic_output(tmp_path / "x") as fp:
        fp.write(b"data")
        [temp] = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        assert f".x.{os.getpid()}." in temp.name
        fd = os.open(temp, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held_elsewhere = False
            except BlockingIOError:
                held_elsewhere = True
        finally:
            os.close(fd)
        assert held_elsewhere
    assert (tmp_path / "x").read_bytes() == b"data"
