"""Shared fixtures: a tiny stand-in block codec and generated test data.

Order0Codec is an adaptive order-0 frequency model driving nbtzip.coder. It
implements the block-codec interface (state carried across blocks, one
flushed range-coder stream per block) and is fast to compile, so tests of
the container logic do not depend on, or wait for, the real models.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from numba import njit

from nbtzip import coder
from nbtzip.container import STORED

_STEP = 24  # count added per occurrence; halving keeps the total <= 2**16


@njit(cache=True)
def _order0_update(counts, s):
    counts[s] += _STEP
    total = 0
    for z in range(counts.shape[0]):
        total += counts[z]
    if total > coder.FREQ_TOTAL:
        for z in range(counts.shape[0]):
            counts[z] = (counts[z] + 1) // 2


@njit(cache=True)
def _order0_encode(symbols, counts, out):
    st = coder.encoder_new()
    pos = 0
    for i in range(symbols.shape[0]):
        s = symbols[i]
        total = 0
        cum = 0
        for z in range(counts.shape[0]):
            if z == s:
                cum = total
            total += counts[z]
        pos = coder.encode(st, out, pos, cum, counts[s], total)
        _order0_update(counts, s)
    return coder.encoder_finish(st, out, pos)


@njit(cache=True)
def _order0_decode(buf, n, counts, symbols):
    st, pos = coder.decoder_new(buf, 0, buf.shape[0])
    for i in range(n):
        total = 0
        for z in range(counts.shape[0]):
            total += counts[z]
        target = coder.decode_target(st, total)
        s, cum = coder.find_symbol(counts, target)
        pos = coder.decode_consume(st, buf, pos, buf.shape[0], cum, counts[s], total)
        symbols[i] = s
        _order0_update(counts, s)


class Order0Codec:
    """Adaptive order-0 model over the alphabet; the block-codec interface."""

    def __init__(self, config, alphabet):
        alphabet = np.asarray(alphabet, dtype=bool)
        self.byte_of = np.flatnonzero(alphabet).astype(np.uint8)
        self.symbol_of = (np.cumsum(alphabet) - 1).astype(np.int64)
        self.counts = np.ones(len(self.byte_of), dtype=np.int64)

    def encode_block(self, data: bytes) -> bytes:
        symbols = self.symbol_of[np.frombuffer(data, dtype=np.uint8)]
        out = np.zeros(len(data) * coder.MAX_BYTES_PER_SYMBOL + coder.FLUSH_BYTES, dtype=np.uint8)
        end = _order0_encode(symbols, self.counts, out)
        return out[:end].tobytes()

    def absorb_block(self, data: bytes) -> None:
        for s in self.symbol_of[np.frombuffer(data, dtype=np.uint8)]:
            _order0_update(self.counts, s)

    def decode_block(self, payload: bytes, n: int) -> bytes:
        symbols = np.zeros(n, dtype=np.int64)
        _order0_decode(np.frombuffer(payload, dtype=np.uint8), n, self.counts, symbols)
        return self.byte_of[symbols].tobytes()


@pytest.fixture
def order0(monkeypatch):
    """Route every configuration to Order0Codec (container logic only)."""
    import nbtzip.codecs

    monkeypatch.setattr(nbtzip.codecs, "make_codec", Order0Codec)
    return Order0Codec


def english_like(n: int, seed: int = 7) -> bytes:
    """Generated text with English-like letter, word and sentence statistics."""
    rng = np.random.default_rng(seed)
    words = (
        "the of and to in is that it was for on are as with his they at be this from "
        "have or by one had not but what all were when we there can an your which their "
        "said if do will each about how up out them then she many some so these would "
        "other into has more her two like him see time could no make than first been its "
        "who now people my made over did down only way find use may water long little "
        "very after words called just where most know network learning gradient online"
    ).split()
    weights = 1.0 / np.arange(1, len(words) + 1)
    weights /= weights.sum()
    parts = []
    size = 0
    while size < n:
        count = int(rng.integers(4, 16))
        sentence = " ".join(words[i] for i in rng.choice(len(words), count, p=weights))
        sentence = sentence[0].upper() + sentence[1:] + ". "
        if rng.random() < 0.15:
            sentence += "\n"
        parts.append(sentence)
        size += len(sentence)
    return "".join(parts).encode("ascii")[:n]


def raw_block_fields(blob):
    """(n, raw payload-size field, crc) per block, flag bit included."""
    pos = 11 + struct.unpack_from("<H", blob, 9)[0] + 32 + 4
    out = []
    while (n := struct.unpack_from("<I", blob, pos)[0]) != 0:
        field, crc = struct.unpack_from("<II", blob, pos + 4)
        out.append((n, field, crc))
        pos += 12 + (field & ~STORED)
    return out


class Pipe(io.RawIOBase):
    """A readable byte source that cannot seek or tell its size, like a pipe."""

    def __init__(self, data):
        self._data = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, b):
        return self._data.readinto(b)
