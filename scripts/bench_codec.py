"""Speed, start-up time, peak memory and bits per byte of the nbtzip codec.

    python3 scripts/bench_codec.py                        # generated English-like text
    python3 scripts/bench_codec.py --file book.txt --bytes 100000

Measures, on this machine:
  1. compress / decompress bytes per second at the chosen level (default: the
     default level) on the first --bytes of the text, kernels already compiled;
  2. whole-process time of `python -m nbtzip compress` and `decompress` on the
     first 1 KB of the text with a warm kernel cache (best and median of
     --runs runs). Python may write its bytecode files here, as an installed
     package has them: without them (PYTHONDONTWRITEBYTECODE) every run
     compiles nbtzip's modules again, about 0.1 s;
  3. peak resident memory (ru_maxrss of the child process, from wait4) of
     compress_file on 1 MB and on 20 MB of input: memory must not grow with
     the input. The model's own memory does not depend on the input size, so
     by default this runs a fast small CTW model (--memory-model rnn: level 1)
     to keep the 20 MB run short;
  4. bits per byte beside gzip -9 and xz -9 (Python's gzip and lzma modules)
     and the bundled CTW at its defaults.
Timing belongs here, never in tests.
"""

from __future__ import annotations

import argparse
import gzip
import lzma
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nbtzip  # noqa: E402
from nbtzip.config import DEFAULT_LEVEL  # noqa: E402
from nbtzip.sample import english_like  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

_MEMORY_RUN = """
import sys, nbtzip
src, model = sys.argv[1], sys.argv[2]
config = (nbtzip.CTWConfig(depth=2, table_bits=16) if model == "ctw"
          else nbtzip.make_config(1, model="rnn"))
nbtzip.compress_file(src, src + ".nbt", config=config, overwrite=True)
try:  # the high-water mark of this process's own memory map, in kB
    status = open("/proc/self/status").read()
    print(status.split("VmHWM:")[1].split()[0])
except OSError:
    import resource
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _text(args) -> bytes:
    if args.file:
        return Path(args.file).read_bytes()[: args.bytes]
    return english_like(args.bytes, seed=1)


def _speed(data, config):
    nbtzip.decompress(nbtzip.compress(data[:100], config=config))  # compile / load kernels
    started = time.perf_counter()
    blob = nbtzip.compress(data, config=config)
    middle = time.perf_counter()
    assert nbtzip.decompress(blob) == data
    ended = time.perf_counter()
    return blob, len(data) / (middle - started), len(data) / (ended - middle)


def _startup(tmp: Path, data: bytes, runs: int):
    """{"compress": (best, median), "decompress": (best, median)} in seconds."""
    small = tmp / "small.txt"
    small.write_bytes(data[:1000] or b"x")
    env = {k: v for k, v in ENV.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = [sys.executable, "-m", "nbtzip"]
    jobs = {
        "compress": ["compress", "-q", "-f", str(small)],
        "decompress": ["decompress", "-q", "-c", str(small) + ".nbt"],
    }
    times = {name: [] for name in jobs}
    for run in range(runs + 1):  # the first run of each warms the kernel cache
        for name, args in jobs.items():
            started = time.perf_counter()
            subprocess.run(command + args, env=env, check=True, stdout=subprocess.DEVNULL)
            if run:
                times[name].append(time.perf_counter() - started)
    return {name: (min(t), statistics.median(t)) for name, t in times.items()}


def _fill(seed: bytes, size: int) -> bytes:
    return (seed * (size // len(seed) + 1))[:size]


def _peak_memory(path: Path, model: str):
    """(peak resident MB, seconds) of one compress_file child process.

    The child reports the high-water mark of its own memory map (VmHWM):
    ru_maxrss, from wait4 or even from the child itself, also counts the
    parent's pages at spawn time, which here hold the input and made memory
    look as if it grew with the input.
    """
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_RUN, str(path), model],
        env=ENV,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise SystemExit(f"memory run on {path.name} failed")
    return int(out.stdout.split()[-1]) / 1024, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", help="text to measure (default: generated English-like)")
    parser.add_argument("--bytes", type=int, default=50_000, help="bytes of it to use")
    parser.add_argument("--level", type=int, default=DEFAULT_LEVEL)
    parser.add_argument("--memory-model", choices=["ctw", "rnn"], default="ctw")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--runs", type=int, default=10, help="runs of the 1 KB start-up")
    args = parser.parse_args()

    try:
        data = _text(args)
    except OSError as e:  # corpus/local/ is built by scripts/make_corpus.py --local
        parser.error(f"cannot read {args.file}: {e.strerror}")
    config = nbtzip.make_config(args.level)
    print(f"input: {args.file or 'generated English-like text'}, {len(data)} bytes")
    print(f"level {args.level}: {config}")
    blob, enc, dec = _speed(data, config)
    print(f"compress   {enc / 1000:8.1f} kB/s")
    print(f"decompress {dec / 1000:8.1f} kB/s")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, (best, median) in _startup(tmp, data, args.runs).items():
            line = f"best {best:.2f} s, median {median:.2f} s"
            print(f"whole process, {name} 1 KB, warm cache: {line}")
        if not args.skip_memory:
            base = data or b"x"
            for size in (1 << 20, 20 << 20):
                path = tmp / f"in-{size >> 20}MB"
                path.write_bytes(_fill(base, size))
                peak, seconds = _peak_memory(path, args.memory_model)
                print(
                    f"peak memory, {size >> 20:2d} MB input ({args.memory_model}): "
                    f"{peak:7.1f} MB  ({seconds:.1f} s)"
                )
                path.unlink()

    ctw = nbtzip.compress(data, config=nbtzip.CTWConfig())
    rows = [
        (f"nbtzip -{args.level}", len(blob)),
        ("nbtzip --model ctw", len(ctw)),
        ("gzip -9", len(gzip.compress(data, 9))),
        ("xz -9", len(lzma.compress(data, preset=9))),
    ]
    print("\n| method | bytes | bpc |\n|---|---:|---:|")
    for name, size in rows:
        print(f"| {name} | {size} | {8 * size / len(data):.3f} |")


if __name__ == "__main__":
    main()
