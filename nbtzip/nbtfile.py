"""nbtzip.open(): a file object that reads .nbt streams or writes one.

Reading goes through every stream of a multi-stream file; appending ("ab")
writes a new stream after those already there.

Memory stays constant whatever the stream's length: a reader holds one
decoded block, a writer at most one block of pending input. A writer does not
know in advance which bytes will come, so its stream uses all 256 symbols.
"""

from __future__ import annotations

import builtins
import io
import os

from .alphabet import full_alphabet
from .api import check_encodable, make_config
from .config import DEFAULT_LEVEL
from .container import BLOCK_SIZE, StreamDecoder, StreamEncoder
from .memlimit import resolve as resolve_memlimit

_READ_MODES = {"r": "rb", "rb": "rb"}
_WRITE_MODES = {"w": "wb", "wb": "wb", "x": "xb", "xb": "xb", "a": "ab", "ab": "ab"}


class NbtFile(io.BufferedIOBase):
    """A binary file object over .nbt streams (mode "rb", "wb", "xb" or "ab").

    filename: a path, or a binary file object (left open on close).
    A reader raises FormatError where the stream is damaged; bytes it returned
    before that passed their block's CRC. Closing a writer writes the trailer.
    memlimit: as for nbtzip.decompress (reading) and nbtzip.compress (writing);
    a reader refuses a stream over it with MemoryLimitError.
    """

    def __init__(self, filename, mode="rb", *, config=None, memlimit=None):
        super().__init__()
        if mode not in _READ_MODES and mode not in _WRITE_MODES:
            raise ValueError(f"invalid mode {mode!r}: use 'rb', 'wb', 'xb' or 'ab'")
        self._reading = mode in _READ_MODES
        raw_mode = _READ_MODES.get(mode) or _WRITE_MODES[mode]
        self._memlimit = resolve_memlimit(memlimit)
        if not self._reading:
            # Before the file is opened: a refused model leaves no empty file behind.
            config = make_config(DEFAULT_LEVEL) if config is None else config
            check_encodable(config, self._memlimit)
        if isinstance(filename, (str, bytes, os.PathLike)):
            self._fp = builtins.open(filename, raw_mode)
            self._owns_fp = True
        elif hasattr(filename, "read" if self._reading else "write"):
            self._fp = filename
            self._owns_fp = False
        else:
            raise TypeError("filename must be a path or a binary file object")
        self.name = getattr(self._fp, "name", None)
        self._position = 0
        try:
            if self._reading:
                self._start = self._fp.tell() if _seekable(self._fp) else None
                self._restart()
            else:
                self._encoder = StreamEncoder(self._fp, config, full_alphabet())
                self._pending = bytearray()
        except BaseException:
            if self._owns_fp:
                self._fp.close()
            raise

    # -- reading ---------------------------------------------------------

    def _restart(self):
        """Decode from the first stream again (the model has to relearn)."""
        if getattr(self, "_decoder", None) is not None:
            self._fp.seek(self._start)
        self._decoder = StreamDecoder(self._fp, self._memlimit)
        self._blocks = iter(self._decoder)
        self._buffer = b""
        self._offset = 0
        self._position = 0

    def readable(self):
        self._check_open()
        return self._reading

    def _fill(self) -> bool:
        """Make the buffer non-empty unless the stream has ended."""
        while self._offset >= len(self._buffer):
            block = next(self._blocks, None)
            if block is None:
                return False
            self._buffer, self._offset = block, 0
        return True

    def read(self, size=-1):
        self._check_mode(reading=True)
        if size is None or size < 0:
            parts = []
            while self._fill():
                parts.append(self._take(len(self._buffer)))
            return b"".join(parts)
        parts = []
        while size > 0 and self._fill():
            part = self._take(size)
            parts.append(part)
            size -= len(part)
        return b"".join(parts)

    def read1(self, size=-1):
        self._check_mode(reading=True)
        if not self._fill():
            return b""
        return self._take(len(self._buffer) if size is None or size < 0 else size)

    def readinto(self, b):
        data = self.read(len(memoryview(b)))
        memoryview(b).cast("B")[: len(data)] = data
        return len(data)

    def peek(self, size=0):
        self._check_mode(reading=True)
        if not self._fill():
            return b""
        return self._buffer[self._offset :]

    def _take(self, size):
        part = self._buffer[self._offset : self._offset + size]
        self._offset += len(part)
        self._position += len(part)
        return part

    # -- writing ---------------------------------------------------------

    def writable(self):
        self._check_open()
        return not self._reading

    def write(self, data):
        self._check_mode(reading=False)
        view = memoryview(data).cast("B")
        self._pending += view
        whole = len(self._pending) - len(self._pending) % BLOCK_SIZE
        for start in range(0, whole, BLOCK_SIZE):
            self._encoder.write_block(self._pending[start : start + BLOCK_SIZE])
        del self._pending[:whole]
        self._position += len(view)
        return len(view)

    # -- both ------------------------------------------------------------

    def seekable(self):
        """Readers over a seekable file can seek, as lzma's and bz2's do: forward
        by decoding up to the target, backward by decoding again from the start
        (as slow as it sounds: the model relearns everything before the target)."""
        self._check_open()
        return self._reading and self._start is not None

    def seek(self, offset, whence=io.SEEK_SET):
        self._check_mode(reading=True)
        if not self.seekable():
            raise io.UnsupportedOperation("seek needs a seekable underlying file")
        if whence == io.SEEK_CUR:
            offset += self._position
        elif whence == io.SEEK_END:
            while self._fill():  # the length is known only once everything decoded
                self._take(len(self._buffer))
            offset += self._position
        elif whence != io.SEEK_SET:
            raise ValueError(f"invalid whence {whence!r}")
        target = max(0, offset)
        if target < self._position:
            self._restart()
        while self._position < target and self._fill():
            self._take(target - self._position)
        return self._position

    def tell(self):
        self._check_open()
        return self._position

    def fileno(self):
        return self._fp.fileno()

    def _check_open(self):
        if self.closed:
            raise ValueError("I/O operation on closed file")

    def _check_mode(self, reading):
        self._check_open()
        if reading != self._reading:
            raise io.UnsupportedOperation("not readable" if reading else "not writable")

    def close(self):
        if self.closed:
            return
        try:
            if not self._reading:
                if self._pending:
                    self._encoder.write_block(bytes(self._pending))
                    self._pending.clear()
                self._encoder.finish()
                self._fp.flush()
        finally:
            try:
                if self._owns_fp:
                    self._fp.close()
            finally:
                super().close()


