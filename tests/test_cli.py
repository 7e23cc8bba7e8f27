"""The nbtzip command: round trips, gzip-like habits, and one-line errors that leave no trace."""

import contextlib
import ctypes
import errno
import hashlib
import io
import os
import pty
import resource
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numba
import numpy as np
import pytest
from click.testing import CliRunner

import nbtzip
from nbtzip import atomic, models
from nbtzip.atomic import atomic_output
from nbtzip.cli import main as cli
from nbtzip.cli import terminal
from nbtzip.cli.jobs import COMPILE_NOTE
from nbtzip.cli.progress import ProgressBar
from nbtzip.config import LEVELS
from nbtzip.container import BLOCK_SIZE
from nbtzip.sample import english_like

ROOT = Path(__file__).resolve().parent.parent
RNN = ["--model", "rnn", "--hidden", "8"]
CTW = ["--model", "ctw", "--depth", "3"]


@pytest.fixture(scope="module", autouse=True)
def compiled_kernels():
    """Compile both directions of both models first, so that the one-time
    "compiling kernels" note does not land in the stderr these tests check."""
    for config in (nbtzip.make_config(model="rnn", hidden_size=8), nbtzip.CTWConfig(depth=3)):
        # Compressible, or the block is stored and the decoder never runs.
        nbtzip.decompress(nbtzip.compress(b"warm up " * 50, config=config))


def run(*args, input=None):
    result = CliRunner().invoke(cli.main, [str(a) for a in args], input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def snapshot(directory):
    """Every file in directory, with a digest and mtime: proves nothing else changed
    (a subdirectory: the names in it)."""
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        if p.is_file()
        else sorted(os.listdir(p))
        for p in sorted(Path(directory).iterdir())
    }


def assert_one_line_error(result, fragment):
    assert result.exit_code == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("nbtzip: ") and fragment in lines[0], lines[0]
    assert "Traceback" not in result.stderr


CASES = {
    "empty": b"",
    "one_byte": b"\x00",
    "all_byte_values": bytes(range(256)),
    "long_run": b"-" * 70_000,
    "english_like": english_like(12_000),
    "random": np.random.default_rng(3).integers(0, 256, 10_000, dtype=np.uint8).tobytes(),
}


def _without_compile_note(stderr):
    """stderr's lines but the note a run that compiles kernels prints (the first
    run on a cold cache: which test meets it depends on the order they run in)."""
    return [line for line in stderr.splitlines() if line != "nbtzip: " + COMPILE_NOTE]


@pytest.mark.parametrize("model", [RNN, CTW], ids=["rnn", "ctw"])
@pytest.mark.parametrize("case", CASES)
def test_files_round_trip_through_the_command(tmp_path, model, case):
    data = CASES[case]
    src = tmp_path / "data.bin"
    src.write_bytes(data)
    src.chmod(0o640)
    assert run("compress", "-q", *model, src).exit_code == 0
    assert src.read_bytes() == data  # kept by default
    assert (tmp_path / "data.bin.nbt").stat().st_mode & 0o777 == 0o640
    src.unlink()
    result = run("decompress", tmp_path / "data.bin.nbt")
    assert result.exit_code == 0 and _without_compile_note(result.stderr) == []
    assert src.read_bytes() == data
    assert src.stat().st_mode & 0o777 == 0o640


def test_stdin_to_stdout_through_real_pipes():
    data = english_like(5000, seed=9) + bytes(range(256))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "nbtzip"]
    packed = subprocess.run(
        command + ["compress", *RNN], input=data, capture_output=True, env=env, check=True
    ).stdout
    assert nbtzip.info(io.BytesIO(packed)).alphabet_size == 256  # a pipe cannot be scanned
    unpacked = subprocess.run(
        command + ["decompress", "-"], input=packed, capture_output=True, env=env, check=True
    ).stdout
    assert unpacked == data


def test_dash_reads_stdin_and_writes_stdout():
    data = b"stdin data " * 100
    packed = run("compress", *CTW, "-", input=data).stdout_bytes
    assert nbtzip.decompress(packed) == data
    assert run("decompress", input=packed).stdout_bytes == data


def test_output_options(tmp_path):
    src = tmp_path / "notes.txt"
    data = english_like(3000)
    src.write_bytes(data)
    result = run("compress", *CTW, "-c", src)
    assert nbtzip.decompress(result.stdout_bytes) == data
    assert not (tmp_path / "notes.txt.nbt").exists()
    assert run("compress", *CTW, "-o", tmp_path / "elsewhere.nbt", src).exit_code == 0
    assert run("decompress", "-o", tmp_path / "back.txt", tmp_path / "elsewhere.nbt").exit_code == 0
    assert (tmp_path / "back.txt").read_bytes() == data
    assert run("decompress", "-c", tmp_path / "elsewhere.nbt").stdout_bytes == data
    assert run("decompress", "-o", "-", tmp_path / "elsewhere.nbt").stdout_bytes == data


def test_rm_deletes_inputs_only_after_success(tmp_path):
    src = tmp_path / "a.txt"
    src.write_bytes(b"remove me afterwards")
    assert run("compress", *CTW, "--rm", src).exit_code == 0
    assert not src.exists()
    assert run("decompress", "--rm", tmp_path / "a.txt.nbt").exit_code == 0
    assert src.read_bytes() == b"remove me afterwards"
    assert not (tmp_path / "a.txt.nbt").exists()


