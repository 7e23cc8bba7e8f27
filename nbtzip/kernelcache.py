"""Where numba keeps the compiled kernels, and saying so when it compiles them.

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

import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def user_cache_dir(env=None) -> Path:
    """$XDG_CACHE_HOME/nbtzip/numba, or ~/.cache/nbtzip/numba."""
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nbtzip" / "numba"


# The command line is the top layer (tests/test_layout.py): no kernel can reach
# it, so editing it need not recompile every kernel (minutes for the mixture).
UNREACHABLE_FROM_KERNELS = ("cli", "__main__.py")


def source_digest(package_dir: Path = PACKAGE_DIR) -> str:
    """A digest of every .py file of the package (names and contents) but the command line's."""
    h = hashlib.sha256()
    for path in sorted(package_dir.rglob("*.py")):
        if path.relative_to(package_dir).parts[0] in UNREACHABLE_FROM_KERNELS:
            continue
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


# A cache of other sources is removed once unused this long: two installs or
# checkouts of different versions side by side would otherwise delete each
# other's kernels on every run and recompile each time (25-100 s).
STALE_SECONDS = 7 * 24 * 3600


def _prune_others(base: Path, keep: str) -> None:
    # Caches of other source versions are dead weight once the code changed.
    now = time.time()
    try:
        (base / keep).touch()  # its modification time says when it was last used
        for entry in base.iterdir():
            if entry.is_dir() and entry.name != keep and len(entry.name) == len(keep):
                if now - entry.stat().st_mtime > STALE_SECONDS:
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


class _CompileNotice:
    """A numba event listener that calls tell() once, at the first real compilation.

    numba announces "numba:compile" only when it compiles: after a miss in its
    cache, never when it loads a kernel from there. So the note comes exactly
    when compiling happens, whatever made the cache miss: a first run, a
    kernel not used before (the first decompression), a cache made on another
    CPU, or a changed source. One byte in a pipe is the right to speak, so
    that forked worker processes compiling at once say it once between them.
    """

    def __init__(self, tell):
        self.tell = tell
        self.spoken = False
        self._read, write = os.pipe()
        os.write(write, b"!")
        os.close(write)
        os.set_blocking(self._read, False)

    def on_start(self, event):
        if self.spoken:
            return
        self.spoken = True
        try:
            token = os.read(self._read, 1)
        except (BlockingIOError, OSError):  # another process took it, or it is closed
            return
        if token:
            self.tell()

    def on_end(self, event):
        pass

    def close(self):
        os.close(self._read)


@contextlib.contextmanager
def compile_notice(tell):
    """Within the block, tell() is called once when numba first compiles a kernel."""
    from numba.core import event

    class Listener(_CompileNotice, event.Listener):
        pass

    listener = Listener(tell)
    try:
        with event.install_listener("numba:compile", listener):
            yield listener
    finally:
        listener.close()


def skip_blas_probe():
    """Tell numba that scipy's BLAS is absent; for a process that never calls it.

    The first kernel numba loads in a process imports numba.np.arraymath, which
    imports scipy.linalg to look for BLAS when scipy is installed: 0.46 s of the
    1.9 s a 1 KB file took (cProfile of a warm run). No nbtzip kernel calls BLAS
    (numpy's dot and linalg would not be deterministic across CPUs anyway), so
    the command line, which owns its process, skips the probe. A library caller's
    process is left as it is.
    """
    sys.modules.setdefault("scipy.linalg.cython_blas", None)