def _seekable(fp) -> bool:
    try:
        return bool(fp.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def open(
    filename,
    mode="rb",
    level=DEFAULT_LEVEL,
    *,
    config=None,
    memlimit=None,
    encoding=None,
    errors=None,
    newline=None,
    **options,
):
    """Open a .nbt file, like lzma.open: modes "rb"/"wb"/"xb"/"ab", or "rt"/"wt"/"xt"/"at".

    Writing: level, config and options choose the model as in nbtzip.compress.
    memlimit: bytes a stream's model may take (None: the default limit; 0: none);
    reading refuses a stream over it, writing a model over it (MemoryLimitError).
    Text modes wrap the binary file in io.TextIOWrapper.
    """
    text = "t" in mode
    if text and "b" in mode:
        raise ValueError(f"invalid mode {mode!r}")
    if not text and (encoding is not None or errors is not None or newline is not None):
        raise ValueError("encoding, errors and newline apply to text modes only")
    binary_mode = mode.replace("t", "")
    if binary_mode in _WRITE_MODES:
        config = make_config(level, config=config, **options)
    elif options or config is not None:
        raise ValueError("model options apply to writing only: a stream carries its own")
    binary = NbtFile(filename, binary_mode, config=config, memlimit=memlimit)
    if text:
        return io.TextIOWrapper(binary, encoding, errors, newline)
    return binary
