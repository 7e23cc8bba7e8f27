"""The coding loops: predict -> code -> learn for every byte of a block, both directions.

Encoder and decoder run the very same online.predict / online.learn; the only
difference is where y(t) comes from (the input, or the range decoder). One
jitted call per block, no Python per byte. Bytes are mapped to symbol indices
through the stream's alphabet (the byte values present, in increasing order).
"""

import numpy as np
from numba import njit

from . import coder, online


@njit(cache=True, error_model="numpy")
def _encode(net, symbols, out, freqs):
    st = coder.encoder_new()
    pos = 0
    for t in range(symbols.shape[0]):
        online.predict(net)
        coder.quantize(net.p[: freqs.shape[0]], freqs)
        y = symbols[t]
        cum = 0
        for z in range(y):
            cum += freqs[z]
        pos = coder.encode(st, out, pos, cum, freqs[y], coder.FREQ_TOTAL)
        online.learn(net, y)
    return coder.encoder_finish(st, out, pos)


@njit(cache=True, error_model="numpy")
def _decode(net, buf, count, symbols, freqs):
    end = buf.shape[0]
    st, pos = coder.decoder_new(buf, 0, end)
    for t in range(count):
        online.predict(net)
        coder.quantize(net.p[: freqs.shape[0]], freqs)
        target = coder.decode_target(st, coder.FREQ_TOTAL)
        y, cum = coder.find_symbol(freqs, target)
        pos = coder.decode_consume(st, buf, pos, end, cum, freqs[y], coder.FREQ_TOTAL)
        symbols[t] = y
        online.learn(net, y)


class Alphabet:
    """The byte values a stream may contain, and the byte <-> symbol maps."""

    def __init__(self, present):
        present = np.asarray(present, dtype=bool)
        if present.shape != (256,):
            raise ValueError("alphabet must be 256 flags")
        self.present = present.copy()
        self.byte_of = np.flatnonzero(present).astype(np.uint8)
        self.symbol_of = np.full(256, -1, dtype=np.int64)
        self.symbol_of[self.byte_of] = np.arange(self.byte_of.size)
        self.size = int(self.byte_of.size)

    @classmethod
    def of(cls, data):
        flags = np.zeros(256, dtype=bool)
        flags[np.frombuffer(data, dtype=np.uint8)] = True
        return cls(flags)

    def symbols(self, data):
        sym = self.symbol_of[np.frombuffer(data, dtype=np.uint8)]
        if sym.size and sym.min() < 0:
            raise ValueError("data holds a byte outside the stream's alphabet")
        return sym


class RNNCodec:
    """Block codec for the RNN model (see codecs.py for the interface)."""

    def __init__(self, config, alphabet):
        self.config = config
        self.alphabet = alphabet if isinstance(alphabet, Alphabet) else Alphabet(alphabet)
        self._net = None
        self._freqs = np.zeros(max(self.alphabet.size, 1), dtype=np.int64)
        self._out = coder.OutputBuffer()

    def _state(self):
        if self._net is None:
            self._net = online.new_net(self.config, self.alphabet.size)
        return self._net

    def encode_block(self, data):
        if not data:
            return b""
        symbols = self.alphabet.symbols(data)
        out = self._out.get(symbols.size * coder.MAX_BYTES_PER_SYMBOL + coder.FLUSH_BYTES)
        size = _encode(self._state(), symbols, out, self._freqs)
        return out[:size].tobytes()

    def absorb_block(self, data):
        """Advance the model over data exactly as encode_block did, coding nothing."""
        if data:
            online.online_losses(
                self.alphabet.symbols(data), self.alphabet.size, None, self._state()
            )

    def decode_block(self, payload, n):
        if n == 0:
            return b""
        if self.alphabet.size == 0:
            raise ValueError("cannot decode symbols of an empty alphabet")
        buf = np.frombuffer(payload, dtype=np.uint8)
        symbols = np.empty(n, dtype=np.int64)
        _decode(self._state(), buf, n, symbols, self._freqs)
        return self.alphabet.byte_of[symbols].tobytes()


def code_lengths(data, config):
    """Ideal per-byte code length in bits (-log2 p) of the RNN learning online over data."""
    alphabet = Alphabet.of(data)
    return online.online_losses(alphabet.symbols(data), alphabet.size, config)
