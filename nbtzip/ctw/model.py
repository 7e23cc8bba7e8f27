"""The bundled CTW compressor as a binary model of the coding loops.

The context tree lives in tree.py; this module holds a stream's CTW state and
the four calls the coding loops make per byte (begin, predict_bit, learn_bit,
end). A decision whose outcome the alphabet already fixes (say the top bit of
ASCII text) is neither coded nor learned.

    model = new_model(CTWConfig(), alphabet)    # for coding.codec.BlockCodec
    bits = code_lengths(data, CTWConfig())      # -log2 P(byte) per byte
    CTWModel(config, nbits).code_lengths(symbols)   # symbols of 1..8 bits
"""

from collections import namedtuple

import numpy as np
from numba import njit

from ..alphabet import Alphabet
from ..coding import loops
from ..coding.codec import BlockCodec, Model, forced_decisions, slices
from ..coding.rangecoder import (
    FLUSH_BYTES,
    MAX_BYTES_PER_SYMBOL,
    OutputBuffer,
    decoder_new,
    encoder_finish,
    encoder_new,
)
from ..config import CTWConfig
from ..numeric import mathfn
from .tree import LINE, MAX_DEPTH, NODE, context_hashes, decision_groups, descend, learn, predict

# Each binary decision is coded out of 2**12, not the coder's 2**16 limit: the
# range coder loses about total / range per symbol to truncation, and with 8
# decisions a byte that came to 0.2 % of the output at 2**16; at 2**12 the loss
# is 0.01-0.04 % on text and on nearly deterministic data (measured on the
# Canterbury files; 2**11 .. 2**13 are all close).
FREQ_TOTAL = 1 << 12
# The history ring must reach back far enough to unroll singletons; nodes fill
# the table long before 2**table_bits bytes have passed, so that is enough.
MIN_RING_BITS = 12

CTWState = namedtuple(
    "CTWState",
    [
        "table",  # the node table (tree.NODE), 2**table_bits nodes
        "ring",  # the last 2**ring_bits symbols
        "meta",  # [symbols coded, nodes in use]
        "groups",  # per decision node: the decision heading its line group
        "hctx", "cbytes",  # the context hashes and bytes of the current symbol
        "path", "pe", "pw",  # the current decision's nodes and probabilities
        "last",  # [deepest node of the current path]
        "depth", "alpha_inv", "count_limit", "line_shift", "ring_mask", "beta_max",
    ],
)  # fmt: skip


def new_state(config: CTWConfig, nbits: int = 8) -> CTWState:
    ring_bits = max(config.table_bits, MIN_RING_BITS)
    line_bits = config.table_bits - (LINE.bit_length() - 1)  # log2 of the line count
    return CTWState(
        table=np.zeros(1 << config.table_bits, dtype=NODE),
        ring=np.zeros(1 << ring_bits, dtype=np.uint8),
        meta=np.zeros(2, dtype=np.int64),
        groups=decision_groups(nbits),
        hctx=np.zeros(MAX_DEPTH + 1, np.uint64),
        cbytes=np.zeros(MAX_DEPTH + 1, np.uint8),
        path=np.zeros(MAX_DEPTH + 1, np.int64),
        pe=np.zeros(MAX_DEPTH + 1, np.float64),
        pw=np.zeros(MAX_DEPTH + 1, np.float64),
        last=np.zeros(1, np.int64),
        depth=config.depth,
        alpha_inv=config.alpha_inv,
        count_limit=config.count_limit,
        line_shift=64 - line_bits,
        ring_mask=(1 << ring_bits) - 1,
        beta_max=mathfn.exp(config.beta_clamp * mathfn.LN2),
    )


@njit(cache=True)
def begin(s):
    context_hashes(s.ring, s.ring_mask, s.meta[0], s.depth, s.hctx, s.cbytes)


