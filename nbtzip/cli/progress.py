"""A one-line progress display on stderr, and human-readable sizes."""

from __future__ import annotations

import shutil
import sys
import time

# Inputs smaller than this finish before a bar would be worth reading.
MIN_SIZE = 1 << 20


def human_size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


class ProgressBar:
    """progress(done, total) callback that redraws one stderr line ~8 times a second.

    Stays silent unless the stream is a terminal and the input is large
    (total > MIN_SIZE, or more than MIN_SIZE done when the total is unknown).
    """

    def __init__(self, label: str, stream=None, interval: float = 0.125):
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.interval = interval
        self.started = time.perf_counter()
        self._last = 0.0
        self._drawn = False
        try:
            self.enabled = self.stream.isatty()
        except (AttributeError, ValueError):
            self.enabled = False

    def __call__(self, done: int, total: int | None):
        if not self.enabled:
            return
        if (total if total is not None else done) <= MIN_SIZE:
            return
        now = time.perf_counter()
        if now - self._last < self.interval:
            return
        self._last = now
        speed = done / max(now - self.started, 1e-9)
        tail = f" {human_size(done)}  {human_size(speed)}/s"
        width = shutil.get_terminal_size((80, 24)).columns - 1
        if total:
            percent = min(done / total, 1.0)
            bar_width = max(width - len(self.label) - len(tail) - 9, 0)
            filled = int(bar_width * percent)
            bar = f" [{'#' * filled}{'.' * (bar_width - filled)}]" if bar_width >= 10 else ""
            line = f"{self.label} {percent * 100:3.0f}%{bar}{tail}"
        else:
            line = f"{self.label}{tail}"
        self.stream.write("\r" + line[:width].ljust(width))
        self.stream.flush()
        self._drawn = True

    def close(self):
        if self._drawn:
            width = shutil.get_terminal_size((80, 24)).columns - 1
            self.stream.write("\r" + " " * width + "\r")
            self.stream.flush()
            self._drawn = False
