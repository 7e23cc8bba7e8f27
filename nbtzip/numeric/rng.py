"""The project's own PRNG: xoshiro256** seeded through splitmix64.

Every random number that influences a compressed stream (initial weights, the
NoBackTrack signs) comes from here, in a fixed order, so that the decoder can
replay them from the seed stored in the file. numpy's generators are not used:
their streams are not promised to stay the same across numpy versions.

The state is a numpy uint64 array of length 4, so it can live inside jitted
loops and be saved between blocks.
"""

import numpy as np
from numba import njit

from . import mathfn

_U1 = np.uint64(1)
_U11 = np.uint64(11)
_U17 = np.uint64(17)
_U45 = np.uint64(45)
_U7 = np.uint64(7)
_U5 = np.uint64(5)
_U9 = np.uint64(9)
_U64 = np.uint64(64)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SM_M1 = np.uint64(0xBF58476D1CE4E5B9)
_SM_M2 = np.uint64(0x94D049BB133111EB)
_U30 = np.uint64(30)
_U27 = np.uint64(27)
_U31 = np.uint64(31)
_U53 = np.uint64(53)
_TWO_M53 = 1.0 / 9007199254740992.0


@njit(cache=True, error_model="numpy")
def _rotl(x, k):
    return (x << k) | (x >> (_U64 - k))


@njit(cache=True, error_model="numpy")
def seed_state(seed):
    """A fresh xoshiro256** state from a 64-bit seed (splitmix64 expansion)."""
    state = np.empty(4, dtype=np.uint64)
    z = np.uint64(seed)
    for i in range(4):
        z = z + _GOLDEN
        x = z
        x = (x ^ (x >> _U30)) * _SM_M1
        x = (x ^ (x >> _U27)) * _SM_M2
        state[i] = x ^ (x >> _U31)
    return state


@njit(cache=True, error_model="numpy")
def next_u64(state):
    s0 = state[0]
    s1 = state[1]
    s2 = state[2]
    s3 = state[3]
    result = _rotl(s1 * _U5, _U7) * _U9
    t = s1 << _U17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, _U45)
    state[0] = s0
    state[1] = s1
    state[2] = s2
    state[3] = s3
    return result


@njit(cache=True, error_model="numpy")
def uniform(state):
    """A double in [0, 1) with 53 random bits."""
    return float(next_u64(state) >> _U11) * _TWO_M53


@njit(cache=True, error_model="numpy")
def below(state, n):
    """An integer in [0, n), n >= 1 (rejection sampling, no modulo bias)."""
    un = np.uint64(n)
    limit = np.uint64(0xFFFFFFFFFFFFFFFF) - (np.uint64(0xFFFFFFFFFFFFFFFF) % un)
    while True:
        x = next_u64(state)
        if x < limit:
            return int(x % un)


@njit(cache=True, error_model="numpy")
def normal(state):
    """A standard normal draw by Marsaglia's polar method (needs only log and sqrt)."""
    while True:
        u = 2.0 * uniform(state) - 1.0
        v = 2.0 * uniform(state) - 1.0
        s = u * u + v * v
        if 0.0 < s < 1.0:
            return u * np.sqrt(-2.0 * mathfn.log(s) / s)