def test_force_overwrites_an_existing_output(tmp_path):
    src = tmp_path / "a"
    src.write_bytes(b"new content")
    (tmp_path / "a.nbt").write_bytes(b"old")
    assert run("compress", *CTW, "-f", src).exit_code == 0
    assert nbtzip.decompress((tmp_path / "a.nbt").read_bytes()) == b"new content"


def test_several_files_are_processed_and_a_failure_does_not_stop_the_rest(tmp_path):
    for name in ("one", "two"):
        (tmp_path / name).write_bytes(name.encode() * 50)
    result = run("compress", *CTW, tmp_path / "one", tmp_path / "missing", tmp_path / "two")
    assert_one_line_error(result, "missing: No such file or directory")
    for name in ("one", "two"):
        assert nbtzip.decompress((tmp_path / f"{name}.nbt").read_bytes()) == name.encode() * 50


def test_verbose_reports_ratio_bpc_and_speed_and_quiet_reports_nothing(tmp_path):
    src = tmp_path / "t"
    src.write_bytes(english_like(4000))
    result = run("compress", *CTW, "-v", src)
    assert result.exit_code == 0
    assert all(word in result.stderr for word in ("ratio", "bpc", "/s", "->"))
    result = run("decompress", "-v", "-f", tmp_path / "t.nbt")
    assert "decompressed" in result.stderr and "bpc" in result.stderr
    result = run("compress", *CTW, "-q", "-f", src)
    assert result.exit_code == 0 and result.stderr == "" and result.stdout == ""


@pytest.mark.parametrize(
    "flags, hidden",
    [
        (["-1"], LEVELS[1].hidden_size),
        (["--level", "2"], LEVELS[2].hidden_size),
        (["-3", "--hidden", "9"], 9),
    ],
)
def test_levels_and_model_flags_reach_the_file_header(tmp_path, flags, hidden):
    src = tmp_path / "x"
    src.write_bytes(b"level test")
    assert run("compress", "--model", "rnn", *flags, "--seed", "12", src).exit_code == 0
    config = nbtzip.info(tmp_path / "x.nbt").config
    assert (config.hidden_size, config.seed) == (hidden, 12)


def test_algorithm_and_model_flags_reach_the_file_header(tmp_path):
    src = tmp_path / "x"
    src.write_bytes(b"algorithm test")
    for flags, expect in [
        (["--algorithm", "nbt"], ("nbt", "sgd")),
        (["--algorithm", "kalman"], ("nbt", "kalman")),
        (["--algorithm", "rtrl", "-1"], ("rtrl", "kalman")),
    ]:
        assert run("compress", "-f", *RNN, *flags, src).exit_code == 0
        config = nbtzip.info(tmp_path / "x.nbt").config
        assert (config.gradient, config.step) == expect
    assert run("compress", "-f", *CTW, src).exit_code == 0
    assert nbtzip.info(tmp_path / "x.nbt").config == nbtzip.CTWConfig(depth=3)


def test_info_shows_configuration_and_sizes_without_decoding(tmp_path, monkeypatch):
    src = tmp_path / "x"
    data = english_like(5000)
    src.write_bytes(data)
    run("compress", *RNN, "--seed", "4", src)

    def refuse(config, alphabet):
        raise AssertionError("info must not decode")

    monkeypatch.setattr(models, "make_codec", refuse)
    result = run("info", tmp_path / "x.nbt")
    assert result.exit_code == 0
    size = (tmp_path / "x.nbt").stat().st_size
    for text in (
        "rnn",
        "hidden_size=8",
        "seed=4",
        f"{len(data)} bytes",
        f"{size} bytes",
        "bits per byte",
    ):
        assert text in result.stdout


def test_info_names_the_format_version_and_the_level_of_a_preset(tmp_path):
    src = tmp_path / "x"
    src.write_bytes(english_like(3000))
    for flags, level in ((["-3"], "3 (preset table 5)"), (RNN, "-")):
        run("compress", "-f", *flags, src)
        lines = run("info", tmp_path / "x.nbt").stdout.splitlines()
        assert "  format          version 4" in lines
        assert f"  level           {level}" in lines
    golden = Path(__file__).resolve().parent / "golden" / "v3" / "mix-default.txt.nbt"
    lines = run("info", golden).stdout.splitlines()
    assert "  format          version 3" in lines
    assert "  level           6 (preset table 4)" in lines


def _compiling_codec(monkeypatch):
    """make_codec whose first block calls a kernel never compiled before, as a
    first run does; the model itself is the real one."""
    real = models.make_codec

    def make_codec(config, alphabet):
        fresh = numba.njit(lambda x: x + 1)  # no cache: compiled at its first call
        codec = real(config, alphabet)
        encode = codec.encode_block
        codec.encode_block = lambda data, *a, **kw: (fresh(1), encode(data, *a, **kw))[1]
        return codec

    monkeypatch.setattr(models, "make_codec", make_codec)


