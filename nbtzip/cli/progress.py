"""A one-line progress display on stderr, and human-readable sizes."""

from __future__ import annotations

import shutil
import sys
import time

# Work that ends sooner than this needs no display: it would only flicker.
DELAY = 2.0


def human_size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def clock_time(seconds: float) -> str:
    """1:05 for 65 s, 1:01:05 past an hour."""
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _fit(label: str, room: int) -> str:
    """label within room characters, its end kept (a path's file name matters most)."""
    if len(label) <= room:
        return label
    return "..." + label[len(label) - room + 3 :] if room > 3 else ""


class ProgressBar:
    """progress(done, total) callback that redraws one stderr line ~8 times a second.

    done and total are bytes of the original (the input when compressing, the
    output when decompressing; total None when unknown). The line shows the
    percentage and a bar when the total is known, the bytes done, the rate and
    the time left. It appears only on a terminal, and only once the work has
    run for DELAY seconds. The rate counts from the first call: the time before
    it went into starting up (compiling kernels, reading a header), not coding.
    clock: seconds as a float (tests drive it by hand).
    """

    def __init__(self, label: str, stream=None, interval: float = 0.125, clock=None):
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.interval = interval
        self.clock = time.monotonic if clock is None else clock
        self.started = self.clock()
        self._first = None  # (time, done) of the first call
        self._last = None
        self._drawn = False
        try:
            self.enabled = self.stream.isatty()
        except (AttributeError, ValueError):
            self.enabled = False

    def __call__(self, done: int, total: int | None):
        if not self.enabled:
            return
        now = self.clock()
        if self._first is None:
            self._first = (now, done)
        if now - self.started < DELAY:
            return
        if self._last is not None and now - self._last < self.interval:
            return
        self._last = now
        width = shutil.get_terminal_size((80, 24)).columns - 1
        self.stream.write("\r" + self.line(done, total, now, width)[:width].ljust(width))
        self.stream.flush()
        self._drawn = True

    def line(self, done, total, now, width):
        since, done_then = self._first
        rate = (done - done_then) / (now - since) if now > since and done > done_then else None
        tail = f" {human_size(done)}"
        if rate is not None:
            tail += f"  {human_size(rate)}/s"
            if total and total > done:
                tail += f"  ETA {clock_time((total - done) / rate)}"
        percent = f" {min(done / total, 1.0) * 100:3.0f}%" if total else ""
        label = _fit(self.label, width - len(percent) - len(tail))
        bar_width = width - len(label) - len(percent) - len(tail) - 3
        if not total or bar_width < 10:
            return f"{label}{percent}{tail}"
        filled = int(bar_width * min(done / total, 1.0))
        return f"{label}{percent} [{'#' * filled}{'.' * (bar_width - filled)}]{tail}"

    def close(self):
        if self._drawn:
            width = shutil.get_terminal_size((80, 24)).columns - 1
            self.stream.write("\r" + " " * width + "\r")
            self.stream.flush()
            self._drawn = False
