"""Match model: predict the byte that followed the last occurrence of the context.

At each byte boundary a hash of the last match_min_len bytes looks up where
that context last ended; the candidate is verified against the history ring
(so a hash collision never predicts) and its length measured backwards. While
the match holds, the byte after it is the prediction, and it grows by one per
correctly predicted byte; a miss ends it and the next boundary looks again.

Per decision the expected bit comes from the predicted byte if its leading
bits agree with the bits already coded in this byte; P(bit = 1) is then an
adaptive probability per (length bucket, expected bit), p += (bit - p) / (n + 1.5)
with n capped at COUNT_LIMIT. Positions are kept mod 2**32 (uint32 table);
past 4 GiB a stale entry is caught by the verification.
"""

import numpy as np
from numba import njit

from .softmax import fmix

COUNT_LIMIT = 1023
MAX_LENGTH = 65535
LENGTH_BUCKETS = 16
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_MATCH_SEED = np.uint64(0xA4093822299F31D0)
_POS_MASK = 0xFFFFFFFF
_VERIFY = 32  # bytes compared backwards when a candidate is found


@njit(cache=True, inline="always")
def bucket(length):
    """Length bucket 0..15 (0 = no match)."""
    return min(length, LENGTH_BUCKETS - 1)


@njit(cache=True, inline="always")
def update(hyper, hist, match, byte):
    """After `byte` was appended to the history (hist.pos already counts it)."""
    minlen = hyper.match_min_len
    if minlen == 0:
        return
    t = hist.pos[0]
    ring = hist.ring
    mask = hyper.ring_mask
    length = match.length[0]
    if length > 0:
        if ring[match.ptr[0] & mask] == byte and t - match.ptr[0] < mask - 1:
            match.length[0] = min(length + 1, MAX_LENGTH)
            match.ptr[0] += 1
        else:
            match.length[0] = 0
    if t < minlen:
        return
    h = _MATCH_SEED
    for d in range(1, minlen + 1):
        h = fmix(h + np.uint64(ring[(t - d) & mask] + 1 + (d << 8)) * _GOLD)
    slot = np.int64(h & np.uint64(hyper.match_mask))
    if match.length[0] == 0:
        stored = np.int64(match.table[slot])
        if stored != 0:
            cand = t - ((t + 1 - stored) & _POS_MASK)  # the position stored + 1 stood for
            if 0 < t - cand < mask - _VERIFY:
                n = 0
                while n < _VERIFY and cand - 1 - n >= 0:
                    if ring[(cand - 1 - n) & mask] != ring[(t - 1 - n) & mask]:
                        break
                    n += 1
                if n >= minlen:
                    match.length[0] = n
                    match.ptr[0] = cand
    match.table[slot] = np.uint32((t + 1) & _POS_MASK)


@njit(cache=True, inline="always")
def expected_byte(hyper, hist, match):
    """The predicted byte, or -1."""
    if match.length[0] == 0:
        return -1
    return np.int64(hist.ring[match.ptr[0] & hyper.ring_mask])


@njit(cache=True, error_model="numpy", inline="always")
def predict(match, expected, k, level):
    """P(bit = 1) at node k from the match, or -1.0 when it predicts nothing here."""
    if expected < 0 or ((expected + 256) >> (8 - level)) != k:
        match.ctx[0] = -1
        return -1.0
    ebit = (expected >> (7 - level)) & 1
    ctx = bucket(match.length[0]) * 2 + ebit
    match.ctx[0] = ctx
    return match.prob[ctx]


@njit(cache=True, error_model="numpy", inline="always")
def learn(match, bit):
    ctx = match.ctx[0]
    if ctx < 0:
        return
    n = match.count[ctx]
    match.prob[ctx] += (bit - match.prob[ctx]) / (n + 1.5)
    if n < COUNT_LIMIT:
        match.count[ctx] = n + 1
