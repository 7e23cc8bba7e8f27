"""The mixing model (nbtzip/mix): valid probabilities, determinism, sizing, stability, learning.

Small configurations and generated data only, so the tests run in seconds once
the kernels are compiled (the first run compiles them, about a minute).
"""

import dataclasses
import hashlib
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from nbtzip.alphabet import Alphabet
from nbtzip.coding.codec import BlockCodec, Model, forced_decisions
from nbtzip.config import MIX_TABLES, ConfigError, MixConfig, from_bytes, mix_preset, to_bytes
from nbtzip.mix.measure import code_lengths, probabilities
from nbtzip.mix.model import FREQ_TOTAL
from nbtzip.mix.state import memory_bytes, new_state

SMALL = MixConfig(hidden_size=8, ctw_depth=6, me_order=4)
TEXT = (
    b"Alice was beginning to get very tired of sitting by her sister on the bank, "
    b"and of having nothing to do: once or twice she had peeped into the book her "
    b"sister was reading, but it had no pictures or conversations in it.\n"
)


def _random(n, seed=1):
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


INPUTS = {
    "zeros": bytes(3000),
    "one byte repeated": b"e" * 3000,
    "random": _random(3000),
    "text": TEXT * 10,
    "single byte": b"x",
}


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_probabilities_strictly_inside_0_1(name):
    p = probabilities(INPUTS[name], SMALL)
    assert np.all(np.isfinite(p))
    assert np.all(p > 0.0) and np.all(p < 1.0)
    bits = code_lengths(INPUTS[name], SMALL)
    assert np.all(np.isfinite(bits)) and np.all(bits >= 0.0)


def test_without_rnn_and_every_component_off():
    data = TEXT * 4
    for change in (
        dict(hidden_size=0),
        dict(ctw_depth=0),
        dict(match_min_len=0),
        dict(apm_weight=0.0),
        dict(me_order=0, me_word=0),
        dict(me_word=2),
        dict(me_order=0, me_word=2),
        dict(hidden_size=0, ctw_depth=0, match_min_len=0, me_order=0, me_word=0),
    ):
        bits = code_lengths(data, dataclasses.replace(SMALL, **change))
        assert np.all(np.isfinite(bits)), change
        assert bits.sum() / len(data) < 8.0, change


def test_two_runs_are_bitwise_identical():
    data = TEXT * 3 + _random(500)
    assert code_lengths(data, SMALL).tobytes() == code_lengths(data, SMALL).tobytes()


def _digest():
    data = TEXT * 3 + _random(400) + b"\x00" * 300
    h = hashlib.sha256()
    h.update(code_lengths(data, SMALL).tobytes())
    h.update(code_lengths(data, dataclasses.replace(SMALL, hidden_size=0)).tobytes())
    return h.hexdigest()


