"""`nbtzip bench`: every method over every file, with every round trip checked.

A method is a named compress / decompress pair (plus, for the online models,
the per-byte code lengths that draw the learning curves). Running the methods
over files gives one row per (file, method): sizes, bits per character from
the real compressed size (headers included), speeds, and whether the round
trip gave back the very same bytes. report.py turns rows into text or a plot.
"""

from __future__ import annotations

import bz2
import concurrent.futures
import dataclasses
import gzip
import json
import lzma
import multiprocessing
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click
import numpy as np

from .. import api, models
from ..config import DEFAULT_LEVEL, RTRL_MAX_HIDDEN, CTWConfig, mix_preset, preset
from . import report
from .report import TOTAL

DEFAULT_METHODS = (
    "nbtzip",
    "nbtzip-rnn",
    "nbtzip-nbt",
    "nbtzip-no-rnn",
    "ctw",
    "gzip",
    "bzip2",
    "xz",
)
# Time-budgeted runs start with a prefix this long and grow it from the measured speed.
PROBE_BYTES = 256
WARMUP = b"warm up the kernels before timing anything\n" * 4


@dataclasses.dataclass(frozen=True)
class Method:
    name: str
    compress: Callable[[bytes], bytes]
    decompress: Callable[[bytes], bytes]
    # Per-byte code lengths in bits of an online model; None draws a flat line.
    code_lengths: Callable[[bytes], np.ndarray] | None = None
    # Whether --time-budget applies (the learned models; the stdlib codecs are instant).
    budgeted: bool = False


def _model_method(name, config):
    """A learned model coded through the public API with a fixed configuration."""

    def code_lengths(data):
        return models.code_lengths(data, config)

    def compress(data):
        return api.compress(data, config=config)

    return Method(name, compress, api.decompress, code_lengths, budgeted=True)


def _rnn(name, **fixed):
    def factory(level, hidden):
        options = dict(fixed)
        if hidden is not None:
            options["hidden_size"] = hidden
        if fixed.get("gradient") == "rtrl":
            size = options.get("hidden_size", preset(level).hidden_size)
            options["hidden_size"] = min(size, RTRL_MAX_HIDDEN)
        return _model_method(name, preset(level, **options))

    return factory


def _mix(name, **fixed):
    def factory(level, hidden):
        options = dict(fixed)
        if hidden is not None and "hidden_size" not in fixed:
            options["hidden_size"] = hidden
        return _model_method(name, mix_preset(level, **options))

    return factory


# name -> factory(level, hidden) -> Method. Tests add entries here.
METHODS = {
    "nbtzip": _mix("nbtzip"),  # the default model
    "nbtzip-rnn": _rnn("nbtzip-rnn"),  # the paper's RNN alone, as --model rnn learns it
    "nbtzip-kalman": _rnn("nbtzip-kalman", gradient="nbt", step="kalman"),  # Algorithm 2
    "nbtzip-no-rnn": _mix("nbtzip-no-rnn", hidden_size=0),  # the default without its RNN
    "nbtzip-nbt": _rnn("nbtzip-nbt", gradient="nbt", step="sgd"),
    "rtrl": _rnn("rtrl", gradient="rtrl", step="kalman"),
    "ctw": lambda level, hidden: _model_method("ctw", CTWConfig()),
    "gzip": lambda level, hidden: Method(
        "gzip", lambda d: gzip.compress(d, compresslevel=9, mtime=0), gzip.decompress
    ),
    "bzip2": lambda level, hidden: Method("bzip2", lambda d: bz2.compress(d, 9), bz2.decompress),
    "xz": lambda level, hidden: Method("xz", lambda d: lzma.compress(d, preset=9), lzma.decompress),
}


def _timed(fn, arg):
    start = time.perf_counter()
    result = fn(arg)
    return result, time.perf_counter() - start


def _code_prefix(method, data, budget):
    """(coded length, compressed blob, seconds): the whole file, or with a budget
    the longest prefix that the measured speed says fits in it."""
    if budget is None or not method.budgeted:
        blob, seconds = _timed(method.compress, data)
        return len(data), blob, seconds
    n, spent = min(len(data), PROBE_BYTES), 0.0
    while True:
        blob, seconds = _timed(method.compress, data[:n])
        spent += seconds
        if n == len(data):
            return n, blob, seconds
        fits = int(n / max(seconds, 1e-9) * (budget - spent))
        if fits < n * 1.1:
            return n, blob, seconds
        n = min(len(data), fits)


