#!/usr/bin/env python3
"""Speed and bits per character of each learner on one text, measured in one run.

    python3 scripts/bench_learners.py [--hidden 100] [--chars 100000] [--file PATH] [--json]

Rows: forward (prediction only, nothing learns), readout (theta frozen, phi by
Kalman), nbt (Algorithm 1: NoBackTrack + Euclidean SGD), kalman (Algorithm 2:
NoBackTrack + quasi-diagonal Kalman), t4 (exact last 4 steps, truncated, Kalman),
default (the --model rnn levels' learner, config.RNN_LEARNER: E4, the exact last
4 steps plus the NoBackTrack remainder at weight 0.05, Kalman) and rtrl (exact
gradient + Kalman, on a shorter slice, beside readout on that same slice).
Kernels are compiled before timing; each row is the best of --repeat rounds, and
the rounds interleave the learners so that a slow spell of a shared machine hits
them alike. Time is the process's CPU time (the kernels run on one thread), which
does not count the waits of a machine shared with other jobs.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from nbtzip.alphabet import Alphabet  # noqa: E402
from nbtzip.config import RNN_LEARNER, RNNConfig  # noqa: E402
from nbtzip.rnn import step as online  # noqa: E402


def default_file():
    root = os.path.dirname(HERE)
    for candidate in ("corpus/local/english.txt", "corpus/music.txt"):
        path = os.path.join(root, candidate)
        if os.path.exists(path):
            return path
    raise SystemExit("no default text: pass --file (or run scripts/make_corpus.py --local)")


def measure(learners, symbols, size, repeat):
    """Best time of `repeat` rounds per learner, the rounds interleaved: on a shared
    machine a slow spell then costs every learner a round, not one learner its figure."""
    for run, config in learners.values():
        run(symbols[:64], size, config)  # compile outside the timing
    best = {name: float("inf") for name in learners}
    bpc = {}
    for _ in range(repeat):
        for name, (run, config) in learners.items():
            start = time.process_time()
            losses = run(symbols, size, config)
            best[name] = min(best[name], time.process_time() - start)
            bpc[name] = float(np.mean(losses))
    return {
        name: {"bytes_per_s": len(symbols) / best[name], "bpc": bpc[name], "chars": len(symbols)}
        for name in learners
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--chars", type=int, default=100_000)
    parser.add_argument("--rtrl-chars", type=int, default=2_000)
    parser.add_argument("--file", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    path = args.file or default_file()
    with open(path, "rb") as fp:
        data = fp.read(args.chars)
    alphabet = Alphabet.of(data)
    symbols = alphabet.symbols(data)
    size = alphabet.size
    n = args.hidden

    def cfg(**kw):
        return RNNConfig(hidden_size=n, **kw)

    rows = measure(
        {
            "forward": (online.forward_losses, cfg()),
            "readout": (online.online_losses, cfg(gradient="none")),
            "nbt": (online.online_losses, cfg(step="sgd")),
            "kalman": (online.online_losses, cfg()),
            "t4": (online.online_losses, cfg(gradient="short", exact_steps=4, remainder=0.0)),
            "default": (online.online_losses, cfg(**RNN_LEARNER)),
        },
        symbols,
        size,
        args.repeat,
    )
    short = symbols[: args.rtrl_chars]
    rows.update(measure({"rtrl": (online.online_losses, cfg(gradient="rtrl"))}, short, size, 1))
    same_slice = {
        name: float(np.mean(online.online_losses(short, size, cfg(**kw))))
        for name, kw in (
            ("readout", {"gradient": "none"}),
            ("kalman", {}),
            ("default", RNN_LEARNER),
        )
    }
    if args.json:
        print(
            json.dumps(
                {k: {"bytes_per_s": v["bytes_per_s"], "bpc": v["bpc"]} for k, v in rows.items()}
            )
        )
        return
    print(f"file {os.path.basename(path)}, {len(symbols)} chars, alphabet {size}, hidden {n}")
    print(f"{'learner':10s} {'chars':>8s} {'bytes/s':>10s} {'us/byte':>8s} {'bpc':>7s}")
    for name, row in rows.items():
        us = 1e6 / row["bytes_per_s"]
        print(
            f"{name:10s} {row['chars']:8d} {row['bytes_per_s']:10.0f} {us:8.1f} {row['bpc']:7.3f}"
        )
    per_byte = {k: 1.0 / v["bytes_per_s"] for k, v in rows.items()}
    print(
        f"time per byte: kalman / forward = {per_byte['kalman'] / per_byte['forward']:.1f}x, "
        f"rtrl / kalman = {per_byte['rtrl'] / per_byte['kalman']:.1f}x, "
        f"default / kalman = {per_byte['default'] / per_byte['kalman']:.2f}x, "
        f"t4 / kalman = {per_byte['t4'] / per_byte['kalman']:.2f}x"
    )
    gain = {k: rows["readout"]["bpc"] - rows[k]["bpc"] for k in ("kalman", "t4", "default")}
    short_gain = {k: same_slice["readout"] - same_slice[k] for k in ("kalman", "default")}
    short_rtrl = same_slice["readout"] - rows["rtrl"]["bpc"]
    print(
        f"bpc gain over readout (theta frozen) on {len(symbols)} chars: "
        + ", ".join(f"{k} {v:+.3f}" for k, v in gain.items())
    )
    print(
        f"  on the first {len(short)} chars: kalman {short_gain['kalman']:+.3f}, "
        f"default {short_gain['default']:+.3f}, rtrl {short_rtrl:+.3f}"
    )
    print(f"kalman bpc below nbt bpc: {rows['kalman']['bpc'] < rows['nbt']['bpc']}")


if __name__ == "__main__":
    main()
