"""Shared fixtures: a tiny stand-in block codec and generated test data.

Order0Codec is an adaptive order-0 frequency model behind the model seam. It
implements the block-codec interface (state carried across blocks, one
flushed range-coder stream per block) and is fast to compile, so tests of
the container logic do not depend on, or wait for, the real models.
"""

from __future__ import annotations

import io
from collections import namedtuple

import numpy as np
import pytest
from numba import njit

from nbtzip import framing
from nbtzip.alphabet import Alphabet
from nbtzip.coding.codec import BlockCodec, Model
from nbtzip.coding.loops import register_symbol_model

_STEP = 24  # count added per occurrence; halved when the total passes 2**16

# A stand-in model written the way every model is: a named state, two jitted
# functions, one registration with the coding loops.
Order0 = namedtuple("Order0", ["counts", "probs"])


@njit(cache=True)
def _order0_predict(state):
    total = 0.0
    for z in range(state.counts.shape[0]):
        total += state.counts[z]
    for z in range(state.counts.shape[0]):
        state.probs[z] = state.counts[z] / total


@njit(cache=True)
def _order0_learn(state, y):
    counts = state.counts
    counts[y] += _STEP
    total = 0.0
    for z in range(counts.shape[0]):
        total += counts[z]
    if total > 65536:
        for z in range(counts.shape[0]):
            counts[z] = (counts[z] + 1) // 2


register_symbol_model(Order0, _order0_predict, _order0_learn)


def Order0Codec(config, alphabet):
    """Adaptive order-0 model over the alphabet, as a block codec (any config)."""
    alphabet = Alphabet(alphabet)
    size = max(alphabet.size, 1)
    state = Order0(np.ones(size), np.zeros(size))
    return BlockCodec(Model(state, probs=state.probs), alphabet)


@pytest.fixture
def order0(monkeypatch):
    """Route every configuration to Order0Codec (container logic only)."""
    import nbtzip.models

    monkeypatch.setattr(nbtzip.models, "make_codec", Order0Codec)
    return Order0Codec


def raw_block_fields(blob):
    """(n, stored, crc, offset of the block's framing) per block of the first stream."""
    fp = io.BytesIO(blob)
    version = framing.read_header_fields(fp)[0]
    out = []
    while True:
        offset = fp.tell()
        block = framing.read_block(fp, version)
        if block is None:
            return out
        out.append((block.length, block.stored, block.crc, offset))
        fp.seek(block.payload_size, 1)


class Pipe(io.RawIOBase):
    """A readable byte source that cannot seek or tell its size, like a pipe."""

    def __init__(self, data):
        self._data = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, b):
        return self._data.readinto(b)
