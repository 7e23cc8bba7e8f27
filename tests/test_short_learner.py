"""E_K / T_K as a configuration: header bytes, determinism, selection by name."""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

import nbtzip
from nbtzip.config import LEVELS, ConfigError, CTWConfig, RNNConfig, from_bytes, to_bytes
from nbtzip.rnn import step as online

SHORT_CONFIGS = [
    {"hidden_size": 16, "gradient": "short"},
    {"hidden_size": 12, "gradient": "short", "exact_steps": 1, "remainder": 1.0, "rank": 2},
    {"hidden_size": 12, "gradient": "short", "exact_steps": 3, "remainder": 0.5, "step": "sgd"},
]


def test_existing_configurations_keep_their_header_bytes():
    """The digest of these headers before gradient "short" existed (commit c31c647).

    The last nine are what preset(1..9) returned then; the levels now learn with
    config.RNN_LEARNER (tests/test_rnn_levels.py), but those files keep their bytes."""
    configs = [
        RNNConfig(),
        RNNConfig(gradient="rtrl", hidden_size=12),
        RNNConfig(gradient="none", step="sgd", rank=3),
        CTWConfig(),
    ] + [RNNConfig(hidden_size=LEVELS[level].hidden_size) for level in range(1, 10)]
    digest = hashlib.sha256(b"".join(to_bytes(c, 1) for c in configs)).hexdigest()
    assert digest == "057adfedf8a34fae4b99661918539312ec7ec3d71dae659fd89a2fcb21c64f73"


@pytest.mark.parametrize("options", SHORT_CONFIGS)
def test_short_configurations_round_trip_through_the_header(options):
    config = RNNConfig(**options)
    raw = to_bytes(config)
    assert from_bytes(raw) == config
    assert len(raw) > len(to_bytes(RNNConfig(hidden_size=config.hidden_size)))
    with pytest.raises(ConfigError):
        from_bytes(raw[:-1])


def test_short_fields_apply_to_gradient_short_only():
    assert RNNConfig(gradient="short").exact_steps == 4
    assert RNNConfig(gradient="short").remainder == 0.0
    assert RNNConfig(gradient="nbt", exact_steps=3, remainder=1.0).exact_steps is None
    for bad in ({"exact_steps": 0}, {"exact_steps": 17}, {"remainder": 1.5}, {"remainder": -1}):
        with pytest.raises(ConfigError):
            RNNConfig(gradient="short", **bad)


@pytest.mark.parametrize("name", ["t4", "t2", "e2", "t1", "e1"])
def test_algorithms_select_the_estimates_by_name(name):
    config = nbtzip.make_config(2, model="rnn", algorithm=name)
    assert (config.gradient, config.exact_steps) == ("short", int(name[1]))
    assert config.remainder == (1.0 if name[0] == "e" else 0.0)
    data = b"abracadabra, abracadabra " * 20
    assert nbtzip.decompress(nbtzip.compress(data, config=config)) == data


def _symbols():
    text = b"the quick brown fox jumps over the lazy dog; " * 30 + bytes(range(32, 127)) * 2
    alphabet = sorted(set(text))
    lookup = {b: i for i, b in enumerate(alphabet)}
    return np.array([lookup[b] for b in text]), len(alphabet)


def _digest():
    symbols, size = _symbols()
    h = hashlib.sha256()
    for options in SHORT_CONFIGS:
        h.update(online.online_losses(symbols, size, RNNConfig(**options)).tobytes())
    return h.hexdigest()


def test_two_runs_give_bitwise_identical_losses():
    symbols, size = _symbols()
    for options in SHORT_CONFIGS:
        first = online.online_losses(symbols, size, RNNConfig(**options))
        second = online.online_losses(symbols, size, RNNConfig(**options))
        assert first.tobytes() == second.tobytes()
        assert np.isfinite(first).all()


def test_generic_cpu_target_gives_identical_losses(tmp_path):
    env = dict(os.environ, NUMBA_CPU_NAME="generic", NUMBA_CACHE_DIR=str(tmp_path))
    code = "import sys; sys.path.insert(0, sys.argv[1]); import test_short_learner as t; "
    code += "print(t._digest())"
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run(
        [sys.executable, "-c", code, here], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == _digest()
