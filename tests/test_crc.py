"""crc.concat gives zlib.crc32 of a concatenation from the parts' CRCs alone."""

import zlib

import numpy as np
import pytest

from nbtzip import crc


def test_concat_equals_the_crc_of_the_joined_bytes():
    rng = np.random.default_rng(0)
    for length_a in (0, 1, 7, 1000):
        for length_b in (0, 1, 2, 3, 255, 256, 4097, 70000):
            a = rng.integers(0, 256, length_a, dtype=np.uint8).tobytes()
            b = rng.integers(0, 256, length_b, dtype=np.uint8).tobytes()
            joined = crc.concat(zlib.crc32(a), zlib.crc32(b), len(b))
            assert joined == zlib.crc32(a + b)


def test_concat_folds_over_many_parts():
    parts = [b"alpha", b"", b"beta" * 999, b"\0" * 12345, b"gamma"]
    total = 0
    for part in parts:
        total = crc.concat(total, zlib.crc32(part), len(part))
    assert total == zlib.crc32(b"".join(parts))


def test_negative_length_is_refused():
    with pytest.raises(ValueError):
        crc.concat(0, 0, -1)
