"""Output files that appear whole or not at all.

Data goes to a hidden temporary file in the destination directory and is
renamed over the destination only when the writer finished without an
exception (Ctrl-C included), so a failure never leaves half a file behind and
never touches an existing file that was not meant to be replaced.
"""

from __future__ import annotations

import contextlib
import os
import tempfile


def default_mode() -> int:
    """0o666 less the umask: the mode open() would give a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_output(path, *, overwrite: bool = False, mode: int | None = None):
    """Yield a binary file object; on success it becomes `path`.

    FileExistsError when `path` exists and overwrite is false (checked before
    any work starts and again before the rename). The final file gets `mode`
    (default: as open() would create it).
    """
    path = os.fspath(path)
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(f"{path}: output file exists")
    directory = os.path.dirname(path) or "."
    try:
        fd, tmp = tempfile.mkstemp(
            dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp"
        )
    except OSError as exc:
        # Name the file the caller asked for, not the temporary one.
        raise OSError(exc.errno, f"cannot write: {exc.strerror}", path) from None
    try:
        with os.fdopen(fd, "wb") as fp:
            yield fp
        os.chmod(tmp, default_mode() if mode is None else mode)
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
                os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
