"""Range coder over integer frequencies, and the float -> frequency steps.

The coder never knows where probabilities come from. A model's prediction is
turned into integer frequencies by one exact function shared by both
directions (quantize for a symbol distribution, bit_freq for one binary
decision), and the frequency table codes a symbol in either direction
(encode_symbol / decode_symbol, encode_bit / decode_bit), so the encoder and
the decoder can never disagree on a table.

The encoder keeps a 33-bit `low` in a 64-bit integer and propagates carries
through a cached byte plus a count of pending 0xFF bytes, so output bytes are
final as soon as they are written. The decoder mirrors it exactly. Both keep
their state, including the read or write position, in a small int64 array so
that a jitted loop can stop after any symbol and a later call go on where it
stopped (the codecs code a block in slices and check for signals in between).
"""

import numpy as np
from numba import njit

TOP = 1 << 24  # renormalise when range drops below this
RANGE_INIT = 0xFFFFFFFF
FREQ_BITS = 16
FREQ_TOTAL = 1 << FREQ_BITS  # total of every frequency table built by quantize()
# Names of the state entries: encoder [LOW, RANGE, CACHE, PENDING, STARTED, POS]
# (POS: bytes written), decoder [CODE, RANGE, READ] (READ: bytes read).
LOW, RANGE, CACHE, PENDING, STARTED, POS = range(6)
CODE, READ = 0, 2

# Worst case bytes an encoder writes for one symbol (renormalisation shifts at
# most 3 bytes for totals <= 2**16) plus the final flush.
MAX_BYTES_PER_SYMBOL = 4
FLUSH_BYTES = 5


