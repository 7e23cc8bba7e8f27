"""Compressing and decompressing on several cores, as independent streams.

One stream is sequential by nature: every byte's prediction depends on all
the learning before it. To use N cores, compress_file(threads=N) cuts the
input into segments and codes each as a stream of its own (own alphabet, own
model learning from scratch) in a worker process; the streams are written
in order, so the file is an ordinary multi-stream .nbt (container.py) that
any nbtzip decodes. The price is the learning each new model has to redo,
so segments are never made shorter than MIN_SEGMENT (README, "Threads").

Decompression can use several workers only when the file has several
streams; each worker decodes whole streams (checking every block as usual)
and the parent writes their bytes in order.

Workers are forked where the platform allows it: they start at once with
the parent's compiled kernels, and a script calling compress_file needs no
`if __name__ == "__main__"` guard (spawn would re-run it). Nothing in the
parent runs threads that fork could break (no parallel=True kernels), and
workers leave through os._exit, never flushing the parent's buffers. They
ignore SIGINT and take SIGTERM and SIGHUP by default: the parent alone
cleans up, and terminates them. A worker that dies (killed, out of memory)
fails the whole run with WorkerError instead of leaving the parent waiting.
At most threads + 1 segments are in flight, so memory stays bounded by
about (threads + 1) x segment size.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import multiprocessing
import os
import signal
from concurrent.futures.process import BrokenProcessPool

from .container import read_upto

MIN_SEGMENT = 1 << 20
MAX_SEGMENT = 64 << 20
PIPE_SEGMENT = 16 << 20  # when the input's size is unknown


def resolve_threads(threads) -> int:
    """Workers to use: threads as asked (0: one per core), never more than the
    cores available (each worker holds up to two segments in memory, and more
    workers than cores would only share them)."""
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 0:
        raise ValueError(f"threads must be a non-negative integer, got {threads!r}")
    cores = available_cores()
    return cores if threads == 0 else min(threads, cores)


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def segment_size(total: int | None, threads: int) -> int:
    """Bytes per stream: the input split evenly over the workers, within bounds."""
    if total is None:
        return PIPE_SEGMENT
    share = -(-total // threads)
    return min(MAX_SEGMENT, max(MIN_SEGMENT, share))


def segments(total: int, size: int) -> int:
    return max(1, -(-total // size))


class WorkerError(RuntimeError):
    """A worker process ended without finishing its segment."""


def _worker_signals():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


@contextlib.contextmanager
def _workers(threads):
    pool = concurrent.futures.ProcessPoolExecutor(
        threads, mp_context=_context(), initializer=_worker_signals
    )
    try:
        yield pool
    except BrokenProcessPool:
        _stop(pool)
        raise WorkerError("a worker process died (killed, or out of memory?)") from None
    except BaseException:
        _stop(pool)  # do not wait for segments nobody will read
        raise
    pool.shutdown()


def _stop(pool):
    # The executor has no public way to end running tasks; its processes do.
    for process in list(getattr(pool, "_processes", {}).values()):
        process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def compress_segments(fin, fout, compress, threads, size, progress=None, total=None):
    """Code fin as streams of `size` bytes in `threads` workers; returns (read, written).

    compress(data) -> one stream: a module-level function or a functools.partial
    of one, so that it reaches the workers by name. total: the input's length
    when known; no more than that is read, so that a file growing meanwhile is
    compressed as it was (the caller says it grew).
    """
    read = written = 0
    pending = collections.deque()
    exhausted = False
    if total is not None:
        threads = min(threads, segments(total, size))  # no idle processes
    asked = 0
    with _workers(threads) as pool:
        while True:
            while not exhausted and len(pending) <= threads:
                want = size if total is None else min(size, total - asked)
                segment = read_upto(fin, want)
                asked += len(segment)
                exhausted = len(segment) < size or asked == total
                if segment:
                    job = pool.submit(compress, segment)
                    pending.append((len(segment), job))
            if not pending:
                break
            length, job = pending.popleft()
            blob = job.result()
            fout.write(blob)
            read += length
            written += len(blob)
            if progress is not None:
                progress(read, total)
    if read == 0:  # an empty input is still one (empty) stream
        blob = compress(b"")
        fout.write(blob)
        written += len(blob)
    return read, written


def decompress_streams(fin, fout, spans, decompress, threads, progress=None, total=None):
    """Decode the streams at spans (container.Span: offset and size in fin, in
    order) in `threads` workers with decompress(blob) -> bytes (a module-level
    function or a partial of one), writing their bytes to fout; returns the
    original bytes written. progress(done, total) counts original bytes."""
    written = 0
    pending = collections.deque()
    spans = collections.deque(spans)
    threads = min(threads, len(spans))
    with _workers(threads) as pool:
        while spans or pending:
            while spans and len(pending) <= threads:
                span = spans.popleft()
                fin.seek(span.offset)
                job = pool.submit(decompress, read_upto(fin, span.size))
                pending.append(job)
            data = pending.popleft().result()
            fout.write(data)
            written += len(data)
            if progress is not None:
                progress(written, total)
    return written
