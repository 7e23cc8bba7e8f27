"""The public API, in the shape of the stdlib's lzma and bz2 (re-exported by
the package): compress(), decompress(), compress_file(), decompress_file(),
info(), make_config(). nbtfile.py has open()."""

import builtins
import contextlib
import dataclasses
import functools
import io
import os
import stat
import time
import zlib

from . import parallel
from .alphabet import alphabet_of, full_alphabet
from .atomic import atomic_output
from .config import (
    DEFAULT_LEVEL,
    LEVELS,
    RTRL_MAX_HIDDEN,
    ConfigError,
    CTWConfig,
    MixConfig,
    RNNConfig,
    mix_preset,
    preset,
)
from .container import (
    BLOCK_SIZE,
    FormatError,
    Info,
    MemoryLimitError,
    StreamDecoder,
    StreamEncoder,
    check_supported,
    read_upto,
    scan,
    stream_memory,
    stream_spans,
)
from .memlimit import resolve as _resolve_memlimit

__version__ = "0.4.0"

# The learning rules a user picks by name: (gradient estimate, step rule). Without
# one, the rnn levels learn with config.RNN_LEARNER (E4, remainder 0.05, Kalman).
ALGORITHMS = {
    "kalman": {"gradient": "nbt", "step": "kalman"},  # Algorithm 2, exactly
    "nbt": {"gradient": "nbt", "step": "sgd"},  # Algorithm 1 (Euclidean)
    "rtrl": {"gradient": "rtrl", "step": "kalman"},  # exact gradient, the reference
    # exact last K steps (T_K), or the same plus the unbiased NoBackTrack
    # remainder (E_K); Kalman steps. t4 is the one to use (docs/LEARNERS.md).
    "t1": {"gradient": "short", "exact_steps": 1, "remainder": 0.0, "step": "kalman"},
    "t2": {"gradient": "short", "exact_steps": 2, "remainder": 0.0, "step": "kalman"},
    "t4": {"gradient": "short", "exact_steps": 4, "remainder": 0.0, "step": "kalman"},
    "e1": {"gradient": "short", "exact_steps": 1, "remainder": 1.0, "step": "kalman"},
    "e2": {"gradient": "short", "exact_steps": 2, "remainder": 1.0, "step": "kalman"},
}
MODELS = ("mix", "rnn", "ctw")


def make_config(level=DEFAULT_LEVEL, *, config=None, model="mix", algorithm=None, **options):
    """The model configuration for a level, a model name and field overrides.

    config: a MixConfig, RNNConfig or CTWConfig used as is (options then
    override its fields). Otherwise model "mix" (the default: context mixing
    with the NoBackTrack RNN inside) starts from mix_preset(level), "rnn" (the
    paper's model alone) from preset(level) and "ctw" from CTWConfig().
    algorithm: one of ALGORITHMS (RNN only). Options set
    to None are ignored, so a CLI can pass its unset flags straight through.
    """
    options = {k: v for k, v in options.items() if v is not None}
    if algorithm is not None:
        if algorithm not in ALGORITHMS:
            raise ConfigError(
                f"algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}"
            )
        options = {**ALGORITHMS[algorithm], **options}
    if config is not None:
        if not isinstance(config, (MixConfig, RNNConfig, CTWConfig)):
            raise TypeError(
                f"config must be a MixConfig, RNNConfig or CTWConfig, not {type(config).__name__}"
            )
        config = dataclasses.replace(config, **options) if options else config
    elif model == "ctw":
        if algorithm is not None:
            raise ConfigError("--algorithm applies to the rnn model only")
        config = CTWConfig(**options)
    elif model == "rnn":
        config = preset(level, **options)
    elif model == "mix":
        if algorithm is not None:
            raise ConfigError("--algorithm applies to the rnn model only")
        config = mix_preset(level, **options)
    else:
        raise ConfigError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    try:
        check_supported(config)
    except ConfigError as exc:
        if getattr(config, "gradient", None) == "rtrl":  # say which configurations run
            fits = max(n for n, lv in LEVELS.items() if lv.hidden_size <= RTRL_MAX_HIDDEN)
            raise ConfigError(f"{exc} (use a level <= {fits} or a smaller hidden size)") from None
        raise
    return config


def compress(data, level=DEFAULT_LEVEL, *, config=None, memlimit=None, **options) -> bytes:
    """Compress bytes-like data into one .nbt stream (alphabet: the bytes present).

    memlimit: bytes the stream may need to decode (None: the default limit,
    memlimit.py; 0: no limit); a model that needs more is refused with
    MemoryLimitError, since the default decoder would refuse the stream."""
    config = make_config(level, config=config, **options)
    check_encodable(config, memlimit)
    data = _bytes_like(data)
    out = io.BytesIO()
    encoder = StreamEncoder(out, config, alphabet_of(data), size=len(data))
    encoder.write(data)
    encoder.finish()
    return out.getvalue()


