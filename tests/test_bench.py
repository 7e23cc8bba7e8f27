"""`nbtzip bench`: rows for every method, honest arithmetic, failures that fail.

Every test benches a few KB of generated data (small networks), never the corpus.
"""

import csv
import gzip
import io
import json
import lzma
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import nbtzip
from nbtzip.cli import bench, report
from nbtzip.config import preset

HIDDEN = "8"


def _text(seed, size):
    """Deterministic text-like bytes (words from a small vocabulary)."""
    state = np.random.default_rng(seed)  # test data only, not on any coding path
    words = ["the", "cat", "sat", "on", "a", "mat", "and", "then", "ran", "off", "\n"]
    out = bytearray()
    while len(out) < size:
        out += words[state.integers(len(words))].encode() + b" "
    return bytes(out[:size])


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "one.txt").write_bytes(_text(1, 1500))
    (root / "sub" / "two.txt").write_bytes(_text(2, 900))
    (root / ".hidden").write_bytes(b"not benched")
    manifest = {"files": {"one.txt": {"entropy_rate": 1.25}}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def _run(args, catch=True):
    runner = CliRunner()
    return runner.invoke(bench.bench_command, [str(a) for a in args], catch_exceptions=catch)


def _json_rows(result):
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def test_bench_gives_every_method_a_row_with_real_sizes_and_correct_bpc(folder):
    methods = ["nbtzip", "nbtzip-nbt", "rtrl", "ctw", "gzip", "bzip2", "xz"]
    args = [folder, "--methods", ",".join(methods), "--hidden", HIDDEN, "--format", "json"]
    rows = _json_rows(_run(args))
    files = {str(folder / "one.txt"), str(folder / "sub" / "two.txt")}
    per_file = [r for r in rows if r["file"] != "(total)"]
    assert {(r["file"], r["method"]) for r in per_file} == {(f, m) for f in files for m in methods}
    for r in per_file:
        data = open(r["file"], "rb").read()
        assert r["roundtrip_ok"] and r["error"] is None
        assert r["bytes"] == r["coded_bytes"] == len(data)
        assert r["bpc"] == pytest.approx(8 * r["compressed_bytes"] / len(data))
        assert r["compress_s"] >= 0 and r["decompress_s"] >= 0
    sizes = {(r["file"], r["method"]): r["compressed_bytes"] for r in per_file}
    one = str(folder / "one.txt")
    data = open(one, "rb").read()
    assert sizes[(one, "gzip")] == len(gzip.compress(data, compresslevel=9, mtime=0))
    assert sizes[(one, "xz")] == len(lzma.compress(data, preset=9))
    config = preset(6, hidden_size=int(HIDDEN))
    assert sizes[(one, "nbtzip")] == len(nbtzip.compress(data, config=config))
    for m in methods:
        (total,) = [r for r in rows if r["file"] == "(total)" and r["method"] == m]
        packed = sum(sizes[(f, m)] for f in files)
        assert total["compressed_bytes"] == packed
        assert total["bpc"] == pytest.approx(8 * packed / (1500 + 900))


def test_limit_comes_from_the_manifest_beside_the_file(folder):
    rows = _json_rows(_run([folder, "--methods", "gzip", "--format", "json"]))
    limits = {r["file"]: r["limit"] for r in rows}
    assert limits[str(folder / "one.txt")] == 1.25
    assert limits[str(folder / "sub" / "two.txt")] is None
    assert limits["(total)"] is None
    table = _run([folder / "one.txt", "--methods", "gzip"]).stdout
    assert "limit" in table.splitlines()[0] and "1.250" in table


def _parse_table(text, methods):
    """{(file, method): bpc text} from the aligned table's first block."""
    lines = text.split("\n\n")[0].splitlines()
    header = lines[0].split()
    cells = {}
    for line in lines[1:]:
        parts = line.split()
        for m in methods:
            cells[(parts[0], m)] = parts[header.index(m)].rstrip(report.BEST)
    return cells


def test_csv_json_and_table_hold_the_same_numbers(folder):
    methods = ["gzip", "bzip2", "xz", "ctw"]
    base = [folder, "--methods", ",".join(methods)]
    table = _run(base).stdout
    rows = _json_rows(_run(base + ["--format", "json"]))
    from_csv = list(csv.DictReader(io.StringIO(_run(base + ["--format", "csv"]).stdout)))
    cells = _parse_table(table, methods)
    assert len(from_csv) == len(rows) == 3 * len(methods)
    for r, c in zip(rows, from_csv, strict=True):
        assert (c["file"], c["method"]) == (r["file"], r["method"])
        assert int(c["compressed_bytes"]) == r["compressed_bytes"]
        assert float(c["bpc"]) == pytest.approx(r["bpc"], rel=1e-12)
        assert c["roundtrip_ok"] == "True"
        assert cells[(r["file"], r["method"])] == f"{r['bpc']:.3f}"
    markdown = _run(base + ["--format", "markdown"]).stdout
    for r in rows:
        assert f"{r['bpc']:.3f}" in markdown


def test_best_bpc_of_each_row_is_marked(folder):
    methods = ["gzip", "bzip2", "xz"]
    base = [folder, "--methods", ",".join(methods)]
    rows = _json_rows(_run(base + ["--format", "json"]))
    lines = _run(base).stdout.split("\n\n")[0].splitlines()[1:]
    for line in lines:
        file = line.split()[0]
        best = min(r["bpc"] for r in rows if r["file"] == file)
        marked = [c for c in line.split() if c.endswith(report.BEST)]
        assert marked == [f"{best:.3f}{report.BEST}"]


def _broken_factory(mode):
    def factory(level, hidden):
        def decompress(blob):
            if mode == "raise":
                raise RuntimeError("decoder exploded")
            return blob[:-1] + bytes([blob[-1] ^ 1])  # one flipped bit

        return bench.Method("broken", lambda d: bytes(d), decompress)

    return factory


@pytest.mark.parametrize("mode", ["corrupt", "raise"])
def test_a_failed_round_trip_exits_nonzero_and_names_method_and_file(folder, monkeypatch, mode):
    monkeypatch.setitem(bench.METHODS, "broken", _broken_factory(mode))
    result = _run([folder / "one.txt", "--methods", "gzip,broken"])
    assert result.exit_code == 1
    assert "broken" in result.stderr and "one.txt" in result.stderr
    assert "gzip" not in result.stderr
    assert "FAIL" in result.stdout


def test_time_budget_codes_only_a_prefix_and_says_how_far(folder, monkeypatch):
    # A fake clock: the fake method "takes" 1 ms per byte, so a 1 s budget fits
    # about 1000 bytes of one.txt's 1500 (no real timing involved).
    clock = {"now": 0.0}
    monkeypatch.setattr(bench.time, "perf_counter", lambda: clock["now"])

    def slow(data):
        clock["now"] += 0.001 * len(data)
        return b"x" + bytes(data)

    def factory(level, hidden):
        return bench.Method("slow", slow, lambda blob: blob[1:], budgeted=True)

    monkeypatch.setitem(bench.METHODS, "slow", factory)
    args = [folder / "one.txt", "--methods", "slow,gzip", "--time-budget", "1"]
    rows = _json_rows(_run(args + ["--format", "json"]))
    slow_row = next(r for r in rows if r["method"] == "slow" and r["file"] != "(total)")
    assert 256 < slow_row["coded_bytes"] < 1000
    assert slow_row["bytes"] == 1500 and slow_row["roundtrip_ok"]
    assert slow_row["bpc"] == pytest.approx(
        8 * (slow_row["coded_bytes"] + 1) / slow_row["coded_bytes"]
    )
    gzip_row = next(r for r in rows if r["method"] == "gzip" and r["file"] != "(total)")
    assert gzip_row["coded_bytes"] == 1500  # the stdlib codecs are never cut
    table = _run(args).stdout
    assert f"{slow_row['coded_bytes']} of 1500 bytes" in table


def test_curve_points_are_running_means_of_the_code_lengths():
    bits = np.random.default_rng(0).uniform(0, 8, size=3000)
    t, mean = report.curve_points(bits, points=50)
    assert t[0] == 1 and t[-1] == 3000 and t == sorted(set(t))
    for ti, mi in zip(t, mean, strict=True):
        assert mi == pytest.approx(sum(bits[:ti]) / ti, rel=1e-12)


def test_plot_without_matplotlib_exits_1_with_one_line(folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    result = _run([folder, "--methods", "gzip", "--plot", folder / "c.png"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "pip install" in result.stderr
    assert "Traceback" not in result.output and not (folder / "c.png").exists()


def test_plot_writes_learning_curves(folder, tmp_path):
    pytest.importorskip("matplotlib")  # optional extra nbtzip[plot]
    out = tmp_path / "curves.png"
    result = _run([folder, "--methods", "ctw,gzip", "--plot", out])
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_parallel_jobs_give_the_same_rows(folder):
    base = [folder, "--methods", "gzip,xz", "--format", "json"]
    serial = _json_rows(_run(base))
    parallel = _json_rows(_run(base + ["--jobs", "2"]))
    keys = ("file", "method", "bytes", "compressed_bytes", "bpc", "roundtrip_ok")
    assert [[r[k] for k in keys] for r in serial] == [[r[k] for k in keys] for r in parallel]


def test_unknown_method_is_a_usage_error(folder):
    result = _run([folder, "--methods", "gzip,zstd"])
    assert result.exit_code == 2 and "zstd" in result.stderr


def test_folder_scan_is_recursive_and_skips_hidden_files_and_manifests(folder):
    found = [p.relative_to(folder).as_posix() for p in bench.find_files([folder])]
    assert found == ["one.txt", "sub/two.txt"]
