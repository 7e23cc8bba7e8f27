"""The block codec, written once for every model.

A block codec turns blocks of bytes into range-coded payloads and back. Its
model state carries from one block to the next, so blocks must be coded and
decoded in the same order:

    codec = BlockCodec(model, alphabet)     # model: a Model from a model module
    payload = codec.encode_block(data)      # bytes -> bytes
    data = codec.decode_block(payload, n)   # exactly n bytes back
    codec.absorb_block(data)                # learn from data as encode_block would,
                                            # coding nothing (blocks stored raw)
    bits = codec.code_lengths(data)         # -log2 P of each byte, learning too

decode_block never reads outside `payload` and always returns n bytes: corrupt
data gives wrong bytes (caught by the container's checksum), never a crash.

A block runs in slices of jitted work, each about SLICE_SECONDS long, so that
Python can act on a signal (Ctrl-C, SIGTERM) between them whatever the model's
size; the coder's state carries across slices, so slicing never changes a bit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..alphabet import Alphabet
from . import loops
from . import rangecoder as rc

# Long enough that the call overhead (~2 us) is lost in the work, short enough
# that a signal is acted on well within a second.
SLICE_SECONDS = 0.05
FIRST_SLICE = 64


@dataclass
class Model:
    """A model's state and how the loops drive it.

    state: the jitted state (its class registered in coding.loops).
    probs: symbol models: the array over the alphabet their predict writes.
    binary: False for a symbol model (codes alphabet indices), True for a binary
        model (codes byte values as decisions, coded out of bit_total).
    forced: binary models: per decision node, -1 if coded, else the bit the
        alphabet forces (see forced_decisions).
    """

    state: tuple
    probs: np.ndarray | None = None
    binary: bool = False
    bit_total: int = 0
    forced: np.ndarray | None = None


def forced_decisions(present, nbits=8):
    """Per decision node k: -1 if both outcomes lead to a symbol present, else the only one.

    A decision no present symbol reaches is marked 0; it is never asked.
    """
    present = np.asarray(present, dtype=bool)
    forced = np.zeros(1 << nbits, np.int8)
    for k in range(1, 1 << nbits):
        level = k.bit_length() - 1  # bits already decided
        span = 1 << (nbits - level - 1)  # symbols under each child
        first0 = ((2 * k) << (nbits - level - 1)) - (1 << nbits)
        has0 = present[first0 : first0 + span].any()
        has1 = present[first0 + span : first0 + 2 * span].any()
        forced[k] = -1 if (has0 and has1) else (1 if has1 else 0)
    return forced


def slices(n):
    """[start, stop) spans covering range(n), sized to take about SLICE_SECONDS each."""
    start, size = 0, FIRST_SLICE
    while start < n:
        stop = min(n, start + size)
        began = time.perf_counter()
        yield start, stop
        spent = time.perf_counter() - began
        if spent < SLICE_SECONDS / 2:
            size *= 2
        elif spent > SLICE_SECONDS * 2 and size > FIRST_SLICE:
            size //= 2
        start = stop


class BlockCodec:
    """Block codec for any model registered in coding.loops."""

    def __init__(self, model: Model, alphabet):
        self.model = model
        self.alphabet = alphabet if isinstance(alphabet, Alphabet) else Alphabet(alphabet)
        self._freqs = np.zeros(max(self.alphabet.size, 1), dtype=np.int64)
        self._out = rc.OutputBuffer()

    def _symbols(self, data):
        """What the loops code: alphabet indices, or checked byte values (binary models)."""
        symbols = self.alphabet.symbols(data)
        if self.model.binary:
            # a writable copy: the decoder's symbols are, and the kernel is one
            return np.frombuffer(data, dtype=np.uint8).copy()
        return symbols

    def encode_block(self, data, short_flush=False, on_slice=None) -> bytes:
        """The payload of data; short_flush: end it with the fewest bytes that
        decode (format version 3 on), not the five of versions 1 and 2.
        on_slice(k): called after each slice with the bytes of data coded so far."""
        if not data:
            return b""
        symbols = self._symbols(data)
        per_symbol = rc.MAX_BYTES_PER_SYMBOL * (8 if self.model.binary else 1)
        out = self._out.get(symbols.size * per_symbol + rc.FLUSH_BYTES)
        st = rc.encoder_new()
        m = self.model
        for start, stop in slices(symbols.size):
            if m.binary:
                loops.kernel("code_bits", m.state)(
                    m.state, m.forced, m.bit_total, False, symbols, start, stop, st, out
                )
            else:
                loops.kernel("code_symbols", m.state)(
                    m.state, m.probs, False, symbols, start, stop, self._freqs, st, out
                )
            if on_slice is not None:
                on_slice(stop)
        size = rc.encoder_finish_short(st, out) if short_flush else rc.encoder_finish(st, out)
        return out[:size].tobytes()

    def decode_block(self, payload, n, on_slice=None) -> bytes:
        """Exactly n bytes from payload; on_slice(k) as for encode_block."""
        if n == 0:
            return b""
        if self.alphabet.size == 0:
            raise ValueError("cannot decode symbols of an empty alphabet")
        # writable, as the encoder's output is: one kernel codes both ways
        buf = np.frombuffer(payload, dtype=np.uint8).copy()
        st = rc.decoder_new(buf)
        m = self.model
        if m.binary:
            symbols = np.empty(n, dtype=np.uint8)
            for start, stop in slices(n):
                loops.kernel("code_bits", m.state)(
                    m.state, m.forced, m.bit_total, True, symbols, start, stop, st, buf
                )
                if on_slice is not None:
                    on_slice(stop)
            return symbols.tobytes()
        symbols = np.empty(n, dtype=np.int64)
        for start, stop in slices(n):
            loops.kernel("code_symbols", m.state)(
                m.state, m.probs, True, symbols, start, stop, self._freqs, st, buf
            )
            if on_slice is not None:
                on_slice(stop)
        return self.alphabet.byte_of[symbols].tobytes()

    def code_lengths(self, data) -> np.ndarray:
        """-log2 P(byte) of each byte of data (unquantised), learning as encode_block does."""
        symbols = self._symbols(data)
        bits = np.empty(symbols.size)
        m = self.model
        for start, stop in slices(symbols.size):
            if m.binary:
                loops.kernel("measure_bits", m.state)(m.state, m.forced, symbols, start, stop, bits)
            else:
                loops.kernel("measure_symbols", m.state)(
                    m.state, m.probs, symbols, start, stop, bits
                )
        return bits

    def absorb_block(self, data) -> None:
        """Advance the model over data exactly as encode_block did, coding nothing."""
        if data:
            self.code_lengths(data)
