"""The nbtzip command: compress, decompress, info (and bench). A thin layer over the API.

Habits follow gzip / xz: FILE -> FILE.nbt beside it, `-` or no FILE for
standard input, inputs kept by default, the input's mode and times carried
over to the output. Here are the commands, their options and what each does
to one file; how a command runs over its files (checks, destinations,
temporary outputs, progress, reports, --rm, a file that fails) is jobs.py's,
and how the process meets the shell (signals, standard output, one-line
messages, exit statuses) is terminal.py's.
"""

from __future__ import annotations

import os

import click

from .. import api, kernelcache
from ..config import DEFAULT_LEVEL, LEVELS, ConfigError, mix_preset_of, model_name
from ..memlimit import DEFAULT_PERCENT, ENV, default_limit, mib, parse
from .jobs import STDIO, FileError, Run, label, stdin, stdout, transfer
from .startup import load_kernels_lazily
from .terminal import Group, echo, run_process

SUFFIX = ".nbt"


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
@click.version_option(api.__version__, "-V", "--version", prog_name="nbtzip")
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


def _threads_option(help_text):
    return click.option(
        "-T",
        "--threads",
        type=click.IntRange(0, 1024),
        default=1,
        show_default=True,
        metavar="N",
        help=help_text,
    )


class _Size(click.ParamType):
    name = "size"

    def convert(self, value, param, ctx):
        try:
            return value if isinstance(value, int) else parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _memlimit_option(help_text):
    return click.option("-M", "--memlimit", type=_Size(), metavar="SIZE", help=help_text)


def _memlimit(given):
    """The limit in bytes (0: none): --memlimit, else NBTZIP_MEMLIMIT, else the default."""
    if given is not None:
        return given
    try:
        return default_limit()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


_MEMLIMIT_HELP = (
    f"0 for none; default ${ENV}, else {DEFAULT_PERCENT}% of "
    "physical memory. SIZE: bytes, or with K, M, G (KiB, MiB, GiB), or N% of memory."
)


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


