"""The --model rnn levels learn with config.RNN_LEARNER (E4, remainder 0.05, Kalman); files
written before keep their configuration, and the paper's algorithms stay selectable exactly."""

import hashlib
import io
import os
import subprocess
import sys

import pytest

import nbtzip
from nbtzip.config import LEVELS, RNN_LEARNER, RNNConfig, from_bytes, preset, to_bytes

TEXT = b"the quick brown fox jumps over the lazy dog; (a (b c) d) " * 12 + bytes(range(40, 90))


def test_levels_use_the_chosen_learner_and_keep_their_hidden_sizes():
    for level, lv in LEVELS.items():
        config = preset(level)
        assert config == RNNConfig(hidden_size=lv.hidden_size, **RNN_LEARNER)
        assert (config.gradient, config.step, config.exact_steps) == ("short", "kalman", 4)
        assert config.remainder > 0.0  # the NoBackTrack remainder is kept
    assert nbtzip.make_config(model="rnn") == preset(nbtzip.DEFAULT_LEVEL)


@pytest.mark.parametrize("level", sorted(LEVELS))
def test_a_stream_at_each_level_round_trips(level):
    blob = nbtzip.compress(TEXT, level, model="rnn")
    assert nbtzip.info(io.BytesIO(blob)).config == preset(level)
    assert nbtzip.decompress(blob) == TEXT


def test_the_header_of_a_level_6_stream_names_the_new_learner():
    blob = nbtzip.compress(TEXT, 6, model="rnn")
    config = nbtzip.info(io.BytesIO(blob)).config
    assert (config.hidden_size, config.gradient, config.step) == (100, "short", "kalman")
    assert (config.exact_steps, config.remainder, config.lambda_theta) == (4, 0.05, 100.0)
    # the two "short" fields are written, so the header does not rely on defaults
    raw = to_bytes(config)
    assert raw[1] == 15 and from_bytes(raw) == config


def test_headers_written_before_the_change_decode_to_the_same_configuration():
    """What preset(6) wrote before it learned with RNN_LEARNER (version 2 and 1 headers)."""
    v2 = bytes.fromhex("000d640000010100b817006400020101000a0a00010001")
    v1 = bytes.fromhex(
        "006400000101000000000070a740000000000000594000000000000000e03f"
        "00000000000024400a000000000000f03f000000000000f03f"
    )
    old = RNNConfig(hidden_size=100)
    assert from_bytes(v2) == from_bytes(v1, 1) == old
    assert (old.gradient, old.step, old.lambda_theta) == ("nbt", "kalman", 3000)
    assert to_bytes(old) == v2 and to_bytes(old, 1) == v1


@pytest.mark.parametrize(
    ("algorithm", "gradient", "step"),
    [("kalman", "nbt", "kalman"), ("nbt", "nbt", "sgd"), ("rtrl", "rtrl", "kalman")],
)
def test_naming_an_algorithm_gives_exactly_the_paper_configuration(algorithm, gradient, step):
    config = nbtzip.make_config(1, model="rnn", algorithm=algorithm)
    assert config == RNNConfig(hidden_size=LEVELS[1].hidden_size, gradient=gradient, step=step)


def test_options_other_than_the_learner_keep_the_levels_learner():
    config = preset(2, seed=5, rank=2)
    assert (config.gradient, config.remainder, config.seed, config.rank) == ("short", 0.05, 5, 2)
    e2 = RNNConfig(
        hidden_size=LEVELS[2].hidden_size, gradient="short", exact_steps=2, remainder=0.05
    )
    assert preset(2, exact_steps=2) == e2  # another estimate: its own lambda_theta


def _digest():
    h = hashlib.sha256()
    for level in (1, 6):
        h.update(nbtzip.compress(TEXT, level, model="rnn"))
    return h.hexdigest()


def test_generic_cpu_target_writes_the_same_bytes(tmp_path):
    env = dict(os.environ, NUMBA_CPU_NAME="generic", NUMBA_CACHE_DIR=str(tmp_path))
    env["XDG_CACHE_HOME"] = str(tmp_path)
    code = "import sys; sys.path.insert(0, sys.argv[1]); import test_rnn_levels as t; "
    code += "print(t._digest())"
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run(
        [sys.executable, "-c", code, here], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == _digest()
