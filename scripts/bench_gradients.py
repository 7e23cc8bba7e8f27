#!/usr/bin/env python3
"""Bits per character and speed of every gradient estimate for theta, on one text, one run.

    python3 scripts/bench_gradients.py [--hidden 32] [--chars 30000] [--file PATH] [--json]

Every estimate learns with quasi-diagonal Kalman steps (Algorithm 2) and its own
lambda_theta default (config.py, chosen by measurement: docs/LEARNERS.md):

    frozen    theta fixed, only the readout learns (the ablation every gain is measured from)
    rtrl      the exact gradient (eq. (4)), the reference
    nbt       the paper's NoBackTrack, rank one
    e1, e2    exact last 1 / 2 steps plus the unbiased NoBackTrack remainder (E_K)
    eK@c      exact last K steps plus the remainder weighted by c (biased, less
              noisy); any K in 1..16 and c in [0, 1] is accepted by --only
    t1 .. t8  exact last K steps, no remainder (T_K, truncated backpropagation)
    default   the learner of the --model rnn levels (config.RNN_LEARNER, what
              preset() and `nbtzip --model rnn` use): E4 with the remainder at
              c = 0.05 and lambda_theta 100, the NoBackTrack-Kalman remainder kept

--only also takes NAME:LAMBDA, that estimate with its own lambda_theta (e.g.
e4@0.25:100), so a lambda grid runs in one process.

Share = (frozen - x) / (frozen - rtrl), the part of the exact gradient's gain
over a frozen theta that x recovers; time is per byte, relative to nbt.
Kernels compile before timing. Time is the process's CPU time (the kernels run
on one thread): on this 2-core machine shared by several jobs, wall time put
two runs of the same learner 0.69x apart, CPU time does not count the waits.
With --repeat R every estimate but rtrl runs R interleaved rounds and keeps its
best time. The bits do not depend on the round.
"""

import argparse
import json
import os
import re
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from nbtzip.alphabet import Alphabet  # noqa: E402
from nbtzip.config import RNN_LEARNER, RNNConfig  # noqa: E402
from nbtzip.rnn import step as online  # noqa: E402


def _short(k, c):
    return {"gradient": "short", "exact_steps": k, "remainder": c}


ESTIMATES = {
    "frozen": {"gradient": "none"},
    "rtrl": {"gradient": "rtrl"},
    "nbt": {"gradient": "nbt"},
    "e1": _short(1, 1.0),
    "e2": _short(2, 1.0),
    "e2@0.5": _short(2, 0.5),
    "e2@0.25": _short(2, 0.25),
    "e3@0.1": _short(3, 0.1),
    "e4@0.05": _short(4, 0.05),
    "e4@0.1": _short(4, 0.1),
    "e4@0.25": _short(4, 0.25),
    "t1": _short(1, 0.0),
    "t2": _short(2, 0.0),
    "t3": _short(3, 0.0),
    "t4": _short(4, 0.0),
    "t8": _short(8, 0.0),
    "default": dict(RNN_LEARNER),
}
_NAMED = re.compile(r"^([et])(\d+)(?:@([0-9.]+))?(?::([0-9.]+))?$")


def estimate(name):
    """RNNConfig fields of an estimate named as in ESTIMATES, eK@c or tK, optionally :LAMBDA."""
    base, _, lam = name.partition(":")
    if base in ESTIMATES:
        options = dict(ESTIMATES[base])
    else:
        match = _NAMED.match(base)
        if not match:
            raise argparse.ArgumentTypeError(f"unknown estimate {name!r}")
        kind, k, c = match.group(1), int(match.group(2)), match.group(3)
        if kind == "t" and c is not None:
            raise argparse.ArgumentTypeError(f"t{k} has no remainder: {name!r}")
        options = _short(k, 0.0 if kind == "t" else float(c or 1.0))
    if lam:
        options["lambda_theta"] = float(lam)
    return options


def _name(text):
    estimate(text)  # reject it now if it does not parse
    return text


def default_file():
    root = os.path.dirname(HERE)
    for candidate in ("corpus/local/english.txt", "corpus/music.txt"):
        path = os.path.join(root, candidate)
        if os.path.exists(path):
            return path
    raise SystemExit("no default text: pass --file")


def run(names, symbols, size, hidden, seed, lambda_theta, repeat):
    configs = {}
    for name in names:
        options = estimate(name)
        if lambda_theta is not None and options.get("gradient") != "none":
            options["lambda_theta"] = lambda_theta
        configs[name] = RNNConfig(hidden_size=hidden, seed=seed, **options)
        online.online_losses(symbols[:64], size, configs[name])  # compile outside the timing
    best = {name: float("inf") for name in names}
    bpc = {}
    for round_ in range(repeat):
        for name in names:
            if name == "rtrl" and round_ > 0:
                continue  # a hundred times slower; its one time is plenty
            start = time.process_time()
            losses = online.online_losses(symbols, size, configs[name])
            best[name] = min(best[name], time.process_time() - start)
            bpc[name] = float(np.mean(losses))
    rows = {}
    for name in names:
        row = {"bpc": bpc[name], "bytes_per_s": len(symbols) / best[name]}
        if "frozen" in bpc and "rtrl" in bpc and bpc["frozen"] != bpc["rtrl"]:
            row["share"] = (bpc["frozen"] - bpc[name]) / (bpc["frozen"] - bpc["rtrl"])
        if "nbt" in best:
            row["time_vs_nbt"] = best[name] / best["nbt"]
        row["lambda_theta"] = None if name == "frozen" else configs[name].lambda_theta
        rows[name] = row
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--chars", type=int, default=30_000)
    parser.add_argument("--file", default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--only", nargs="+", type=_name, default=None, help="these estimates only (see above)"
    )
    parser.add_argument(
        "--lambda-theta", type=float, default=None, help="one Kalman prior for every estimate"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    path = args.file or default_file()
    with open(path, "rb") as fp:
        data = fp.read(args.chars)
    alphabet = Alphabet.of(data)
    symbols = alphabet.symbols(data)
    names = args.only or list(ESTIMATES)
    rows = run(
        names, symbols, alphabet.size, args.hidden, args.seed, args.lambda_theta, args.repeat
    )
    if args.json:
        print(json.dumps(rows))
        return
    print(
        f"file {os.path.basename(path)}, {len(symbols)} chars, alphabet {alphabet.size}, "
        f"hidden {args.hidden}, seed {args.seed}"
    )
    print(
        f"{'estimate':14s} {'lambda':>7s} {'bpc':>7s} {'share':>7s} {'bytes/s':>9s} {'x nbt':>6s}"
    )
    for name, row in rows.items():
        lam = "-" if row["lambda_theta"] is None else f"{row['lambda_theta']:g}"
        share = f"{100 * row['share']:6.0f}%" if "share" in row else "      -"
        ratio = f"{row['time_vs_nbt']:6.2f}" if "time_vs_nbt" in row else "     -"
        print(f"{name:14s} {lam:>7s} {row['bpc']:7.3f} {share} {row['bytes_per_s']:9.0f} {ratio}")


if __name__ == "__main__":
    main()
