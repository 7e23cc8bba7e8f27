"""The learning path gives the same bits every run, and on a generic CPU target.

The decoder must replay the encoder's arithmetic exactly, so any dependence on
the host CPU's instruction set (FMA contraction, vector width) would break files
moved between machines. The subprocess compiles every kernel for the generic
x86-64 / aarch64 target (no AVX, no FMA) into its own cache.
"""

import hashlib
import os
import subprocess
import sys

import numpy as np

from nbtzip.config import RNNConfig
from nbtzip.rnn import step as online

CONFIGS = [
    {"hidden_size": 24},
    {"hidden_size": 12, "gradient": "rtrl"},
    {"hidden_size": 16, "step": "sgd", "rank": 2},
    {"hidden_size": 16, "gradient": "none", "fisher": "op"},
]


def _symbols():
    text = b"the quick brown fox jumps over the lazy dog; " * 40 + bytes(range(32, 127)) * 3
    alphabet = sorted(set(text))
    lookup = {b: i for i, b in enumerate(alphabet)}
    return np.array([lookup[b] for b in text]), len(alphabet)


def _digest():
    symbols, size = _symbols()
    h = hashlib.sha256()
    for options in CONFIGS:
        h.update(online.online_losses(symbols, size, RNNConfig(**options)).tobytes())
    return h.hexdigest()


def test_two_runs_give_bitwise_identical_losses():
    symbols, size = _symbols()
    for options in CONFIGS:
        first = online.online_losses(symbols, size, RNNConfig(**options))
        second = online.online_losses(symbols, size, RNNConfig(**options))
        assert first.tobytes() == second.tobytes()


def test_generic_cpu_target_gives_identical_losses(tmp_path):
    env = dict(os.environ, NUMBA_CPU_NAME="generic", NUMBA_CACHE_DIR=str(tmp_path))
    code = "import sys; sys.path.insert(0, sys.argv[1]); import test_determinism as t; "
    code += "print(t._digest())"
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run(
        [sys.executable, "-c", code, here], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == _digest()