def test_compile_note_is_printed_once_and_only_when_numba_compiles(tmp_path, monkeypatch):
    for name in ("a", "b"):
        (tmp_path / name).write_bytes(b"abc")
    assert run("compress", *CTW, tmp_path / "a", tmp_path / "b").stderr == ""  # all cached
    _compiling_codec(monkeypatch)
    result = run("compress", "-f", *CTW, tmp_path / "a", tmp_path / "b")  # two compiles
    assert result.stderr == "nbtzip: compiling kernels, first run only\n"
    assert run("compress", "-q", "-f", *CTW, tmp_path / "a").stderr == ""
    assert run("decompress", "-c", tmp_path / "a").stderr.count("compiling") == 0  # not .nbt


def test_help_states_the_defaults():
    text = run("compress", "--help").stdout
    assert "Keep input files (the default)" in text
    assert "-1 .. -9" in text and "[default: 6]" in text


# -- errors: one line on stderr, exit 1, no partial output, input untouched ----


@pytest.fixture
def packed(tmp_path):
    src = tmp_path / "orig.txt"
    src.write_bytes(english_like(2 * BLOCK_SIZE + 500, seed=2))
    assert run("compress", *CTW, src).exit_code == 0
    src.unlink()
    return tmp_path / "orig.txt.nbt"


def _damaged(path, edit):
    blob = bytearray(path.read_bytes())
    edit(blob)
    path.write_bytes(bytes(blob))


def _config_size(blob):
    return struct.unpack_from("<H", blob, 9)[0]


def _flip_payload_byte(blob):
    blob[11 + _config_size(blob) + 36 + 12 + 40] ^= 0x08


def _break_trailer_crc(blob):
    blob[-1] ^= 0xFF


def _set_version(blob):
    blob[8] = 9


def _truncate(blob):
    del blob[len(blob) // 2 :]


@pytest.mark.parametrize(
    "edit, message",
    [
        (_set_version, "unsupported format version 9"),
        (_truncate, "truncated file"),
        (_flip_payload_byte, "corrupted data (checksum mismatch)"),
        (_break_trailer_crc, "checksum mismatch"),
    ],
)
def test_damaged_files_are_refused_and_leave_nothing_behind(packed, edit, message):
    _damaged(packed, edit)
    before = snapshot(packed.parent)
    assert_one_line_error(run("decompress", packed), message)
    assert snapshot(packed.parent) == before


def test_a_file_that_is_not_nbt_is_refused(tmp_path):
    (tmp_path / "plain.nbt").write_bytes(b"just some text\n")
    before = snapshot(tmp_path)
    assert_one_line_error(run("decompress", tmp_path / "plain.nbt"), "not an .nbt file")
    assert_one_line_error(run("info", tmp_path / "plain.nbt"), "not an .nbt file")
    assert snapshot(tmp_path) == before


def test_missing_input_is_reported(tmp_path):
    assert_one_line_error(run("compress", *CTW, tmp_path / "nope"), "No such file or directory")
    assert_one_line_error(run("decompress", tmp_path / "nope.nbt"), "No such file or directory")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_output_is_not_overwritten(tmp_path):
    (tmp_path / "a").write_bytes(b"input")
    (tmp_path / "a.nbt").write_bytes(b"someone's file")
    before = snapshot(tmp_path)
    assert_one_line_error(run("compress", *CTW, tmp_path / "a"), "output file exists")
    assert snapshot(tmp_path) == before


def test_an_unwritable_output_is_reported(tmp_path):
    (tmp_path / "a").write_bytes(b"input")
    (tmp_path / "file").write_bytes(b"not a directory")
    before = snapshot(tmp_path)
    result = run("compress", *CTW, "-o", tmp_path / "no-such-dir" / "a.nbt", tmp_path / "a")
    assert_one_line_error(result, "cannot write")
    result = run("compress", *CTW, "-o", tmp_path / "file" / "a.nbt", tmp_path / "a")
    assert_one_line_error(result, "cannot write")
    assert snapshot(tmp_path) == before


def test_a_name_without_the_suffix_is_not_guessed(tmp_path):
    (tmp_path / "archive.bin").write_bytes(nbtzip.compress(b"x", config=nbtzip.CTWConfig()))
    assert_one_line_error(run("decompress", tmp_path / "archive.bin"), "unknown suffix")


def test_compressed_data_is_not_written_to_a_terminal(tmp_path):
    (tmp_path / "a").write_bytes(b"input")
    before = snapshot(tmp_path)
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "nbtzip", "compress", *CTW, "-c", str(tmp_path / "a")],
            stdout=terminal,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=120,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert done.returncode == 1
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and "not written to a terminal" in lines[0]
    assert snapshot(tmp_path) == before


