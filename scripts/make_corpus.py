"""Regenerate the bundled synthetic corpus (corpus/*.txt and corpus/manifest.json).

    python3 scripts/make_corpus.py            # rewrite corpus/ (bit-for-bit the committed files)
    python3 scripts/make_corpus.py --out DIR  # write them somewhere else
    python3 scripts/make_corpus.py --local    # also build corpus/local/ from text Python ships

Every synthetic file comes from a source whose probabilities are known exactly,
so the manifest can state two "physical limits" per file: the exact information
content of that very file (the sum of -log2 P over the random choices that
produced it) and the entropy rate of the source. All randomness comes from the
project PRNG (nbtzip/numeric/rng.py) and every choice is an integer draw, so the files
do not change with numpy or platform. The source definitions follow
docs/ALGORITHMS.md section 4.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nbtzip.numeric import rng  # noqa: E402

TARGET_SIZE = 100_000

# --- synthmusic: bars of notes over a chord; see music_v1 / music_v2 ----------

SCALE = "cdefgab"
CHORD_TONES = {"C": "ceg", "D": "dfa", "F": "fac", "G": "gbd", "A": "ace"}
V1_PROGRESSION = "CFGC"
# synthmusic-v2: chord of bar k+1 given the chord of bar k (bar 1 is always C),
# probabilities as (numerator, denominator 4) so every draw is an integer draw.
V2_CHORD_MOVES = {
    "C": (("F", 1), ("G", 1), ("A", 1), ("D", 1)),
    "D": (("G", 3), ("F", 1)),
    "F": (("G", 2), ("C", 1), ("D", 1)),
    "G": (("C", 3), ("A", 1)),
    "A": (("F", 2), ("D", 2)),
}
V2_METERS = ((4, 3), (3, 1))  # (beats per bar, weight out of 4)
V2_NONCHORD_EIGHTHS = 1  # a note leaves its chord with probability 1/8


def _weighted(state, options, total):
    """Draw from ((value, weight), ...) with integer weights summing to total."""
    x = rng.below(state, total)
    for value, weight in options:
        if x < weight:
            return value, math.log2(total / weight)
        x -= weight
    raise AssertionError("weights do not sum to total")


def _bar_notes(state, chord, beats, nonchord):
    """One bar: notes (pitch letter + duration digit) filling `beats` beats.

    The duration is uniform over the values 1..4 that still fit in the bar.
    With nonchord, a pitch leaves the chord with probability 1/8 (uniform over
    the four other scale notes); otherwise it is uniform over the chord.
    """
    out, bits, left = [], 0.0, beats
    others = [p for p in SCALE if p not in chord]
    while left > 0:
        if nonchord and rng.below(state, 8) < V2_NONCHORD_EIGHTHS:
            out.append(others[rng.below(state, 4)])
            bits += math.log2(8 / V2_NONCHORD_EIGHTHS) + 2.0
        else:
            if nonchord:
                bits += math.log2(8 / (8 - V2_NONCHORD_EIGHTHS))
            out.append(chord[rng.below(state, 3)])
            bits += math.log2(3)
        fits = min(4, left)
        duration = 1 + rng.below(state, fits)
        bits += math.log2(fits)
        out.append(str(duration))
        left -= duration
    return "".join(out), bits


def music_v1(seed, target=TARGET_SIZE):
    """synthmusic-v1: 4 bars of 4/4 over C F G C, `|` between bars, a phrase per line."""
    state = rng.seed_state(seed)
    lines, size, bits = [], 0, 0.0
    while size < target:
        bars = []
        for chord in V1_PROGRESSION:
            notes, b = _bar_notes(state, CHORD_TONES[chord], 4, nonchord=False)
            bars.append(notes)
            bits += b
        lines.append("|".join(bars) + "\n")
        size += len(lines[-1])
    return "".join(lines), bits


def music_v2(seed, target=TARGET_SIZE):
    """synthmusic-v2: meter 4 or 3 per phrase (written `4:`), chords from a Markov
    chain (each bar starts with its chord letter), non-chord tones with probability 1/8."""
    state = rng.seed_state(seed)
    lines, size, bits = [], 0, 0.0
    while size < target:
        beats, b = _weighted(state, V2_METERS, 4)
        bits += b
        chord, bars = "C", []
        for bar in range(4):
            if bar > 0:
                chord, b = _weighted(state, V2_CHORD_MOVES[chord], 4)
                bits += b
            notes, b = _bar_notes(state, CHORD_TONES[chord], beats, nonchord=True)
            bars.append(chord + notes)
            bits += b
        lines.append(f"{beats}:" + "|".join(bars) + "\n")
        size += len(lines[-1])
    return "".join(lines), bits


def _bar_stats(beats, pitch_bits):
    """(expected bits, expected notes) of one bar's notes, by recursion on beats left."""
    bits, notes = [0.0] * (beats + 1), [0.0] * (beats + 1)
    for left in range(1, beats + 1):
        fits = min(4, left)
        rest = range(left - fits, left)
        bits[left] = math.log2(fits) + pitch_bits + sum(bits[r] for r in rest) / fits
        notes[left] = 1.0 + sum(notes[r] for r in rest) / fits
    return bits[beats], notes[beats]


