"""The .nbt stream: a header naming the model, coded blocks, a trailer; FormatError.

framing.py gives the bytes of each part in each format version. The model
state carries from block to block, so blocks decode in order only. Streams
concatenate: a file may hold several streams one after another (as
`cat a.nbt b.nbt` makes them), each with its own header, model and trailer,
and decodes to their originals in order, like gzip members or xz streams.
Anything after a trailer that is not the start of another stream is refused.
A block whose coded form would not be smaller than itself (incompressible
data, a model that has not learned yet) is stored as it is, and the model
learns from it exactly as if it had coded it, so no input grows by more than
the framing. Every length is checked against what the format allows before
anything is allocated, and every block is checked against its CRC before its
bytes are handed out: a decoder returns the original bytes or raises FormatError.
The memory a stream's model takes follows from its header alone
(memlimit.stream_memory); a decoder given a limit weighs every stream against
it before building anything (MemoryLimitError).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import framing, models
from .alphabet import alphabet_of
from .config import RTRL_MAX_HIDDEN, ConfigError, RNNConfig, from_bytes, to_bytes
from .crc import concat as crc_concat
from .framing import BLOCK_SIZE, MAGIC, FormatError, read_exact, read_upto
from .memlimit import MemoryLimitError, stream_memory

__all__ = ["BLOCK_SIZE", "FormatError", "MemoryLimitError", "read_upto", "stream_memory"]


@dataclass(frozen=True)
class Header:
    config: object
    alphabet: np.ndarray
    size: int  # bytes the header takes in the file
    version: int = framing.VERSION

    @property
    def memory(self) -> int:
        """Bytes this stream needs to be decoded (memlimit.stream_memory)."""
        return stream_memory(self.config, int(self.alphabet.sum()))


def check_supported(config):
    """ConfigError for a configuration that validates but that nbtzip will not run.

    RTRL costs hidden^2 x parameters per byte: above RTRL_MAX_HIDDEN a block
    would take hours, so neither side accepts it.
    """
    if isinstance(config, RNNConfig) and config.gradient == "rtrl":
        if config.hidden_size > RTRL_MAX_HIDDEN:
            raise ConfigError(
                f"rtrl costs hidden^2 x parameters per byte: hidden size {config.hidden_size} "
                f"is above its limit of {RTRL_MAX_HIDDEN}"
            )


def encode_header(config, alphabet, version=framing.VERSION) -> bytes:
    check_supported(config)
    raw = to_bytes(config, version)
    if len(raw) > framing.MAX_CONFIG_BYTES:
        raise ConfigError("model configuration too large for the file header")
    return framing.header_bytes(version, raw, alphabet)


def read_header(fp, start: bytes = b"") -> Header:
    """The header of a stream; start: its first bytes, already read from fp."""
    version, raw, alphabet, size = framing.read_header_fields(fp, start)
    try:
        config = from_bytes(raw, version)
        check_supported(config)
    except ConfigError as exc:
        raise FormatError(f"unsupported model configuration: {exc}") from None
    return Header(config, alphabet, size, version)


def _next_stream(fp) -> bytes:
    """After a trailer: b"" at the end of input, else the magic of the next stream."""
    start = read_upto(fp, len(MAGIC))
    if start and start != MAGIC:
        raise FormatError("trailing data after the end of the .nbt stream")
    return start


class StreamEncoder:
    """Writes one .nbt stream to a binary file object, block by block."""

    def __init__(self, fp, config, alphabet, version=framing.VERSION, size=None):
        """version: the format to write; 1 only to check old files bit for bit.
        size: the input's length when known: a model whose configuration has
        sized() (the mixture) gets tables no bigger than the input needs, and
        the header records the sized configuration."""
        self.fp = fp
        self.alphabet = np.asarray(alphabet, dtype=bool)
        if hasattr(config, "sized"):
            config = config.sized(size, int(self.alphabet.sum()))
        self.config = config
        self.version = version
        self.length = 0
        self.crc = 0
        self.written = 0
        self._codec = None  # built on the first block: an empty stream needs no model
        self._write(encode_header(config, self.alphabet, version))

    def _write(self, data):
        self.fp.write(data)
        self.written += len(data)

    def write_block(self, data, on_slice=None):
        """Code 1 .. BLOCK_SIZE bytes (the version's block size) as one block.
        on_slice(k): called while coding with the bytes of data coded so far."""
        n = len(data)
        limit = framing.BLOCK_SIZES[self.version]
        if not 1 <= n <= limit:
            raise ValueError(f"block of {n} bytes; blocks hold 1 .. {limit}")
        if self._codec is None:
            self._codec = models.make_codec(self.config, self.alphabet)
        data = bytes(data)
        if (alphabet_of(data) & ~self.alphabet).any():
            # The input changed between the alphabet scan and now (a growing
            # file): refuse rather than write a stream that cannot decode.
            raise ValueError("input holds a byte outside the stream's alphabet")
        payload = self._codec.encode_block(data, self.version >= 3, on_slice)
        crc = zlib.crc32(data)
        if len(payload) >= n:
            # Coding would not save anything: store the bytes. The model has
            # learned from them already; the decoder makes it absorb them too.
            self._write(framing.block_bytes(self.version, n, n, True, crc))
            self._write(data)
        else:
            self._write(framing.block_bytes(self.version, n, len(payload), False, crc))
            self._write(payload)
        self.length += n
        self.crc = zlib.crc32(data, self.crc)

    def write(self, data):
        """Code any amount of data as full blocks (the last one may be short)."""
        view = memoryview(data)
        size = framing.BLOCK_SIZES[self.version]
        for start in range(0, len(view), size):
            self.write_block(view[start : start + size])

    def finish(self):
        self._write(framing.end_bytes(self.version, self.length, self.crc))


class StreamDecoder:
    """Reads the .nbt streams of a binary file object, one after another;
    iterate for verified blocks. header is the current stream's. memlimit:
    bytes a stream may need (0: any), checked as each header is read.
    on_slice(k), if set: called while a block decodes with its bytes decoded so far."""

    def __init__(self, fp, memlimit: int = 0):
        self.fp = fp
        self.memlimit = memlimit
        self.header = self._admit(read_header(fp))
        self.consumed = self.header.size  # compressed bytes read so far
        self.length = 0  # original bytes, all streams
        self.streams = 1
        self.on_slice = None

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
            block = framing.read_block(self.fp, self.header.version)
            if block is None:
                break
            n, crc = block.length, block.crc
            if not self.header.alphabet.any():
                raise FormatError("corrupted header (data but an empty alphabet)")
            payload = read_exact(self.fp, block.payload_size)
            self.consumed += block.framing + block.payload_size
            if codec is None:
                codec = models.make_codec(self.header.config, self.header.alphabet)
            if block.stored:
                data = payload
                if zlib.crc32(data) != crc:
                    raise FormatError("corrupted data (checksum mismatch)")
                if (alphabet_of(data) & ~self.header.alphabet).any():
                    raise FormatError("corrupted data (byte outside the alphabet)")
                codec.absorb_block(data)
            else:
                data = codec.decode_block(payload, n, self.on_slice)
            if len(data) != n or zlib.crc32(data) != crc:
                raise FormatError("corrupted data (checksum mismatch)")
            length += n
            self.length += n
            crc_all = zlib.crc32(data, crc_all)
            yield data
        total, crc, size = framing.read_trailer(self.fp, self.header.version)
        self.consumed += size
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
    memory: tuple = ()  # bytes each stream needs to decode (memlimit.stream_memory)
    version: int = framing.VERSION  # the first stream's format version

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
    return Info(
        first.config, alphabet_size, blocks, length, size, crc_all, streams, tuple(memory),
        first.version,
    )  # fmt: skip


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
        size = header.size
        blocks = length = 0
        while (block := framing.read_block(fp, header.version)) is not None:
            _skip(fp, block.payload_size)
            blocks += 1
            length += block.length
            size += block.framing + block.payload_size
        total, crc, trailer_size = framing.read_trailer(fp, header.version)
        size += trailer_size
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
        read_exact(fp, n)
        return
    # A seek past the end succeeds silently; the next read then reports truncation.
    fp.seek(n, 1)
