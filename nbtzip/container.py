"""The .nbt file format: header, coded blocks, trailer; FormatError.

All integers are little-endian.

    header   magic        8   89 4E 42 54 0D 0A 1A 0A  ("\\x89NBT\\r\\n\\x1a\\n")
             version      1   1
             config size  2   L, 1 .. MAX_CONFIG_BYTES
             config       L   config.to_bytes(): model, every field, PRNG seed
             alphabet    32   bit (b & 7) of byte (b >> 3) set iff byte b may occur
             header CRC   4   CRC-32 of everything above
    block    length       4   n original bytes, 1 .. BLOCK_SIZE (0 ends the blocks)
    (repeat) payload size 4   m, at most max_payload(n); bit 31 set: a stored block
             block CRC    4   CRC-32 of the block's original bytes
             payload      m   one flushed range-coder stream, or for a stored block
                              the n original bytes (m = n), which the model then
                              learns from exactly as if it had coded them
    trailer  end          4   0
             length       8   total original length
             CRC          4   CRC-32 of all original bytes

The model state carries from block to block, so blocks decode in order only.
Streams concatenate: a file may hold several streams one after another (as
`cat a.nbt b.nbt` makes them), each with its own header, model and trailer,
and decodes to their originals in order, like gzip members or xz streams.
Anything after a trailer that is not the start of another stream is refused.
A block whose coded form would not be smaller than itself (incompressible
data, a model that has not learned yet) is stored as it is, so no input grows
by more than the block and stream headers.
Every length is checked against what the format allows before anything is
allocated, and every block is checked against its CRC before its bytes are
handed out: a decoder returns the original bytes or raises FormatError.
The memory a stream's model takes follows from its header alone
(stream_memory); a decoder given a limit weighs every stream against it
before building anything (MemoryLimitError).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import codecs, memlimit
from .config import LEVELS, RTRL_MAX_HIDDEN, ConfigError, RNNConfig, from_bytes, to_bytes
from .crc import concat as crc_concat

MAGIC = b"\x89NBT\r\n\x1a\n"
VERSION = 1
BLOCK_SIZE = 1 << 16
MAX_CONFIG_BYTES = 4096
ALPHABET_BYTES = 32
# A codec spends at most 16 bits on one coded decision of total 2**16, and
# codes at most 8 decisions per byte (bitwise models), plus its flush.
PAYLOAD_BYTES_PER_BYTE = 16
PAYLOAD_SLACK = 64

STORED = 1 << 31  # flag in a block's payload size: the bytes are stored as they are
_PREFIX = struct.Struct("<8sBH")
_BLOCK = struct.Struct("<III")
_END = struct.Struct("<I")
_TRAILER = struct.Struct("<QI")
HEADER_FIXED = _PREFIX.size + ALPHABET_BYTES + 4
TRAILER_SIZE = _END.size + _TRAILER.size
# What coding one block takes besides the model, in any codec: the encoder's
# output buffer for 8 coded decisions a byte at 4 bytes each (2 MiB), the
# payload copied out of it (2 MiB), a payload read by the decoder (1 MiB), the
# block as int64 symbols (512 KiB) and as bytes, in and out. 8 MiB bounds it.
BLOCK_MEMORY = 8 << 20


class FormatError(ValueError):
    """The data is not a valid .nbt stream, or it is damaged."""


class MemoryLimitError(FormatError, ConfigError):
    """A stream's model needs more memory than the limit allows (a FormatError to
    whoever decodes, a ConfigError to whoever chooses a model to encode with).
    needed, limit: bytes; decoding: raised by a decoder, else by an encoder."""

    def __init__(self, needed: int, limit: int, decoding: bool = True):
        self.needed, self.limit, self.decoding = needed, limit, decoding
        super().__init__(memlimit.refusal(needed, limit, decoding))

    def __reduce__(self):  # the arguments, not the message, so that workers can send it
        return type(self), (self.needed, self.limit, self.decoding)


def stream_memory(config, alphabet_size: int) -> int:
    """Bytes a stream of this model over alphabet_size symbols needs to be coded or
    decoded: its model's state (each configuration knows its own) and one block
    in flight. The Python process itself comes on top."""
    return config.memory_bytes(alphabet_size) + BLOCK_MEMORY


def max_payload(n: int) -> int:
    return PAYLOAD_BYTES_PER_BYTE * n + PAYLOAD_SLACK


def alphabet_of(data) -> np.ndarray:
    """bool[256]: the byte values present in data."""
    counts = np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256)
    return counts > 0


def full_alphabet() -> np.ndarray:
    return np.ones(256, dtype=bool)


def pack_alphabet(alphabet) -> bytes:
    return np.packbits(np.asarray(alphabet, dtype=bool), bitorder="little").tobytes()


def unpack_alphabet(raw: bytes) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little")
    return bits.astype(bool)


@dataclass(frozen=True)
class Header:
    config: object
    alphabet: np.ndarray
    size: int  # bytes the header takes in the file

    @property
    def memory(self) -> int:
        """Bytes this stream needs to be decoded (stream_memory)."""
        return stream_memory(self.config, int(self.alphabet.sum()))


def check_supported(config, advice=True):
    """ConfigError for a configuration that validates but that nbtzip will not run.

    RTRL costs hidden^2 x parameters per byte: above RTRL_MAX_HIDDEN a block
    would take hours, so neither side accepts it. advice: say how to choose a
    configuration that runs (for the compressing side; a decoder can only refuse).
    """
    if isinstance(config, RNNConfig) and config.gradient == "rtrl":
        if config.hidden_size > RTRL_MAX_HIDDEN:
            message = (
                f"rtrl costs hidden^2 x parameters per byte: hidden size {config.hidden_size} "
                f"is above its limit of {RTRL_MAX_HIDDEN}"
            )
            if advice:
                fits = max(n for n, lv in LEVELS.items() if lv.hidden_size <= RTRL_MAX_HIDDEN)
                message += f" (use a level <= {fits} or a smaller hidden size)"
            raise ConfigError(message)


def encode_header(config, alphabet) -> bytes:
    check_supported(config)
    raw = to_bytes(config)
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError("model configuration too large for the file header")
    body = _PREFIX.pack(MAGIC, VERSION, len(raw)) + raw + pack_alphabet(alphabet)
    return body + struct.pack("<I", zlib.crc32(body))


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


def _read_exact(fp, n: int) -> bytes:
    data = read_upto(fp, n)
    if len(data) < n:
        raise FormatError("truncated file")
    return data


def read_header(fp, start: bytes = b"") -> Header:
    """The header of a stream; start: its first bytes, already read from fp."""
    prefix = start + read_upto(fp, _PREFIX.size - len(start))
    if not prefix:
        raise FormatError("empty input, not an .nbt file")
    if not prefix.startswith(MAGIC) and not MAGIC.startswith(prefix):
        raise FormatError("not an .nbt file")
    if len(prefix) < _PREFIX.size:
        raise FormatError("truncated file")
    _, version, config_size = _PREFIX.unpack(prefix)
    if version != VERSION:
        raise FormatError(f"unsupported format version {version} (this nbtzip reads {VERSION})")
    if not 1 <= config_size <= MAX_CONFIG_BYTES:
        raise FormatError("corrupted header (bad configuration size)")
    rest = _read_exact(fp, config_size + ALPHABET_BYTES + 4)
    body = prefix + rest[:-4]
    if zlib.crc32(body) != struct.unpack("<I", rest[-4:])[0]:
        raise FormatError("corrupted header (checksum mismatch)")
    try:
        config = from_bytes(rest[:config_size])
        check_supported(config, advice=False)
    except ConfigError as exc:
        raise FormatError(f"unsupported model configuration: {exc}") from None
    alphabet = unpack_alphabet(rest[config_size : config_size + ALPHABET_BYTES])
    return Header(config, alphabet, len(body) + 4)


def _read_block_header(fp):
    """(n, m, crc, stored) of the next block, or None at the trailer; bounds checked."""
    (n,) = _END.unpack(_read_exact(fp, _END.size))
    if n == 0:
        return None
    m, crc = struct.unpack("<II", _read_exact(fp, 8))
    stored = bool(m & STORED)
    m &= ~STORED
    if n > BLOCK_SIZE or m > max_payload(n) or (stored and m != n):
        raise FormatError("corrupted block header (length out of range)")
    return n, m, crc, stored


def _read_trailer(fp):
    return _TRAILER.unpack(_read_exact(fp, _TRAILER.size))


def _next_stream(fp) -> bytes:
    """After a trailer: b"" at the end of input, else the magic of the next stream."""
    start = read_upto(fp, len(MAGIC))
    if start and start != MAGIC:
        raise FormatError("trailing data after the end of the .nbt stream")
    return start


class StreamEncoder:
    """Writes one .nbt stream to a binary file object, block by block."""

    def __init__(self, fp, config, alphabet):
        self.fp = fp
        self.config = config
        self.alphabet = np.asarray(alphabet, dtype=bool)
        self.length = 0
        self.crc = 0
        self.written = 0
        self._codec = None  # built on the first block: an empty stream needs no model
        self._write(encode_header(config, self.alphabet))

    def _write(self, data):
        self.fp.write(data)
        self.written += len(data)

    def write_block(self, data):
        """Code 1 .. BLOCK_SIZE bytes as one block."""
        n = len(data)
        if not 1 <= n <= BLOCK_SIZE:
            raise ValueError(f"block of {n} bytes; blocks hold 1 .. {BLOCK_SIZE}")
        if self._codec is None:
            self._codec = codecs.make_codec(self.config, self.alphabet)
        data = bytes(data)
        if (alphabet_of(data) & ~self.alphabet).any():
            # The input changed between the alphabet scan and now (a growing
            # file): refuse rather than write a stream that cannot decode.
            raise ValueError("input holds a byte outside the stream's alphabet")
        payload = self._codec.encode_block(data)
        crc = zlib.crc32(data)
        if len(payload) >= n:
            # Coding would not save anything: store the bytes. The model has
            # learned from them already; the decoder makes it absorb them too.
            self._write(_BLOCK.pack(n, n | STORED, crc))
            self._write(data)
        else:
            self._write(_BLOCK.pack(n, len(payload), crc))
            self._write(payload)
        self.length += n
        self.crc = zlib.crc32(data, self.crc)

    def write(self, data):
        """Code any amount of data as full blocks (the last one may be short)."""
        view = memoryview(data)
        for start in range(0, len(view), BLOCK_SIZE):
            self.write_block(view[start : start + BLOCK_SIZE])

    def finish(self):
        self._write(_END.pack(0) + _TRAILER.pack(self.length, self.crc))


class StreamDecoder:
    """Reads the .nbt streams of a binary file object, one after another;
    iterate for verified blocks. header is the current stream's. memlimit:
    bytes a stream may need (0: any), checked as each header is read."""

    def __init__(self, fp, memlimit: int = 0):
        self.fp = fp
        self.memlimit = memlimit
        self.header = self._admit(read_header(fp))
        self.consumed = self.header.size  # compressed bytes read so far
        self.length = 0  # original bytes, all streams
        self.streams = 1

    def __iter__(self):
        while True:
            yield from self._stream()
            start = _next_stream(self.fp)
            if not start:
                return
            self.header = self._admit(read_header(self.fp, start))
            self.consumed += self.header.size
            self.streams += 1

    def _admit(self, header):
        if self.memlimit and header.memory > self.memlimit:
            raise MemoryLimitError(header.memory, self.memlimit)
        return header

    def _stream(self):
        codec = None
        length = crc_all = 0
        while True:
            block = _read_block_header(self.fp)
            if block is None:
                break
            n, m, crc, stored = block
            if not self.header.alphabet.any():
                raise FormatError("corrupted header (data but an empty alphabet)")
            payload = _read_exact(self.fp, m)
            self.consumed += _BLOCK.size + m
            if codec is None:
                codec = codecs.make_codec(self.header.config, self.header.alphabet)
            if stored:
                data = payload
                if zlib.crc32(data) != crc:
                    raise FormatError("corrupted data (checksum mismatch)")
                if (alphabet_of(data) & ~self.header.alphabet).any():
                    raise FormatError("corrupted data (byte outside the alphabet)")
                codec.absorb_block(data)
            else:
                data = codec.decode_block(payload, n)
            if len(data) != n or zlib.crc32(data) != crc:
                raise FormatError("corrupted data (checksum mismatch)")
            length += n
            self.length += n
            crc_all = zlib.crc32(data, crc_all)
            yield data
        total, crc = _read_trailer(self.fp)
        self.consumed += TRAILER_SIZE
        if total != length:
            raise FormatError("corrupted trailer (length mismatch)")
        if crc != crc_all:
            raise FormatError("corrupted data (checksum mismatch)")


@dataclass(frozen=True)
class Info:
    """What `nbtzip info` shows; config and alphabet_size are the first stream's."""

    config: object
    alphabet_size: int
    blocks: int
    original_size: int
    compressed_size: int
    crc32: int  # of all the original bytes
    streams: int = 1
    memory: tuple = ()  # bytes each stream needs to decode (stream_memory)

    @property
    def bits_per_byte(self) -> float:
        return 8.0 * self.compressed_size / self.original_size if self.original_size else 0.0

    @property
    def ratio(self) -> float:
        return self.compressed_size / self.original_size if self.original_size else 0.0