def test_ctrl_c_leaves_no_partial_output(tmp_path, monkeypatch):
    src = tmp_path / "big"
    src.write_bytes(english_like(3 * BLOCK_SIZE))
    before = snapshot(tmp_path)
    real = models.make_codec

    class Interrupted:
        def __init__(self, config, alphabet):
            self.inner = real(config, alphabet)
            self.calls = 0

        def encode_block(self, data, *args, **options):
            self.calls += 1
            if self.calls == 2:
                raise KeyboardInterrupt
            return self.inner.encode_block(data, *args, **options)

    monkeypatch.setattr(models, "make_codec", Interrupted)
    result = run("compress", *CTW, src)
    assert result.exit_code == 130
    assert result.stderr.strip() == "nbtzip: interrupted"
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "args",
    [
        ["compress", "--bogus", "a"],
        ["compress", "-o", "x", "a", "b"],
        ["compress", "--keep", "--rm", "a"],
        ["compress", "-c", "--rm", "a"],
        ["compress", "-10", "a"],
        ["compress", "-0", "a"],
        ["compress", "--model", "ctw", "-9", "a"],
        ["compress", "-o", "", "a"],
        ["decompress", "-t", "-o", "x", "a.nbt"],
        ["decompress", "-t", "--rm", "a.nbt"],
        ["compress", "--algorithm", "rtrl", "a"],
        ["compress", "--hidden", "0", "a"],
        ["compress", "--model", "ctw", "--hidden", "8", "a"],
        ["compress", "--depth", "3", "a"],
        ["decompress", "-q", "-v", "a.nbt"],
        ["info"],
    ],
)
def test_usage_errors_exit_2_without_touching_files(tmp_path, args):
    (tmp_path / "a").write_bytes(b"input")
    before = snapshot(tmp_path)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = run(*args)
    finally:
        os.chdir(cwd)
    assert result.exit_code == 2
    # One line, like gzip and xz, not click's four-line block.
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("nbtzip: ") and lines[0].endswith(" --help')"), lines[0]
    assert f"(try 'nbtzip {args[0]} --help')" in lines[0]
    assert "Traceback" not in result.stderr
    assert snapshot(tmp_path) == before


def test_rtrl_refusal_names_the_limit():
    result = run("compress", "--model", "rnn", "--algorithm", "rtrl", "-")
    assert "rtrl" in result.stderr and str(nbtzip.config.RTRL_MAX_HIDDEN) in result.stderr


def test_progress_bar_draws_on_a_terminal_only():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    now = [0.0]
    screen = Terminal()
    bar = ProgressBar("big.txt", stream=screen, interval=0, clock=lambda: now[0])
    now[0] = 3.0  # past the delay (tests/test_progress.py has the rest)
    bar(2 << 20, 4 << 20)
    assert "50%" in screen.getvalue() and "big.txt" in screen.getvalue()
    bar.close()
    assert screen.getvalue().endswith("\r")
    pipe = io.StringIO()
    bar = ProgressBar("big", stream=pipe, interval=0, clock=lambda: now[0])
    now[0] = 6.0
    bar(2 << 20, 4 << 20)
    assert pipe.getvalue() == ""


@pytest.mark.parametrize(
    "sig, status, word",
    [
        (signal.SIGINT, 130, "interrupted"),
        (signal.SIGTERM, 143, "terminated"),
        (signal.SIGHUP, 129, "hangup"),  # a closed terminal or an ssh disconnect
        (signal.SIGQUIT, 131, "quit"),
    ],
)
def test_a_signal_mid_file_removes_the_partial_output(tmp_path, sig, status, word):
    src = tmp_path / "long.txt"
    src.write_bytes(english_like(2 * BLOCK_SIZE, seed=8))
    before = snapshot(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-m", "nbtzip", "compress", "--hidden", "32", str(src)],
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    # Wait until the first coded block is in the temporary output: the kernels
    # are loaded and coding is under way (one block still to go). On a cold
    # cache the child compiles the mixture's kernels first (minutes).
    deadline = time.monotonic() + 900
    while not any(p.name.endswith(".tmp") and p.stat().st_size > 1000 for p in tmp_path.iterdir()):
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    child.send_signal(sig)
    _, err = child.communicate(timeout=120)
    assert child.returncode == status
    assert _without_compile_note(err.decode()) == [f"nbtzip: {word}"]
    assert snapshot(tmp_path) == before


def test_ctrl_c_is_honoured_promptly_inside_a_block_of_a_large_model(tmp_path):
    """A block of a 4096-unit network takes minutes (about 5 ms a byte); the block is
    coded in short jitted slices, so SIGINT ends the run within seconds, not after
    the block."""
    src = tmp_path / "one-block.txt"
    src.write_bytes(english_like(65536, seed=9))
    before = snapshot(tmp_path)
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nbtzip",
            "compress",
            "--model",
            "rnn",
            "--hidden",
            "4096",
            str(src),
        ],
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 120
    while not any(p.name.endswith(".tmp") for p in tmp_path.iterdir()):
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(3)  # the header is written, the model built: coding the block
    assert child.poll() is None
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=30)  # the whole block would take minutes
    assert child.returncode == 130
    assert err.decode().splitlines()[-1] == "nbtzip: interrupted"
    assert snapshot(tmp_path) == before


