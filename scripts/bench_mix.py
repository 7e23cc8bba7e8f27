"""Per-component cost and gain of the mixing model on one file.

    PYTHONPATH=. python3 scripts/bench_mix.py FILE [--level N] [--repeat 3] [--limit BYTES]

Each component is switched off in turn (RNN: hidden_size 0; ME: direct
connections of order >= 1 and the word tables; the word bigram alone; CTW;
match; APM) and the
difference to the full model is its cost in us/byte and its gain in bpc.
"floor" switches everything off: an order-0 softmax, the mixer and the seam.
Runs are interleaved and each time is the best of --repeat (the machine is shared).
"""

import argparse
import dataclasses
import time

from nbtzip.config import DEFAULT_LEVEL, MixConfig, mix_preset
from nbtzip.mix.measure import code_lengths

OFF = {
    "RNN": dict(hidden_size=0),
    "bigram": dict(me_word=1),  # the word-bigram table only (me_word 2 -> 1)
    "ME": dict(me_order=0, me_word=0),  # after "bigram": the floor has no word table
    "CTW": dict(ctw_depth=0),
    "match": dict(match_min_len=0),
    "APM": dict(apm_weight=0.0),
}


def variants(base: MixConfig):
    out = {"full": base}
    for name, change in OFF.items():
        out["-" + name] = dataclasses.replace(base, **change)
    floor = {}
    for change in OFF.values():
        floor.update(change)
    out["floor"] = dataclasses.replace(base, **floor)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--level", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    data = open(args.file, "rb").read()
    if args.limit:
        data = data[: args.limit]
    base = mix_preset(args.level or DEFAULT_LEVEL)
    runs = variants(base)
    code_lengths(data[:2000], base)  # compile
    best = {k: float("inf") for k in runs}
    bpc = {}
    for _ in range(args.repeat):
        for name, cfg in runs.items():
            t0 = time.perf_counter()
            bits = code_lengths(data, cfg)
            best[name] = min(best[name], time.perf_counter() - t0)
            bpc[name] = bits.sum() / len(data)
    us = {k: 1e6 * v / len(data) for k, v in best.items()}
    print(f"{args.file}: {len(data)} bytes, level {args.level or 'default'}")
    print(f"{'run':8s} {'bpc':>7s} {'us/B':>7s}   component: cost us/B, gain bpc")
    for name in runs:
        line = f"{name:8s} {bpc[name]:7.4f} {us[name]:7.2f}"
        if name.startswith("-"):
            line += f"   {name[1:]}: {us['full'] - us[name]:6.2f}, {bpc[name] - bpc['full']:+.4f}"
        print(line)
    print(f"mixer + APM + seam floor: {us['floor']:.2f} us/B")


if __name__ == "__main__":
    main()
