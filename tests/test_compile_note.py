"""The note "compiling kernels, first run only" comes exactly when numba compiles:
not when kernels load from the cache, not before an error where nothing compiles."""

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import numba

from nbtzip import kernelcache

ROOT = Path(__file__).resolve().parent.parent
NOTE = "compiling kernels, first run only"


def test_the_note_comes_once_at_the_first_real_compilation():
    told = []
    done_before = numba.njit(lambda x: x * 2)
    done_before(1)
    with kernelcache.compile_notice(lambda: told.append(1)):
        done_before(2)  # compiled already: nothing to say
        assert told == []
        numba.njit(lambda x: x + 1)(1)
        numba.njit(lambda x: x - 1)(1)
    assert told == [1]
    numba.njit(lambda x: x + 3)(1)  # after the block: not listened to
    assert told == [1]


def _compile_fresh(_):
    numba.njit(lambda x: x + 7)(1)
    return os.getpid()


def test_forked_workers_compiling_at_once_say_it_once_between_them(tmp_path):
    record = tmp_path / "told"

    def tell():
        with open(record, "a") as fp:
            fp.write(f"{os.getpid()}\n")

    context = multiprocessing.get_context("fork")
    with kernelcache.compile_notice(tell):
        with context.Pool(2) as pool:
            workers = set(pool.map(_compile_fresh, range(4), chunksize=1))
        numba.njit(lambda x: x + 8)(1)  # the parent compiles too, later
    assert len(workers) >= 1 and record.read_text().count("\n") == 1


def _nbtzip(*args, cache, **env):
    return subprocess.run(
        [sys.executable, "-m", "nbtzip", *map(str, args)],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_CACHE_DIR": str(cache), **env},
        timeout=900,
    )


def test_the_note_follows_numba_compiling_in_a_real_first_run(tmp_path):
    """Against a fresh kernel cache: no note for an error where nothing compiles,
    a note when the kernels are compiled, none once they are cached, and one again
    when the cache holds them only for another CPU."""
    cache = tmp_path / "cache"
    (tmp_path / "notes.txt").write_bytes(b"some notes\n" * 30)
    done = _nbtzip("decompress", tmp_path / "notes.txt", "-o", tmp_path / "out", cache=cache)
    assert done.returncode == 1 and done.stderr.decode().count(NOTE) == 0
    ctw = ["--model", "ctw", "--depth", "3"]
    done = _nbtzip("compress", *ctw, tmp_path / "notes.txt", cache=cache)
    assert done.returncode == 0 and done.stderr.decode() == f"nbtzip: {NOTE}\n"
    # one kernel codes both ways: the first decompression compiles nothing more
    done = _nbtzip("decompress", "-c", tmp_path / "notes.txt.nbt", cache=cache)
    assert done.returncode == 0 and done.stderr.decode() == ""
    assert done.stdout == (tmp_path / "notes.txt").read_bytes()
    done = _nbtzip("compress", "-f", *ctw, tmp_path / "notes.txt", cache=cache)
    assert done.returncode == 0 and done.stderr.decode() == ""
    generic = {"NUMBA_CPU_NAME": "generic"}
    done = _nbtzip("compress", "-f", *ctw, tmp_path / "notes.txt", cache=cache, **generic)
    assert done.returncode == 0 and done.stderr.decode() == f"nbtzip: {NOTE}\n"