@njit(cache=True, error_model="numpy")
def quantize(probs, freqs):
    """Integer frequencies from float probabilities: every symbol >= 1, sum FREQ_TOTAL.

    freq = 1 + floor(p * (FREQ_TOTAL - A)); what the floors leave over goes to
    the most probable symbol (first one on ties). Depends only on the floats,
    so encoder and decoder get the same table. NaN or negative inputs
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
def bit_freq(p1, total):
    """Frequency of bit 1 out of `total` (a power of two): p1 * total rounded, kept
    in [1, total - 1] so both outcomes stay codable; NaN counts as 0, +inf as 1."""
    if not (p1 > 0.0):
        p1 = 0.0
    elif p1 > 1.0:
        p1 = 1.0
    f = int(p1 * total + 0.5)
    return min(max(f, 1), total - 1)


@njit(cache=True, error_model="numpy")
def encoder_new():
    st = np.zeros(6, dtype=np.int64)
    st[RANGE] = RANGE_INIT
    return st


@njit(cache=True, error_model="numpy")
def _shift_low(st, out):
    low = st[LOW]
    pos = st[POS]
    if low < 0xFF000000 or low >= 0x100000000:
        carry = low >> 32
        if st[STARTED] != 0:
            out[pos] = (st[CACHE] + carry) & 0xFF
            pos += 1
        st[STARTED] = 1
        while st[PENDING] > 0:
            out[pos] = (0xFF + carry) & 0xFF
            pos += 1
            st[PENDING] -= 1
        st[CACHE] = (low >> 24) & 0xFF
    else:
        st[PENDING] += 1
    st[LOW] = (low << 8) & 0xFFFFFFFF
    st[POS] = pos


@njit(cache=True, error_model="numpy")
def encode(st, out, cum, freq, total):
    """Code a symbol occupying [cum, cum + freq) of `total`."""
    r = st[RANGE] // total
    st[LOW] += r * cum
    st[RANGE] = r * freq
    while st[RANGE] < TOP:
        st[RANGE] <<= 8
        _shift_low(st, out)


@njit(cache=True, error_model="numpy")
def encoder_finish(st, out):
    """Flush the encoder; returns the number of bytes written in all."""
    for _ in range(5):
        _shift_low(st, out)
    return st[POS]


@njit(cache=True, error_model="numpy")
def encoder_finish_short(st, out):
    """Flush the encoder with as few bytes as decode; returns the bytes written in all.

    Any value in [low, low + range) decodes the same symbols, and the decoder
    reads zeros past the payload's end. So the flush codes the value of that
    interval with the most trailing zero bits, and the zero bytes it ends
    with are not written. With range >= 2**24 that value has at least 24 zero
    bits, so the flush writes the cached byte (and pending ones) and at most
    one more: 3.2 bytes fewer than five shifts on average (tests/test_format_v3).
    """
    low = st[LOW]
    high = low + st[RANGE] - 1
    k = 33
    while k > 0 and ((high >> k) << k) < low:
        k -= 1
    st[LOW] = (high >> k) << k
    for _ in range(5):
        _shift_low(st, out)
    pos = st[POS]
    while pos > 0 and out[pos - 1] == 0:
        pos -= 1
    st[POS] = pos
    return pos


def decoder_new(buf):
    """Decoder state primed with the first bytes of buf.

    The encoder never writes the always-zero leading byte of the classic
    design, so the decoder primes itself with 4 bytes. Reads past the end of
    buf yield 0, so a truncated payload decodes to garbage that the checksum
    rejects, never to a crash. Plain Python, called once a block: jitted, it
    was the one kernel a first decompression still compiled after a compress.
    """
    st = np.zeros(3, dtype=np.int64)
    st[RANGE] = RANGE_INIT
    code = 0
    end = buf.shape[0]
    for pos in range(4):
        byte = int(buf[pos]) if pos < end else 0
        code = ((code << 8) | byte) & 0xFFFFFFFF
    st[CODE] = code
    st[READ] = 4
    return st


@njit(cache=True, error_model="numpy")
def decode_target(st, total):
    """The cumulative frequency the next symbol covers; call decode_consume next."""
    r = st[RANGE] // total
    v = st[CODE] // r
    return v if v < total else total - 1


@njit(cache=True, error_model="numpy")
def decode_consume(st, buf, cum, freq, total):
    r = st[RANGE] // total
    st[CODE] -= r * cum
    st[RANGE] = r * freq
    end = buf.shape[0]
    while st[RANGE] < TOP:
        pos = st[READ]
        byte = buf[pos] if pos < end else 0
        st[CODE] = ((st[CODE] << 8) | byte) & 0xFFFFFFFF
        st[RANGE] <<= 8
        st[READ] = pos + 1


@njit(cache=True, error_model="numpy")
def encode_symbol(st, out, freqs, y):
    """Code symbol y of the frequency table freqs (total FREQ_TOTAL)."""
    cum = 0
    for z in range(y):
        cum += freqs[z]
    encode(st, out, cum, freqs[y], FREQ_TOTAL)


@njit(cache=True, error_model="numpy")
def decode_symbol(st, buf, freqs):
    """The symbol encode_symbol coded with the same table."""
    target = decode_target(st, FREQ_TOTAL)
    cum = 0
    y = freqs.shape[0] - 1
    for z in range(freqs.shape[0] - 1):
        if target < cum + freqs[z]:
            y = z
            break
        cum += freqs[z]
    decode_consume(st, buf, cum, freqs[y], FREQ_TOTAL)
    return y


@njit(cache=True, error_model="numpy")
def encode_bit(st, out, f1, total, bit):
    """Code a binary decision whose outcome 1 has frequency f1 of total (bit_freq);
    0 occupies [0, total - f1), 1 the rest."""
    if bit:
        encode(st, out, total - f1, f1, total)
    else:
        encode(st, out, 0, total - f1, total)


@njit(cache=True, error_model="numpy")
def decode_bit(st, buf, f1, total):
    """The decision encode_bit coded with the same frequency."""
    f0 = total - f1
    if decode_target(st, total) >= f0:
        decode_consume(st, buf, f0, f1, total)
        return 1
    decode_consume(st, buf, 0, f0, total)
    return 0


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