def run_method(method, data, *, budget=None, want_curve=False):
    """One row (a dict without file/limit) and, if asked, the learning curve."""
    row = {
        "method": method.name,
        "bytes": len(data),
        "coded_bytes": 0,
        "compressed_bytes": None,
        "bpc": None,
        "roundtrip_ok": False,
        "compress_s": None,
        "decompress_s": None,
        "error": None,
    }
    try:
        coded, blob, row["compress_s"] = _code_prefix(method, data, budget)
        back, row["decompress_s"] = _timed(method.decompress, blob)
    except Exception as exc:  # any failure of a method is a failed round trip, reported
        row["error"] = f"{type(exc).__name__}: {exc}"
        return row, None
    row["coded_bytes"] = coded
    row["compressed_bytes"] = len(blob)
    row["bpc"] = 8.0 * len(blob) / coded if coded else None
    row["roundtrip_ok"] = back == data[:coded]
    if not row["roundtrip_ok"]:
        row["error"] = "decompressed bytes differ from the original"
    curve = None
    if want_curve and row["roundtrip_ok"]:
        if method.code_lengths is not None:
            curve = report.curve_points(method.code_lengths(data[:coded]))
        else:
            curve = row["bpc"]
    return row, curve


def find_files(paths):
    """Files named on the command line, and every file below the named folders
    (sorted; hidden files and the corpus manifests left out)."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            below = sorted(p for p in path.rglob("*") if p.is_file())
            found += [
                p
                for p in below
                if p.name != "manifest.json"
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            ]
        else:
            found.append(path)
    return found


_manifests = {}


def known_limit(path):
    """The source's entropy rate from a manifest.json beside the file, else None."""
    _cache = _manifests
    manifest = Path(path).parent / "manifest.json"
    if manifest not in _cache:
        try:
            _cache[manifest] = json.loads(manifest.read_text()).get("files", {})
        except (OSError, ValueError, AttributeError):
            _cache[manifest] = {}
    entry = _cache[manifest].get(Path(path).name)
    return entry.get("entropy_rate") if isinstance(entry, dict) else None


_warm = set()


def bench_file(path, method_names, level, hidden, budget=None, want_curves=False, on_method=None):
    """Rows (and curves by method name) for one file."""
    data = Path(path).read_bytes()
    limit = known_limit(path)
    rows, curves = [], {}
    for name in method_names:
        method = METHODS[name](level, hidden)
        if on_method is not None:
            on_method(str(path), name)
        if name not in _warm:  # compile / load kernels outside the timed region
            _warm.add(name)
            try:
                method.decompress(method.compress(WARMUP))
            except Exception:
                pass  # the timed run will report the failure
        row, curve = run_method(method, data, budget=budget, want_curve=want_curves)
        rows.append({"file": str(path), "limit": limit, **row})
        if curve is not None:
            curves[name] = curve
    return rows, curves


def total_rows(rows, method_names):
    """One row per method summing every file; bpc = 8 x total compressed / total coded."""
    totals = []
    for name in method_names:
        mine = [r for r in rows if r["method"] == name]
        ok = all(r["roundtrip_ok"] for r in mine)
        coded = sum(r["coded_bytes"] for r in mine)
        size = sum(r["bytes"] for r in mine)
        packed = sum(r["compressed_bytes"] for r in mine) if ok else None
        limits = [r["limit"] for r in mine]
        known = all(v is not None for v in limits) and size > 0
        totals.append(
            {
                "file": TOTAL,
                "method": name,
                "bytes": size,
                "coded_bytes": coded,
                "compressed_bytes": packed,
                "bpc": 8.0 * packed / coded if ok and coded else None,
                "limit": sum(v * r["bytes"] for v, r in zip(limits, mine, strict=True)) / size
                if known
                else None,
                "roundtrip_ok": ok,
                "compress_s": sum(r["compress_s"] or 0.0 for r in mine),
                "decompress_s": sum(r["decompress_s"] or 0.0 for r in mine),
                "error": None if ok else "round trip failed on some file",
            }
        )
    return totals


