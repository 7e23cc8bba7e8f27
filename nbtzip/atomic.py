"""Output files that appear whole or not at all.

Data goes to a hidden temporary file in the destination directory and is
renamed over the destination only when the writer finished without an
exception (Ctrl-C included), so a failure never leaves half a file behind and
never touches an existing file that was not meant to be replaced.

A destination that exists and is not a regular file (a character device such
as /dev/null, a FIFO, a socket) is opened and written directly, the way a
shell redirection would: renaming over it would replace the node itself.

Only a process killed outright (kill -9, a power cut) leaves its temporary
file behind. So that such a file can be recognised later, its name carries
the writer's process id (".NAME.PID.RANDOM.tmp") and the writer holds an
flock on it while it writes. The next writer of NAME removes it when that is
provably safe (stale_temporaries): the process is gone, the file is the
user's own, and nobody holds the lock. Otherwise it is only reported.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import stat
import tempfile

try:
    import fcntl
except ImportError:  # no flock: leftovers are reported, never removed
    fcntl = None

# tempfile.mkstemp puts this many random characters between prefix and suffix.
_RANDOM_CHARS = 8
_TEMP_SUFFIX = ".tmp"
# Room kept for the process id, whatever its length, so that the shortened
# prefix of a long name is the same for every writer (32-bit ids: 10 digits).
_PID_CHARS = 10
# What follows the prefix: the writer's id, then mkstemp's characters; names
# of nbtzip before the id was added (no id) are recognised too.
_REST = re.compile(rf"(?:(\d{{1,{_PID_CHARS}}})\.)?[a-z0-9_]{{{_RANDOM_CHARS}}}\.tmp")


def default_mode() -> int:
    """0o666 less the umask: the mode open() would give a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


class _NamedFileIO(io.FileIO):
    """A FileIO whose write errors name a file (the output, not whatever was read)."""

    def __init__(self, fd, label):
        super().__init__(fd, "wb")
        self._label = label

    def write(self, data):
        try:
            return super().write(data)
        except OSError as exc:
            raise _named(exc, self._label) from None


def _named(exc: OSError, label) -> OSError:
    """exc with filename set to label (the same OSError subclass, by errno)."""
    if exc.filename is not None or exc.errno is None:
        return exc
    return OSError(exc.errno, exc.strerror, label)


def _writer(fd, label) -> io.BufferedWriter:
    return io.BufferedWriter(_NamedFileIO(fd, label))


def _name_max(directory) -> int:
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def temp_prefix(base: str, name_max: int = 255) -> str:
    """The prefix ".BASE." shortened so that the temporary name (the prefix, a
    process id, a dot, the random characters and ".tmp") fits in name_max bytes."""
    room = name_max - 3 - _PID_CHARS - _RANDOM_CHARS - len(_TEMP_SUFFIX)
    while len(os.fsencode(base)) > room:
        base = base[:-1]
    return "." + base + "."


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, as another user's process (EPERM)
        return True
    return True


def _remove_if_unlocked(tmp) -> bool:
    """Delete tmp if nobody holds its lock (a live writer always does)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.unlink(tmp)  # under the lock: no writer can be using it
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def stale_temporaries(path, name_max: int = 255):
    """Temporary files of earlier writers of path that are still there:
    yields (temporary path, writer's process id or None, whether it was removed).

    A file is removed only when it is provably a dead writer's: its name has
    the writer's id and that process no longer exists, it is a regular file
    of this user, and no process holds its lock.
    """
    directory, base = os.path.split(os.fspath(path))
    directory = directory or "."
    prefix = temp_prefix(base, name_max)
    try:
        entries = [e for e in os.scandir(directory) if e.name.startswith(prefix)]
    except OSError:
        return
    for entry in entries:
        match = _REST.fullmatch(entry.name[len(prefix) :])
        if match is None:
            continue
        tmp = os.path.join(directory, entry.name)
        pid = int(match[1]) if match[1] else None
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue  # gone meanwhile
        provable = pid is not None and not _alive(pid)
        provable = provable and stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid()
        yield tmp, pid, provable and _remove_if_unlocked(tmp)


def _report_leftovers(path, name_max, notice):
    for tmp, pid, removed in stale_temporaries(path, name_max):
        if notice is None:
            continue
        if removed:
            notice(f"removed {tmp}, left behind by process {pid}, which was killed")
        else:
            notice(
                f"{tmp} may be left behind by an interrupted nbtzip "
                f"(remove it if nothing is writing {path})"
            )


def _lock(fd):
    # Held until the file is closed: tells later writers that this one lives.
    if fcntl is not None:
        with contextlib.suppress(OSError):  # a filesystem without locks: only the id tells
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


@contextlib.contextmanager
def _direct(path):
    fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
    with _writer(fd, path) as fp:
        yield fp


@contextlib.contextmanager
def atomic_output(
    path, *, overwrite: bool = False, mode: int | None = None, times=None, notice=None
):
    """Yield a binary file object; on success it becomes `path`.

    FileExistsError when `path` exists and overwrite is false (checked before
    any work starts and again before the rename). The final file gets `mode`
    (default: as open() would create it) and, when given, `times`, an
    (atime_ns, mtime_ns) pair. Write errors name `path`.

    An existing character device, FIFO or socket is written directly (no
    temporary file, no mode or times; overwrite is not needed, as nothing
    stored is replaced). A block device holds data: it needs overwrite.
    IsADirectoryError when `path` is a directory.

    Temporary files that killed writers of `path` left behind are removed when
    provably stale, reported otherwise: notice(message), one line each.
    """
    path = os.fspath(path)
    if not path:
        raise FileNotFoundError(errno.ENOENT, "empty file name", path)
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory", path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        if overwrite or not stat.S_ISBLK(st.st_mode):
            with _direct(path) as fp:
                yield fp
            return
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(f"{path}: output file exists")
    directory, base = os.path.split(path)
    directory = directory or "."
    name_max = _name_max(directory)
    if len(os.fsencode(base)) > name_max:
        raise OSError(errno.ENAMETOOLONG, f"cannot write: {os.strerror(errno.ENAMETOOLONG)}", path)
    _report_leftovers(path, name_max, notice)
    try:
        fd, tmp = tempfile.mkstemp(
            dir=directory,
            prefix=f"{temp_prefix(base, name_max)}{os.getpid()}.",
            suffix=_TEMP_SUFFIX,
        )
    except OSError as exc:
        # Name the file the caller asked for, not the temporary one.
        raise OSError(exc.errno, f"cannot write: {exc.strerror}", path) from None
    _lock(fd)
    try:
        with _writer(fd, path) as fp:
            yield fp
        try:
            os.chmod(tmp, default_mode() if mode is None else mode)
            if times is not None:
                os.utime(tmp, ns=times)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot write: {exc.strerror}", path) from None
        _put_in_place(tmp, path, overwrite)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _put_in_place(tmp, path, overwrite):
    try:
        if overwrite:
            os.replace(tmp, path)
        else:
            # link() refuses to replace a file that appeared while we worked.
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise FileExistsError(f"{path}: output file exists") from None
            except OSError:
                # Filesystems without hard links: the check above has to do.
                if os.path.lexists(path):
                    raise FileExistsError(f"{path}: output file exists") from None
                os.replace(tmp, path)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
    except FileExistsError:
        raise
    except OSError as exc:
        # The error is about the destination, not the temporary name.
        raise OSError(exc.errno, f"cannot write: {exc.strerror}", path) from None
