"""The nbtzip command: compress, decompress, info (and bench). A thin layer over the API.

Habits follow gzip / xz: FILE -> FILE.nbt beside it, `-` or no FILE for
standard input, inputs kept by default. Exit status 0 on success, 1 when any
file failed (one line on stderr each), 2 on usage errors, 130 on Ctrl-C and
143 on SIGTERM (partial outputs removed in both cases).
"""

from __future__ import annotations

import os
import signal
import sys

import click

import nbtzip

from . import kernelcache
from .config import DEFAULT_LEVEL, LEVELS, ConfigError
from .container import FormatError
from .progress import ProgressBar, human_size

SUFFIX = ".nbt"
STDIO = "-"


class FileError(Exception):
    """One file could not be processed; the message is shown as is."""


def _say(message: str):
    click.echo(f"nbtzip: {message}", err=True)


class Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C so that partial outputs are removed on the way out."""


def _on_sigterm(signum, frame):
    raise Terminated


class _Group(click.Group):
    """Turns everything but usage errors into one stderr line and an exit status."""

    def invoke(self, ctx):
        try:
            signal.signal(signal.SIGTERM, _on_sigterm)
        except ValueError:  # not the main thread (an embedding program): leave it alone
            pass
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            _say("interrupted")
            ctx.exit(130)
        except Terminated:
            _say("terminated")
            ctx.exit(143)
        except BrokenPipeError:
            # Keep Python's exit-time flush of stdout from complaining again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            _say("broken pipe")
            ctx.exit(1)
        except Exception as exc:  # a bug: still one line unless asked for more
            if os.environ.get("NBTZIP_DEBUG"):
                raise
            _say(f"internal error: {type(exc).__name__}: {exc} (NBTZIP_DEBUG=1 shows a traceback)")
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(nbtzip.__version__, "-V", "--version", prog_name="nbtzip")
def main():
    """Lossless compression with a recurrent network trained online (NoBackTrack).

    \b
      nbtzip compress FILE...        writes FILE.nbt, keeps FILE
      nbtzip decompress FILE.nbt...  writes FILE, keeps FILE.nbt
      nbtzip info FILE.nbt...        configuration and sizes, without decoding
    """


def _io_options(f):
    options = [
        click.option("-o", "--output", metavar="PATH", help="Write to PATH (one input only)."),
        click.option("-c", "--stdout", "to_stdout", is_flag=True, help="Write to standard output."),
        click.option("-k", "--keep", is_flag=True, help="Keep input files (the default)."),
        click.option("--rm", "remove", is_flag=True, help="Delete each input after success."),
        click.option(
            "-f", "--force", is_flag=True, help="Overwrite outputs; allow a terminal as output."
        ),
        click.option("-q", "--quiet", is_flag=True, help="Print errors only."),
        click.option(
            "-v", "--verbose", is_flag=True, help="Print sizes, ratio, bits per byte, speed."
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return click.argument("files", nargs=-1, metavar="[FILE]...")(f)


def _level_options(f):
    for n in sorted(LEVELS, reverse=True):
        f = click.option(f"-{n}", f"level_{n}", is_flag=True, hidden=True)(f)
    return f


class _Run:
    """Settings and state shared by the files of one command."""

    def __init__(self, files, output, to_stdout, keep, remove, force, quiet, verbose):
        if keep and remove:
            raise click.UsageError("--keep and --rm contradict each other")
        if quiet and verbose:
            raise click.UsageError("--quiet and --verbose contradict each other")
        if output is not None and to_stdout:
            raise click.UsageError("--output and --stdout contradict each other")
        if output is not None and len(files) > 1:
            raise click.UsageError("--output takes a single input file")
        to_stdout = to_stdout or output == STDIO
        if remove and to_stdout:
            raise click.UsageError("--rm does not apply when writing to standard output")
        self.files = files or (STDIO,)
        self.output = None if output == STDIO else output
        self.to_stdout = to_stdout
        self.remove, self.force, self.quiet, self.verbose = remove, force, quiet, verbose
        self.failed = False
        self._noted = set()

    def note_compile(self, config, decode=False):
        kernel = kernelcache.coding_kernel(config, decode)
        if self.quiet or kernel in self._noted:
            return
        self._noted.add(kernel)
        if not kernelcache.kernels_cached(kernel):
            _say("compiling kernels, first run only")

    def destination(self, path, default_name):
        """Output path, or None for standard output."""
        if self.to_stdout or (path == STDIO and self.output is None):
            return None
        target = self.output or default_name
        if not self.force and os.path.lexists(target):
            raise FileError(f"{target}: output file exists (use -f to overwrite)")
        if path != STDIO and os.path.exists(target) and os.path.samefile(path, target):
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
        if self.failed:
            click.get_current_context().exit(1)

    def _fail(self, message):
        _say(message)
        self.failed = True

    def report(self, path, verb, result, original, coded):
        if not self.verbose:
            return
        bpc = 8.0 * coded / original if original else 0.0
        ratio = coded / original if original else 0.0
        speed = original / result.seconds if result.seconds > 0 else 0.0
        _say(
            f"{_label(path)}: {verb} {human_size(result.input_size)} -> "
            f"{human_size(result.output_size)}, ratio {ratio:.3f}, {bpc:.3f} bpc, "
            f"{human_size(speed)}/s"
        )

    def finish(self, path, target):
        if self.remove and path != STDIO and target is not None:
            os.unlink(path)


def _label(path):
    return "(stdin)" if path == STDIO else path


def _transfer(run, path, target, work):
    """work(source, destination, progress bar) for one input, standard streams for "-"."""
    src = _stdin() if path == STDIO else path
    dst = _stdout() if target is None else target
    bar = ProgressBar(_label(path)) if not run.quiet else None
    try:
        result = work(src, dst, bar)
    finally:
        if bar is not None:
            bar.close()
    if target is None:
        _stdout().flush()
    return result


def _stdin():
    # The binary layer under the text stream (click.get_binary_stream is
    # deprecated in click 8.5); click's test runner provides one too.
    return sys.stdin.buffer


def _stdout():
    return sys.stdout.buffer


def _config_from_flags(level, levels, model, algorithm, hidden, rank, seed, depth):
    chosen = {n for n, on in levels.items() if on}
    if level is not None:
        chosen.add(level)
    if len(chosen) > 1:
        raise click.UsageError("several different levels given")
    level = chosen.pop() if chosen else DEFAULT_LEVEL
    if model == "ctw":
        if algorithm or hidden or rank or seed is not None:
            raise click.UsageError("--algorithm, --hidden, --rank and --seed apply to --model rnn")
        return nbtzip.make_config(model="ctw", depth=depth)
    if depth is not None:
        raise click.UsageError("--depth applies to --model ctw")
    try:
        return nbtzip.make_config(
            level, algorithm=algorithm, hidden_size=hidden, rank=rank, seed=seed
        )
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


@main.command()
@_io_options
@_level_options
@click.option(
    "--level",
    type=click.IntRange(1, 9),
    help=f"Preset from 1 (fast) to 9 (strong); -1 .. -9 also work.  [default: {DEFAULT_LEVEL}]",
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
def compress(files, output, to_stdout, keep, remove, force, quiet, verbose, level, **flags):
    """Compress each FILE into FILE.nbt.

    With no FILE, or FILE -, read standard input and write standard output.
    Input files are kept unless --rm is given. The whole model configuration
    goes into the file: decompressing needs no options.
    """
    levels = {n: flags.pop(f"level_{n}") for n in LEVELS}
    config = _config_from_flags(level, levels, **flags)
    run = _Run(files, output, to_stdout, keep, remove, force, quiet, verbose)
    if run.to_stdout and len(run.files) > 1:
        raise click.UsageError("one .nbt stream per output: --stdout takes a single input")

    def one(path):
        if path != STDIO and path.endswith(SUFFIX) and run.output is None and not run.force:
            if not run.to_stdout:
                raise FileError(f"{path}: already has the {SUFFIX} suffix (use -f to force)")
        target = run.destination(path, path + SUFFIX)
        if target is None and _stdout().isatty() and not run.force:
            raise FileError("compressed data not written to a terminal (use -f to force)")
        run.note_compile(config)
        result = _transfer(
            run, path, target,
            lambda src, dst, bar: nbtzip.compress_file(
                src, dst, config=config, overwrite=run.force, progress=bar
            ),
        )  # fmt: skip
        run.report(path, "compressed", result, result.input_size, result.output_size)
        run.finish(path, target)

    run.each(one)


@main.command()
@_io_options
def decompress(files, output, to_stdout, keep, remove, force, quiet, verbose):
    """Decompress each FILE.nbt into FILE.

    With no FILE, or FILE -, read standard input and write standard output.
    Input files are kept unless --rm is given. Every block and the whole
    output are checked against their CRC-32: damaged data is refused.
    """
    run = _Run(files, output, to_stdout, keep, remove, force, quiet, verbose)

    def one(path):
        if path == STDIO:
            if _stdin().isatty():
                raise FileError("compressed data not read from a terminal")
            default = None
        elif path.endswith(SUFFIX) and len(path) > len(SUFFIX):
            default = path[: -len(SUFFIX)]
        elif run.output is None and not run.to_stdout:
            raise FileError(f"{path}: unknown suffix, not decompressed (use -o or -c)")
        else:
            default = None
        target = run.destination(path, default)
        result = _transfer(
            run, path, target,
            lambda src, dst, bar: nbtzip.decompress_file(
                src, dst, overwrite=run.force, progress=bar,
                on_config=lambda config: run.note_compile(config, decode=True),
            ),
        )  # fmt: skip
        run.report(path, "decompressed", result, result.output_size, result.input_size)
        run.finish(path, target)

    run.each(one)


@main.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE.nbt...")
def info(files):
    """Show each stream's configuration and sizes without decoding it (like xz -l)."""
    run = _Run(files, None, False, False, False, False, False, False)

    def one(path):
        if path == STDIO and _stdin().isatty():
            raise FileError("compressed data not read from a terminal")
        facts = nbtzip.info(_stdin() if path == STDIO else path)
        config = facts.config
        fields = ", ".join(f"{k}={v}" for k, v in vars(config).items())
        rows = [
            ("model", f"{nbtzip.config.model_name(config)} ({fields})"),
            ("alphabet", f"{facts.alphabet_size} byte values"),
            ("blocks", str(facts.blocks)),
            ("original size", f"{facts.original_size} bytes"),
            ("compressed size", f"{facts.compressed_size} bytes"),
            ("ratio", f"{facts.ratio:.4f}"),
            ("bits per byte", f"{facts.bits_per_byte:.4f}"),
            ("CRC-32", f"{facts.crc32:08x}"),
        ]
        click.echo(_label(path))
        for name, value in rows:
            click.echo(f"  {name:<16}{value}")

    run.each(one)


try:
    from .bench import bench_command
except ModuleNotFoundError as exc:
    if exc.name != "nbtzip.bench":
        raise
else:
    main.add_command(bench_command, "bench")