def _config_from_flags(level, model, algorithm, hidden, rank, seed, depth):
    if model == "ctw":
        if algorithm or hidden or rank or seed is not None:
            raise click.UsageError("--algorithm, --hidden, --rank and --seed apply to --model rnn")
        if level is not None and level != DEFAULT_LEVEL:
            raise click.UsageError("levels select RNN sizes; use --depth for CTW")
        return api.make_config(model="ctw", depth=depth)
    if depth is not None:
        raise click.UsageError("--depth applies to --model ctw")
    if model == "mix" and (algorithm or rank):
        raise click.UsageError("--algorithm and --rank apply to --model rnn")
    try:
        return api.make_config(
            DEFAULT_LEVEL if level is None else level,
            model=model,
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
    type=click.Choice(["mix", "rnn", "ctw"]),
    default="mix",
    show_default=True,
    help="The predictor: context mixing with the NoBackTrack RNN inside (mix), "
    "the paper's RNN alone (rnn), or context tree weighting (ctw).",
)
@click.option(
    "--algorithm",
    type=click.Choice(list(api.ALGORITHMS)),
    help="RNN learning rule (default: the exact last 4 steps plus the NoBackTrack "
    "remainder at weight 0.05, Kalman steps): kalman (the paper's NoBackTrack + Kalman "
    "steps, Algorithm 2), nbt (NoBackTrack + SGD, Algorithm 1), rtrl (exact gradient, "
    "hidden <= 64), t1/t2/t4 (exact last 1/2/4 steps, truncated), e1/e2 (exact last "
    "1/2 steps plus the unbiased NoBackTrack remainder).",
)
@click.option("--hidden", type=click.IntRange(1, 4096), metavar="N", help="RNN hidden units.")
@click.option("--rank", type=click.IntRange(1, 64), metavar="K", help="NoBackTrack rank.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), metavar="S", help="PRNG seed.")
@click.option("--depth", type=click.IntRange(0, 16), metavar="D", help="CTW context depth.")
@_threads_option(
    "Worker processes (0: one per core, never more than the cores). A large input "
    "is cut into that many independent streams, coded at once: faster, a little larger."
)
@_memlimit_option(
    "Refuse a model that needs more than SIZE of memory to decode, as decompress "
    "would under that limit; " + _MEMLIMIT_HELP
)
@click.pass_context
def compress(
    ctx,
    files,
    output,
    to_stdout,
    keep,
    remove,
    force,
    quiet,
    verbose,
    level,
    threads,
    memlimit,
    **flags,
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
    limit = _memlimit(memlimit)
    try:
        api.check_encodable(config, limit)
    except api.MemoryLimitError as exc:
        need = mib(exc.needed)
        raise click.UsageError(
            f"the model needs {need} of memory to decode, above the limit of "
            f"{mib(exc.limit)} (allow it with --memlimit {need})"
        ) from None
    run = Run(files, output, to_stdout, keep, remove, force, quiet, verbose)

    def one(path):
        run.check_input(path, "compressed")
        if path != STDIO and path.endswith(SUFFIX) and run.output is None and not run.force:
            if not run.to_stdout:
                raise FileError(f"{path}: already has the {SUFFIX} suffix (use -f to force)")
        target = run.destination(path, path + SUFFIX)
        if target is None and stdout().isatty() and not run.force:
            raise FileError("compressed data not written to a terminal (use -f to force)")
        result = transfer(
            run, path, target,
            lambda src, dst, progress: api.compress_file(
                src, dst, config=config, progress=progress, threads=threads, memlimit=limit
            ),
            refuse_terminal=True,
        )  # fmt: skip
        run.report(path, "compressed", result, result.input_size, result.output_size)
        if result.input_changed:
            # The output decodes to exactly what was read, which is not the file as
            # it is now: say so, and do not delete it under --rm.
            kind, n = result.input_changed, result.input_size
            run.warn(
                f"{label(path)}: file {kind} while it was compressed; "
                + (f"its first {n} bytes" if kind == "grew" else f"the {n} bytes read")
                + " are in the output"
                + ("; input not removed" if run.remove else "")
            )
            return
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
@_threads_option(
    "Worker processes (0: one per core) for files of several streams "
    "(made by compress -T); a file of one stream decodes on one core."
)
@_memlimit_option("Refuse a stream whose model needs more than SIZE of memory; " + _MEMLIMIT_HELP)
def decompress(
    files, output, to_stdout, keep, remove, force, quiet, verbose, test, threads, memlimit, **levels
):
    """Decompress each FILE.nbt into FILE.

    With no FILE, or FILE -, read standard input and write standard output.
    Input files are kept unless --rm is given. Every block and the whole
    output are checked against their CRC-32: damaged data is refused.
    Levels (-1 .. -9) are accepted and ignored, as gzip -d does.
    """
    run = Run(files, output, to_stdout, keep, remove, force, quiet, verbose, test)
    limit = _memlimit(memlimit)

    def one(path):
        if path == STDIO:
            if stdin().isatty():
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
        result = transfer(
            run, path, target,
            lambda src, dst, progress: api.decompress_file(
                src, dst, progress=progress, threads=threads, memlimit=limit
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
    run = Run(files)

    def one(path):
        if path == STDIO and stdin().isatty():
            raise FileError("compressed data not read from a terminal")
        facts = api.info(stdin() if path == STDIO else path)
        config = facts.config
        fields = ", ".join(f"{k}={v}" for k, v in vars(config).items())
        empty = facts.original_size == 0  # no ratio to speak of
        preset = mix_preset_of(config, facts.version)
        rows = [
            ("format", f"version {facts.version}"),
            ("level", f"{preset[1]} (preset table {preset[0]})" if preset else "-"),
            ("model", f"{model_name(config)} ({fields})"),
            ("alphabet", f"{facts.alphabet_size} byte values"),
            ("streams", str(facts.streams)),
            ("blocks", str(facts.blocks)),
            ("original size", f"{facts.original_size} bytes"),
            ("compressed size", f"{facts.compressed_size} bytes"),
            ("ratio", "-" if empty else f"{facts.ratio:.4f}"),
            ("bits per byte", "-" if empty else f"{facts.bits_per_byte:.4f}"),
            ("CRC-32", f"{facts.crc32:08x}"),
            ("memory", _memory_row(facts.memory)),
        ]
        echo(label(path))
        for name, value in rows:
            echo(f"  {name:<16}{value}")

    run.each(one)


def _memory_row(needs):
    """What the streams need to decode: one figure, or the range over streams."""
    low, high = mib(min(needs)), mib(max(needs))
    each = " per stream" if len(needs) > 1 else ""
    return f"{high}{each} to decode" if low == high else f"{low} to {high} per stream to decode"


try:
    from .bench import bench_command
except ModuleNotFoundError as exc:
    if exc.name != "nbtzip.cli.bench":
        raise
else:
    main.add_command(bench_command, "bench")


def run():
    """The nbtzip process (the console script and `python -m nbtzip`)."""
    kernelcache.skip_blas_probe()
    load_kernels_lazily()
    run_process(main)
