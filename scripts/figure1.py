#!/usr/bin/env python3
"""The paper's Figure 1: learning curves of RTRL, Euclidean and Kalman NoBackTrack, CTW and gzip.

    python3 scripts/figure1.py [--budget 75] [--hidden 100] [--file corpus/music.txt]
                               [--out scripts/figure1.png] [--json FILE] [--no-rtrl-kalman]
                               [--extra default t4]

As in the paper (section 4): a character RNN with `--hidden` units learns online
from a ~10^5 character file; after the file's end the signal starts again from
its beginning. Each RNN learner runs for the same time budget, so the slow
exact-gradient RTRL reads far fewer characters than NoBackTrack; the curves are
the average loss over the first t characters against t (log axis).

  RTRL                  exact dh/dtheta, Euclidean steps eta_t = 10 / (n sqrt t)
  RTRL + Kalman         exact dh/dtheta, quasi-diagonal Kalman (not in the paper)
  Euclidean NoBackTrack Algorithm 1: rank-one estimate, eta_t = 10 / (n sqrt t)
  Kalman NoBackTrack    Algorithm 2: rank-one estimate, quasi-diagonal Kalman
  --extra default       the --model rnn levels' learner (config.RNN_LEARNER): E4, the
                        exact last 4 steps plus the NoBackTrack remainder at c = 0.05,
                        Kalman (not in the paper; docs/LEARNERS.md)
  --extra t4            T4, the exact last 4 steps and nothing older, Kalman
  CTW                   nbtzip's bundled CTW, over as many characters as the
                        longest RNN run (at least two passes), ideal code lengths
  gzip -9               one number for the whole file (gzip is not online)

The budget is measured on the learning kernels only, after they are compiled,
in CPU time of this process by default (--clock cpu): on a machine shared with
other jobs this gives every method the same amount of computation, which is
what "the same wall-clock time" meant on the paper's dedicated machine.
Memory stays constant: losses are folded into running sums chunk by chunk and
only the curve's log-spaced points are kept.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from nbtzip.alphabet import Alphabet  # noqa: E402
from nbtzip.cli.bench import known_limit  # noqa: E402
from nbtzip.cli.report import PLOT_HINT  # noqa: E402
from nbtzip.config import RNN_LEARNER, CTWConfig, RNNConfig  # noqa: E402
from nbtzip.ctw.model import CTWModel  # noqa: E402
from nbtzip.rnn import step as online  # noqa: E402

# Curve points kept per decade of t (about 400 over 10^6.5 characters).
POINTS_PER_DECADE = 60
# A timed RNN call aims at this many seconds, so the budget is met closely
# without a Python call per character.
CHUNK_SECONDS = 0.5
MAX_CHUNK = 1 << 16
WARMUP_CHARS = 64

# name -> (legend label, RNNConfig fields besides hidden_size)
RNN_METHODS = {
    "rtrl": ("RTRL", {"gradient": "rtrl", "step": "sgd"}),
    "rtrl-kalman": ("RTRL + Kalman", {"gradient": "rtrl", "step": "kalman"}),
    "nbt-euclidean": ("Euclidean NoBackTrack", {"step": "sgd"}),
    "nbt-kalman": ("Kalman NoBackTrack", {}),
}
# Learners beside the paper's, run with --extra NAME (method name "NAME-kalman").
EXTRA_METHODS = {
    "default": ("E4 (c = 0.05) + Kalman, rnn default", dict(RNN_LEARNER)),
    "t4": ("T4 + Kalman", {"gradient": "short", "exact_steps": 4, "remainder": 0.0}),
}
for _name, _method in EXTRA_METHODS.items():
    RNN_METHODS[f"{_name}-kalman"] = _method
PAPER_METHODS = ("rtrl", "rtrl-kalman", "nbt-euclidean", "nbt-kalman")
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def curve_grid(points_per_decade=POINTS_PER_DECADE, decades=10):
    """The t values (1-based, distinct integers) at which curves are sampled."""
    exponents = np.arange(points_per_decade * decades + 1) / points_per_decade
    return np.unique(np.round(10.0**exponents).astype(np.int64))


class Curve:
    """Average loss over the first t characters at the grid's t, built chunk by chunk."""

    def __init__(self, grid):
        self.grid = grid
        self.count = 0
        self.total = 0.0
        self.t = []
        self.average = []
        self.pass_totals = []  # (count, total) at the end of each pass over the file

    def add(self, losses, pass_ended=False):
        if len(losses) == 0:
            return
        running = self.total + np.cumsum(losses)
        lo, hi = self.count, self.count + len(losses)
        first, last = np.searchsorted(self.grid, [lo, hi], "right")
        for t in self.grid[first:last]:
            self.t.append(int(t))
            self.average.append(float(running[t - lo - 1] / t))
        self.count, self.total = hi, float(running[-1])
        if pass_ended:
            self.pass_totals.append((self.count, self.total))

    def points(self):
        """(t, average) including the final t."""
        t, average = list(self.t), list(self.average)
        if self.count and (not t or t[-1] != self.count):
            t.append(self.count)
            average.append(self.total / self.count)
        return t, average

    def at(self, t):
        """The average over the first t characters, if t is a grid point that was reached."""
        try:
            return self.average[self.t.index(t)]
        except ValueError:
            return None

    def last_pass(self):
        """Bits per character over the last complete pass over the file, or None."""
        if not self.pass_totals:
            return None
        end, total = self.pass_totals[-1]
        start, before = self.pass_totals[-2] if len(self.pass_totals) > 1 else (0, 0.0)
        return (total - before) / (end - start)


