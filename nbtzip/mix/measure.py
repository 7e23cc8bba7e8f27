"""Ideal code lengths of the mixing model: a small driver of the seam, for tuning.

The generic coding loops will replace it; it calls begin / predict_bit /
learn_bit / end exactly as they will, skipping the decisions the alphabet
forces (ctw.forced_bits), and sums -log2 p over the coded decisions.
"""

import numpy as np
from numba import njit

from .. import mathfn
from ..ctw import forced_bits
from .model import begin, end, learn_bit, predict_bit
from .state import new_state


@njit(cache=True, error_model="numpy")
def measure(state, data, forced, bits):
    """bits[i] = -log2 P(data[i]) under the model, learning as it goes."""
    for i in range(data.shape[0]):
        byte = np.int64(data[i])
        begin(state)
        k = 1
        cost = 0.0
        for b in range(7, -1, -1):
            bit = (byte >> b) & 1
            if forced[k] < 0:
                p1 = predict_bit(state, k)
                cost -= mathfn.log2(p1 if bit else 1.0 - p1)
                learn_bit(state, k, bit)
            k = 2 * k + bit
        bits[i] = cost
        end(state, byte)


def alphabet_of(data):
    flags = np.zeros(256, dtype=bool)
    flags[np.frombuffer(data, dtype=np.uint8)] = True
    return flags


def code_lengths(data, config, alphabet=None, state=None, sized=True):
    """Per-byte ideal code length in bits of `data` (alphabet: the bytes present).

    sized: lower the configuration's table sizes to the input, as the encoder will.
    """
    raw = np.frombuffer(bytes(data), dtype=np.uint8)
    if alphabet is None:
        alphabet = alphabet_of(data)
    alphabet = np.asarray(alphabet, dtype=bool)
    if state is None:
        if sized:
            config = config.sized(raw.size, int(alphabet.sum()))
        state = new_state(config, alphabet)
    bits = np.zeros(raw.size)
    measure(state, raw, forced_bits(alphabet).astype(np.int64), bits)
    return bits


@njit(cache=True, error_model="numpy")
def _probabilities(state, data, forced, out):
    n = 0
    for i in range(data.shape[0]):
        byte = np.int64(data[i])
        begin(state)
        k = 1
        for b in range(7, -1, -1):
            bit = (byte >> b) & 1
            if forced[k] < 0:
                out[n] = predict_bit(state, k)
                n += 1
                learn_bit(state, k, bit)
            k = 2 * k + bit
        end(state, byte)
    return n


def probabilities(data, config):
    """Every P(bit = 1) handed to the coder over `data`, in order (for tests)."""
    raw = np.frombuffer(bytes(data), dtype=np.uint8)
    alphabet = alphabet_of(data)
    state = new_state(config.sized(raw.size, int(alphabet.sum())), alphabet)
    out = np.zeros(8 * raw.size)
    n = _probabilities(state, raw, forced_bits(alphabet).astype(np.int64), out)
    return out[:n]
