"""Rendering bench rows: aligned table, markdown, CSV, JSON, learning-curve plot.

Rows are the dicts made by bench.py, one per (file, method), plus one
"(total)" row per method. The table and markdown pivot them into one line per
file with a bits-per-character column per method; CSV and JSON keep the rows
as they are, with full precision.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np

FORMATS = ("table", "markdown", "csv", "json")
FIELDS = (
    "file",
    "method",
    "bytes",
    "coded_bytes",
    "compressed_bytes",
    "bpc",
    "limit",
    "roundtrip_ok",
    "compress_s",
    "decompress_s",
    "error",
)
PLOT_HINT = "pip install 'nbtzip[plot]' (or: pip install matplotlib)"
BEST, PARTIAL = "*", "^"
TOTAL = "(total)"


def render(rows, methods, fmt="table") -> str:
    if fmt == "json":
        return json.dumps([{k: r.get(k) for k in FIELDS} for r in rows], indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: r.get(k) for k in FIELDS})
        return out.getvalue()
    if fmt not in ("table", "markdown"):
        raise ValueError(f"unknown format {fmt!r}")
    grid, notes = _pivot(rows, methods, markdown=fmt == "markdown")
    speeds = _speeds(rows, methods)
    if fmt == "markdown":
        text = _markdown(grid) + "\n" + _markdown(speeds)
    else:
        text = _aligned(grid) + "\n" + _aligned(speeds)
    return text + "".join(f"\n{n}" for n in notes) + "\n"


def _files(rows):
    return list(dict.fromkeys(r["file"] for r in rows))


def _pivot(rows, methods, markdown):
    """Header + one line per file: file, bytes, [limit], one bpc cell per method."""
    by_key = {(r["file"], r["method"]): r for r in rows}
    show_limit = any(r.get("limit") is not None for r in rows)
    header = ["file", "bytes"] + (["limit"] if show_limit else []) + list(methods)
    grid, partial = [header], []
    for file in _files(rows):
        mine = [by_key[(file, m)] for m in methods if (file, m) in by_key]
        if not mine:
            continue
        values = [r["bpc"] for r in mine if r["roundtrip_ok"] and r["bpc"] is not None]
        best = min(values) if values else None
        line = [file, str(mine[0]["bytes"])]
        if show_limit:
            limit = mine[0].get("limit")
            line.append("-" if limit is None else f"{limit:.3f}")
        for m in methods:
            r = by_key.get((file, m))
            line.append(_cell(r, best, markdown))
            cut = r is not None and r["roundtrip_ok"] and r["coded_bytes"] < r["bytes"]
            if cut and file != TOTAL:
                partial.append(f"{m} on {file}: {r['coded_bytes']} of {r['bytes']} bytes")
        grid.append(line)
    marker = "bold" if markdown else BEST
    notes = [f"{marker}: best of the row; bpc = 8 x compressed bytes / bytes, headers included"]
    if partial:
        notes.append(f"{PARTIAL} only a prefix fitted in --time-budget (bpc of that prefix):")
        notes += [f"  {p}" for p in partial]
    return grid, notes


def _cell(row, best, markdown):
    if row is None:
        return ""
    if not row["roundtrip_ok"]:
        return "FAIL"
    if row["bpc"] is None:
        return "-"
    text = f"{row['bpc']:.3f}"
    if row["coded_bytes"] < row["bytes"]:
        text += PARTIAL
    if best is not None and f"{row['bpc']:.3f}" == f"{best:.3f}":
        text = f"**{text}**" if markdown else text + BEST
    return text


def _speeds(rows, methods):
    """Compress / decompress speed of each method over all files, in KB/s."""
    totals = {r["method"]: r for r in rows if r["file"] == TOTAL}
    grid = [["speed (KB/s)"] + list(methods)]
    for label, key in (("compress", "compress_s"), ("decompress", "decompress_s")):
        line = [label]
        for m in methods:
            r = totals.get(m)
            ok = r is not None and r["roundtrip_ok"] and r[key]
            line.append(f"{r['coded_bytes'] / r[key] / 1000:.1f}" if ok else "-")
        grid.append(line)
    return grid


def _aligned(grid):
    widths = [max(len(line[i]) for line in grid) for i in range(len(grid[0]))]
    out = []
    for line in grid:
        cells = [line[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True)
        ]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out) + "\n"


def _markdown(grid):
    out = ["| " + " | ".join(grid[0]) + " |", "|---" + "|---:" * (len(grid[0]) - 1) + "|"]
    out += ["| " + " | ".join(line) + " |" for line in grid[1:]]
    return "\n".join(out) + "\n"


# --- learning curves ---------------------------------------------------------------


def curve_points(bits, points=400):
    """(t, mean code length over the first t bytes) at log-spaced t, t = 1..len."""
    bits = np.asarray(bits, dtype=np.float64)
    if bits.size == 0:
        return [], []
    t = np.unique(np.geomspace(1, bits.size, num=points).round().astype(np.int64))
    average = np.cumsum(bits)[t - 1] / t
    return t.tolist(), average.tolist()


def plotting_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def plot_curves(curves, rows, methods, path):
    """One panel per file: mean bits per character over the first t characters
    against t (log axis), one line per method, the entropy rate dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = [f for f in _files(rows) if f != TOTAL]
    limits = {r["file"]: r.get("limit") for r in rows}
    cols = min(3, len(files))
    nrows = -(-len(files) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5.5 * cols, 4 * nrows), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, file in zip(axes.flat, files, strict=False):
        top = 1.0
        for i, m in enumerate(methods):
            curve, color = curves.get(file, {}).get(m), colors[i % len(colors)]
            if isinstance(curve, (int, float)):
                ax.axhline(curve, color=color, linestyle=":", label=f"{m} (final)")
                top = max(top, curve)
            elif curve and curve[0]:
                ax.plot(curve[0], curve[1], color=color, label=m)
                top = max(top, max(curve[1][len(curve[1]) // 4 :]))
        if limits.get(file) is not None:
            ax.axhline(limits[file], color="black", linestyle="--", label="entropy rate")
        ax.set_xscale("log")
        ax.set_ylim(0, min(8.5, top * 1.15))
        ax.set_title(file, fontsize=10)
        ax.set_xlabel("characters read t")
        ax.set_ylabel("mean bits/char over first t")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(files) :]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