class Cycle:
    """The file as an endless signal: after its end it starts again from the beginning."""

    def __init__(self, symbols):
        self.symbols = symbols
        self.pos = 0

    def take(self, count):
        """Up to `count` next symbols, never across the file's end; and whether a pass ended."""
        end = min(self.pos + max(1, count), len(self.symbols))
        piece = self.symbols[self.pos : end]
        self.pos = end % len(self.symbols)
        return piece, self.pos == 0


def run_rnn(symbols, size, config, budget, grid, clock="cpu", max_chars=None):
    """Learn online over the cycled symbols for `budget` seconds of kernel time.

    Returns (curve, seconds). max_chars (for tests) stops earlier at that count.
    """
    now = CLOCKS[clock]
    online.online_losses(symbols[:WARMUP_CHARS], size, config)  # compile outside the timing
    net = online.new_net(config, size)
    stream, curve = Cycle(symbols), Curve(grid)
    elapsed, chunk = 0.0, 16
    while elapsed < budget and (max_chars is None or curve.count < max_chars):
        if max_chars is not None:
            chunk = min(chunk, max_chars - curve.count)
        piece, pass_ended = stream.take(chunk)
        start = now()
        losses = online.online_losses(piece, size, config, net=net)
        spent = now() - start
        elapsed += spent
        curve.add(losses, pass_ended)
        rate = len(piece) / max(spent, 1e-6)
        chunk = int(min(MAX_CHUNK, max(1, rate * min(CHUNK_SECONDS, budget - elapsed))))
    return curve, elapsed


def run_ctw(data, config, chars, grid, clock="cpu"):
    """CTW's ideal code lengths over `chars` characters of the cycled file: (curve, seconds)."""
    now = CLOCKS[clock]
    raw = np.frombuffer(data, dtype=np.uint8)
    present = Alphabet.of(data).present
    CTWModel(config, 8, present).code_lengths(raw[:WARMUP_CHARS])  # compile
    model = CTWModel(config, 8, present)
    stream, curve = Cycle(raw), Curve(grid)
    elapsed = 0.0
    while curve.count < chars:
        piece, pass_ended = stream.take(min(MAX_CHUNK, chars - curve.count))
        start = now()
        bits = model.code_lengths(piece)
        elapsed += now() - start
        curve.add(bits, pass_ended)
    return curve, elapsed


def gzip_bpc(data):
    return 8.0 * len(gzip.compress(data, compresslevel=9, mtime=0)) / len(data)


def row_of(name, label, curve, seconds, file_chars):
    return {
        "method": name,
        "label": label,
        "chars": curve.count,
        "passes": curve.count / file_chars,
        "seconds": seconds,
        "chars_per_s": curve.count / seconds if seconds > 0 else None,
        "bpc_t1e4": curve.at(10**4),
        "bpc_t1e5": curve.at(10**5),
        "bpc_final": curve.total / curve.count if curve.count else None,
        "bpc_last_pass": curve.last_pass(),
    }


def figure1(data, hidden, budget, methods, clock="cpu", ctw_config=None, log=print):
    """Rows of the table and curves by method name, over `data` cycled."""
    alphabet = Alphabet.of(data)
    symbols = alphabet.symbols(data)
    grid = curve_grid()
    rows, curves = [], {}
    for name in methods:
        label, fields = RNN_METHODS[name]
        log(f"{label}: learning for {budget:g} s ...")
        curve, seconds = run_rnn(
            symbols, alphabet.size, RNNConfig(hidden_size=hidden, **fields), budget, grid, clock
        )
        rows.append(row_of(name, label, curve, seconds, len(data)))
        curves[name] = curve.points()
    chars = max([r["chars"] for r in rows] + [2 * len(data)])
    log(f"CTW: coding {chars} characters ...")
    curve, seconds = run_ctw(data, ctw_config or CTWConfig(), chars, grid, clock)
    rows.append(row_of("ctw", "CTW", curve, seconds, len(data)))
    curves["ctw"] = curve.points()
    bpc = gzip_bpc(data)
    rows.append(
        {"method": "gzip", "label": "gzip -9 (whole file, not online)", "chars": len(data)}
        | {"bpc_final": bpc, "bpc_last_pass": bpc}
    )
    return rows, curves


