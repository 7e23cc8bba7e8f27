"""Where numba keeps the compiled kernels, and whether they are there yet.

numba caches a kernel in the `__pycache__` beside its source when it can write
there. A package installed read-only (system site-packages, a container image)
would otherwise recompile every run, so `configure()` points NUMBA_CACHE_DIR at
a user cache directory in that case. It must run before numba is imported:
`nbtzip/__init__.py` calls it first thing. This module imports nothing heavy.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def user_cache_dir(env=None) -> Path:
    """$XDG_CACHE_HOME/nbtzip/numba, or ~/.cache/nbtzip/numba."""
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nbtzip" / "numba"


def _dir_writable(path: Path) -> bool:
    # The same test numba makes before it trusts a cache directory.
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return False
    return True


def configure(env=None, writable=None) -> str | None:
    """Set NUMBA_CACHE_DIR when the package's own __pycache__ is not writable.

    Leaves a value the user set alone. Returns the directory numba will use
    (None: the in-tree __pycache__). `writable` overrides the probe (tests).
    """
    env = os.environ if env is None else env
    if env.get("NUMBA_CACHE_DIR"):
        return env["NUMBA_CACHE_DIR"]
    if writable is None:
        writable = _dir_writable(PACKAGE_DIR / "__pycache__")
    if writable:
        return None
    env["NUMBA_CACHE_DIR"] = str(user_cache_dir(env))
    return env["NUMBA_CACHE_DIR"]


def _cache_dir_for(source: Path, env) -> Path:
    custom = env.get("NUMBA_CACHE_DIR")
    if not custom:
        return source.parent / "__pycache__"
    # numba names the subdirectory after the source directory's name and a
    # SHA-1 of its absolute path (caching._CacheLocator.get_suitable_cache_subpath).
    import hashlib

    parent = str(source.parent)
    digest = hashlib.sha1(parent.encode()).hexdigest()
    return Path(custom) / f"{os.path.basename(parent)}_{digest}"


def kernels_cached(module: str, env=None) -> bool:
    """True when numba has index files for nbtzip.<module> newer than its source.

    A heuristic for the "compiling kernels, first run only" note: a stale or
    CPU-specific cache miss recompiles silently, which costs time, not bytes.
    """
    env = os.environ if env is None else env
    source = PACKAGE_DIR / (module.replace(".", os.sep) + ".py")
    try:
        stamp = source.stat().st_mtime
        indexes = list(_cache_dir_for(source, env).glob(source.stem + ".*.nbi"))
        return any(p.stat().st_mtime >= stamp for p in indexes)
    except OSError:
        return False


def kernel_module(config) -> str:
    """The module whose kernels code streams of this configuration."""
    from .config import CTWConfig

    return "ctw" if isinstance(config, CTWConfig) else "engine"
