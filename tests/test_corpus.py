"""The bundled synthetic corpus: reproducible bytes and exact entropy figures.

The entropy checks do not reuse the generator's bookkeeping: they re-parse
each committed file under the source's definition and add up -log2 P of every
choice the parse recovers, and recompute each source's entropy rate by
enumeration (music, brackets, a^n b^n) or by a separately written power
iteration (Markov).
"""

import importlib.util
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


def _load_make_corpus():
    spec = importlib.util.spec_from_file_location("make_corpus", ROOT / "scripts/make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


mc = _load_make_corpus()
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())["files"]


def _text(name):
    return (CORPUS / name).read_bytes().decode("ascii")


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    return out, mc.build(out)


def test_make_corpus_reproduces_committed_files_bit_for_bit(regenerated):
    out, manifest = regenerated
    assert set(manifest["files"]) == set(MANIFEST)
    for name in MANIFEST:
        assert (out / name).read_bytes() == (CORPUS / name).read_bytes(), name
    for name, entry in manifest["files"].items():
        committed = MANIFEST[name]
        for key, value in entry.items():
            if isinstance(value, float):
                assert value == pytest.approx(committed[key], rel=1e-9), (name, key)
            else:
                assert value == committed[key], (name, key)


def test_manifest_sizes_and_per_char_entropy_are_consistent():
    for name, entry in MANIFEST.items():
        size = (CORPUS / name).stat().st_size
        assert entry["bytes"] == size
        assert entry["entropy_per_char"] == pytest.approx(entry["entropy_bits"] / size, abs=1e-6)
        # A ~100 KB sample of a stationary source sits close to the source's rate.
        assert abs(entry["entropy_per_char"] - entry["entropy_rate"]) < 0.02, name


# --- re-parsing the files -------------------------------------------------------


def _parse_bar(bar, chord, beats, nonchord):
    """-log2 P of one bar's notes; asserts the bar obeys the source's grammar."""
    bits, left = 0.0, beats
    assert len(bar) % 2 == 0 and bar
    for pitch, digit in zip(bar[::2], bar[1::2], strict=True):
        if nonchord:
            bits += -math.log2(7 / 24) if pitch in chord else -math.log2(1 / 32)
            assert pitch in "cdefgab"
        else:
            assert pitch in chord
            bits += math.log2(3)
        fits = min(4, left)
        assert 1 <= int(digit) <= fits
        bits += math.log2(fits)
        left -= int(digit)
    assert left == 0
    return bits


def test_music_v1_entropy_matches_a_reparse_of_the_file():
    tones = {"C": "ceg", "F": "fac", "G": "gbd"}
    bits = 0.0
    lines = _text("music.txt").split("\n")
    assert lines[-1] == ""
    for line in lines[:-1]:
        bars = line.split("|")
        assert len(bars) == 4
        for chord, bar in zip("CFGC", bars, strict=True):
            bits += _parse_bar(bar, tones[chord], 4, nonchord=False)
    assert bits == pytest.approx(MANIFEST["music.txt"]["entropy_bits"], abs=1e-4)


def test_music_v2_entropy_matches_a_reparse_of_the_file():
    tones = {"C": "ceg", "D": "dfa", "F": "fac", "G": "gbd", "A": "ace"}
    moves = {"C": "FGAD", "D": "GGGF", "F": "GGCD", "G": "CCCA", "A": "FFDD"}  # 4 equal slots
    bits = 0.0
    for line in _text("music2.txt").split("\n")[:-1]:
        meter, body = line.split(":")
        bits += -math.log2({"4": 3 / 4, "3": 1 / 4}[meter])
        previous = None
        for bar in body.split("|"):
            chord = bar[0]
            if previous is None:
                assert chord == "C"
            else:
                bits += -math.log2(moves[previous].count(chord) / 4)
            bits += _parse_bar(bar[1:], tones[chord], int(meter), nonchord=True)
            previous = chord
    assert bits == pytest.approx(MANIFEST["music2.txt"]["entropy_bits"], abs=1e-4)


def test_anbn_and_brackets_entropy_match_a_reparse_of_the_files():
    lines = _text("anbn.txt").split("\n")[:-1]
    for a_line, b_line in zip(lines[::2], lines[1::2], strict=True):
        assert a_line == "a" * len(a_line) and b_line == "b" * len(a_line)
        assert 1 <= len(a_line) <= 32
    assert len(lines) // 2 * 5.0 == pytest.approx(MANIFEST["anbn.txt"]["entropy_bits"], abs=1e-4)

    lines = _text("brackets.txt").split("\n")[:-1]
    for line in lines:
        assert len(line) == 11 and line[0] == line[8] == "[" and line[2] == line[10] == "]"
        assert line[1] == line[9] and (line[1] + line[3:8]).isdigit()
    expected = len(lines) * 6 * math.log2(10)
    assert expected == pytest.approx(MANIFEST["brackets.txt"]["entropy_bits"], abs=1e-4)


