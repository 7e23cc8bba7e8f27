"""The mixture's probabilities as numbers, for tuning and tests (the codec does
the same through coding.loops)."""

import numpy as np
from numba import njit

from ..alphabet import Alphabet
from ..coding.codec import BlockCodec, forced_decisions
from .model import begin, end, learn_bit, new_model, predict_bit
from .state import new_state


def code_lengths(data, config, sized=True):
    """Per-byte ideal code length in bits of data (alphabet: the bytes present).

    sized: lower the configuration's table sizes to the input, as the encoder does.
    """
    alphabet = Alphabet.of(data)
    if sized:
        config = config.sized(len(data), alphabet.size)
    return BlockCodec(new_model(config, alphabet), alphabet).code_lengths(bytes(data))


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
    """Every P(bit = 1) handed to the coder over data, in order (for tests)."""
    raw = np.frombuffer(bytes(data), dtype=np.uint8)
    alphabet = Alphabet.of(data)
    state = new_state(config.sized(raw.size, alphabet.size), alphabet.present)
    out = np.zeros(8 * raw.size)
    n = _probabilities(state, raw, forced_decisions(alphabet.present), out)
    return out[:n]