def speed_ratios(rows):
    """How many times faster each NoBackTrack learner is than each RTRL learner, per character."""
    speed = {r["method"]: r.get("chars_per_s") for r in rows}
    return {
        f"{fast}/{slow}": speed[fast] / speed[slow]
        for fast in ("nbt-euclidean", "nbt-kalman")
        for slow in ("rtrl", "rtrl-kalman")
        if speed.get(fast) and speed.get(slow)
    }


def _fmt(value, spec):
    if value is None:
        return "-".rjust(int(spec.split(".")[0] or 0))
    return format(value, spec)


def print_table(rows, ratios, header):
    print(header)
    print(
        f"{'method':34s} {'chars':>9s} {'passes':>7s} {'seconds':>8s} {'chars/s':>8s} "
        f"{'t=1e4':>6s} {'t=1e5':>6s} {'final':>6s} {'last pass':>9s}"
    )
    for r in rows:
        print(
            f"{r['label']:34s} {r['chars']:9d} {_fmt(r.get('passes'), '7.2f')} "
            f"{_fmt(r.get('seconds'), '8.1f')} {_fmt(r.get('chars_per_s'), '8.0f')} "
            f"{_fmt(r.get('bpc_t1e4'), '6.3f')} {_fmt(r.get('bpc_t1e5'), '6.3f')} "
            f"{_fmt(r.get('bpc_final'), '6.3f')} {_fmt(r.get('bpc_last_pass'), '9.3f')}"
        )
    print(
        "bpc columns: average over the first t characters (t=1e4, t=1e5, final = all "
        "characters read) and over the last complete pass over the file."
    )
    for key, value in ratios.items():
        print(f"speed ratio {key} (characters per second): {value:.0f}x")


def plot(rows, curves, limit, title, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    styles = {
        "rtrl": "tab:red",
        "rtrl-kalman": "tab:orange",
        "nbt-euclidean": "tab:blue",
        "nbt-kalman": "tab:green",
        "default-kalman": "tab:brown",
        "t4-kalman": "tab:olive",
        "ctw": "tab:purple",
    }
    for r in rows:
        if r["method"] == "gzip":
            ax.axhline(r["bpc_final"], color="tab:gray", linestyle=":", label=r["label"])
            continue
        t, average = curves[r["method"]]
        ax.plot(t, average, color=styles[r["method"]], label=f"{r['label']} ({r['chars']:,} chars)")
    if limit is not None:
        ax.axhline(limit, color="black", linestyle="--", label=f"entropy rate ({limit:.3f})")
    ax.set_xscale("log")
    ax.set_ylim(0, 5)
    ax.set_xlabel("characters read t")
    ax.set_ylabel("average bits per character over the first t")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=75.0, help="seconds per RNN learner")
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--file", default=os.path.join(ROOT, "corpus", "music.txt"))
    parser.add_argument("--out", default=os.path.join(HERE, "figure1.png"), help="'' = no plot")
    parser.add_argument("--json", metavar="FILE", help="also write the table as JSON ('-': stdout)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu")
    parser.add_argument(
        "--no-rtrl-kalman", action="store_true", help="skip RTRL + Kalman (not in the paper)"
    )
    parser.add_argument(
        "--extra",
        nargs="*",
        choices=sorted(EXTRA_METHODS),
        default=[],
        help="also these learners (not in the paper): default = the rnn levels' E4, t4 = T4",
    )
    args = parser.parse_args(argv)

    with open(args.file, "rb") as fp:
        data = fp.read()
    if not data:
        raise SystemExit("figure1: the file is empty")
    methods = [m for m in PAPER_METHODS if not (args.no_rtrl_kalman and m == "rtrl-kalman")]
    methods += [f"{name}-kalman" for name in args.extra]
    to_stdout = args.json == "-"
    log = (lambda msg: print(msg, file=sys.stderr)) if to_stdout else print
    rows, curves = figure1(data, args.hidden, args.budget, methods, args.clock, log=log)
    ratios = speed_ratios(rows)
    limit = known_limit(args.file)
    name = os.path.basename(args.file)
    alphabet = Alphabet.of(data).size
    header = (
        f"{name}: {len(data)} chars, alphabet {alphabet}, hidden {args.hidden}, "
        f"{args.budget:g} s of {args.clock} time per RNN learner, entropy rate "
        f"{_fmt(limit, '.4f')} bpc"
    )
    if args.json:
        info = {"file": name, "chars": len(data), "alphabet": alphabet, "hidden": args.hidden}
        info |= {"budget": args.budget, "clock": args.clock, "entropy_rate": limit}
        text = json.dumps(info | {"rows": rows, "speed_ratios": ratios}, indent=1)
        if to_stdout:
            print(text)
        else:
            with open(args.json, "w") as fp:
                fp.write(text + "\n")
    if not to_stdout:
        print_table(rows, ratios, header)
    if args.out:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print(f"figure1: no plot without matplotlib: {PLOT_HINT}", file=sys.stderr)
            return
        title = f"{name}, RNN with {args.hidden} units, {args.budget:g} s per learner"
        plot(rows, curves, limit, title, args.out)
        print(f"figure: {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