def decompress(data, *, memlimit=None) -> bytes:
    """The original bytes of one .nbt stream, or of several concatenated ones in
    order; FormatError if data is not exactly that. memlimit: bytes a stream's
    model may take (None: the default limit, memlimit.py; 0: no limit), checked
    from each header before anything is allocated (MemoryLimitError)."""
    limit = _resolve_memlimit(memlimit)
    return b"".join(StreamDecoder(io.BytesIO(_bytes_like(data)), limit))


def check_encodable(config, memlimit=None):
    """MemoryLimitError when a stream of config, over any input, would need more
    memory to decode than memlimit (None: the default limit) allows."""
    limit = _resolve_memlimit(memlimit)
    if hasattr(config, "sized"):  # the largest it is written with: input of unknown size
        config = config.sized(None, 256)
    needed = stream_memory(config, 256)
    if limit and needed > limit:
        raise MemoryLimitError(needed, limit, decoding=False)


def _bytes_like(data):
    """bytes or bytearray as they are, any other buffer as bytes; TypeError for the rest."""
    if isinstance(data, (bytes, bytearray)):
        return data
    try:
        return memoryview(data).tobytes()
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not {type(data).__name__!r}") from None


@dataclasses.dataclass(frozen=True)
class Result:
    """What compress_file / decompress_file did."""

    input_size: int
    output_size: int
    seconds: float
    # Set when a regular input file changed while it was read: "grew", "shrank"
    # or "changed". The output still decodes to exactly the bytes that were read.
    input_changed: str | None = None


def _is_path(obj) -> bool:
    return isinstance(obj, (str, bytes, os.PathLike))


@contextlib.contextmanager
def _source(src):
    if _is_path(src):
        with builtins.open(src, "rb") as fp:
            yield fp
    else:
        yield src


@contextlib.contextmanager
def _destination(dst, overwrite, mode):
    if _is_path(dst):
        with atomic_output(dst, overwrite=overwrite, mode=mode) as fp:
            yield fp
    else:
        yield dst


def _regular_size(fp):
    """Bytes left in fp when it is a regular file, else None."""
    try:
        st = os.fstat(fp.fileno())
        return st.st_size - fp.tell() if stat.S_ISREG(st.st_mode) else None
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None


def _mode_of(src):
    try:
        return os.stat(src).st_mode & 0o777 if _is_path(src) else None
    except OSError:
        return None


def _scan(fp):
    """(alphabet, length, CRC-32) of the rest of a seekable fp, which is then rewound;
    (all 256 values, None, None) for a stream that cannot be read twice."""
    try:
        start = fp.tell() if fp.seekable() else None
    except (AttributeError, OSError):
        start = None
    if start is None:
        return full_alphabet(), None, None
    present = alphabet_of(b"")
    length = crc = 0
    # Block-sized reads: counting bytes takes 8 bytes of memory per input byte.
    while chunk := fp.read(BLOCK_SIZE):
        present |= alphabet_of(chunk)
        length += len(chunk)
        crc = zlib.crc32(chunk, crc)
    fp.seek(start)
    return present, length, crc


def compress_file(
    src,
    dst,
    level=DEFAULT_LEVEL,
    *,
    config=None,
    overwrite=False,
    progress=None,
    threads=1,
    memlimit=None,
    **options,
) -> Result:
    """Compress src into dst in blocks, in constant memory.

    src, dst: paths or binary file objects. A seekable source is scanned once
    for its alphabet; a pipe uses all 256 byte values. A path dst is written
    through a temporary file and appears only when complete (FileExistsError
    if it exists and overwrite is false). progress(done, total) is called
    as coding goes (after every slice of ~50 ms of work, and after every block)
    with input bytes coded (total None when unknown).
    threads > 1 (0: one per core) codes segments of the input as independent
    streams in that many processes (parallel.py): faster on a large input,
    slightly larger output; an input that fits one segment is coded as with 1.
    memlimit: as for compress().

    A regular file that changes while it is read (a log being written) is
    compressed as far as it was when scanned, consistently: bytes the scan did
    not see start a new stream of all 256 values (streams concatenate), and
    Result.input_changed says "grew", "shrank" or "changed".
    """
    config = make_config(level, config=config, **options)
    check_encodable(config, memlimit)
    threads = parallel.resolve_threads(threads)
    started = time.perf_counter()
    with _source(src) as fin:
        total = _regular_size(fin)
        size = parallel.segment_size(total, threads)
        if threads > 1 and (total is None or total > size):
            with _destination(dst, overwrite, _mode_of(src)) as fout:
                # the caller weighed the config against the limit already
                code = functools.partial(compress, config=config, memlimit=0)
                read, written = parallel.compress_segments(
                    fin, fout, code, threads, size, progress, total
                )
            changed = _changed(fin, total, read, None, None)
            return Result(read, written, time.perf_counter() - started, changed)
        alphabet, scanned, scan_crc = _scan(fin)
        if scanned is None:  # a pipe: look ahead, most end within it
            head = read_upto(fin, PIPE_LOOKAHEAD)
            if len(head) < PIPE_LOOKAHEAD:  # the whole input: size and alphabet known
                fin = io.BytesIO(head)
                alphabet, scanned, scan_crc = _scan(fin)
            else:
                fin = _Prefixed(head, fin)
        total = scanned if scanned is not None else total
        with _destination(dst, overwrite, _mode_of(src)) as fout:
            encoders = [StreamEncoder(fout, config, alphabet, size=scanned)]
            done = crc = 0
            while chunk := read_upto(fin, _next_read(scanned, done)):
                if (alphabet_of(chunk) & ~encoders[-1].alphabet).any():
                    # Bytes the scan did not see: the file changed since. This
                    # stream cannot code them, so it ends and another one begins.
                    encoders[-1].finish()
                    encoders.append(StreamEncoder(fout, config, full_alphabet()))
                during = None
                if progress is not None:
                    during = functools.partial(_progress_within, progress, done, total)
                encoders[-1].write_block(chunk, during)
                done += len(chunk)
                crc = zlib.crc32(chunk, crc)
                if progress is not None:
                    progress(done, total)
            encoders[-1].finish()
        written = sum(encoder.written for encoder in encoders)
        changed = _changed(fin, scanned, done, crc, scan_crc)
    return Result(done, written, time.perf_counter() - started, changed)


