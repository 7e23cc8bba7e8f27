"""What a terminal sees of long work: a progress line (bytes, rate, time left, and
the percentage of the original size)."""

import io

import pytest
from click.testing import CliRunner

import nbtzip
from nbtzip import parallel
from nbtzip.cli import jobs
from nbtzip.cli import main as cli
from nbtzip.cli.progress import DELAY, ProgressBar, human_size
from nbtzip.config import CTWConfig
from nbtzip.sample import english_like


class Terminal(io.StringIO):
    def isatty(self):
        return True


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _last_line(screen):
    return screen.getvalue().split("\r")[-1].strip()


# -- the line ------------------------------------------------------------------------


def test_nothing_shows_before_the_delay_then_bytes_rate_percentage_and_time_left():
    clock, screen = Clock(), Terminal()
    bar = ProgressBar("big.txt", stream=screen, interval=0, clock=clock)
    clock.now += 0.5
    bar(65_536, 655_360)  # the first block, after starting up
    clock.now += 1.0
    bar(131_072, 655_360)
    assert screen.getvalue() == ""  # 1.5 s in: short work shows nothing
    clock.now += 1.0
    bar(196_608, 655_360)  # 2.5 s in: 131,072 bytes in the 2 s since the first block
    line = _last_line(screen)
    assert line.startswith("big.txt  30%")
    assert "196.6 kB" in line and "65.5 kB/s" in line
    assert line.endswith("ETA 0:07")  # 458,752 bytes left at 65,536 a second
    bar.close()
    assert screen.getvalue().endswith("\r") and _last_line(screen) == ""


def test_an_unknown_total_shows_bytes_and_rate_only():
    clock, screen = Clock(), Terminal()
    bar = ProgressBar("(stdin)", stream=screen, interval=0, clock=clock)
    bar(1000, None)
    clock.now += DELAY + 2
    bar(9000, None)
    line = _last_line(screen)
    assert line == f"(stdin) 9.0 kB  {human_size(2000)}/s"
    assert "%" not in line and "ETA" not in line


def test_the_line_is_redrawn_at_most_every_interval_and_never_off_a_terminal():
    clock, screen = Clock(), Terminal()
    bar = ProgressBar("f", stream=screen, interval=0.5, clock=clock)
    bar(1, 100)
    clock.now += DELAY
    bar(10, 100)
    drawn = screen.getvalue()
    clock.now += 0.1
    bar(20, 100)
    assert screen.getvalue() == drawn
    clock.now += 0.5
    bar(30, 100)
    assert " 30%" in _last_line(screen)
    pipe, clock = io.StringIO(), Clock()
    bar = ProgressBar("f", stream=pipe, interval=0, clock=clock)
    bar(1, 100)
    clock.now += 60
    bar(50, 100)
    assert pipe.getvalue() == ""


def test_a_long_name_gives_way_to_the_figures(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    clock, screen = Clock(), Terminal()
    name = "/very/deep/" * 20 + "file.txt"
    bar = ProgressBar(name, stream=screen, interval=0, clock=clock)
    bar(1000, 10_000)
    clock.now += DELAY
    bar(2000, 10_000)
    line = _last_line(screen)
    assert len(line) <= 59 and line.startswith("...") and "file.txt  20%" in line
    assert line.endswith("ETA 0:16")


# -- what it counts --------------------------------------------------------------------


@pytest.mark.parametrize("threads", [1, 2])
def test_decompression_counts_original_bytes_against_the_original_size(
    tmp_path, monkeypatch, threads
):
    monkeypatch.setattr(parallel, "MIN_SEGMENT", 70_000)
    monkeypatch.setattr(parallel, "available_cores", lambda: 4)
    data = english_like(200_000)
    src, packed = tmp_path / "in", tmp_path / "in.nbt"
    src.write_bytes(data)
    config = CTWConfig(depth=3, table_bits=16)
    nbtzip.compress_file(src, packed, config=config, threads=threads)
    calls = []
    out = io.BytesIO()
    nbtzip.decompress_file(packed, out, threads=threads, progress=lambda *a: calls.append(a))
    assert out.getvalue() == data
    assert {total for _, total in calls} == {len(data)}  # not the compressed size
    assert calls[-1][0] == len(data)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    calls.clear()
    with open(packed, "rb") as fp:
        piped = io.BufferedReader(_Unseekable(fp))
        nbtzip.decompress_file(piped, io.BytesIO(), progress=lambda *a: calls.append(a))
    assert calls[-1] == (len(data), None)  # a pipe: the size is not known ahead


class _Unseekable(io.RawIOBase):
    def __init__(self, fp):
        self._fp = fp

    def readable(self):
        return True

    def readinto(self, b):
        return self._fp.readinto(b)


def _watch_progress(monkeypatch):
    """The command's progress lines, drawn on a pretend terminal by a clock that
    moves three seconds at every block."""
    screens = []

    class Bar(ProgressBar):
        def __init__(self, label):
            clock = Clock()
            super().__init__(label, stream=Terminal(), interval=0, clock=clock)
            real = self.clock
            self.clock = lambda: (setattr(clock, "now", clock.now + 3), real())[1]
            screens.append(self.stream)

    monkeypatch.setattr(jobs, "ProgressBar", Bar)
    return screens


def test_the_command_shows_progress_of_the_original_on_a_terminal(tmp_path, monkeypatch):
    screens = _watch_progress(monkeypatch)
    data = english_like(150_000)
    (tmp_path / "t").write_bytes(data)
    result = CliRunner().invoke(cli.main, ["compress", "--model", "ctw", str(tmp_path / "t")])
    assert result.exit_code == 0
    packed = tmp_path / "t.nbt"
    result = CliRunner().invoke(cli.main, ["decompress", "-c", str(packed)])
    assert result.exit_code == 0 and result.stdout_bytes == data
    compressing, decompressing = (s.getvalue().split("\r") for s in screens)
    for lines in (compressing, decompressing):
        drawn = [line.strip() for line in lines if line.strip()]
        assert drawn and drawn[-1].split()[1] == "100%"
        assert human_size(len(data)) in drawn[-1] and "/s" in drawn[-1]
        assert any("ETA" in line and "%" in line for line in drawn)
    assert human_size(packed.stat().st_size) not in " ".join(decompressing)