def test_a_reader_that_goes_away_ends_the_command_quietly_with_141(tmp_path):
    src = tmp_path / "t.txt"
    src.write_bytes(english_like(2 * BLOCK_SIZE, seed=6))
    assert run("compress", *CTW, src).exit_code == 0
    child = subprocess.Popen(
        [sys.executable, "-m", "nbtzip", "decompress", "-c", str(tmp_path / "t.txt.nbt")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout.read(10) == src.read_bytes()[:10]
    child.stdout.close()
    err = child.stderr.read().decode()
    assert child.wait(timeout=120) == 141  # as if SIGPIPE ended it, like gzip and xz
    assert err == ""


def _no_memory_for_huge_tables(monkeypatch):
    """make_codec as on a machine that cannot hold a CTW table of 2**30 nodes (8 GiB,
    too much to really allocate here); any other model is built as usual."""
    real = models.make_codec

    def make_codec(config, alphabet):
        if getattr(config, "table_bits", None) == 30:
            raise MemoryError("Unable to allocate 8.00 GiB for an array")
        return real(config, alphabet)

    monkeypatch.setattr(models, "make_codec", make_codec)


def test_a_header_asking_for_too_large_a_model_is_one_line_naming_the_file(tmp_path, monkeypatch):
    crafted, good = tmp_path / "crafted.nbt", tmp_path / "good.nbt"
    small = nbtzip.CTWConfig(depth=3, table_bits=10)
    with monkeypatch.context() as m:  # a stream whose header asks for 2**30 nodes
        real = models.make_codec
        m.setattr(models, "make_codec", lambda config, alphabet: real(small, alphabet))
        crafted.write_bytes(
            nbtzip.compress(b"crafted " * 40, config=nbtzip.CTWConfig(table_bits=30), memlimit=0)
        )
    good.write_bytes(nbtzip.compress(b"good " * 40, config=small))
    assert nbtzip.info(crafted).config.table_bits == 30
    _no_memory_for_huge_tables(monkeypatch)
    # No memory limit (test_memory.py has those): the allocation itself fails.
    monkeypatch.setenv(nbtzip.memlimit.ENV, "0")
    before = snapshot(tmp_path)
    result = run("decompress", crafted)
    assert result.exit_code == 1
    assert result.stderr == f"nbtzip: {crafted}: not enough memory for this stream's model\n"
    assert snapshot(tmp_path) == before
    assert_one_line_error(run("decompress", "-t", crafted), "not enough memory")
    result = run("decompress", crafted, good)  # the next file is still tried
    assert_one_line_error(result, f"{crafted}: not enough memory")
    assert (tmp_path / "good").read_bytes() == b"good " * 40
    assert not (tmp_path / "crafted").exists()


@pytest.mark.parametrize("threads", ["1", "2"])
def test_compressing_without_memory_for_the_model_is_one_line_naming_the_file(
    tmp_path, monkeypatch, threads
):
    monkeypatch.setattr(nbtzip.parallel, "MIN_SEGMENT", 20_000)
    monkeypatch.setattr(nbtzip.parallel, "available_cores", lambda: 4)  # -T 2 on any machine

    def make_codec(config, alphabet):  # in the workers too, with -T 2 (forked)
        raise MemoryError("Unable to allocate 8.00 GiB for an array")

    monkeypatch.setattr(models, "make_codec", make_codec)
    src = tmp_path / "big"
    src.write_bytes(english_like(60_000))
    before = snapshot(tmp_path)
    result = run("compress", *CTW, "-T", threads, src)
    assert result.exit_code == 1
    assert result.stderr == f"nbtzip: {src}: not enough memory for this stream's model\n"
    assert snapshot(tmp_path) == before


def test_a_worker_that_dies_is_one_line_naming_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(nbtzip.parallel, "MIN_SEGMENT", 20_000)
    monkeypatch.setattr(nbtzip.parallel, "available_cores", lambda: 4)  # -T 2 on any machine
    parent = os.getpid()

    def make_codec(config, alphabet):  # forked workers see it
        assert os.getpid() != parent, "-T 2 codes every segment in a worker"
        os._exit(3)

    monkeypatch.setattr(models, "make_codec", make_codec)
    src = tmp_path / "big"
    src.write_bytes(english_like(60_000))
    before = snapshot(tmp_path)
    result = run("compress", *CTW, "-q", "-T", "2", src)
    assert_one_line_error(result, f"nbtzip: {src}: a worker process died")
    assert "internal error" not in result.stderr
    assert snapshot(tmp_path) == before


# -- review findings: outputs that are not regular files -------------------------


def _child(*args, **kwargs):
    """`python -m nbtzip ARGS` in a child process (real file descriptors and signals)."""
    return subprocess.run(
        [sys.executable, "-m", "nbtzip", *map(str, args)],
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        **kwargs,
    )


def test_a_character_device_output_is_written_into_without_f(tmp_path):
    src = tmp_path / "a"
    src.write_bytes(b"to the null device " * 20)
    before = snapshot(tmp_path)
    result = run("compress", *CTW, "-o", os.devnull, src)
    assert result.exit_code == 0 and result.stderr == ""
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert snapshot(tmp_path) == before  # no temporary file either
    result = run("compress", *CTW, "--rm", "-o", os.devnull, src)
    assert_one_line_error(result, "--rm would lose")
    assert snapshot(tmp_path) == before


def test_a_fifo_output_is_written_into_not_replaced(tmp_path):
    src = tmp_path / "a"
    src.write_bytes(english_like(3000))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    try:
        result = run("compress", *CTW, "-f", "-o", fifo, src)
    finally:
        # A reader still waiting for a writer (the command never opened the FIFO): let it go.
        with contextlib.suppress(OSError):  # ENXIO: no reader is waiting
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(timeout=60)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert nbtzip.decompress(got[0]) == src.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "fifo"]


def test_a_socket_output_is_not_replaced_by_a_file(tmp_path):
    src = tmp_path / "a"
    src.write_bytes(b"socket")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "sock"))
        result = run("compress", *CTW, "-f", "-o", tmp_path / "sock", src)
        assert_one_line_error(result, "sock: No such device or address")
        assert stat.S_ISSOCK((tmp_path / "sock").lstat().st_mode)
    finally:
        server.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "sock"]


