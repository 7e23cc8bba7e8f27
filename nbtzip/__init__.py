"""nbtzip: lossless compression with a recurrent network trained online (NoBackTrack).

The API follows the stdlib's lzma and bz2:

    import nbtzip
    blob = nbtzip.compress(data)                   # level 6, Kalman NoBackTrack
    blob = nbtzip.compress(data, 1)                # a smaller, faster network
    blob = nbtzip.compress(data, hidden_size=16, algorithm="nbt")
    blob = nbtzip.compress(data, config=nbtzip.CTWConfig(depth=4))
    assert nbtzip.decompress(blob) == data         # FormatError on bad data
    with nbtzip.open("log.nbt", "wb") as f:        # streaming, constant memory
        f.write(data)
    nbtzip.compress_file("big.txt", "big.txt.nbt") # blockwise, constant memory
"""

from . import kernelcache

# Before anything imports numba: a read-only install still caches its kernels.
kernelcache.configure()

import builtins  # noqa: E402
import contextlib  # noqa: E402
import dataclasses  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import stat  # noqa: E402
import time  # noqa: E402

from . import parallel  # noqa: E402
from .atomic import atomic_output  # noqa: E402
from .config import (  # noqa: E402
    DEFAULT_LEVEL,
    ConfigError,
    CTWConfig,
    RNNConfig,
    preset,
)
from .container import (  # noqa: E402
    BLOCK_SIZE,
    FormatError,
    Info,
    StreamDecoder,
    StreamEncoder,
    alphabet_of,
    check_supported,
    full_alphabet,
    read_header,
    read_upto,
    scan,
    stream_spans,
)
from .nbtfile import NbtFile, open  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "ALGORITHMS",
    "CTWConfig",
    "ConfigError",
    "DEFAULT_LEVEL",
    "FormatError",
    "Info",
    "NbtFile",
    "RNNConfig",
    "Result",
    "compress",
    "compress_file",
    "decompress",
    "decompress_file",
    "info",
    "make_config",
    "open",
]