def music_v1_rate():
    # Phrases are independent, so the rate is E[bits per phrase] / E[chars per phrase].
    bits, notes = _bar_stats(4, math.log2(3))
    return (4 * bits) / (4 * (2 * notes + 1))


def music_v2_rate():
    q = V2_NONCHORD_EIGHTHS / 8
    pitch_bits = -(1 - q) * math.log2((1 - q) / 3) - q * math.log2(q / 4)
    bits = -sum(w / 4 * math.log2(w / 4) for _, w in V2_METERS)
    chars = 2.0
    for beats, w in V2_METERS:
        bar_bits, notes = _bar_stats(beats, pitch_bits)
        bits += w / 4 * 4 * bar_bits
        chars += w / 4 * 4 * (1 + 2 * notes + 1)
    dist = {"C": 1.0}
    for _ in range(3):
        nxt = {}
        for chord, p in dist.items():
            moves = V2_CHORD_MOVES[chord]
            bits += p * -sum(w / 4 * math.log2(w / 4) for _, w in moves)
            for to, w in moves:
                nxt[to] = nxt.get(to, 0.0) + p * w / 4
        dist = nxt
    return bits / chars


# --- a^n b^n and distant brackets --------------------------------------------

ANBN_MAX = 32
BRACKET_SYMBOLS = "0123456789"
BRACKET_S, BRACKET_R = 1, 5


def anbn(seed, target=TARGET_SIZE):
    """Lines n x `a`, then n x `b`, n uniform on 1..32."""
    state = rng.seed_state(seed)
    parts, size, bits = [], 0, 0.0
    while size < target:
        n = 1 + rng.below(state, ANBN_MAX)
        bits += math.log2(ANBN_MAX)
        parts.append("a" * n + "\n" + "b" * n + "\n")
        size += len(parts[-1])
    return "".join(parts), bits


def anbn_rate():
    return math.log2(ANBN_MAX) / (2 * (ANBN_MAX + 1) / 2 + 2)


def brackets(seed, target=TARGET_SIZE):
    """Lines `[` s chars `]` r chars `[` the same s chars `]`: the copy is predictable
    only by remembering s symbols across r random ones."""
    state = rng.seed_state(seed)
    a = len(BRACKET_SYMBOLS)
    parts, size, bits = [], 0, 0.0
    while size < target:
        s = "".join(BRACKET_SYMBOLS[rng.below(state, a)] for _ in range(BRACKET_S))
        r = "".join(BRACKET_SYMBOLS[rng.below(state, a)] for _ in range(BRACKET_R))
        bits += (BRACKET_S + BRACKET_R) * math.log2(a)
        parts.append(f"[{s}]{r}[{s}]\n")
        size += len(parts[-1])
    return "".join(parts), bits


