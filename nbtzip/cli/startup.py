"""Start-up of the nbtzip process: load cached kernels without numba's full compiler set-up.

Before numba loads a kernel from its cache, it refreshes its compiler target:
it imports some 40 modules of lowering rules (arrays, strings, dicts, random
numbers, ...) and fills its typing tables. Those serve compilation only. A
cached kernel needs the NRT's C symbols, which `rtsys.initialize` registers,
and numba's helper symbols, which it registers when the target is created. On
a warm 1 KB file the refresh took 0.19 s of a 0.84 s process (the same run,
with and without it, the compressed bytes identical).

`load_kernels_lazily()` makes numba's cache load do just that. A kernel that is
not in the cache still compiles as before: numba's compiler refreshes the
target itself before it compiles anything. The command line owns its process,
so it may change numba's behaviour there; a library caller's process is left
as it is (like `kernelcache.skip_blas_probe`).

Symbols that the skipped modules would register on import, and that a cached
kernel would then miss, belong to features no nbtzip kernel uses: hashing
of strings (numba.cpython.hashing) and parallel loops. A kernel that used them
would fail to link, so tests/test_cli.py runs every model's cached kernels in
a process set up this way.
"""

from __future__ import annotations


def load_kernels_lazily() -> bool:
    """Make numba's cache load skip the compiler target's refresh; False if numba differs."""
    from numba.core import caching
    from numba.core.runtime import rtsys

    cache = caching.Cache
    needed = ("_load_overload", "_guard_against_spurious_io_errors")
    if not all(hasattr(cache, name) for name in needed):
        return False  # another numba: keep its own loading

    def load_overload(self, sig, target_context):
        rtsys.initialize(target_context)  # the NRT's symbols, once per process
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)

    cache.load_overload = load_overload
    return True
