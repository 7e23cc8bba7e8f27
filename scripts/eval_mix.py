"""bpc (ideal code length) of the mixing model on the files given, beside CTW.

PYTHONPATH=. python3 scripts/eval_mix.py FILE... [--level N] [--set field=value ...]
"""

import argparse
import time

from nbtzip import ctw
from nbtzip.config import CTWConfig, mix_preset
from nbtzip.mix.measure import code_lengths


def parse_value(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    raise SystemExit(f"not a number: {text}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--level", type=int, default=None)
    ap.add_argument("--set", nargs="*", default=[])
    ap.add_argument("--ctw", action="store_true", help="also run the bundled CTW")
    args = ap.parse_args()
    overrides = {}
    for item in args.set:
        key, value = item.split("=")
        overrides[key] = parse_value(value)
    config = mix_preset(args.level, **overrides)
    total_bits = total_bytes = 0
    for path in args.files:
        data = open(path, "rb").read()
        t0 = time.perf_counter()
        bits = code_lengths(data, config).sum()
        secs = time.perf_counter() - t0
        total_bits += bits
        total_bytes += len(data)
        line = f"{path.split('/')[-1]:14s} {len(data):8d} {bits / len(data):.4f} bpc"
        line += f" {1e6 * secs / len(data):6.1f} us/B"
        if args.ctw:
            t0 = time.perf_counter()
            cbits = ctw.code_lengths(data, CTWConfig()).sum()
            csecs = time.perf_counter() - t0
            line += f"   ctw {cbits / len(data):.4f} {1e6 * csecs / len(data):5.1f} us/B"
        print(line, flush=True)
    print(f"{'total':14s} {total_bytes:8d} {total_bits / total_bytes:.4f} bpc")


if __name__ == "__main__":
    main()
