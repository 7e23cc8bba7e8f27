"""The nbtzip command: round trips, gzip-like habits, and one-line errors that leave no trace."""

import hashlib
import io
import os
import pty
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import english_like

import nbtzip
from nbtzip import cli, codecs, kernelcache
from nbtzip.config import LEVELS
from nbtzip.progress import ProgressBar

ROOT = Path(__file__).resolve().parent.parent
RNN = ["--hidden", "8"]
CTW = ["--model", "ctw", "--depth", "3"]


@pytest.fixture(scope="module", autouse=True)
def compiled_kernels():
    """Compile both directions of both models first, so that the one-time
    "compiling kernels" note does not land in the stderr these tests check."""
    for config in (nbtzip.make_config(hidden_size=8), nbtzip.CTWConfig(depth=3)):
        nbtzip.decompress(nbtzip.compress(b"warm up", config=config))


def run(*args, input=None):
    result = CliRunner().invoke(cli.main, [str(a) for a in args], input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def snapshot(directory):
    """Every file in directory, with a digest and mtime: proves nothing else changed."""
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
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
    assert result.exit_code == 0 and result.stderr == ""
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
    assert run("compress", *flags, "--seed", "12", src).exit_code == 0
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

    monkeypatch.setattr(codecs, "make_codec", refuse)
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


def test_compile_note_is_printed_once_and_only_when_kernels_are_missing(tmp_path, monkeypatch):
    for name in ("a", "b"):
        (tmp_path / name).write_bytes(b"abc")
    monkeypatch.setattr(kernelcache, "kernels_cached", lambda module, env=None: False)
    result = run("compress", *CTW, tmp_path / "a", tmp_path / "b")
    assert result.stderr.count("compiling kernels, first run only") == 1
    assert run("compress", "-q", "-f", *CTW, tmp_path / "a").stderr == ""
    monkeypatch.setattr(kernelcache, "kernels_cached", lambda module, env=None: True)
    assert run("compress", "-f", *CTW, tmp_path / "a").stderr == ""


def test_help_states_the_defaults():
    text = run("compress", "--help").stdout
    assert "Keep input files (the default)" in text
    assert "-1 .. -9" in text and "[default: 6]" in text


# -- errors: one line on stderr, exit 1, no partial output, input untouched ----


@pytest.fixture
def packed(tmp_path):
    src = tmp_path / "orig.txt"
    src.write_bytes(english_like(2 * 65536 + 500, seed=2))
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
    src.write_bytes(english_like(3 * 65536))
    before = snapshot(tmp_path)
    real = codecs.make_codec

    class Interrupted:
        def __init__(self, config, alphabet):
            self.inner = real(config, alphabet)
            self.calls = 0

        def encode_block(self, data):
            self.calls += 1
            if self.calls == 2:
                raise KeyboardInterrupt
            return self.inner.encode_block(data)

    monkeypatch.setattr(codecs, "make_codec", Interrupted)
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
        ["compress", "-1", "-9", "a"],
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
    assert "Traceback" not in result.stderr
    assert snapshot(tmp_path) == before


def test_rtrl_refusal_names_the_limit():
    result = run("compress", "--algorithm", "rtrl", "-")
    assert "rtrl" in result.stderr and str(nbtzip.config.RTRL_MAX_HIDDEN) in result.stderr


def test_progress_bar_draws_on_a_terminal_only():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    bar = ProgressBar("big.txt", stream=screen, interval=0)
    bar(2 << 20, 4 << 20)
    assert "50%" in screen.getvalue() and "big.txt" in screen.getvalue()
    bar.close()
    assert screen.getvalue().endswith("\r")
    small = Terminal()
    ProgressBar("small", stream=small, interval=0)(1000, 2000)
    assert small.getvalue() == ""
    pipe = io.StringIO()
    ProgressBar("big", stream=pipe, interval=0)(2 << 20, 4 << 20)
    assert pipe.getvalue() == ""


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_file_removes_the_partial_output(tmp_path, sig, status):
    src = tmp_path / "long.txt"
    src.write_bytes(english_like(4 * 65536, seed=8))
    before = snapshot(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-m", "nbtzip", "compress", "--hidden", "32", str(src)],
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    # Wait until the temporary output exists, i.e. coding has started.
    deadline = time.monotonic() + 120
    while not any(p.name.endswith(".tmp") for p in tmp_path.iterdir()):
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    child.send_signal(sig)
    _, err = child.communicate(timeout=120)
    assert child.returncode == status
    assert len(err.decode().splitlines()) == 1
    assert snapshot(tmp_path) == before


def test_a_reader_that_goes_away_ends_the_command_with_one_line(tmp_path):
    src = tmp_path / "t.txt"
    src.write_bytes(english_like(5 * 65536, seed=6))
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
    assert child.wait(timeout=120) == 1
    assert err.splitlines() == ["nbtzip: broken pipe"]
