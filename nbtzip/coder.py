"""Range coder over integer frequencies, and the float -> frequency step.

The coder never knows where probabilities come from: a model hands it
(cumulative frequency, frequency, total) for the symbol that occurred. The
encoder keeps a 33-bit `low` in a 64-bit integer and propagates carries through
a cached byte plus a count of pending 0xFF bytes, so output bytes are final
as soon as they are written. The decoder mirrors it exactly.

Both the encoder and the decoder keep their state in a small int64 array so a
jitted loop can own it across calls:

    encoder state: [low, range, cache, pending, started]
    decoder state: [code, range]
"""

import numpy as np
from numba import njit

TOP = 1 << 24  # renormalise when range drops below this
RANGE_INIT = 0xFFFFFFFF
FREQ_BITS = 16
FREQ_TOTAL = 1 << FREQ_BITS  # total of every frequency table built by quantize()

# Worst case bytes an encoder writes for one symbol (renormalisation shifts at
# most 3 bytes for totals <= 2**16) plus the final flush.
MAX_BYTES_PER_SYMBOL = 4
FLUSH_BYTES = 5


@njit(cache=True, error_model="numpy")
def quantize(probs, freqs):
    """Integer frequencies from float probabilities: every symbol >= 1, sum FREQ_TOTAL.

    freq = 1 + floor(p * (FREQ_TOTAL - A)); what the floors leave over goes to
    the most probable symbol (first one on ties). Depends only on the floats,
    so encoder and decoder get the same table. Non-finite or negative inputs
    are treated as zero so a diverging model can never break the coder.
    """
    a = probs.shape[0]
    spare = FREQ_TOTAL - a
    total = 0
    best = 0
    best_p = -1.0
    for z in range(a):
        p = probs[z]
        if not (p > 0.0):
            p = 0.0
        elif p > 1.0:
            p = 1.0
        f = 1 + int(p * spare)
        freqs[z] = f
        total += f
        if p > best_p:
            best_p = p
            best = z
    # p <= 1 and sum(p) may slightly exceed 1 through rounding: take back any excess
    # from the largest frequencies first, never below 1.
    while total > FREQ_TOTAL:
        z = 0
        for k in range(1, a):
            if freqs[k] > freqs[z]:
                z = k
        take = min(total - FREQ_TOTAL, freqs[z] - 1)
        freqs[z] -= take
        total -= take
    freqs[best] += FREQ_TOTAL - total


@njit(cache=True, error_model="numpy")
def encoder_new():
    st = np.zeros(5, dtype=np.int64)
    st[1] = RANGE_INIT
    return st


@njit(cache=True, error_model="numpy")
def _shift_low(st, out, pos):
    low = st[0]
    if low < 0xFF000000 or low >= 0x100000000:
        carry = low >> 32
        if st[4] != 0:
            out[pos] = (st[2] + carry) & 0xFF
            pos += 1
        st[4] = 1
        while st[3] > 0:
            out[pos] = (0xFF + carry) & 0xFF
            pos += 1
            st[3] -= 1
        st[2] = (low >> 24) & 0xFF
    else:
        st[3] += 1
    st[0] = (low << 8) & 0xFFFFFFFF
    return pos


@njit(cache=True, error_model="numpy")
def encode(st, out, pos, cum, freq, total):
    """Code a symbol occupying [cum, cum + freq) of `total`; returns the new write position."""
    r = st[1] // total
    st[0] += r * cum
    st[1] = r * freq
    while st[1] < TOP:
        st[1] <<= 8
        pos = _shift_low(st, out, pos)
    return pos


@njit(cache=True, error_model="numpy")
def encoder_finish(st, out, pos):
    for _ in range(5):
        pos = _shift_low(st, out, pos)
    return pos


@njit(cache=True, error_model="numpy")
def decoder_new(buf, pos, end):
    """Decoder state primed with the first bytes of buf[pos:end]; returns (state, pos).

    The encoder never writes the always-zero leading byte of the classic
    design, so the decoder primes itself with 4 bytes. Reads past `end` yield
    0, so a truncated payload decodes to garbage that the checksum rejects,
    never to a crash.
    """
    st = np.zeros(2, dtype=np.int64)
    st[1] = RANGE_INIT
    code = 0
    for _ in range(4):
        byte = buf[pos] if pos < end else 0
        code = ((code << 8) | byte) & 0xFFFFFFFF
        pos += 1
    st[0] = code
    return st, pos


@njit(cache=True, error_model="numpy")
def decode_target(st, total):
    """The cumulative frequency the next symbol covers; call decode_consume next."""
    r = st[1] // total
    v = st[0] // r
    return v if v < total else total - 1


@njit(cache=True, error_model="numpy")
def decode_consume(st, buf, pos, end, cum, freq, total):
    r = st[1] // total
    st[0] -= r * cum
    st[1] = r * freq
    while st[1] < TOP:
        byte = buf[pos] if pos < end else 0
        st[0] = ((st[0] << 8) | byte) & 0xFFFFFFFF
        st[1] <<= 8
        pos += 1
    return pos


@njit(cache=True, error_model="numpy")
def find_symbol(freqs, target):
    """The symbol whose cumulative interval holds target; returns (symbol, cum)."""
    cum = 0
    a = freqs.shape[0]
    for z in range(a - 1):
        if target < cum + freqs[z]:
            return z, cum
        cum += freqs[z]
    return a - 1, cum


class OutputBuffer:
    """One encoder output array reused block after block.

    A fresh multi-megabyte array per block made glibc raise its mmap threshold
    and keep the freed memory in a fragmented heap: peak memory grew with the
    input (182 MB at 1 MB, 220 MB at 20 MB, measured). Reusing one array keeps
    it flat.
    """

    def __init__(self):
        self._array = np.empty(0, dtype=np.uint8)

    def get(self, size):
        if self._array.size < size:
            self._array = np.empty(size, dtype=np.uint8)
        return self._array
