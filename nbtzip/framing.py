"""The bytes around the coded blocks of a .nbt stream, for each format version.

Version 4 (written since nbtzip 0.4), versions 3, 2 and 1 (read forever,
written only to check old golden files bit for bit) differ in how they frame
things, not in what they say. Version 3 is version 2 with blocks of up to
256 KiB, the shortest coder flush (coding/rangecoder.encoder_finish_short)
and a fourth alphabet form, the span (docs/FORMAT.md). Version 4 frames as
version 3 does; its headers may name the mixture's preset table 5 (config.py).
All integers are little-endian; "varint" is unsigned LEB128 (at most 10
bytes, no redundant trailing zero byte).

    version 2
    header   magic        8   89 4E 42 54 0D 0A 1A 0A  ("\\x89NBT\\r\\n\\x1a\\n")
             version      1   2
             config size  varint, 1 .. MAX_CONFIG_BYTES
             config       config.to_bytes(config, 2)
             alphabet     1 + ...  form 0: all 256 byte values; form 1: a 32-byte
                          bitmap (bit b & 7 of byte b >> 3); form 2: a count k
                          (1 byte, 0 .. 31) and the k byte values, increasing;
                          version 3+, form 3: lowest lo, highest hi, and the
                          bitmap of lo .. hi ((hi - lo) // 8 + 1 bytes)
             header CRC   4   CRC-32 of everything above
    block    length       varint n, 1 .. BLOCK_SIZES[version] (0 ends the blocks)
    (repeat) payload      varint 2m + s: m payload bytes, s = 1 for a stored block
             block CRC    4   CRC-32 of the block's original bytes
             payload      m
    trailer  length       varint, total original length
             CRC          4   CRC-32 of all original bytes

    version 1: the same fields, fixed-size: config size 2 bytes, alphabet always
    the 32-byte bitmap, block length 4, payload size 4 (bit 31: stored),
    an end marker 4 (0), trailer length 8; config bytes in version 1's encoding.

An empty input costs 45 bytes in version 2 with the RNN, 31 with CTW (119 and
77 in version 1); a one-block file pays about 40 bytes of framing more.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

MAGIC = b"\x89NBT\r\n\x1a\n"
VERSION = 4  # what the encoder writes
VERSIONS = (1, 2, 3, 4)  # what the decoder reads
# Most original bytes in one block, by version. Version 3's blocks are 4x
# longer: a file up to 256 KiB is one block, which saves the framing and the
# coder flush of the others (with the short flush and the span alphabet, 44
# bytes on alice29.txt, 0.0023 bpc: README, "File format"). A
# block is coded in slices (coding/codec.py), so Ctrl-C still acts at once.
BLOCK_SIZES = {1: 1 << 16, 2: 1 << 16, 3: 1 << 18, 4: 1 << 18}
BLOCK_SIZE = BLOCK_SIZES[VERSION]  # what the encoder writes
MAX_CONFIG_BYTES = 4096
ALPHABET_BYTES = 32
# A codec spends at most 16 bits on one coded decision of total 2**16, and
# codes at most 8 decisions per byte (binary models), plus its flush.
PAYLOAD_BYTES_PER_BYTE = 16
PAYLOAD_SLACK = 64
MAX_VARINT_BYTES = 10
# Alphabet forms of version 2; a list is shorter than the bitmap up to 31 values.
# Version 3 adds a span: the bitmap of the values from the lowest present to
# the highest (text: 18 bytes against 33).
ALL_BYTES, BITMAP, LISTED, SPAN = 0, 1, 2, 3
MAX_LISTED = 31

STORED_V1 = 1 << 31  # version 1: flag in a block's payload size
_V1_PREFIX = struct.Struct("<8sBH")
_V1_BLOCK = struct.Struct("<III")
_V1_END = struct.Struct("<I")
_V1_TRAILER = struct.Struct("<QI")
_CRC = struct.Struct("<I")


class FormatError(ValueError):
    """The data is not a valid .nbt stream, or it is damaged."""


def max_payload(n: int) -> int:
    return PAYLOAD_BYTES_PER_BYTE * n + PAYLOAD_SLACK


@dataclass(frozen=True)
class Block:
    length: int  # original bytes
    payload_size: int
    crc: int
    stored: bool
    framing: int  # bytes of framing before the payload


def read_upto(fp, n: int) -> bytes:
    """Up to n bytes: fewer only at end of file (pipes may return short reads)."""
    parts = []
    got = 0
    while got < n:
        more = fp.read(n - got)
        if more is None:
            raise FormatError("input would block; nbtzip needs a blocking file")
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def read_exact(fp, n: int) -> bytes:
    data = read_upto(fp, n)
    if len(data) < n:
        raise FormatError("truncated file")
    return data


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def read_varint(fp, what: str) -> tuple[int, bytes]:
    """(value, the bytes it took) of a varint read from fp."""
    raw = bytearray()
    value = shift = 0
    while True:
        byte = read_exact(fp, 1)[0]
        raw.append(byte)
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
        if len(raw) >= MAX_VARINT_BYTES:
            raise FormatError(f"corrupted {what} (bad number)")
    if len(raw) > 1 and raw[-1] == 0:
        raise FormatError(f"corrupted {what} (bad number)")
    return value, bytes(raw)


# ---- alphabet ---------------------------------------------------------------------------


def pack_bitmap(alphabet) -> bytes:
    return np.packbits(np.asarray(alphabet, dtype=bool), bitorder="little").tobytes()


def unpack_bitmap(raw: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little").astype(bool)


def pack_alphabet(alphabet, version: int = VERSION) -> bytes:
    """The alphabet of version 2 or later: the shortest form the version has."""
    present = np.asarray(alphabet, dtype=bool)
    if present.all():
        return bytes([ALL_BYTES])
    values = np.flatnonzero(present)
    forms = []
    if values.size <= MAX_LISTED:
        forms.append(bytes([LISTED, values.size]) + values.astype(np.uint8).tobytes())
    forms.append(bytes([BITMAP]) + pack_bitmap(present))
    if version >= 3 and values.size:
        lo, hi = int(values[0]), int(values[-1])
        forms.append(bytes([SPAN, lo, hi]) + pack_bitmap(present[lo : hi + 1]))
    return min(forms, key=len)  # the first of equal lengths: v2's choice stays


def read_alphabet(fp, version: int = VERSION) -> tuple[np.ndarray, bytes]:
    form = read_exact(fp, 1)
    if form[0] == ALL_BYTES:
        return np.ones(256, dtype=bool), form
    if form[0] == SPAN and version >= 3:
        ends = read_exact(fp, 2)
        lo, hi = ends
        if lo > hi:
            raise FormatError("corrupted header (bad alphabet)")
        raw = read_exact(fp, (hi - lo) // 8 + 1)
        bits = unpack_bitmap(raw)
        # Canonical only: both ends present, no bit past the highest value.
        if not (bits[0] and bits[hi - lo]) or bits[hi - lo + 1 :].any():
            raise FormatError("corrupted header (bad alphabet)")
        present = np.zeros(256, dtype=bool)
        present[lo : hi + 1] = bits[: hi - lo + 1]
        return present, form + ends + raw
    if form[0] == BITMAP:
        raw = read_exact(fp, ALPHABET_BYTES)
        return unpack_bitmap(raw), form + raw
    if form[0] == LISTED:
        count = read_exact(fp, 1)
        if count[0] > MAX_LISTED:
            raise FormatError("corrupted header (bad alphabet)")
        raw = read_exact(fp, count[0])
        if any(raw[i] >= raw[i + 1] for i in range(len(raw) - 1)):
            raise FormatError("corrupted header (bad alphabet)")
        present = np.zeros(256, dtype=bool)
        present[np.frombuffer(raw, dtype=np.uint8)] = True
        return present, form + count + raw
    raise FormatError("corrupted header (bad alphabet)")


# ---- header -------------------------------------------------------------------------------


def header_bytes(version: int, config_raw: bytes, alphabet) -> bytes:
    if version == 1:
        body = _V1_PREFIX.pack(MAGIC, 1, len(config_raw)) + config_raw + pack_bitmap(alphabet)
    else:
        body = MAGIC + bytes([version]) + varint(len(config_raw)) + config_raw
        body += pack_alphabet(alphabet, version)
    return body + _CRC.pack(zlib.crc32(body))


def read_header_fields(fp, start: bytes = b"") -> tuple[int, bytes, np.ndarray, int]:
    """(version, config bytes, alphabet, header size) of a stream whose first bytes
    (start) may have been read already; the header CRC is checked."""
    prefix = start + read_upto(fp, len(MAGIC) + 1 - len(start))
    if not prefix:
        raise FormatError("empty input, not an .nbt file")
    if not prefix.startswith(MAGIC) and not MAGIC.startswith(prefix):
        raise FormatError("not an .nbt file")
    if len(prefix) < len(MAGIC) + 1:
        raise FormatError("truncated file")
    version = prefix[-1]
    if version not in VERSIONS:
        raise FormatError(
            f"unsupported format version {version} (this nbtzip reads {VERSIONS[0]}-{VERSIONS[-1]})"
        )
    if version == 1:
        more = read_exact(fp, 2)
        (size,) = struct.unpack("<H", more)
    else:
        size, more = read_varint(fp, "header")
    if not 1 <= size <= MAX_CONFIG_BYTES:
        raise FormatError("corrupted header (bad configuration size)")
    config_raw = read_exact(fp, size)
    if version == 1:
        bitmap = read_exact(fp, ALPHABET_BYTES)
        alphabet, alphabet_raw = unpack_bitmap(bitmap), bitmap
    else:
        alphabet, alphabet_raw = read_alphabet(fp, version)
    body = prefix + more + config_raw + alphabet_raw
    (crc,) = _CRC.unpack(read_exact(fp, 4))
    if zlib.crc32(body) != crc:
        raise FormatError("corrupted header (checksum mismatch)")
    return version, config_raw, alphabet, len(body) + 4


# ---- blocks and trailer -------------------------------------------------------------------


def block_bytes(version: int, n: int, payload_size: int, stored: bool, crc: int) -> bytes:
    if version == 1:
        return _V1_BLOCK.pack(n, payload_size | (STORED_V1 if stored else 0), crc)
    return varint(n) + varint(2 * payload_size + int(stored)) + _CRC.pack(crc)


def end_bytes(version: int, length: int, crc: int) -> bytes:
    """The end of the blocks and the trailer."""
    if version == 1:
        return _V1_END.pack(0) + _V1_TRAILER.pack(length, crc)
    return varint(0) + varint(length) + _CRC.pack(crc)


def read_block(fp, version: int) -> Block | None:
    """The next block's framing, or None at the end of the blocks; bounds checked."""
    if version == 1:
        (n,) = _V1_END.unpack(read_exact(fp, 4))
        if n == 0:
            return None
        m, crc = struct.unpack("<II", read_exact(fp, 8))
        stored = bool(m & STORED_V1)
        m &= ~STORED_V1
        framing = _V1_BLOCK.size
    else:
        n, raw_n = read_varint(fp, "block header")
        if n == 0:
            return None
        m2, raw_m = read_varint(fp, "block header")
        (crc,) = _CRC.unpack(read_exact(fp, 4))
        m, stored = m2 >> 1, bool(m2 & 1)
        framing = len(raw_n) + len(raw_m) + 4
    if n > BLOCK_SIZES[version] or m > max_payload(n) or (stored and m != n):
        raise FormatError("corrupted block header (length out of range)")
    return Block(n, m, crc, stored, framing)


def read_trailer(fp, version: int) -> tuple[int, int, int]:
    """(original length, CRC, bytes taken including the end marker) after the last block."""
    if version == 1:
        length, crc = _V1_TRAILER.unpack(read_exact(fp, _V1_TRAILER.size))
        return length, crc, _V1_END.size + _V1_TRAILER.size
    length, raw = read_varint(fp, "trailer")
    (crc,) = _CRC.unpack(read_exact(fp, 4))
    return length, crc, 1 + len(raw) + 4