def scan(fp) -> Info:
    """Headers, block headers and trailers of the streams, without decoding (like `xz -l`)."""
    first = None
    size = blocks = length = crc_all = streams = 0
    memory = []
    for header, stream_size, stream_blocks, stream_length, crc in _walk(fp):
        first = first or header
        size += stream_size
        blocks += stream_blocks
        length += stream_length
        crc_all = crc_concat(crc_all, crc, stream_length)
        streams += 1
        memory.append(header.memory)
    alphabet_size = int(first.alphabet.sum())
    return Info(first.config, alphabet_size, blocks, length, size, crc_all, streams, tuple(memory))


class Span(NamedTuple):
    """Where a stream lies in a file, how long its original is, what it needs to decode."""

    offset: int
    size: int
    length: int
    memory: int


def stream_spans(fp) -> list[Span]:
    """Each stream of fp (seekable), from the headers alone."""
    offset = fp.tell()
    spans = []
    for header, size, _, length, _ in _walk(fp):
        spans.append(Span(offset, size, length, header.memory))
        offset += size
    return spans


def _walk(fp):
    """(header, size, blocks, original length, CRC) of each stream in turn,
    skipping the payloads; the trailers' lengths are checked."""
    header = read_header(fp)
    while True:
        size = header.size + TRAILER_SIZE
        blocks = length = 0
        while (block := _read_block_header(fp)) is not None:
            n, m, _, _ = block
            _skip(fp, m)
            blocks += 1
            length += n
            size += _BLOCK.size + m
        total, crc = _read_trailer(fp)
        if total != length:
            raise FormatError("corrupted trailer (length mismatch)")
        yield header, size, blocks, length, crc
        start = _next_stream(fp)
        if not start:
            return
        header = read_header(fp, start)


def _skip(fp, n: int):
    try:
        seekable = fp.seekable()
    except (AttributeError, OSError):
        seekable = False
    if not seekable:
        _read_exact(fp, n)
        return
    # A seek past the end succeeds silently; the next read then reports truncation.
    fp.seek(n, 1)
