"""Bits per character and speed of the bundled CTW compressor beside gzip, bzip2 and xz.

    python3 scripts/bench_ctw.py --corpus DIR         # the Canterbury texts in DIR
    python3 scripts/bench_ctw.py --depth 12 --alpha-inv 10 FILE...
    python3 scripts/bench_ctw.py --json --corpus DIR > ctw.json

Each file is compressed with the CTW block codec in 64 KiB blocks (the container's block
size, state carried across blocks), decompressed, and checked byte for byte.
Speeds are KB/s of original bytes (1 KB = 1024 bytes) over CPU time of this
process (time.process_time, user + system), kernels already compiled, so other
jobs on a shared machine do not distort them; wall-clock figures are in the
JSON. Each file runs --repeat times and the fastest run counts: the system time
of mapping a fresh 2**table_bits table (and compacting memory for its huge
pages) varies from run to run; it is included.
gzip -9, bzip2 -9 and xz -9 are Python's zlib-compatible gzip, bz2 and lzma
modules. Published CTW results (Volf's CTW 0.1, bits per character): depth 6
with the zero-redundancy estimator alice29.txt 2.07; depth 10-12 with a tuned
KT offset alice29.txt 2.06.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import json
import lzma
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nbtzip.alphabet import alphabet_of  # noqa: E402
from nbtzip.config import CTWConfig  # noqa: E402
from nbtzip.models import make_codec  # noqa: E402

# The Canterbury corpus's text files, measured when --corpus names its folder.
TEXTS = (
    "alice29.txt",
    "asyoulik.txt",
    "lcet10.txt",
    "plrabn12.txt",
    "fields.c",
    "cp.html",
    "xargs.1",
)
BLOCK = 1 << 16


def _timed(fn):
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - w0


def run_ctw(data, config):
    """(payload bytes, compress cpu s, wall s, decompress cpu s, wall s, nodes used)."""
    blocks = [data[i : i + BLOCK] for i in range(0, len(data), BLOCK)]
    alphabet = alphabet_of(data)
    enc = make_codec(config, alphabet)
    payloads, c_cpu, c_wall = _timed(lambda: [enc.encode_block(b) for b in blocks])
    dec = make_codec(config, alphabet)
    back, d_cpu, d_wall = _timed(
        lambda: [dec.decode_block(p, len(b)) for p, b in zip(payloads, blocks, strict=True)]
    )
    if b"".join(back) != data:
        raise SystemExit("CTW round trip failed")
    size = sum(len(p) for p in payloads)
    return size, c_cpu, c_wall, d_cpu, d_wall, enc.model.nodes_used


def warm_up(config):
    """Compile (or load) every kernel so no timing includes it."""
    small = CTWConfig(
        depth=config.depth,
        alpha_inv=config.alpha_inv,
        beta_clamp=config.beta_clamp,
        table_bits=10,
        count_limit=config.count_limit,
    )
    run_ctw(b"warm up the kernels " * 20, small)


def bench_file(path, config, repeat):
    data = Path(path).read_bytes()
    n = len(data)
    runs = [run_ctw(data, config) for _ in range(repeat)]
    size, _, _, _, _, nodes = runs[0]
    c_cpu, c_wall, d_cpu, d_wall = (min(r[i] for r in runs) for i in (1, 2, 3, 4))
    kb = n / 1024

    def bpc(m):
        return 8 * m / n

    return {
        "file": Path(path).name,
        "bytes": n,
        "ctw_bpc": bpc(size),
        "compress_kbps": kb / c_cpu,
        "decompress_kbps": kb / d_cpu,
        "compress_kbps_wall": kb / c_wall,
        "decompress_kbps_wall": kb / d_wall,
        "nodes_per_byte": nodes / n,
        "table_fill": nodes / (1 << config.table_bits),
        "gzip_bpc": bpc(len(gzip.compress(data, 9, mtime=0))),
        "bzip2_bpc": bpc(len(bz2.compress(data, 9))),
        "xz_bpc": bpc(len(lzma.compress(data, preset=9))),
    }


def render(rows, config):
    head = (
        f"{'file':<14}{'bytes':>9}{'CTW':>7}{'gzip':>7}{'bzip2':>7}{'xz':>7}"
        f"{'comp KB/s':>11}{'dec KB/s':>10}{'nodes/B':>9}{'fill':>6}"
    )
    lines = [f"CTW {config}", head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['file']:<14}{r['bytes']:>9}{r['ctw_bpc']:>7.3f}{r['gzip_bpc']:>7.3f}"
            f"{r['bzip2_bpc']:>7.3f}{r['xz_bpc']:>7.3f}{r['compress_kbps']:>11.0f}"
            f"{r['decompress_kbps']:>10.0f}{r['nodes_per_byte']:>9.2f}{r['table_fill']:>6.2f}"
        )
    total = sum(r["bytes"] for r in rows)

    def mean(key):
        return sum(r[key] for r in rows) / len(rows)

    def weighted(key):
        return sum(r[key] * r["bytes"] for r in rows) / total

    lines.append("-" * len(head))
    for name, avg in (("mean", mean), ("byte-weighted", weighted)):
        lines.append(
            f"{name:<23}{avg('ctw_bpc'):>7.3f}{avg('gzip_bpc'):>7.3f}{avg('bzip2_bpc'):>7.3f}"
            f"{avg('xz_bpc'):>7.3f}{avg('compress_kbps'):>11.0f}{avg('decompress_kbps'):>10.0f}"
        )
    return "\n".join(lines)


def main(argv=None):
    defaults = CTWConfig()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", help="files to measure")
    ap.add_argument("--corpus", type=Path, help="a Canterbury corpus folder: measure its texts")
    ap.add_argument("--depth", type=int, default=defaults.depth)
    ap.add_argument("--alpha-inv", type=int, default=defaults.alpha_inv)
    ap.add_argument("--beta-clamp", type=float, default=defaults.beta_clamp)
    ap.add_argument("--table-bits", type=int, default=defaults.table_bits)
    ap.add_argument("--count-limit", type=int, default=defaults.count_limit)
    ap.add_argument("--repeat", type=int, default=3, help="runs per file, the fastest counts")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args(argv)
    config = CTWConfig(
        depth=args.depth,
        alpha_inv=args.alpha_inv,
        beta_clamp=args.beta_clamp,
        table_bits=args.table_bits,
        count_limit=args.count_limit,
    )
    files = list(args.files) + ([args.corpus / name for name in TEXTS] if args.corpus else [])
    if not files:
        ap.error("name files to measure, or --corpus DIR")
    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        raise SystemExit(f"no such file: {', '.join(missing)}")
    warm_up(config)
    rows = [bench_file(f, config, max(1, args.repeat)) for f in files]
    if args.json:
        meta = {"config": config.__dict__, "machine": platform.machine(), "python": sys.version}
        print(json.dumps({"meta": meta, "rows": rows}, indent=2))
    else:
        print(render(rows, config))


if __name__ == "__main__":
    main()