def test_an_output_that_is_a_directory_is_named_as_such(tmp_path):
    (tmp_path / "a").write_bytes(b"input")
    (tmp_path / "adir").mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.nbt").write_bytes(nbtzip.compress(b"b", config=nbtzip.CTWConfig(depth=3)))
    (tmp_path / "sub" / ".nbt").write_bytes((tmp_path / "b.nbt").read_bytes())
    before = snapshot(tmp_path)
    for force in ([], ["-f"]):
        result = run("compress", *CTW, *force, "-o", tmp_path / "adir", tmp_path / "a")
        assert_one_line_error(result, f"{tmp_path / 'adir'}: is a directory")
        result = run("decompress", *force, "-o", tmp_path / "adir", tmp_path / "b.nbt")
        assert_one_line_error(result, f"{tmp_path / 'adir'}: is a directory")
        result = run("decompress", *force, tmp_path / "sub" / ".nbt")
        assert_one_line_error(result, "unknown suffix")
    assert snapshot(tmp_path) == before


def test_an_empty_output_name_is_a_usage_error(tmp_path):
    (tmp_path / "a").write_bytes(b"input")
    result = run("compress", *CTW, "-o", "", tmp_path / "a")
    assert result.exit_code == 2 and "--output" in result.stderr
    assert not (tmp_path / "a.nbt").exists()


def test_atomic_output_writes_into_special_files_and_names_its_errors(tmp_path):
    with atomic_output(os.devnull) as fp:  # no overwrite needed: nothing stored is replaced
        fp.write(b"x" * 100_000)
    with pytest.raises(OSError) as caught, atomic_output("/dev/full") as fp:
        fp.write(b"x" * 100_000)
    assert caught.value.filename == "/dev/full"
    with pytest.raises(IsADirectoryError):
        with atomic_output(tmp_path):
            pass
    assert list(tmp_path.iterdir()) == []


# -- signals -----------------------------------------------------------------------


def test_an_ignored_hangup_stays_ignored():
    """nohup nbtzip ...: SIGHUP stays ignored, as in gzip; the others are caught."""
    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        previous = terminal._install_signal_handlers()
        try:
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) == terminal._on_signal
        finally:
            terminal._restore_signal_handlers(previous)
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, old)


def _swallowed_signal_codec(monkeypatch, then=None):
    """A codec during whose first block SIGHUP lands inside a callback from C, as it can
    while numba compiles: Python prints such exceptions as "Exception ignored" and goes on.
    then: an exception the first block raises afterwards (what the lost signal broke)."""
    real = models.make_codec

    def callback():
        raise terminal.Terminated(signal.SIGHUP)

    class Hung:
        def __init__(self, config, alphabet):
            self.inner = real(config, alphabet)
            self.calls = 0

        def encode_block(self, data, *args, **options):
            self.calls += 1
            if self.calls == 1:
                ctypes.CFUNCTYPE(None)(callback)()
                if then is not None:
                    raise then
            return self.inner.encode_block(data, *args, **options)

    monkeypatch.setattr(models, "make_codec", Hung)


@pytest.mark.parametrize("then", [None, RuntimeError("no compiled object yet")])
def test_a_signal_lost_in_a_callback_from_c_still_ends_the_command(tmp_path, monkeypatch, then):
    src = tmp_path / "big"
    src.write_bytes(english_like(2 * 65536))
    before = snapshot(tmp_path)
    _swallowed_signal_codec(monkeypatch, then)
    result = run("compress", *CTW, src)
    assert result.exit_code == 129
    assert result.stderr == "nbtzip: hangup\n"  # no "Exception ignored", no internal error
    assert snapshot(tmp_path) == before


# -- long names ----------------------------------------------------------------------


def test_the_temporary_name_fits_whenever_the_final_name_fits(tmp_path):
    data = b"long names " * 30
    name = "n" * 247  # FILE.nbt takes 251 of the 255 bytes a name may have
    (tmp_path / name).write_bytes(data)
    assert run("compress", *CTW, "--rm", tmp_path / name).exit_code == 0
    assert run("decompress", tmp_path / (name + ".nbt")).exit_code == 0
    assert (tmp_path / name).read_bytes() == data
    room = 255 - len(str(2**32)) - 1 - 8 - len(".tmp")  # process id, dot, random part
    assert len(os.fsencode(atomic.temp_prefix("é" * 250))) <= room
    (tmp_path / ("m" * 252)).write_bytes(data)  # its .nbt name would not fit
    before = snapshot(tmp_path)
    assert_one_line_error(run("compress", *CTW, tmp_path / ("m" * 252)), "File name too long")
    assert snapshot(tmp_path) == before


