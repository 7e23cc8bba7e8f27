"""An input file that grows or changes while it is compressed (a log being written)
gives an output that decodes to exactly what was read, and a warning, never an error."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

import nbtzip
from nbtzip import container, parallel
from nbtzip.cli import main as cli
from nbtzip.config import CTWConfig
from nbtzip.container import BLOCK_SIZE
from nbtzip.sample import english_like

ROOT = Path(__file__).resolve().parent.parent
CONFIG = CTWConfig(depth=3, table_bits=16)
TEXT = english_like(3 * BLOCK_SIZE + 500)  # four blocks; no byte above 0x7f


def _compress_while(src, edit, **options):
    """compress_file of src, calling edit(src) once, after the first block."""
    calls = []

    def progress(done, total):
        calls.append((done, total))
        if len(calls) == 1:
            edit(src)

    dst = src.with_suffix(".nbt")
    result = nbtzip.compress_file(src, dst, config=CONFIG, progress=progress, **options)
    return result, nbtzip.decompress(dst.read_bytes()), nbtzip.info(dst)


def _append(data):
    def edit(path):
        with open(path, "ab") as fp:
            fp.write(data)

    return edit


def _overwrite(offset, data):
    def edit(path):
        with open(path, "r+b") as fp:
            fp.seek(offset)
            fp.write(data)

    return edit


def test_a_file_that_grew_is_compressed_as_far_as_it_was_scanned(tmp_path):
    src = tmp_path / "log"
    src.write_bytes(TEXT)
    result, out, facts = _compress_while(src, _append(b"\xff\xfe a new line\n"))
    assert result.input_changed == "grew"
    assert out == TEXT and result.input_size == len(TEXT)
    assert facts.streams == 1


def test_a_file_changed_in_place_gives_what_was_read(tmp_path):
    src = tmp_path / "log"
    src.write_bytes(TEXT)
    # After the first block, bytes the alphabet scan never saw appear further on.
    result, out, facts = _compress_while(src, _overwrite(BLOCK_SIZE + 100_000, b"\xff\x00\xfe"))
    assert result.input_changed == "changed"
    assert out == src.read_bytes() != TEXT  # what was read: the file as it is now
    assert facts.streams == 2  # the rest went into a stream of all 256 values


def test_a_change_within_the_alphabet_is_noticed_too(tmp_path):
    src = tmp_path / "log"
    src.write_bytes(TEXT)
    result, out, facts = _compress_while(src, _overwrite(BLOCK_SIZE + 150_000, TEXT[:10]))
    assert result.input_changed == "changed"
    assert out == src.read_bytes() != TEXT
    assert facts.streams == 1


def test_a_file_that_shrank_gives_what_was_read(tmp_path):
    src = tmp_path / "log"
    src.write_bytes(TEXT)
    result, out, _ = _compress_while(src, lambda path: os.truncate(path, BLOCK_SIZE + 100_000))
    assert result.input_changed == "shrank"
    assert out == TEXT[: BLOCK_SIZE + 100_000] and result.input_size == BLOCK_SIZE + 100_000


def test_a_file_left_alone_is_not_said_to_have_changed(tmp_path):
    src = tmp_path / "log"
    src.write_bytes(TEXT)
    result, out, _ = _compress_while(src, lambda path: None)
    assert result.input_changed is None and out == TEXT


@pytest.mark.usefixtures("order0")
def test_segments_on_several_cores_stop_where_the_file_ended(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "MIN_SEGMENT", 40_000)
    monkeypatch.setattr(parallel, "available_cores", lambda: 4)
    src = tmp_path / "log"
    src.write_bytes(TEXT)
    result, out, facts = _compress_while(src, _append(b"\xff more\n"), threads=2)
    assert result.input_changed == "grew"
    assert out == TEXT and facts.streams == 2


def test_a_log_written_to_meanwhile_by_another_thread(tmp_path):
    """A real writer, appending lines as fast as it can until compression ends."""
    src = tmp_path / "log"
    src.write_bytes(TEXT)
    done = threading.Event()

    def writer():
        with open(src, "ab", buffering=0) as fp:
            n = 0
            while not done.wait(0.001):
                fp.write(b"\xc3\xa9 line %d\n" % n)  # bytes outside the first scan's alphabet
                n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        result = nbtzip.compress_file(src, tmp_path / "log.nbt", config=CONFIG)
    finally:
        done.set()
        thread.join()
    out = nbtzip.decompress((tmp_path / "log.nbt").read_bytes())
    assert result.input_changed == "grew"
    assert src.read_bytes().startswith(out) and len(out) == result.input_size >= len(TEXT)


# -- the command ---------------------------------------------------------------------


def _grow_after_the_first_block(monkeypatch, path):
    real = container.StreamEncoder.write_block

    def write_block(self, data, *args):
        real(self, data, *args)
        if self.length == len(data):  # the first block
            _append(b"\xff late line\n")(path)

    monkeypatch.setattr(container.StreamEncoder, "write_block", write_block)


def test_the_command_warns_in_one_line_exits_2_and_keeps_the_input(tmp_path, monkeypatch):
    src = tmp_path / "log"
    src.write_bytes(TEXT)
    _grow_after_the_first_block(monkeypatch, src)
    result = CliRunner().invoke(cli.main, ["compress", "--model", "ctw", "--rm", str(src)])
    assert result.exit_code == 2, result.stderr
    assert result.stderr == (
        f"nbtzip: {src}: file grew while it was compressed; its first {len(TEXT)} bytes "
        "are in the output; input not removed\n"
    )
    assert src.exists() and src.read_bytes().startswith(TEXT)
    assert nbtzip.decompress((tmp_path / "log.nbt").read_bytes()) == TEXT
    src.write_bytes(TEXT)
    result = CliRunner().invoke(cli.main, ["compress", "-q", "-f", "--model", "ctw", str(src)])
    assert (result.exit_code, result.stderr) == (2, "")  # quiet, as gzip -q, but still 2


def test_the_command_on_a_log_another_process_writes(tmp_path):
    src = tmp_path / "log"
    src.write_bytes(TEXT * 2)
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "with open(sys.argv[1], 'ab', buffering=0) as fp:\n"
            "    for n in range(100000):\n"
            "        fp.write(b'\\xc3\\xa9 line %d\\n' % n); time.sleep(0.001)\n",
            str(src),
        ]
    )
    try:
        done = subprocess.run(
            [sys.executable, "-m", "nbtzip", "compress", "--model", "ctw", "--depth", "3", src],
            capture_output=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=600,
        )
    finally:
        writer.kill()
        writer.wait()
    assert done.returncode == 2, done.stderr
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and "file grew while it was compressed" in lines[0]
    out = nbtzip.decompress((tmp_path / "log.nbt").read_bytes())
    assert src.read_bytes().startswith(out) and len(out) >= 2 * len(TEXT)