# A pipe is read this far ahead before its stream starts: an input that ends
# within it is coded like a file (its own alphabet, tables sized to it), which
# made alice29.txt through a pipe cost what the file costs (was 2x the time:
# all 256 byte values in the softmax, tables at their caps).
PIPE_LOOKAHEAD = 16 << 20


class _Prefixed:
    """A binary reader that yields `head`, then the rest of `rest`."""

    def __init__(self, head, rest):
        self._head = io.BytesIO(head)
        self._rest = rest

    def read(self, n=-1):
        data = self._head.read(n)
        if n < 0:
            return data + self._rest.read()
        if len(data) < n:
            more = self._rest.read(n - len(data))
            data += more or b""
        return data


def _progress_within(progress, before, total, k):
    """progress while a block is coded: its first k bytes are done."""
    progress(before + k, total)


def _next_read(scanned, done):
    """A block, but never past the length the scan saw (None: read to the end)."""
    return BLOCK_SIZE if scanned is None else min(BLOCK_SIZE, scanned - done)


def _changed(fin, expected, done, crc, expected_crc):
    """How the input differed from what was expected of it (None: it did not)."""
    if expected is None:
        return None  # a pipe: whatever came is the input
    if done < expected:
        return "shrank"
    if crc != expected_crc:
        return "changed"
    try:
        more = fin.read(1)
    except (OSError, ValueError):
        more = b""
    return "grew" if more else None


def decompress_file(
    src, dst, *, overwrite=False, progress=None, threads=1, memlimit=None
) -> Result:
    """Decompress src into dst block by block; the counterpart of compress_file.

    Every block is checked against its CRC before it is written; with a path
    dst nothing appears unless the whole stream checked out.
    progress(done, total) counts original bytes decoded (as decoding goes, and
    written after every block), against the original
    size the trailers give (total None when src cannot be read ahead, a pipe);
    threads > 1 (0: one per core) decodes the streams of a multi-stream file
    (compress_file with threads) in that many processes, fewer when memlimit
    does not hold that many models; a file of one stream decodes as with 1.
    memlimit: as for decompress(); every stream is checked before decoding.
    """
    limit = _resolve_memlimit(memlimit)
    threads = parallel.resolve_threads(threads)
    started = time.perf_counter()
    written = 0
    with _source(src) as fin:
        total = _regular_size(fin)
        spans = None
        if total is not None and (threads > 1 or progress is not None):
            spans = _stream_spans(fin, strict=threads > 1)
        original = sum(span.length for span in spans) if spans else None
        if threads > 1 and spans and len(spans) > 1:
            needed = max(span.memory for span in spans)
            if limit and needed > limit:
                raise MemoryLimitError(needed, limit)
            if limit:  # each worker holds one model: no more workers than fit
                threads = max(1, min(threads, limit // needed))
        if threads > 1 and spans and len(spans) > 1:
            with _destination(dst, overwrite, _mode_of(src)) as fout:
                code = functools.partial(decompress, memlimit=limit)
                written = parallel.decompress_streams(
                    fin, fout, spans, code, threads, progress, original
                )
            return Result(total, written, time.perf_counter() - started)
        decoder = StreamDecoder(fin, limit)
        if progress is not None:
            decoder.on_slice = lambda k: progress(written + k, original)
        with _destination(dst, overwrite, _mode_of(src)) as fout:
            for block in decoder:
                fout.write(block)
                written += len(block)
                if progress is not None:
                    progress(written, original)
    return Result(decoder.consumed, written, time.perf_counter() - started)


def _stream_spans(fin, strict):
    """Where the streams of a regular file lie (fin left where it was). Not strict:
    None for a file whose structure is damaged, which decoding will report."""
    start = fin.tell()
    try:
        return stream_spans(fin)
    except FormatError:
        if strict:
            raise
        return None
    finally:
        fin.seek(start)


def info(src) -> Info:
    """Configuration and sizes of a .nbt stream without decoding it (like `xz -l`)."""
    with _source(src) as fp:
        return scan(fp)
