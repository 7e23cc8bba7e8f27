"""The bundled CTW compressor: context tree weighting over bytes, range coded.

The model lives in ctw_model.py; this module runs it over blocks of symbols in
three directions that share every model call: encode (symbol known), decode
(symbol read bit by bit from the coder) and measure (ideal code lengths, for
learning curves). A decision whose outcome the alphabet already fixes (say the
top bit of ASCII text) is neither coded nor learned.

    codec = CTWCodec(CTWConfig(), alphabet)     # block codec, see codecs.py
    payload = codec.encode_block(data)
    data = codec.decode_block(payload, len(data))
    bits = code_lengths(data, CTWConfig())      # -log2 P(byte) per byte
"""

import numpy as np
from numba import njit

from . import coder, mathfn
from .config import CTWConfig
from .ctw_model import (
    LINE,
    MAX_DEPTH,
    NODE,
    context_hashes,
    decision_groups,
    descend,
    learn,
    predict,
)

# Each binary decision is coded out of 2**12, not the coder's 2**16 limit: the
# range coder loses about total / range per symbol to truncation, and with 8
# decisions a byte that came to 0.2 % of the output at 2**16; at 2**12 the loss
# is 0.01-0.04 % on text and on nearly deterministic data (measured on the
# Canterbury files; 2**11 .. 2**13 are all close).
FREQ_TOTAL = 1 << 12
# Layout of the integer parameter vector `ip` handed to the kernels.
P_DEPTH, P_NBITS, P_ALPHA_INV, P_COUNT_LIMIT, P_LINE_SHIFT, P_RING_MASK = range(6)
# Rows of the per-decision table `dec`: forced outcome (-1 = coded) and line group.
D_FORCED, D_GROUP = 0, 1
# The history ring must reach back far enough to unroll singletons; nodes fill
# the table long before 2**table_bits bytes have passed, so that is enough.
MIN_RING_BITS = 12


@njit(cache=True)
def bit_freq(p1):
    """Integer frequency of bit 1 out of FREQ_TOTAL: p1 * FREQ_TOTAL rounded, kept
    in [1, FREQ_TOTAL - 1] so both bits stay codable.

    The one float -> integer step of the codec, shared by encoder and decoder.
    """
    if not (p1 > 0.0):
        p1 = 0.0
    elif p1 > 1.0:
        p1 = 1.0
    f = int(p1 * FREQ_TOTAL + 0.5)
    return min(max(f, 1), FREQ_TOTAL - 1)


@njit(cache=True)
def _decision(tab, ring, meta, ip, dec, hctx, cbytes, path, pe, pw, k):
    """Nodes of tree k on the current path and their P(bit = 1); returns (last, p1)."""
    last = descend(
        tab,
        ring,
        ip[P_RING_MASK],
        ip[P_LINE_SHIFT],
        meta,
        k,
        dec[D_GROUP, k],
        ip[P_DEPTH],
        hctx,
        cbytes,
        path,
    )
    return last, predict(tab, path, last, ip[P_ALPHA_INV], pe, pw)


@njit(cache=True)
def _learn(tab, meta, ip, fp, path, last, pe, pw, bit):
    learn(tab, path, last, pe, pw, bit, fp[0], ip[P_COUNT_LIMIT], meta[0])


@njit(cache=True)
def _begin_symbol(ring, meta, ip, hctx, cbytes):
    context_hashes(ring, ip[P_RING_MASK], meta[0], ip[P_DEPTH], hctx, cbytes)


@njit(cache=True)
def _end_symbol(ring, meta, ip, symbol):
    ring[meta[0] & ip[P_RING_MASK]] = symbol
    meta[0] += 1


@njit(cache=True)
def _scratch():
    return (
        np.zeros(MAX_DEPTH + 1, np.uint64),
        np.zeros(MAX_DEPTH + 1, np.uint8),
        np.zeros(MAX_DEPTH + 1, np.int64),
        np.zeros(MAX_DEPTH + 1, np.float64),
        np.zeros(MAX_DEPTH + 1, np.float64),
    )


