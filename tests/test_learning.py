"""Every learner learns a synthetic order-2 Markov source; the orderings the paper claims hold."""

import numpy as np
import pytest

from nbtzip.config import RNNConfig
from nbtzip.numeric import rng
from nbtzip.rnn import step as online

ALPHABET, LENGTH, SEEDS = 4, 8000, (1, 2, 3)


def _order2_source(seed=11):
    """A random order-2 chain (from the project PRNG, so the data never changes),
    a sample path, its exact entropy rate and the sample's order-0 entropy."""
    state = rng.seed_state(seed)
    table = np.array([rng.uniform(state) ** 4 + 0.01 for _ in range(ALPHABET**3)])
    table = table.reshape(ALPHABET, ALPHABET, ALPHABET)
    table /= table.sum(axis=2, keepdims=True)
    pairs = ALPHABET * ALPHABET
    move = np.zeros((pairs, pairs))
    for a in range(ALPHABET):
        for b in range(ALPHABET):
            move[a * ALPHABET + b, b * ALPHABET : (b + 1) * ALPHABET] = table[a, b]
    vals, vecs = np.linalg.eig(move.T)
    stationary = np.real(vecs[:, np.argmin(np.abs(vals - 1))])
    stationary /= stationary.sum()
    rate = -sum(
        stationary[a * ALPHABET + b] * table[a, b, c] * np.log2(table[a, b, c])
        for a in range(ALPHABET)
        for b in range(ALPHABET)
        for c in range(ALPHABET)
    )
    path = [0, 0]
    for _ in range(LENGTH):
        cum = np.cumsum(table[path[-2], path[-1]])
        path.append(min(int(np.searchsorted(cum, rng.uniform(state), side="right")), ALPHABET - 1))
    symbols = np.array(path[2:])
    freq = np.bincount(symbols, minlength=ALPHABET) / LENGTH
    order0 = -np.sum(freq[freq > 0] * np.log2(freq[freq > 0]))
    return symbols, rate, order0


SOURCE = _order2_source()

# n = 64 compares the paper's algorithms. The small network (n = 12) is too small
# for a random reservoir to hold the two-symbol context by chance, which is where
# learning theta shows: at n = 64 the frozen network already predicts this source
# as well as RTRL does (1.334 vs 1.333 bits), at n = 12 it does not.
LEARNERS = {
    "nbt+kalman": {"hidden_size": 64},
    "nbt+sgd": {"hidden_size": 64, "step": "sgd"},
    "small rtrl+kalman": {"hidden_size": 12, "gradient": "rtrl"},
    "small frozen+kalman": {"hidden_size": 12, "gradient": "none"},
}


def _second_half_loss(options):
    symbols = SOURCE[0]
    losses = [online.online_losses(symbols, ALPHABET, RNNConfig(seed=s, **options)) for s in SEEDS]
    return float(np.mean([loss[LENGTH // 2 :].mean() for loss in losses]))


RESULTS = {}


def _result(name):
    if name not in RESULTS:
        RESULTS[name] = _second_half_loss(LEARNERS[name])
    return RESULTS[name]


@pytest.mark.parametrize("name", list(LEARNERS))
def test_learner_beats_order0_and_approaches_entropy_rate(name):
    _, rate, order0 = SOURCE
    loss = _result(name)
    assert loss < order0 - 0.1, f"{name}: {loss:.3f} bits vs order-0 {order0:.3f}"
    assert loss < rate + 0.4, f"{name}: {loss:.3f} bits vs entropy rate {rate:.3f}"


def test_kalman_nobacktrack_beats_euclidean_nobacktrack():
    assert _result("nbt+kalman") < _result("nbt+sgd")


def test_exact_gradient_beats_frozen_theta():
    """Learning theta is worth something: RTRL + Kalman beats the readout-only ablation."""
    assert _result("small rtrl+kalman") < _result("small frozen+kalman") - 0.02
