"""The byte values a stream may contain, and the byte <-> symbol maps.

Every model works on the stream's alphabet (the header stores which of the 256
byte values may occur): a symbol model predicts over the values present only,
numbered in increasing byte order; a binary model skips the decisions the
alphabet already fixes. A stream of unknown content (a pipe) uses all 256.
"""

import numpy as np


def alphabet_of(data) -> np.ndarray:
    """bool[256]: the byte values present in data."""
    counts = np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256)
    return counts > 0


def full_alphabet() -> np.ndarray:
    """bool[256] of the alphabet that admits any byte."""
    return np.ones(256, dtype=bool)


class Alphabet:
    """The byte values present, and the maps byte -> symbol index -> byte."""

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
        return cls(alphabet_of(data))

    def symbols(self, data):
        """Symbol indices of the bytes of data; ValueError for a byte not in the alphabet."""
        sym = self.symbol_of[np.frombuffer(data, dtype=np.uint8)]
        if sym.size and sym.min() < 0:
            raise ValueError("data holds a byte outside the stream's alphabet")
        return sym