@njit(cache=True)
def encode_symbols(tab, ring, meta, ip, fp, dec, symbols, out):
    """Code `symbols` into out; returns the number of bytes written."""
    hctx, cbytes, path, pe, pw = _scratch()
    nbits = ip[P_NBITS]
    st = coder.encoder_new()
    pos = 0
    for i in range(symbols.shape[0]):
        sym = np.int64(symbols[i])
        _begin_symbol(ring, meta, ip, hctx, cbytes)
        k = 1
        for b in range(nbits - 1, -1, -1):
            bit = (sym >> b) & 1
            if dec[D_FORCED, k] < 0:
                last, p1 = _decision(tab, ring, meta, ip, dec, hctx, cbytes, path, pe, pw, k)
                f1 = bit_freq(p1)
                if bit:
                    pos = coder.encode(st, out, pos, FREQ_TOTAL - f1, f1, FREQ_TOTAL)
                else:
                    pos = coder.encode(st, out, pos, 0, FREQ_TOTAL - f1, FREQ_TOTAL)
                _learn(tab, meta, ip, fp, path, last, pe, pw, bit)
            k = 2 * k + bit
        _end_symbol(ring, meta, ip, sym)
    return coder.encoder_finish(st, out, pos)


@njit(cache=True)
def decode_symbols(tab, ring, meta, ip, fp, dec, buf, out):
    """Decode out.shape[0] symbols from buf (never reads outside it)."""
    hctx, cbytes, path, pe, pw = _scratch()
    nbits = ip[P_NBITS]
    end = buf.shape[0]
    st, pos = coder.decoder_new(buf, 0, end)
    for i in range(out.shape[0]):
        _begin_symbol(ring, meta, ip, hctx, cbytes)
        k = 1
        for _ in range(nbits):
            bit = dec[D_FORCED, k]
            if bit < 0:
                last, p1 = _decision(tab, ring, meta, ip, dec, hctx, cbytes, path, pe, pw, k)
                f1 = bit_freq(p1)
                f0 = FREQ_TOTAL - f1
                if coder.decode_target(st, FREQ_TOTAL) >= f0:
                    bit = 1
                    pos = coder.decode_consume(st, buf, pos, end, f0, f1, FREQ_TOTAL)
                else:
                    bit = 0
                    pos = coder.decode_consume(st, buf, pos, end, 0, f0, FREQ_TOTAL)
                _learn(tab, meta, ip, fp, path, last, pe, pw, bit)
            k = 2 * k + bit
        sym = k - (1 << nbits)
        out[i] = sym
        _end_symbol(ring, meta, ip, sym)


@njit(cache=True)
def measure_symbols(tab, ring, meta, ip, fp, dec, symbols, bits):
    """bits[i] = -log2 P(symbols[i]) under the model (unquantised), learning as it goes."""
    hctx, cbytes, path, pe, pw = _scratch()
    nbits = ip[P_NBITS]
    for i in range(symbols.shape[0]):
        sym = np.int64(symbols[i])
        _begin_symbol(ring, meta, ip, hctx, cbytes)
        k = 1
        cost = 0.0
        for b in range(nbits - 1, -1, -1):
            bit = (sym >> b) & 1
            if dec[D_FORCED, k] < 0:
                last, p1 = _decision(tab, ring, meta, ip, dec, hctx, cbytes, path, pe, pw, k)
                cost -= mathfn.log2(p1 if bit else 1.0 - p1)
                _learn(tab, meta, ip, fp, path, last, pe, pw, bit)
            k = 2 * k + bit
        bits[i] = cost
        _end_symbol(ring, meta, ip, sym)


def forced_bits(alphabet, nbits=8):
    """Per decision k: -1 if both outcomes lead to a symbol in the alphabet, else the only one.

    A decision no present symbol reaches is marked 0; it is never asked.
    """
    present = np.asarray(alphabet, dtype=bool)
    forced = np.zeros(1 << nbits, np.int8)
    for k in range(1, 1 << nbits):
        level = k.bit_length() - 1  # bits already decided
        span = 1 << (nbits - level - 1)  # symbols under each child
        first0 = ((2 * k) << (nbits - level - 1)) - (1 << nbits)
        has0 = present[first0 : first0 + span].any()
        has1 = present[first0 + span : first0 + 2 * span].any()
        forced[k] = -1 if (has0 and has1) else (1 if has1 else 0)
    return forced


