"""The nbtzip command: compress, decompress, info (and bench). A thin layer over the API.

Habits follow gzip / xz: FILE -> FILE.nbt beside it, `-` or no FILE for
standard input, inputs kept by default, the input's mode and times carried
over to the output. A file that fails is one line on stderr and the others
are still tried; the status is 1 at the end. Signals, standard output, the
one-line messages and the exit statuses are terminal.py's.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys

import click

import nbtzip

from . import kernelcache
from .atomic import atomic_output
from .config import DEFAULT_LEVEL, LEVELS, ConfigError
from .container import FormatError
from .progress import ProgressBar, human_size
from .terminal import Group, StdoutWriter, echo, raise_swallowed, say, stdout_lost

SUFFIX = ".nbt"
STDIO = "-"


class FileError(Exception):
    """One file could not be processed; the message is shown as is."""


class _Command(click.Command):
    """Keeps the order the options came in, so that the last level given wins (like gzip)."""

    def make_parser(self, ctx):
        parser = super().make_parser(ctx)
        parse = parser.parse_args

        def parse_args(args):
            opts, largs, order = parse(args)
            ctx.meta["nbtzip.order"] = [param.name for param in order]
            return opts, largs, order

        parser.parse_args = parse_args
        return parser


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(nbtzip.__version__, "-V", "--version", prog_name="nbtzip")
def main():
    """Lossless compression with a recurrent network trained online (NoBackTrack).

    \b
      nbtzip compress FILE...        writes FILE.nbt, keeps FILE
      nbtzip decompress FILE.nbt...  writes FILE, keeps FILE.nbt
      nbtzip decompress -t FILE.nbt  checks FILE.nbt, writes nothing
      nbtzip info FILE.nbt...        configuration and sizes, without decoding
    """


def _io_options(f):
    options = [
        click.option("-o", "--output", metavar="PATH", help="Write to PATH (one input only)."),
        click.option("-c", "--stdout", "to_stdout", is_flag=True, help="Write to standard output."),
        click.option("-k", "--keep", is_flag=True, help="Keep input files (the default)."),
        click.option("--rm", "remove", is_flag=True, help="Delete each input after success."),
        click.option(
            "-f",
            "--force",
            is_flag=True,
            help="Overwrite outputs; allow a terminal as output; "
            "follow symbolic links; --rm hard-linked inputs.",
        ),
        click.option("-q", "--quiet", is_flag=True, help="Print errors only."),
        click.option(
            "-v", "--verbose", is_flag=True, help="Print sizes, ratio, bits per byte, speed."
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return click.argument("files", nargs=-1, metavar="[FILE]...")(f)


def _level_options(levels):
    def add(f):
        for n in sorted(levels, reverse=True):
            f = click.option(f"-{n}", f"level_{n}", is_flag=True, hidden=True)(f)
        return f

    return add


def _last_level(level, order):
    """The level the last of -1 .. -9 / --level on the command line asks for (None: none)."""
    chosen = None
    for name in order:
        if name == "level":
            chosen = level
        elif name and name.startswith("level_"):
            chosen = int(name[len("level_") :])
    if chosen == 0:
        raise click.UsageError("levels run from -1 to -9; -0, -10 and above do not exist")
    return chosen


class _Discard:
    """The output of decompress --test: every block is decoded and checked, then dropped."""

    def write(self, data):
        return len(data)

    def flush(self):
        pass


class _Run:
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
        self._noted = set()

    def note_compile(self, config, decode=False):
        kernel = kernelcache.coding_kernel(config, decode)
        if self.quiet or kernel in self._noted:
            return
        self._noted.add(kernel)
        if not kernelcache.kernels_cached(kernel):
            say("compiling kernels, first run only")

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
        """Run action(path) on every file; report failures and keep going."""
        for path in self.files:
            try:
                action(path)
            except FileError as exc:
                self._fail(str(exc))
            except FormatError as exc:
                self._fail(f"{_label(path)}: {exc}")
            except ConfigError as exc:
                self._fail(f"{_label(path)}: {exc}")
            except BrokenPipeError:
                raise  # the reader went away: nothing more to write anywhere
            except OSError as exc:
                name = exc.filename if exc.filename is not None else _label(path)
                self._fail(f"{name}: {exc.strerror or exc}")
            if stdout_lost():
                break  # like gzip: after a write error on standard output, stop
        if self.failed:
            click.get_current_context().exit(1)

    def _fail(self, message):
        say(message)
        self.failed = True

    def report(self, path, verb, result, original, coded):
        if not self.verbose:
            return
        if original:
            figures = f"ratio {coded / original:.3f}, {8.0 * coded / original:.3f} bpc"
        else:
            figures = "ratio -, bpc -"
        speed = original / result.seconds if result.seconds > 0 else 0.0
        say(
            f"{_label(path)}: {verb} {human_size(result.input_size)} -> "
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


def _label(path):
    return "(stdin)" if path == STDIO else path


def _transfer(run, path, target, work, *, refuse_terminal=False):
    """work(source, destination, progress callback) for one input.

    Standard input for "-", standard output for no target, a sink for --test.
    The output of a regular input file gets its mode and times.
    """
    with contextlib.ExitStack() as stack:
        mode = times = None
        if path == STDIO:
            src = _stdin()
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
                atomic_output(target, overwrite=run.force, mode=mode, times=times)
            )
        if refuse_terminal and not run.force and dst.isatty():
            raise FileError("compressed data not written to a terminal (use -f to force)")
        bar = ProgressBar(_label(path)) if not run.quiet else None

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


def _stdin():
    # The binary layer under the text stream (click.get_binary_stream is
    # deprecated in click 8.5); click's test runner provides one too.
    return sys.stdin.buffer


def _stdout():
    return sys.stdout.buffer


def _config_from_flags(level, model, algorithm, hidden, rank, seed, depth):
    if model == "ctw":
        if algorithm or hidden or rank or seed is not None:
            raise click.UsageError("--algorithm, --hidden, --rank and --seed apply to --model rnn")
        if level is not None and level != DEFAULT_LEVEL:
            raise click.UsageError("levels select RNN sizes; use --depth for CTW")
        return nbtzip.make_config(model="ctw", depth=depth)
    if depth is not None:
        raise click.UsageError("--depth applies to --model ctw")
    try:
        return nbtzip.make_config(
            DEFAULT_LEVEL if level is None else level,
            algorithm=algorithm,
            hidden_size=hidden,
            rank=rank,
            seed=seed,
        )
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


@main.command(cls=_Command)
@_io_options
@_level_options([0, *LEVELS])
@click.option(
    "--level",
    type=click.IntRange(1, 9),
    help=f"Preset from 1 (fast) to 9 (strong); -1 .. -9 also work, the last one "
    f"given counts.  [default: {DEFAULT_LEVEL}]",
)
@click.option(
    "--model",
    type=click.Choice(["rnn", "ctw"]),
    default="rnn",
    show_default=True,
    help="The predictor: the NoBackTrack RNN, or context tree weighting.",
)
@click.option(
    "--algorithm",
    type=click.Choice(list(nbtzip.ALGORITHMS)),
    help="RNN learning rule: kalman (NoBackTrack + Kalman steps, the default), "
    "nbt (NoBackTrack + SGD), rtrl (exact gradient, hidden <= 64).",
)
@click.option("--hidden", type=click.IntRange(1, 4096), metavar="N", help="RNN hidden units.")
@click.option("--rank", type=click.IntRange(1, 64), metavar="K", help="NoBackTrack rank.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), metavar="S", help="PRNG seed.")
@click.option("--depth", type=click.IntRange(0, 16), metavar="D", help="CTW context depth.")
@click.option(
    "-T",
    "--threads",
    type=click.IntRange(0, 1024),
    default=1,
    show_default=True,
    metavar="N",
    help="Worker processes (0: one per core). A large input is cut into that many "
    "independent streams, coded at once: faster, a little larger.",
)
@click.pass_context
def compress(
    ctx, files, output, to_stdout, keep, remove, force, quiet, verbose, level, threads, **flags
):
    """Compress each FILE into FILE.nbt.

    With no FILE, or FILE -, read standard input and write standard output.
    Input files are kept unless --rm is given. The whole model configuration
    goes into the file: decompressing needs no options. With --stdout and
    several files, their streams follow one another, and decompress to the
    files' contents concatenated (as with gzip -c).
    """
    for n in (0, *LEVELS):
        flags.pop(f"level_{n}")
    level = _last_level(level, ctx.meta.get("nbtzip.order", ()))
    config = _config_from_flags(level, **flags)
    run = _Run(files, output, to_stdout, keep, remove, force, quiet, verbose)

    def one(path):
        run.check_input(path, "compressed")
        if path != STDIO and path.endswith(SUFFIX) and run.output is None and not run.force:
            if not run.to_stdout:
                raise FileError(f"{path}: already has the {SUFFIX} suffix (use -f to force)")
        target = run.destination(path, path + SUFFIX)
        if target is None and _stdout().isatty() and not run.force:
            raise FileError("compressed data not written to a terminal (use -f to force)")
        run.note_compile(config)
        result = _transfer(
            run, path, target,
            lambda src, dst, progress: nbtzip.compress_file(
                src, dst, config=config, progress=progress, threads=threads
            ),
            refuse_terminal=True,
        )  # fmt: skip
        run.report(path, "compressed", result, result.input_size, result.output_size)
        run.finish(path, target)

    run.each(one)


@main.command()
@_io_options
@_level_options(LEVELS)
@click.option(
    "-t",
    "--test",
    is_flag=True,
    help="Check each FILE: decode it and verify every checksum, write nothing.",
)
@click.option(
    "-T",
    "--threads",
    type=click.IntRange(0, 1024),
    default=1,
    show_default=True,
    metavar="N",
    help="Worker processes (0: one per core) for files of several streams "
    "(made by compress -T); a file of one stream decodes on one core.",
)
def decompress(
    files, output, to_stdout, keep, remove, force, quiet, verbose, test, threads, **levels
):
    """Decompress each FILE.nbt into FILE.

    With no FILE, or FILE -, read standard input and write standard output.
    Input files are kept unless --rm is given. Every block and the whole
    output are checked against their CRC-32: damaged data is refused.
    Levels (-1 .. -9) are accepted and ignored, as gzip -d does.
    """
    run = _Run(files, output, to_stdout, keep, remove, force, quiet, verbose, test)

    def one(path):
        if path == STDIO:
            if _stdin().isatty():
                raise FileError("compressed data not read from a terminal")
            default = None
        elif run.test:
            default = None
        elif path.endswith(SUFFIX) and len(os.path.basename(path)) > len(SUFFIX):
            default = path[: -len(SUFFIX)]
        elif run.output is None and not run.to_stdout:
            raise FileError(f"{path}: unknown suffix, not decompressed (use -o or -c)")
        else:
            default = None
        run.check_input(path, "tested" if run.test else "decompressed")
        target = None if run.test else run.destination(path, default)
        result = _transfer(
            run, path, target,
            lambda src, dst, progress: nbtzip.decompress_file(
                src, dst, progress=progress, threads=threads,
                on_config=lambda config: run.note_compile(config, decode=True),
            ),
        )  # fmt: skip
        verb = "tested" if run.test else "decompressed"
        run.report(path, verb, result, result.output_size, result.input_size)
        if not run.test:
            run.finish(path, target)

    run.each(one)


@main.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE.nbt...")
def info(files):
    """Show each file's configuration and sizes without decoding it (like xz -l).

    For a file of several streams the model and alphabet are the first stream's.
    """
    run = _Run(files)

    def one(path):
        if path == STDIO and _stdin().isatty():
            raise FileError("compressed data not read from a terminal")
        facts = nbtzip.info(_stdin() if path == STDIO else path)
        config = facts.config
        fields = ", ".join(f"{k}={v}" for k, v in vars(config).items())
        empty = facts.original_size == 0  # no ratio to speak of
        rows = [
            ("model", f"{nbtzip.config.model_name(config)} ({fields})"),
            ("alphabet", f"{facts.alphabet_size} byte values"),
            ("streams", str(facts.streams)),
            ("blocks", str(facts.blocks)),
            ("original size", f"{facts.original_size} bytes"),
            ("compressed size", f"{facts.compressed_size} bytes"),
            ("ratio", "-" if empty else f"{facts.ratio:.4f}"),
            ("bits per byte", "-" if empty else f"{facts.bits_per_byte:.4f}"),
            ("CRC-32", f"{facts.crc32:08x}"),
        ]
        echo(_label(path))
        for name, value in rows:
            echo(f"  {name:<16}{value}")

    run.each(one)


try:
    from .bench import bench_command
except ModuleNotFoundError as exc:
    if exc.name != "nbtzip.bench":
        raise
else:
    main.add_command(bench_command, "bench")
