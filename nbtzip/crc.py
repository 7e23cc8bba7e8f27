"""CRC-32 of a concatenation from the CRC-32s of its parts, without the data.

zlib.crc32(data, start) is an affine function of start whose linear part
depends only on len(data): crc32(B, s) = crc32(B, 0) ^ Z(s), where Z is what
running the register over len(B) zero bytes does to s (conditioning
included, it cancels in the difference). So

    crc32(A + B) = crc32(B) ^ Z_len(B)(crc32(A)),

and Z_n, a 32 x 32 matrix over GF(2), follows from the one-byte step by
repeated squaring in O(log n) matrix products. `nbtzip info` uses it to give
the CRC of a multi-stream file from its trailers alone.
"""

from __future__ import annotations

import zlib


def _apply(matrix: list[int], vector: int) -> int:
    """matrix (32 columns as ints) times vector over GF(2)."""
    out = 0
    column = 0
    while vector:
        if vector & 1:
            out ^= matrix[column]
        vector >>= 1
        column += 1
    return out


def _zero_byte_step() -> list[int]:
    base = zlib.crc32(b"\0", 0)
    return [zlib.crc32(b"\0", 1 << i) ^ base for i in range(32)]


_ONE_BYTE = _zero_byte_step()


def concat(crc_a: int, crc_b: int, length_b: int) -> int:
    """zlib.crc32(A + B) given zlib.crc32(A), zlib.crc32(B) and len(B)."""
    if length_b < 0:
        raise ValueError("length must not be negative")
    shifted = crc_a
    power = _ONE_BYTE  # Z_(2^k) as k grows
    n = length_b
    while n:
        if n & 1:
            shifted = _apply(power, shifted)
        n >>= 1
        if n:
            power = [_apply(power, column) for column in power]
    return crc_b ^ shifted
