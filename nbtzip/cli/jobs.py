"""How one command runs over its files: input checks, destinations, temporary outputs, reports.

Run holds what the files of one command share: each input is checked (a
symbolic link, a directory, a hard-linked input under --rm), its destination
chosen (standard output, -o, or beside it; an existing output needs -f),
transfer() writes to a temporary file renamed into place on success, with a
progress bar, and Run reports the figures (-v), says when numba compiles
kernels, removes the input after --rm and turns a file that fails into
one line on stderr while the others are still tried (status 1 at the end):
a bad stream, a model over the memory limit or too large for memory, a
worker process that died; a warning (an input that changed while it was
read) makes the status 2, as with gzip.

What a command does to one file is cli.py's; how the process meets the shell
(signals, standard output, exit statuses) is terminal.py's.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys

import click

from .. import kernelcache
from ..atomic import atomic_output
from ..config import ConfigError
from ..container import FormatError, MemoryLimitError
from ..memlimit import mib
from ..parallel import WorkerError
from .progress import ProgressBar, human_size
from .terminal import StdoutWriter, raise_swallowed, say, stdout_lost

# Said (once) when numba compiles kernels, the first run on a machine.
COMPILE_NOTE = "compiling kernels, first run only"

STDIO = "-"


class FileError(Exception):
    """One file could not be processed; the message is shown as is."""


class _Discard:
    """The output of decompress --test: every block is decoded and checked, then dropped."""

    def write(self, data):
        return len(data)

    def flush(self):
        pass


class Run:
    """Settings and state shared by the files of one command."""

    def __init__(
        self,
        files,
        output=None,
        to_stdout=False,
        keep=False,
        remove=False,
        force=False,
        quiet=False,
        verbose=False,
        test=False,
    ):
        if keep and remove:
            raise click.UsageError("--keep and --rm contradict each other")
        if quiet and verbose:
            raise click.UsageError("--quiet and --verbose contradict each other")
        if output is not None and to_stdout:
            raise click.UsageError("--output and --stdout contradict each other")
        if output == "":
            raise click.UsageError("--output needs a file name")
        if output is not None and len(files) > 1:
            raise click.UsageError("--output takes a single input file")
        if test and (output is not None or to_stdout or remove):
            raise click.UsageError("--test writes nothing: it takes no --output, --stdout or --rm")
        to_stdout = to_stdout or output == STDIO
        if remove and to_stdout:
            raise click.UsageError("--rm does not apply when writing to standard output")
        self.files = files or (STDIO,)
        self.output = None if output == STDIO else output
        self.to_stdout = to_stdout
        self.remove, self.force, self.quiet, self.verbose = remove, force, quiet, verbose
        self.test = test
        self.failed = False
        self.warned = False

    def check_input(self, path, verb):
        """FileError for inputs gzip would not touch without -f: a symbolic link whose
        output would go beside it or that --rm would delete (-c, -o and -t follow it), a
        directory, an input with other hard links that --rm would delete."""
        if path == STDIO:
            return
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            beside = self.output is None and not self.to_stdout and not self.test
            if not self.force and (beside or self.remove):
                raise FileError(f"{path}: is a symbolic link, not {verb}; use -f")
            st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise FileError(f"{path}: is a directory")
        if self.remove and st.st_nlink > 1 and not self.force:
            others = st.st_nlink - 1
            raise FileError(
                f"{path}: has {others} other link{'s' if others > 1 else ''}, not {verb}; use -f"
            )

    def destination(self, path, default_name):
        """Output path, or None for standard output."""
        if self.to_stdout or (path == STDIO and self.output is None):
            return None
        target = self.output if self.output is not None else default_name
        try:
            st = os.stat(target)
        except (OSError, ValueError):
            st = None
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise FileError(f"{target}: is a directory")
        # A device (other than a disk), FIFO or socket is written into, not replaced.
        written_into = st is not None and not stat.S_ISREG(st.st_mode)
        written_into = written_into and not stat.S_ISBLK(st.st_mode)
        if not self.force and not written_into and os.path.lexists(target):
            raise FileError(f"{target}: output file exists (use -f to overwrite)")
        if self.remove and written_into:
            raise FileError(f"{target}: not a regular file, so --rm would lose {path}")
        if path != STDIO and st is not None and os.path.samefile(path, target):
            raise FileError(f"{target}: output would overwrite the input")
        return target

    def each(self, action):
        """Run action(path) on every file; report failures and keep going. The
        first time numba compiles a kernel (not when it loads one), say so."""
        with contextlib.ExitStack() as stack:
            if not self.quiet:
                stack.enter_context(kernelcache.compile_notice(lambda: say(COMPILE_NOTE)))
            self._each(action)
        if self.failed:
            click.get_current_context().exit(1)
        if self.warned:
            click.get_current_context().exit(2)  # gzip's status for warnings

    def _each(self, action):
        for path in self.files:
            try:
                action(path)
            except FileError as exc:
                self._fail(str(exc))
            except MemoryLimitError as exc:
                need = mib(exc.needed)
                self._fail(
                    f"{label(path)}: the stream needs {need} of memory to decode, above the "
                    f"limit of {mib(exc.limit)} (allow it with --memlimit {need})"
                )
            except (FormatError, ConfigError, WorkerError) as exc:
                self._fail(f"{label(path)}: {exc}")
            except MemoryError:
                # A model too large for this machine (a header may ask for any size).
                self._fail(f"{label(path)}: not enough memory for this stream's model")
            except BrokenPipeError:
                raise  # the reader went away: nothing more to write anywhere
            except OSError as exc:
                name = exc.filename if exc.filename is not None else label(path)
                self._fail(f"{name}: {exc.strerror or exc}")
            if stdout_lost():
                break  # like gzip: after a write error on standard output, stop

    def _fail(self, message):
        say(message)
        self.failed = True

    def warn(self, message):
        """A one-line warning (not under -q, as with gzip); the status becomes 2."""
        if not self.quiet:
            say(message)
        self.warned = True

    def report(self, path, verb, result, original, coded):
        if not self.verbose:
            return
        if original:
            figures = f"ratio {coded / original:.3f}, {8.0 * coded / original:.3f} bpc"
        else:
            figures = "ratio -, bpc -"
        speed = original / result.seconds if result.seconds > 0 else 0.0
        say(
            f"{label(path)}: {verb} {human_size(result.input_size)} -> "
            f"{human_size(result.output_size)}, {figures}, {human_size(speed)}/s"
        )

    def finish(self, path, target):
        if self.remove and path != STDIO and target is not None:
            try:
                os.unlink(path)
            except OSError as exc:
                raise FileError(
                    f"cannot remove {path}: {exc.strerror or exc} (the output is kept)"
                ) from None


def label(path):
    return "(stdin)" if path == STDIO else path


def transfer(run, path, target, work, *, refuse_terminal=False):
    """work(source, destination, progress callback) for one input.

    Standard input for "-", standard output for no target, a sink for --test.
    The output of a regular input file gets its mode and times.
    """
    with contextlib.ExitStack() as stack:
        mode = times = None
        if path == STDIO:
            src = stdin()
        else:
            src = stack.enter_context(open(path, "rb"))
            st = os.fstat(src.fileno())
            if stat.S_ISREG(st.st_mode):
                mode, times = st.st_mode & 0o777, (st.st_atime_ns, st.st_mtime_ns)
        if run.test:
            dst = _Discard()
        elif target is None:
            dst = StdoutWriter()
        else:
            dst = stack.enter_context(
                atomic_output(
                    target,
                    overwrite=run.force,
                    mode=mode,
                    times=times,
                    notice=None if run.quiet else say,
                )
            )
        if refuse_terminal and not run.force and dst.isatty():
            raise FileError("compressed data not written to a terminal (use -f to force)")
        bar = ProgressBar(label(path)) if not run.quiet else None

        def progress(done, total):
            raise_swallowed()  # a signal lost in a callback from C ends the work here
            if bar is not None:
                bar(done, total)

        try:
            result = work(src, dst, progress)
        finally:
            if bar is not None:
                bar.close()
        raise_swallowed()
        dst.flush()
    return result


def stdin():
    # The binary layer under the text stream (click.get_binary_stream is
    # deprecated in click 8.5); click's test runner provides one too.
    return sys.stdin.buffer


def stdout():
    return sys.stdout.buffer