def run_bench(
    paths,
    method_names,
    *,
    level=DEFAULT_LEVEL,
    hidden=None,
    budget=None,
    jobs=1,
    want_curves=False,
    progress=None,
):
    """(rows including the total rows, curves by file) over every file under paths."""
    files = find_files(paths)
    results = {}
    if jobs <= 1:
        for i, path in enumerate(files):

            def note(file, method, i=i):
                if progress:
                    progress(f"[{i + 1}/{len(files)}] {file}: {method}")

            results[path] = bench_file(path, method_names, level, hidden, budget, want_curves, note)
    else:
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
            futures = {
                pool.submit(bench_file, p, method_names, level, hidden, budget, want_curves): p
                for p in files
            }
            for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
                results[futures[future]] = future.result()
                if progress:
                    progress(f"[{done}/{len(files)} files done]")
    rows = [row for path in files for row in results[path][0]]
    curves = {str(path): results[path][1] for path in files}
    return rows + total_rows(rows, method_names), curves


class _Progress:
    """One self-overwriting status line on stderr, only when stderr is a terminal."""

    def __init__(self):
        self.enabled = sys.stderr.isatty()

    def __call__(self, message):
        if self.enabled:
            sys.stderr.write("\r\033[K" + message[:120])
            sys.stderr.flush()

    def clear(self):
        if self.enabled:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _parse_methods(ctx, param, value):
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in METHODS]
    if unknown or not names:
        raise click.BadParameter(
            f"unknown method {', '.join(unknown) or '(none)'}; choose from {', '.join(METHODS)}"
        )
    return list(dict.fromkeys(names))


@click.command(
    "bench",
    epilog="Methods: nbtzip (the default codec: context mixing with the Kalman NoBackTrack "
    "RNN inside), nbtzip-no-rnn (the same without its RNN), nbtzip-rnn (the RNN alone as "
    "--model rnn learns it), nbtzip-kalman and nbtzip-nbt (the RNN alone with the paper's "
    "Kalman and Euclidean NoBackTrack), rtrl (exact gradient + Kalman, hidden size capped at "
    f"{RTRL_MAX_HIDDEN}; slow, give it --time-budget), ctw, gzip, bzip2, xz (all at -9).",
)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--methods",
    default=",".join(DEFAULT_METHODS),
    show_default=True,
    callback=_parse_methods,
    help="Comma-separated methods to run.",
)
@click.option(
    "--level",
    type=click.IntRange(1, 9),
    default=DEFAULT_LEVEL,
    show_default=True,
    help="Level of the nbtzip methods.",
)
@click.option(
    "--hidden",
    type=click.IntRange(1, 4096),
    default=None,
    help="Hidden size of the nbtzip methods (overrides the level's).",
)
@click.option(
    "--time-budget",
    "budget",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Learned models code only the prefix that fits in SECONDS of compression "
    "(like the paper's equal-time runs); the table says how far they got.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(report.FORMATS),
    default="table",
    show_default=True,
    help="Output format on stdout.",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE.png",
    help="Draw learning curves (needs matplotlib: nbtzip[plot]).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Files benched in parallel processes (timings then share the CPU).",
)
def bench_command(paths, methods, level, hidden, budget, fmt, plot, jobs):
    """Compress, decompress and compare every file under PATHS with every method.

    Prints bits per character (8 x compressed bytes / original bytes, headers
    included) per file and method, the best of each row marked, the source's
    entropy rate where a manifest.json beside the file knows it, and speeds.
    Exit status 1 if any round trip failed.
    """
    if plot is not None and not report.plotting_available():
        click.echo(f"nbtzip bench: --plot needs matplotlib: {report.PLOT_HINT}", err=True)
        sys.exit(1)
    if "rtrl" in methods and budget is None:
        click.echo("nbtzip bench: rtrl is slow; consider --time-budget SECONDS", err=True)
    progress = _Progress()
    try:
        rows, curves = run_bench(
            paths,
            methods,
            level=level,
            hidden=hidden,
            budget=budget,
            jobs=jobs,
            want_curves=plot is not None,
            progress=progress,
        )
    finally:
        progress.clear()
    if not any(r["file"] != TOTAL for r in rows):
        raise click.UsageError("no files to bench under the given paths")
    click.echo(report.render(rows, methods, fmt), nl=False)
    if plot is not None:
        report.plot_curves(curves, rows, methods, plot)
        click.echo(f"nbtzip bench: learning curves written to {plot}", err=True)
    failed = [r for r in rows if r["file"] != TOTAL and not r["roundtrip_ok"]]
    for r in failed:
        click.echo(f"nbtzip bench: {r['method']} failed on {r['file']}: {r['error']}", err=True)
    if failed:
        sys.exit(1)