# The learning rules a user picks by name: (gradient estimate, step rule).
ALGORITHMS = {
    "kalman": {"gradient": "nbt", "step": "kalman"},  # Algorithm 2, the default
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
MODELS = ("rnn", "ctw")


def make_config(level=DEFAULT_LEVEL, *, config=None, model="rnn", algorithm=None, **options):
    """The model configuration for a level, a model name and field overrides.

    config: an RNNConfig or CTWConfig used as is (options then override its
    fields). Otherwise model "rnn" starts from preset(level) and "ctw" from
    CTWConfig(). algorithm: a name of ALGORITHMS (RNN only). Options set
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
        if not isinstance(config, (RNNConfig, CTWConfig)):
            raise TypeError(
                f"config must be an RNNConfig or CTWConfig, not {type(config).__name__}"
            )
        config = dataclasses.replace(config, **options) if options else config
    elif model == "ctw":
        if algorithm is not None:
            raise ConfigError("--algorithm applies to the rnn model only")
        config = CTWConfig(**options)
    elif model == "rnn":
        config = preset(level, **options)
    else:
        raise ConfigError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    check_supported(config)
    return config


def compress(data, level=DEFAULT_LEVEL, *, config=None, **options) -> bytes:
    """Compress bytes-like data into one .nbt stream (alphabet: the bytes present)."""
    config = make_config(level, config=config, **options)
    data = _bytes_like(data)
    out = io.BytesIO()
    encoder = StreamEncoder(out, config, alphabet_of(data))
    encoder.write(data)
    encoder.finish()
    return out.getvalue()


def decompress(data) -> bytes:
    """The original bytes of one .nbt stream, or of several concatenated ones in
    order; FormatError if data is not exactly that."""
    return b"".join(StreamDecoder(io.BytesIO(_bytes_like(data))))


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


def _scan_alphabet(fp):
    """Bytes present in the rest of a seekable fp (then rewound); all 256 otherwise."""
    try:
        start = fp.tell() if fp.seekable() else None
    except (AttributeError, OSError):
        start = None
    if start is None:
        return full_alphabet()
    present = alphabet_of(b"")
    # Block-sized reads: counting bytes takes 8 bytes of memory per input byte.
    while chunk := fp.read(BLOCK_SIZE):
        present |= alphabet_of(chunk)
    fp.seek(start)
    return present


def compress_file(
    src,
    dst,
    level=DEFAULT_LEVEL,
    *,
    config=None,
    overwrite=False,
    progress=None,
    threads=1,
    **options,
) -> Result:
    """Compress src into dst in blocks, in constant memory.

    src, dst: paths or binary file objects. A seekable source is scanned once
    for its alphabet; a pipe uses all 256 byte values. A path dst is written
    through a temporary file and appears only when complete (FileExistsError
    if it exists and overwrite is false). progress(done, total) is called
    after every block with input bytes read (total None when unknown).
    threads > 1 (0: one per core) codes segments of the input as independent
    streams in that many processes (parallel.py): faster on a large input,
    slightly larger output; an input that fits one segment is coded as with 1.
    """
    config = make_config(level, config=config, **options)
    threads = parallel.resolve_threads(threads)
    started = time.perf_counter()
    with _source(src) as fin:
        total = _regular_size(fin)
        size = parallel.segment_size(total, threads)
        if threads > 1 and (total is None or total > size):
            with _destination(dst, overwrite, _mode_of(src)) as fout:
                read, written = parallel.compress_segments(
                    fin, fout, config, threads, size, progress, total
                )
            return Result(read, written, time.perf_counter() - started)
        alphabet = _scan_alphabet(fin)
        with _destination(dst, overwrite, _mode_of(src)) as fout:
            encoder = StreamEncoder(fout, config, alphabet)
            while chunk := read_upto(fin, BLOCK_SIZE):
                encoder.write_block(chunk)
                if progress is not None:
                    progress(encoder.length, total)
            encoder.finish()
    return Result(encoder.length, encoder.written, time.perf_counter() - started)


def decompress_file(
    src, dst, *, overwrite=False, progress=None, on_config=None, threads=1
) -> Result:
    """Decompress src into dst block by block; the counterpart of compress_file.

    Every block is checked against its CRC before it is written; with a path
    dst nothing appears unless the whole stream checked out.
    progress(done, total) counts compressed bytes read; on_config(config) is
    called once the header is read, before any decoding. threads > 1 (0: one
    per core) decodes the streams of a multi-stream file (compress_file with
    threads) in that many processes; a file of one stream decodes as with 1.
    """
    threads = parallel.resolve_threads(threads)
    started = time.perf_counter()
    written = 0
    with _source(src) as fin:
        total = _regular_size(fin)
        spans = _stream_spans(fin) if threads > 1 and total is not None else []
        if len(spans) > 1:
            if on_config is not None:
                on_config(read_header(fin).config)
            with _destination(dst, overwrite, _mode_of(src)) as fout:
                written = parallel.decompress_streams(fin, fout, spans, threads, progress, total)
            return Result(total, written, time.perf_counter() - started)
        decoder = StreamDecoder(fin)
        if on_config is not None:
            on_config(decoder.header.config)
        with _destination(dst, overwrite, _mode_of(src)) as fout:
            for block in decoder:
                fout.write(block)
                written += len(block)
                if progress is not None:
                    progress(decoder.consumed, total)
    return Result(decoder.consumed, written, time.perf_counter() - started)


def _stream_spans(fin):
    """Where the streams of a regular file lie (fin left where it was)."""
    start = fin.tell()
    try:
        return stream_spans(fin)
    finally:
        fin.seek(start)


def info(src) -> Info:
    """Configuration and sizes of a .nbt stream without decoding it (like `xz -l`)."""
    with _source(src) as fp:
        return scan(fp)