@njit(cache=True)
def predict_bit(s, k):
    """P(bit = 1) at decision k, weighted along the nodes of the current context."""
    last = descend(
        s.table, s.ring, s.ring_mask, s.line_shift, s.meta, k, s.groups[k], s.depth, s.hctx,
        s.cbytes, s.path,
    )  # fmt: skip
    s.last[0] = last
    return predict(s.table, s.path, last, s.alpha_inv, s.pe, s.pw)


@njit(cache=True)
def learn_bit(s, k, bit):
    learn(s.table, s.path, s.last[0], s.pe, s.pw, bit, s.beta_max, s.count_limit, s.meta[0])


@njit(cache=True)
def end(s, symbol):
    s.ring[s.meta[0] & s.ring_mask] = symbol
    s.meta[0] += 1


loops.register_binary_model(CTWState, begin, predict_bit, learn_bit, end)


def new_model(config: CTWConfig, alphabet: Alphabet) -> Model:
    return Model(new_state(config), binary=True, bit_total=FREQ_TOTAL,
                 forced=forced_decisions(alphabet.present))  # fmt: skip


class CTWModel:
    """CTW over symbols of `nbits` bits (8 = bytes; 1 = the binary textbook case)."""

    def __init__(self, config: CTWConfig, nbits: int = 8, alphabet=None):
        if not 1 <= nbits <= 8:
            raise ValueError("nbits must be 1..8")
        if alphabet is None:
            alphabet = np.ones(1 << nbits, dtype=bool)
        self.alphabet = np.asarray(alphabet, dtype=bool).copy()
        if self.alphabet.shape != (1 << nbits,):
            raise ValueError(f"alphabet must have {1 << nbits} entries")
        self.nbits = nbits
        self.state = new_state(config, nbits)
        self.forced = forced_decisions(self.alphabet, nbits)
        self._out = OutputBuffer()

    @property
    def nodes_used(self) -> int:
        return int(self.state.meta[1])

    def _checked(self, symbols):
        symbols = np.array(symbols, dtype=np.uint8)  # writable, as code_bits needs
        if symbols.size and not self.alphabet[symbols].all():
            raise ValueError("data holds a symbol outside the codec's alphabet")
        return symbols

    def encode(self, symbols: np.ndarray) -> bytes:
        symbols = self._checked(symbols)
        if symbols.size == 0:
            return b""
        out = self._out.get(symbols.size * self.nbits * MAX_BYTES_PER_SYMBOL + FLUSH_BYTES)
        st = encoder_new()
        for start, stop in slices(symbols.size):
            loops.kernel("code_bits", self.state)(
                self.state, self.forced, FREQ_TOTAL, False, symbols, start, stop, st, out
            )
        return out[: encoder_finish(st, out)].tobytes()

    def decode(self, payload: bytes, n: int) -> np.ndarray:
        out = np.zeros(n, dtype=np.uint8)
        if n > 0:
            buf = np.frombuffer(payload, dtype=np.uint8).copy()  # writable, like encode's
            st = decoder_new(buf)
            for start, stop in slices(n):
                loops.kernel("code_bits", self.state)(
                    self.state, self.forced, FREQ_TOTAL, True, out, start, stop, st, buf
                )
        return out

    def code_lengths(self, symbols: np.ndarray) -> np.ndarray:
        symbols = self._checked(symbols)
        bits = np.zeros(symbols.size, dtype=np.float64)
        for start, stop in slices(symbols.size):
            loops.kernel("measure_bits", self.state)(
                self.state, self.forced, symbols, start, stop, bits
            )
        return bits


def code_lengths(data: bytes, config: CTWConfig, alphabet=None) -> np.ndarray:
    """Ideal code length in bits of each byte of data (alphabet: the bytes present)."""
    alphabet = Alphabet.of(data) if alphabet is None else Alphabet(alphabet)
    return BlockCodec(new_model(config, alphabet), alphabet).code_lengths(data)
