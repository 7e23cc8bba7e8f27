"""How the nbtzip process behaves towards the shell: signals, standard output, messages, statuses.

What the commands in cli.py do is theirs; how the process they run in ends is
settled here, the same for every command, the gzip / xz way. Every message is
one line on stderr, "nbtzip: ...". Exit status 0 on success, 1 when any file
failed, 2 on usage errors and, as gzip has it, after a warning (an input that
changed while it was read), 128 + the signal on SIGINT, SIGTERM, SIGHUP and
SIGQUIT (raised as KeyboardInterrupt or Terminated, so that partial outputs are
removed on the way out), and 141, quietly, when the reader of standard output
goes away. A write error on standard output names "(stdout)", not the input.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import signal
import sys

import click

STDOUT_LABEL = "(stdout)"
BROKEN_PIPE_STATUS = 128 + 13  # what a shell shows for a process killed by SIGPIPE

# Signals that end the command like Ctrl-C does (partial output removed), as gzip does.
_SIGNAL_NAMES = {"SIGHUP": "hangup", "SIGQUIT": "quit", "SIGTERM": "terminated"}


def say(message: str):
    try:
        click.echo(f"nbtzip: {message}", err=True)
    except (OSError, ValueError):  # stderr itself is gone: nothing left to tell
        pass


class Terminated(BaseException):
    """SIGTERM, SIGHUP or SIGQUIT, raised like Ctrl-C so that partial outputs are removed."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum, frame):
    raise Terminated(signum)


def _install_signal_handlers():
    """Handlers for the terminating signals not ignored (nohup stays in force); the old ones."""
    previous = {}
    for name in _SIGNAL_NAMES:
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            old = signal.getsignal(signum)
            if old != signal.SIG_IGN:
                signal.signal(signum, _on_signal)
                previous[signum] = old
        except ValueError:  # not the main thread (an embedding program): leave it alone
            break
    return previous


def _restore_signal_handlers(previous):
    for signum, old in previous.items():
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signum, signal.SIG_DFL if old is None else old)


# A signal whose exception was raised inside a callback from C (numba's compiler
# calls back into Python), where Python prints it as "Exception ignored" and
# carries on: remembered here and raised again at the next block.
_swallowed = None


def _on_unraisable(args, default):
    global _swallowed
    exc = args.exc_value
    if isinstance(exc, Terminated):
        _swallowed = exc.signum
    elif isinstance(exc, KeyboardInterrupt):
        _swallowed = signal.SIGINT
    else:
        default(args)


def raise_swallowed():
    if _swallowed is not None:
        if _swallowed == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(_swallowed)


_stdout_lost = False


def stdout_lost() -> bool:
    """Whether writing standard output has failed during this command."""
    return _stdout_lost


def _drop_stdout():
    """After a write error on standard output: send what is still buffered nowhere, so
    that Python's flush at exit does not fail again and print an exception."""
    global _stdout_lost
    _stdout_lost = True
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
    except (AttributeError, OSError, ValueError):  # no real file descriptor (a test runner)
        pass


def _stdout_error(exc: OSError) -> OSError:
    """exc from writing standard output, named so (the input is not to blame)."""
    _drop_stdout()
    if exc.filename is not None or exc.errno is None:
        return exc
    return OSError(exc.errno, exc.strerror, STDOUT_LABEL)  # EPIPE stays a BrokenPipeError


def _flush_stdout():
    try:
        sys.stdout.flush()
    except ValueError:  # closed
        pass
    except OSError as exc:
        raise _stdout_error(exc) from None


def echo(line: str):
    """A line of standard output; its write errors name standard output."""
    try:
        click.echo(line)
    except OSError as exc:
        raise _stdout_error(exc) from None


class StdoutWriter:
    """Standard output for compressed or decompressed data; errors name it."""

    def __init__(self):
        self._fp = sys.stdout.buffer

    def write(self, data):
        try:
            return self._fp.write(data)
        except OSError as exc:
            raise _stdout_error(exc) from None

    def flush(self):
        try:
            self._fp.flush()
        except OSError as exc:
            raise _stdout_error(exc) from None

    def isatty(self):
        return self._fp.isatty()


def _help_hint(ctx) -> str:
    names = []
    while ctx is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    names[-1:] = ["nbtzip"]
    return " ".join(reversed(names)) + " --help"


def _usage_line(exc: click.UsageError) -> str:
    message = " ".join(exc.format_message().split())
    if message.endswith(".") and not message.endswith(".."):
        message = message[:-1]
    return f"{message} (try '{_help_hint(exc.ctx)}')"


def run_process(command: click.Command):
    """Run `command` as the whole process, then end it without Python's shutdown.

    The shutdown frees numba's and LLVM's objects one at a time: 0.4-0.6 s of
    the 1.9 s a warm 1 KB compress took (strace: from the last atexit handler to
    exit_group). Nothing in it is ours to keep: every output is closed and
    renamed before the command returns, numba writes its cache as it compiles.
    So after the atexit handlers and a flush of both standard streams, os._exit.
    """
    status = command.main(prog_name="nbtzip", standalone_mode=False)
    status = status if isinstance(status, int) else 0
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except (OSError, ValueError) as exc:  # what Python's own exit would report
        if not isinstance(exc, ValueError) and status == 0:
            say(f"write error: {STDOUT_LABEL}: {exc.strerror}")
            status = 1
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(status)


class Group(click.Group):
    """One stderr line and an exit status for everything, usage errors included."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        no_args = getattr(click.exceptions, "NoArgsIsHelpError", ())
        try:
            status = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except no_args as exc:  # plain `nbtzip`: the help text, as click shows it
            exc.show()
            status = exc.exit_code
        except click.UsageError as exc:
            say(_usage_line(exc))
            status = exc.exit_code
        except click.ClickException as exc:
            say(" ".join(exc.format_message().split()))
            status = exc.exit_code
        except click.Abort:  # Ctrl-C while the command line was read
            say("interrupted")
            status = 130
        status = status if isinstance(status, int) else 0
        if standalone_mode:
            sys.exit(status)
        return status

    def invoke(self, ctx):
        global _stdout_lost, _swallowed
        _stdout_lost, _swallowed = False, None
        previous = _install_signal_handlers()
        unraisablehook = sys.unraisablehook
        sys.unraisablehook = functools.partial(_on_unraisable, default=unraisablehook)
        try:
            try:
                return super().invoke(ctx)
            finally:
                # Output still buffered fails here, not in Python's flush at exit.
                _flush_stdout()
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            _signalled(ctx, signal.SIGINT)
        except Terminated as exc:
            _signalled(ctx, exc.signum)
        except BrokenPipeError:
            # The reader went away: stop quietly, as gzip and xz do when SIGPIPE kills them.
            _drop_stdout()
            ctx.exit(BROKEN_PIPE_STATUS)
        except Exception as exc:
            if _swallowed is not None:  # what the swallowed signal broke (numba's compile)
                _signalled(ctx, _swallowed)
            if os.environ.get("NBTZIP_DEBUG"):  # a bug: still one line unless asked for more
                raise
            say(f"internal error: {type(exc).__name__}: {exc} (NBTZIP_DEBUG=1 shows a traceback)")
            ctx.exit(1)
        finally:
            sys.unraisablehook = unraisablehook
            _restore_signal_handlers(previous)


def _signalled(ctx, signum):
    """One line and status 128 + signum (the partial output is gone by now)."""
    if signum == signal.SIGINT:
        say("interrupted")
    else:
        say(_SIGNAL_NAMES.get(signal.Signals(signum).name, "terminated"))
    ctx.exit(128 + signum)
