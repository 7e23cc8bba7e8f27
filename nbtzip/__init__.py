"""nbtzip: lossless compression with a recurrent network trained online (NoBackTrack).

The API follows the stdlib's lzma and bz2:

    import nbtzip
    blob = nbtzip.compress(data)                   # level 6, Kalman NoBackTrack
    blob = nbtzip.compress(data, 1)                # a smaller, faster network
    blob = nbtzip.compress(data, hidden_size=16, algorithm="nbt")
    blob = nbtzip.compress(data, config=nbtzip.CTWConfig(depth=4))
    assert nbtzip.decompress(blob) == data         # FormatError on bad data
    nbtzip.decompress(blob, memlimit=2 << 30)      # MemoryLimitError past 2 GiB
    with nbtzip.open("log.nbt", "wb") as f:        # streaming, constant memory
        f.write(data)
    nbtzip.compress_file("big.txt", "big.txt.nbt") # blockwise, constant memory
"""

from . import kernelcache

# Before anything imports numba: a read-only install still caches its kernels.
kernelcache.configure()

from .api import (  # noqa: E402
    ALGORITHMS,
    MODELS,
    Result,
    __version__,
    compress,
    compress_file,
    decompress,
    decompress_file,
    info,
    make_config,
)
from .config import DEFAULT_LEVEL, ConfigError, CTWConfig, RNNConfig  # noqa: E402
from .container import FormatError, Info, MemoryLimitError  # noqa: E402
from .nbtfile import NbtFile, open  # noqa: E402

__all__ = [
    "__version__",
    "ALGORITHMS",
    "CTWConfig",
    "ConfigError",
    "DEFAULT_LEVEL",
    "FormatError",
    "Info",
    "MemoryLimitError",
    "MODELS",
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