class CTWModel:
    """CTW state over symbols of `nbits` bits (8 = bytes; 1 = the binary textbook case)."""

    def __init__(self, config: CTWConfig, nbits: int = 8, alphabet=None):
        if not 1 <= nbits <= 8:
            raise ValueError("nbits must be 1..8")
        self.config = config
        self.nbits = nbits
        if alphabet is None:
            alphabet = np.ones(1 << nbits, dtype=bool)
        self.alphabet = np.asarray(alphabet, dtype=bool).copy()
        if self.alphabet.shape != (1 << nbits,):
            raise ValueError(f"alphabet must have {1 << nbits} entries")
        self.dec = np.stack([forced_bits(self.alphabet, nbits), decision_groups(nbits)])
        ring_bits = max(config.table_bits, MIN_RING_BITS)
        self.table = np.zeros(1 << config.table_bits, dtype=NODE)
        self.ring = np.zeros(1 << ring_bits, dtype=np.uint8)
        self.meta = np.zeros(2, dtype=np.int64)  # [symbols coded, nodes in use]
        line_bits = config.table_bits - (LINE.bit_length() - 1)  # log2 of the line count
        self.ip = np.zeros(6, dtype=np.int64)
        self._out = coder.OutputBuffer()
        self.ip[P_DEPTH] = config.depth
        self.ip[P_NBITS] = nbits
        self.ip[P_ALPHA_INV] = config.alpha_inv
        self.ip[P_COUNT_LIMIT] = config.count_limit
        self.ip[P_LINE_SHIFT] = 64 - line_bits
        self.ip[P_RING_MASK] = (1 << ring_bits) - 1
        self.fp = np.array([mathfn.exp(config.beta_clamp * mathfn.LN2)], dtype=np.float64)

    @property
    def nodes_used(self) -> int:
        return int(self.meta[1])

    def _args(self):
        return self.table, self.ring, self.meta, self.ip, self.fp, self.dec

    def _check(self, symbols):
        if symbols.size and not self.alphabet[symbols].all():
            raise ValueError("data holds a symbol outside the codec's alphabet")

    def encode(self, symbols: np.ndarray) -> bytes:
        symbols = np.ascontiguousarray(symbols, dtype=np.uint8)
        self._check(symbols)
        if symbols.size == 0:
            return b""
        out = self._out.get(
            symbols.size * self.nbits * coder.MAX_BYTES_PER_SYMBOL + coder.FLUSH_BYTES
        )
        n = encode_symbols(*self._args(), symbols, out)
        return out[:n].tobytes()

    def decode(self, payload: bytes, n: int) -> np.ndarray:
        out = np.zeros(n, dtype=np.uint8)
        if n > 0:
            buf = np.frombuffer(payload, dtype=np.uint8)
            decode_symbols(*self._args(), buf, out)
        return out

    def code_lengths(self, symbols: np.ndarray) -> np.ndarray:
        symbols = np.ascontiguousarray(symbols, dtype=np.uint8)
        self._check(symbols)
        bits = np.zeros(symbols.size, dtype=np.float64)
        measure_symbols(*self._args(), symbols, bits)
        return bits


class CTWCodec:
    """Block codec (see codecs.py) for CTWConfig; model state carries across blocks."""

    def __init__(self, config: CTWConfig, alphabet):
        self.model = CTWModel(config, 8, alphabet)

    def encode_block(self, data: bytes) -> bytes:
        return self.model.encode(np.frombuffer(data, dtype=np.uint8))

    def decode_block(self, payload: bytes, n: int) -> bytes:
        return self.model.decode(payload, n).tobytes()

    def absorb_block(self, data: bytes) -> None:
        """Learn from data exactly as encode_block would, coding nothing."""
        self.model.code_lengths(np.frombuffer(data, dtype=np.uint8))


def code_lengths(data: bytes, config: CTWConfig, alphabet=None) -> np.ndarray:
    """Ideal code length in bits of each byte of data (alphabet: the bytes present)."""
    symbols = np.frombuffer(data, dtype=np.uint8)
    if alphabet is None:
        alphabet = np.zeros(256, dtype=bool)
        alphabet[symbols] = True
    return CTWModel(config, 8, alphabet).code_lengths(symbols)