def test_markov_entropy_matches_the_code_length_under_the_true_table():
    table = mc.markov_table(MANIFEST["markov.txt"]["seed"])
    symbols = "abcdefghijklmnopqrstuvwxyz ,.\n"
    assert (table.sum(axis=1) == 4096).all() and (table >= 1).all()
    codes = np.array([symbols.index(ch) for ch in "   " + _text("markov.txt")])
    a = len(symbols)
    contexts = codes[:-3] * a * a + codes[1:-2] * a + codes[2:-1]
    bits = float(np.sum(12.0 - np.log2(table[contexts, codes[3:]])))
    assert bits == pytest.approx(MANIFEST["markov.txt"]["entropy_bits"], rel=1e-9)


# --- entropy rates by independent computations ---------------------------------


def _compositions(beats):
    """Every way to fill a bar (durations 1..4) with its probability."""
    for n in range(1, beats + 1):
        for parts in itertools.product(range(1, 5), repeat=n):
            if sum(parts) != beats:
                continue
            p, left = 1.0, beats
            for d in parts:
                p /= min(4, left)
                left -= d
            yield parts, p


def _bar_expectations(beats, pitch_bits):
    bits = notes = total = 0.0
    for parts, p in _compositions(beats):
        total += p
        notes += p * len(parts)
        bits += p * (-math.log2(p) + len(parts) * pitch_bits)
    assert total == pytest.approx(1.0)
    return bits, notes


def test_music_entropy_rates_match_enumeration_of_every_bar():
    bits, notes = _bar_expectations(4, math.log2(3))
    assert MANIFEST["music.txt"]["entropy_rate"] == pytest.approx(bits / (2 * notes + 1), abs=1e-6)

    pitch_bits = -(7 / 8) * math.log2(7 / 24) - (1 / 8) * math.log2(1 / 32)
    moves = {"C": "FGAD", "D": "GGGF", "F": "GGCD", "G": "CCCA", "A": "FFDD"}
    # The 3 chord moves of a phrase: 4 equally likely slots each; equal chords merge.
    sequences = {}
    for path in itertools.product(range(4), repeat=3):
        chord, seq = "C", []
        for slot in path:
            chord = moves[chord][slot]
            seq.append(chord)
        sequences[tuple(seq)] = sequences.get(tuple(seq), 0.0) + 1 / 64
    chord_bits = -sum(p * math.log2(p) for p in sequences.values())
    phrase_bits = chord_bits - (3 / 4) * math.log2(3 / 4) - (1 / 4) * math.log2(1 / 4)
    phrase_chars = 2.0
    for beats, weight in ((4, 3 / 4), (3, 1 / 4)):
        b, n = _bar_expectations(beats, pitch_bits)
        phrase_bits += weight * 4 * b
        phrase_chars += weight * 4 * (2 * n + 2)
    expected = phrase_bits / phrase_chars
    assert MANIFEST["music2.txt"]["entropy_rate"] == pytest.approx(expected, abs=1e-6)


def test_anbn_and_brackets_entropy_rates_match_closed_forms():
    assert MANIFEST["anbn.txt"]["entropy_rate"] == pytest.approx(5 / 35, abs=1e-6)
    assert MANIFEST["brackets.txt"]["entropy_rate"] == pytest.approx(
        6 * math.log2(10) / 12, abs=1e-6
    )


def test_markov_entropy_rate_matches_the_stationary_law_of_the_chain():
    table = mc.markov_table(MANIFEST["markov.txt"]["seed"]) / 4096.0
    n_ctx, a = table.shape
    # Start from the uniform law and apply the chain until it stops moving.
    pi = np.full(n_ctx, 1.0 / n_ctx)
    for _ in range(10_000):
        nxt = np.zeros(n_ctx)
        for sym in range(a):
            np.add.at(nxt, (np.arange(n_ctx) * a + sym) % n_ctx, pi * table[:, sym])
        change = np.abs(nxt - pi).max()
        pi = nxt
        if change < 1e-14:
            break
    assert pi.sum() == pytest.approx(1.0)
    rate = float(np.sum(pi * -(table * np.log2(table)).sum(axis=1)))
    assert MANIFEST["markov.txt"]["entropy_rate"] == pytest.approx(rate, abs=1e-6)


def test_local_corpus_builds_real_text_without_a_download(tmp_path):
    manifest = mc.build_local(tmp_path)
    assert set(manifest["files"]) == {"english.txt", "code.py"}
    for name, entry in manifest["files"].items():
        data = (tmp_path / name).read_bytes()
        assert 10_000 < len(data) == entry["bytes"] <= mc.LOCAL_SIZE
        assert entry["entropy_rate"] is None
        data.decode("utf-8")  # cut on a character boundary
    assert b"def " in (tmp_path / "code.py").read_bytes()
