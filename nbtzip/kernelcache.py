"""Where numba keeps the compiled kernels, and whether they are there yet.

numba's own cache checks only the timestamp of the file that holds a kernel,
not of the modules it calls: after `rnn/step.py` is cached, a change to
`rnn/learners/nbt.py` would go on running the old inlined code. For a compressor
that is a silent wrong answer (files that other machines cannot decode), so
`configure()` points NUMBA_CACHE_DIR at a directory named after a digest of
every source file of the package: any change to any module starts a fresh
cache. The directory lives in the user's cache (it also works when the
package itself is installed read-only), and older digests are pruned.
`configure()` must run before numba is imported: `nbtzip/__init__.py` calls it
first thing. This module imports nothing heavy and knows no model.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def user_cache_dir(env=None) -> Path:
    """$XDG_CACHE_HOME/nbtzip/numba, or ~/.cache/nbtzip/numba."""
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nbtzip" / "numba"


def source_digest(package_dir: Path = PACKAGE_DIR) -> str:
    """A digest of every .py file of the package (names and contents)."""
    h = hashlib.sha256()
    for path in sorted(package_dir.rglob("*.py")):
        h.update(path.relative_to(package_dir).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _dir_writable(path: Path) -> bool:
    # The same test numba makes before it trusts a cache directory.
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return False
    return True


def _prune_others(base: Path, keep: str) -> None:
    # Caches of other source versions are dead weight once the code changed.
    try:
        for entry in base.iterdir():
            if entry.is_dir() and entry.name != keep and len(entry.name) == len(keep):
                shutil.rmtree(entry, ignore_errors=True)
    except OSError:
        pass


def configure(env=None) -> str | None:
    """Set NUMBA_CACHE_DIR to a cache for exactly this version of the sources.

    Leaves a value the user set alone. Falls back to a per-user directory under
    the system temporary directory when the user cache is not writable.
    Returns the directory numba will use (None: numba's default).
    """
    env = os.environ if env is None else env
    if env.get("NUMBA_CACHE_DIR"):
        return env["NUMBA_CACHE_DIR"]
    digest = source_digest()
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    fallback = Path(tempfile.gettempdir()) / f"nbtzip-numba-{uid}"
    for base in (user_cache_dir(env), fallback):
        if _dir_writable(base / digest):
            _prune_others(base, digest)
            env["NUMBA_CACHE_DIR"] = str(base / digest)
            _tell_numba(env)
            return env["NUMBA_CACHE_DIR"]
    return None


def _tell_numba(env) -> None:
    # numba reads its settings when it is first imported. A program (or a test
    # suite) that imported numba before nbtzip would otherwise keep caching in
    # __pycache__, where a stale kernel can outlive a change to a module it calls.
    numba_config = sys.modules.get("numba.core.config")
    if numba_config is not None and env is os.environ:
        numba_config.reload_config()


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


def kernels_cached(kernel: str, env=None) -> bool:
    """True when numba has index files for `kernel` newer than its source.

    kernel: "package.module" (any kernel of that module, relative to nbtzip)
    or "package.module:function". A heuristic for the "compiling kernels,
    first run only" note: a stale or CPU-specific cache miss recompiles
    silently, which costs time, not bytes.
    """
    env = os.environ if env is None else env
    module, _, function = kernel.partition(":")
    source = PACKAGE_DIR.joinpath(*module.split(".")).with_suffix(".py")
    pattern = f"{source.stem}.{function}-*.nbi" if function else f"{source.stem}.*.nbi"
    try:
        stamp = source.stat().st_mtime
        indexes = list(_cache_dir_for(source, env).glob(pattern))
        return any(p.stat().st_mtime >= stamp for p in indexes)
    except OSError:
        return False