def brackets_rate():
    chars = 2 * BRACKET_S + BRACKET_R + 5
    return (BRACKET_S + BRACKET_R) * math.log2(len(BRACKET_SYMBOLS)) / chars


# --- order-3 Markov text ------------------------------------------------------

MARKOV_SYMBOLS = "abcdefghijklmnopqrstuvwxyz ,.\n"
MARKOV_ORDER = 3
MARKOV_TOTAL = 4096  # every transition probability is weight / 4096
MARKOV_START = "   "  # the context before the first character (not written)


def markov_table(seed):
    """int64[contexts, symbols] transition weights, each row summing to MARKOV_TOTAL.

    Every symbol keeps weight 1 (so the chain is irreducible and aperiodic);
    2..4 preferred successors share the rest in random proportions. A context
    is the index sum(symbol_k * A**(order-1-k)) of its last 3 symbols.
    """
    state = rng.seed_state(seed)
    a = len(MARKOV_SYMBOLS)
    table = np.ones((a**MARKOV_ORDER, a), dtype=np.int64)
    spare = MARKOV_TOTAL - a
    for ctx in range(a**MARKOV_ORDER):
        k = 2 + rng.below(state, 3)
        order = list(range(a))
        for i in range(k):  # partial Fisher-Yates: k distinct successors
            j = i + rng.below(state, a - i)
            order[i], order[j] = order[j], order[i]
        shares = [1 + rng.below(state, 64) for _ in range(k)]
        given = [spare * s // sum(shares) for s in shares]
        given[0] += spare - sum(given)
        for sym, extra in zip(order[:k], given, strict=True):
            table[ctx, sym] += extra
    return table


def _context_index(context):
    a = len(MARKOV_SYMBOLS)
    index = 0
    for ch in context:
        index = index * a + MARKOV_SYMBOLS.index(ch)
    return index


def markov(seed, size=TARGET_SIZE):
    state = rng.seed_state(seed)
    table = markov_table(seed)
    a = len(MARKOV_SYMBOLS)
    ctx = _context_index(MARKOV_START)
    cum = np.cumsum(table, axis=1)
    out, bits = [], 0.0
    for _ in range(size):
        x = rng.below(state, MARKOV_TOTAL)
        sym = int(np.searchsorted(cum[ctx], x, side="right"))
        bits += math.log2(MARKOV_TOTAL / table[ctx, sym])
        out.append(MARKOV_SYMBOLS[sym])
        ctx = (ctx * a + sym) % a**MARKOV_ORDER
    return "".join(out), bits


def markov_rate(seed):
    """sum_ctx pi(ctx) H(next | ctx), pi the stationary law of the context chain."""
    table = markov_table(seed)
    n_ctx, a = table.shape
    probs = table / MARKOV_TOTAL
    succ = (np.arange(n_ctx)[:, None] * a + np.arange(a)[None, :]) % n_ctx
    pi = np.full(n_ctx, 1.0 / n_ctx)
    for _ in range(100_000):
        new = np.bincount(succ.ravel(), weights=(pi[:, None] * probs).ravel(), minlength=n_ctx)
        done = np.abs(new - pi).sum() < 1e-15
        pi = new
        if done:
            break
    row_entropy = -(probs * np.log2(probs)).sum(axis=1)
    return float(pi @ row_entropy)


# --- the corpus ----------------------------------------------------------------

SOURCES = {
    "music.txt": ("synthmusic-v1", music_v1, 1, music_v1_rate),
    "music2.txt": ("synthmusic-v2", music_v2, 2, music_v2_rate),
    "anbn.txt": ("anbn", anbn, 3, anbn_rate),
    "brackets.txt": ("distant-brackets", brackets, 4, brackets_rate),
    "markov.txt": ("markov-order3", markov, 5, lambda: markov_rate(5)),
}

PARAMS = {
    "synthmusic-v1": {
        "progression": V1_PROGRESSION,
        "beats": 4,
        "chords": {c: CHORD_TONES[c] for c in sorted(set(V1_PROGRESSION))},
    },
    "synthmusic-v2": {
        "meter_probability": {f"{b} beats": f"{w}/4" for b, w in V2_METERS},
        "chord_moves": {c: {t: f"{w}/4" for t, w in m} for c, m in V2_CHORD_MOVES.items()},
        "nonchord": f"{V2_NONCHORD_EIGHTHS}/8",
        "chords": CHORD_TONES,
    },
    "anbn": {"n": f"uniform 1..{ANBN_MAX}"},
    "distant-brackets": {"s": BRACKET_S, "r": BRACKET_R, "symbols": BRACKET_SYMBOLS},
    "markov-order3": {
        "symbols": MARKOV_SYMBOLS,
        "order": MARKOV_ORDER,
        "weight_total": MARKOV_TOTAL,
        "start_context": MARKOV_START,
    },
}


def build(out_dir: Path) -> dict:
    """Write every synthetic file into out_dir and return the manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, (source, generate, seed, rate) in SOURCES.items():
        text, bits = generate(seed)
        data = text.encode("ascii")
        (out_dir / name).write_bytes(data)
        files[name] = {
            "source": source,
            "generator": f"scripts/make_corpus.py:{generate.__name__}",
            "seed": seed,
            "params": PARAMS[source],
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "entropy_bits": round(bits, 6),
            "entropy_per_char": round(bits / len(data), 6),
            "entropy_rate": round(rate(), 6),
        }
    manifest = {
        "about": "Synthetic sources with known entropy; regenerate with scripts/make_corpus.py. "
        "entropy_bits = sum of -log2 P over the choices that produced the file; "
        "entropy_rate = bits per character of the source.",
        "files": files,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


# --- real text every Python installation carries (never committed) ------------

LOCAL_SIZE = 150_000
STDLIB_MODULES = (
    "textwrap.py",
    "argparse.py",
    "json/decoder.py",
    "json/encoder.py",
    "shlex.py",
    "fractions.py",
    "difflib.py",
    "heapq.py",
    "bisect.py",
    "string.py",
    "calendar.py",
)


def _cut(text: str, limit: int, sep: str) -> str:
    """The longest prefix of text, up to `limit` bytes, ending at a separator."""
    if len(text.encode("utf-8")) <= limit:
        return text
    head = text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")
    return head[: head.rfind(sep) + len(sep)] if sep in head else head


def build_local(out_dir: Path) -> dict:
    """english.txt from pydoc's help topics, code.py from standard-library sources."""
    import sysconfig
    from pydoc_data.topics import topics

    out_dir.mkdir(parents=True, exist_ok=True)
    prose = "\n\n".join(topics[key].strip() for key in sorted(topics)) + "\n"
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    used = [m for m in STDLIB_MODULES if (stdlib / m).is_file()]
    code = "".join((stdlib / m).read_text(encoding="utf-8") for m in used)
    texts = {
        "english.txt": (_cut(prose, LOCAL_SIZE, "\n\n"), "pydoc_data.topics, keys sorted"),
        "code.py": (_cut(code, LOCAL_SIZE, "\n"), "stdlib sources: " + ", ".join(used)),
    }
    files = {}
    for name, (text, source) in texts.items():
        data = text.encode("utf-8")
        (out_dir / name).write_bytes(data)
        files[name] = {
            "source": source,
            "python": sys.version.split()[0],
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "entropy_rate": None,
        }
    manifest = {"about": "Real text from this Python installation; not committed.", "files": files}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "corpus", help="output folder")
    parser.add_argument("--local", action="store_true", help="also build OUT/local/ (real text)")
    args = parser.parse_args(argv)
    manifest = build(args.out)
    for name, entry in manifest["files"].items():
        print(
            f"{name:14s} {entry['bytes']:7d} bytes  file {entry['entropy_per_char']:.4f} bpc"
            f"  source rate {entry['entropy_rate']:.4f} bpc"
        )
    if args.local:
        for name, entry in build_local(args.out / "local")["files"].items():
            print(f"local/{name:8s} {entry['bytes']:7d} bytes  ({entry['source']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