# -- broken pipes and full disks -------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["decompress", "-c", "a.nbt"], ["compress", *CTW, "-c", "a"], ["info", "a.nbt", "a.nbt"]],
    ids=["decompress", "compress", "info"],
)
def test_a_closed_pipe_ends_the_command_quietly_with_141(tmp_path, args):
    (tmp_path / "a").write_bytes(b"pipe " * 100)
    (tmp_path / "a.nbt").write_bytes(nbtzip.compress(b"pipe " * 100, config=nbtzip.CTWConfig()))
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write
    try:
        done = _child(*args, stdout=write_end, cwd=tmp_path)
    finally:
        os.close(write_end)
    assert done.returncode == 141
    assert done.stderr == b""  # no message, and no exception from the flush at exit


def test_a_full_standard_output_is_named_as_the_culprit(tmp_path):
    (tmp_path / "a").write_bytes(english_like(3000))
    (tmp_path / "a.nbt").write_bytes(nbtzip.compress(b"x" * 9000, config=nbtzip.CTWConfig()))
    with open("/dev/full", "wb") as full:
        for args in (["compress", *CTW, "-c", "a"], ["decompress", "-c", "a.nbt", "a.nbt"]):
            done = _child(*args, stdout=full, cwd=tmp_path)
            assert done.returncode == 1
            # one line (the second file is not tried), no exception at exit
            assert done.stderr.decode().splitlines() == [
                "nbtzip: (stdout): No space left on device"
            ]
    result = run("compress", *CTW, "-o", "/dev/full", tmp_path / "a")
    assert_one_line_error(result, "/dev/full: No space left on device")


def _small_file_limit():
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a core dump


def test_a_write_error_on_a_file_names_the_output_not_the_input(tmp_path):
    src = tmp_path / "r20k"
    src.write_bytes(np.random.default_rng(1).integers(0, 256, 20_000, np.uint8).tobytes())
    before = snapshot(tmp_path)
    done = _child("compress", *CTW, "-o", tmp_path / "r.nbt", src, preexec_fn=_small_file_limit)
    assert done.returncode == 1
    assert done.stderr.decode().splitlines() == [f"nbtzip: {tmp_path / 'r.nbt'}: File too large"]
    assert snapshot(tmp_path) == before


def test_a_failed_rm_says_so_and_keeps_the_output(tmp_path, monkeypatch):
    src = tmp_path / "text"
    src.write_bytes(b"cannot remove me")
    real_unlink = os.unlink

    def unlink(path, *args, **kwargs):
        if os.fspath(path) == str(src):
            raise PermissionError(errno.EPERM, "Operation not permitted", os.fspath(path))
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    result = run("compress", *CTW, "--rm", src)
    assert_one_line_error(result, f"cannot remove {src}: Operation not permitted")
    assert src.read_bytes() == b"cannot remove me"
    assert nbtzip.decompress((tmp_path / "text.nbt").read_bytes()) == b"cannot remove me"


# -- levels --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags, level",
    [(["-9", "-1"], 1), (["-1", "-9", "--level", "2"], 2), (["--level", "9", "-2"], 2)],
)
def test_the_last_level_given_wins_like_gzip(tmp_path, flags, level):
    (tmp_path / "x").write_bytes(b"ab")
    assert run("compress", *flags, tmp_path / "x").exit_code == 0
    assert nbtzip.info(tmp_path / "x.nbt").config == nbtzip.config.mix_preset(level).sized(2, 2)


def test_levels_and_ctw(tmp_path):
    (tmp_path / "x").write_bytes(b"ctw")
    result = run("compress", "--model", "ctw", "-9", tmp_path / "x")
    assert result.exit_code == 2 and "use --depth for CTW" in result.stderr
    result = run("compress", "--model", "ctw", f"-{nbtzip.DEFAULT_LEVEL}", tmp_path / "x")
    assert result.exit_code == 0  # the default level asks for nothing CTW lacks
    result = run("compress", "-10", tmp_path / "x")
    assert result.exit_code == 2 and "levels run from -1 to -9" in result.stderr


def test_decompress_accepts_and_ignores_levels_like_gzip_d(tmp_path):
    (tmp_path / "x.nbt").write_bytes(nbtzip.compress(b"levels", config=nbtzip.CTWConfig()))
    assert run("decompress", "-9", tmp_path / "x.nbt").exit_code == 0
    assert (tmp_path / "x").read_bytes() == b"levels"


# -- gzip's file habits: times, links, --test -----------------------------------------


def test_the_output_keeps_the_input_times(tmp_path):
    src = tmp_path / "old"
    src.write_bytes(b"dated 2020")
    stamp = (1_577_836_800_123_456_789, 1_577_836_801_987_654_321)  # atime, mtime (2020)
    os.utime(src, ns=stamp)
    assert run("compress", *CTW, src).exit_code == 0
    packed = (tmp_path / "old.nbt").stat()
    assert (packed.st_atime_ns, packed.st_mtime_ns) == stamp
    src.unlink()
    assert run("decompress", tmp_path / "old.nbt").exit_code == 0
    assert src.stat().st_mtime_ns == stamp[1]
    assert src.read_bytes() == b"dated 2020"