def test_generic_cpu_target_gives_identical_code_lengths(tmp_path):
    env = dict(os.environ, NUMBA_CPU_NAME="generic", NUMBA_CACHE_DIR=str(tmp_path))
    env["XDG_CACHE_HOME"] = str(tmp_path)
    code = "import sys; sys.path.insert(0, sys.argv[1]); import test_mix as t; print(t._digest())"
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run(
        [sys.executable, "-c", code, here], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == _digest()


def test_tables_are_sized_to_the_input():
    config = mix_preset()
    small = config.sized(1024, 60)
    big = config.sized(10_000_000, 60)
    assert small.me_row_bits < big.me_row_bits
    assert small.ctw_table_bits < big.ctw_table_bits
    assert small.match_bits < big.match_bits
    sixty = np.zeros(256, bool)
    sixty[40:100] = True
    assert memory_bytes(new_state(small, sixty)) < 20 << 20
    # unknown size keeps the caps; a 256-symbol alphabet still fits the budget
    capped = config.sized(None, 256)
    assert capped.ctw_table_bits == config.ctw_table_bits
    assert memory_bytes(new_state(capped, np.ones(256, bool))) < 500 << 20


def test_config_round_trips_through_the_header_encoding():
    for level in range(1, 10):
        config = mix_preset(level).sized(12345, 70)
        assert from_bytes(to_bytes(config)) == config


def test_each_preset_table_is_named_in_the_versions_that_hold_it():
    for level in range(1, 10):
        newest, v3, old = (mix_preset(level, table).sized(5000, 60) for table in (5, 4, 3))
        assert len({newest, v3, old}) == 3
        # version 4 names any of the three tables in 6 bytes
        for table, config in ((5, newest), (4, v3), (3, old)):
            assert to_bytes(config, 4)[:2] == bytes([table, level])
            assert len(to_bytes(config, 4)) == 6
            assert from_bytes(to_bytes(config, 4), 4) == config
        # version 3 knows tables 3 and 4: table 5's presets go field by field there
        assert to_bytes(v3, 3)[:2] == bytes([4, level]) and len(to_bytes(v3, 3)) == 6
        assert to_bytes(old, 3)[:2] == bytes([3, level])
        assert from_bytes(to_bytes(v3, 3), 3) == v3 and from_bytes(to_bytes(old, 3), 3) == old
        assert to_bytes(newest, 3)[0] == 2 and from_bytes(to_bytes(newest, 3), 3) == newest
        # version 2 knows table 3 only
        assert to_bytes(old, 2)[:2] == bytes([3, level])
        assert to_bytes(v3, 2)[0] == 2 and from_bytes(to_bytes(v3, 2), 2) == v3
        for config, version in ((newest, 4), (v3, 3)):
            with pytest.raises(ConfigError):
                from_bytes(to_bytes(config, version), 2)
        with pytest.raises(ConfigError):  # nor does version 3 know table 5
            from_bytes(to_bytes(newest, 4), 3)


def test_released_preset_tables_never_change():
    # A header names a level and its table's id only: a changed entry would
    # decode every file of that level with another model.
    pinned = {
        3: "5e2c759f1f26580683413735521ee5501ca3c2079d8fd55d6377b4f827c80f0c",
        4: "9382ddf50c9d87dad170aaf59ea27cce561e4b14f2ef42d2c59ac9932217c0b3",
        5: "25f88426a8ec572701eeee3c3ae31daa8f3b64770646f8823e5a286ac46b44c8",
    }
    for table, levels in MIX_TABLES.items():
        text = repr(sorted((lv, sorted(f.items())) for lv, f in levels.items()))
        assert hashlib.sha256(text.encode()).hexdigest() == pinned[table], table


def test_the_word_bigram_sees_the_word_before_the_current_one():
    # The digit after "corridorway" depends only on the word before it, 12
    # bytes back: beyond the byte orders, CTW's depth and the current word's
    # own context. With the match model off (a match of the whole phrase
    # would find it), only the table of (word before, current word) can.
    rng = np.random.default_rng(5)
    words = rng.integers(0, 2, 1500)
    data = b"".join(b"north corridorway1 " if w else b"south corridorway2 " for w in words)
    digits = np.array([i for i in range(len(data)) if data[i] in b"12"])
    late = digits[len(digits) // 2 :]
    base = dataclasses.replace(SMALL, me_order=6, ctw_depth=8, match_min_len=0)
    one = code_lengths(data, dataclasses.replace(base, me_word=1))[late].mean()
    two = code_lengths(data, dataclasses.replace(base, me_word=2))[late].mean()
    assert one > 0.5  # the context without the word before stays near a coin flip
    assert two < 0.1 < one / 5


def test_every_level_keeps_the_rnn():
    for level in range(1, 10):
        assert mix_preset(level).hidden_size > 0


def test_direct_connection_guard_keeps_an_aggressive_step_finite():
    # A step far above the prototype's divergence point (rate / prior ~ 1.4),
    # on input that alternates rare symbols, runs and noise.
    wild = dataclasses.replace(SMALL, me_rate=8.0, me_prior=0.25, hidden_size=0)
    data = (_random(700, 2) + b"a" * 300 + bytes(range(256)) + b"ab" * 200) * 3
    bits = code_lengths(data, wild)
    assert np.all(np.isfinite(bits))
    alphabet = Alphabet(np.ones(256, bool))
    state = new_state(wild.sized(len(data), 256), alphabet.present)
    forced = forced_decisions(alphabet.present)
    model = Model(state, binary=True, bit_total=FREQ_TOTAL, forced=forced)
    BlockCodec(model, alphabet).code_lengths(data)
    assert np.all(np.isfinite(state.soft.weights))
    assert np.abs(state.soft.weights).max() <= 16.0


def test_repeated_text_is_learned():
    bits = code_lengths(TEXT * 8, SMALL)
    last = bits[-len(TEXT) :].sum() / len(TEXT)
    assert last < 0.3


def test_order2_source_approaches_its_entropy():
    rng = np.random.default_rng(7)
    symbols = 4
    table = rng.dirichlet(np.full(symbols, 0.4), size=(symbols, symbols))
    n = 12000
    seq = [0, 1]
    for _ in range(n - 2):
        seq.append(int(rng.choice(symbols, p=table[seq[-2], seq[-1]])))
    seq = np.array(seq)
    # entropy rate under the empirical pair frequencies of the sequence
    pairs = np.zeros((symbols, symbols))
    np.add.at(pairs, (seq[:-2], seq[1:-1]), 1.0)
    weights = pairs / pairs.sum()
    rate = -sum(
        weights[a, b] * sum(q * math.log2(q) for q in table[a, b] if q > 0)
        for a in range(symbols)
        for b in range(symbols)
    )
    data = bytes(b"acgt"[s] for s in seq)
    bits = code_lengths(data, SMALL)
    tail = bits[n // 2 :].mean()
    assert tail < rate + 0.08, (tail, rate)