def test_a_symbolic_link_is_refused_without_f(tmp_path):
    (tmp_path / "target").write_bytes(b"linked")
    (tmp_path / "link").symlink_to("target")
    (tmp_path / "target.nbt").write_bytes(nbtzip.compress(b"linked", config=nbtzip.CTWConfig()))
    (tmp_path / "link.nbt").symlink_to("target.nbt")
    before = snapshot(tmp_path)
    assert_one_line_error(
        run("compress", *CTW, tmp_path / "link"), "link: is a symbolic link, not compressed; use -f"
    )
    assert_one_line_error(run("decompress", tmp_path / "link.nbt"), "is a symbolic link")
    assert snapshot(tmp_path) == before
    assert_one_line_error(
        run("compress", *CTW, "--rm", "-o", tmp_path / "x.nbt", tmp_path / "link"),
        "is a symbolic link",
    )
    assert snapshot(tmp_path) == before
    # -c, -o and -t follow it (nothing is created or removed beside it), and so does -f.
    assert nbtzip.decompress(run("compress", *CTW, "-c", tmp_path / "link").stdout_bytes)
    assert run("decompress", "-t", tmp_path / "link.nbt").exit_code == 0
    assert run("decompress", "-o", tmp_path / "out", tmp_path / "link.nbt").exit_code == 0
    assert (tmp_path / "out").read_bytes() == b"linked"
    assert run("compress", *CTW, "-f", "--rm", tmp_path / "link").exit_code == 0
    assert not (tmp_path / "link").exists() and (tmp_path / "target").exists()


def test_a_hard_linked_input_is_not_removed_without_f(tmp_path):
    (tmp_path / "one").write_bytes(b"two names")
    os.link(tmp_path / "one", tmp_path / "two")
    before = snapshot(tmp_path)
    result = run("compress", *CTW, "--rm", tmp_path / "one")
    assert_one_line_error(result, "one: has 1 other link, not compressed; use -f")
    assert snapshot(tmp_path) == before
    assert run("compress", *CTW, "-k", tmp_path / "one").exit_code == 0  # kept: no problem
    assert run("compress", *CTW, "-f", "--rm", tmp_path / "two").exit_code == 0
    assert not (tmp_path / "two").exists()


def test_test_checks_every_block_and_writes_nothing(packed):
    before = snapshot(packed.parent)
    result = run("decompress", "-t", packed)
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""
    result = run("decompress", "--test", "-v", packed)
    assert result.exit_code == 0 and "tested" in result.stderr
    assert snapshot(packed.parent) == before
    damaged = packed.parent / "damaged.nbt"
    damaged.write_bytes(packed.read_bytes()[:-1] + bytes([packed.read_bytes()[-1] ^ 1]))
    before = snapshot(packed.parent)
    result = run("decompress", "-t", packed, damaged)
    assert_one_line_error(result, "damaged.nbt: corrupted data (checksum mismatch)")
    assert result.stdout == ""
    assert snapshot(packed.parent) == before


# -- messages ----------------------------------------------------------------------------


def test_an_empty_stream_has_no_ratio(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    result = run("compress", *CTW, "-v", tmp_path / "empty")
    assert "ratio -" in result.stderr
    result = run("info", tmp_path / "empty.nbt")
    assert result.exit_code == 0
    rows = dict(line.split(None, 1) for line in result.stdout.splitlines()[1:] if "ratio" in line)
    assert rows == {"ratio": "-"}
    assert "0.0000" not in result.stdout


def test_the_decoder_gives_no_compressing_advice(tmp_path, monkeypatch):
    monkeypatch.setattr(nbtzip.api, "check_supported", lambda config: None)
    monkeypatch.setattr(nbtzip.container, "check_supported", lambda config: None)
    big = nbtzip.RNNConfig(hidden_size=100, gradient="rtrl")
    (tmp_path / "big.nbt").write_bytes(nbtzip.compress(b"", config=big))
    monkeypatch.undo()
    result = run("decompress", tmp_path / "big.nbt")
    assert_one_line_error(result, "rtrl")
    assert "use a level" not in result.stderr


# -- several streams, several cores ---------------------------------------------------------


def test_stdout_with_several_files_writes_their_streams_in_order(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(english_like(3000, seed=1))
    b.write_bytes(b"second file\n" * 50)
    result = run("compress", *RNN, "-c", a, b)
    assert result.exit_code == 0, result.stderr
    both = tmp_path / "both.nbt"
    both.write_bytes(result.stdout_bytes)
    assert run("decompress", "-c", both).stdout_bytes == a.read_bytes() + b.read_bytes()
    rows = run("info", both).stdout.splitlines()
    assert "  streams         2" in rows


def test_threads_cut_a_large_input_into_streams_and_decode_them(tmp_path, monkeypatch):
    monkeypatch.setattr(nbtzip.parallel, "MIN_SEGMENT", 20_000)
    monkeypatch.setattr(nbtzip.parallel, "available_cores", lambda: 4)
    data = english_like(60_000)
    src = tmp_path / "big"
    src.write_bytes(data)
    assert run("compress", *RNN, "-q", "-T", "3", src).exit_code == 0
    packed = tmp_path / "big.nbt"
    assert nbtzip.info(packed).streams == 3
    src.unlink()
    result = run("decompress", "-T", "2", packed)
    assert result.exit_code == 0, result.stderr
    assert src.read_bytes() == data
    assert run("decompress", "-t", "-T", "0", packed).exit_code == 0
