"""Write files so they are never seen half-written, with plain-language errors.

:func:`write_atomic` writes a temporary file beside the target, fsyncs it and
renames it over the target (through a symlink; never over a device or FIFO);
:func:`fsync_dir` makes such a rename durable; :func:`write_stdout` reports a
full or closed stdout as an :class:`ExportError`.
:class:`ExportError` carries a message for the user.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import stat
import sys
from pathlib import Path

from captioner.errors import UserFacingError

log = logging.getLogger(__name__)


class ExportError(UserFacingError):
    """Writing an export failed; ``str()`` is a message for the user.

    Attributes:
        errno: the OS error number, if any.
    """

    def __init__(self, message: str, errno_: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno_


def describe_os_error(exc: OSError) -> str:
    """A short, plain-language reason for an OS error ("the disk is full")."""
    code = exc.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return "the disk is full"
    if code == errno.EROFS:
        return "the disk is read-only"
    if code in (errno.EACCES, errno.EPERM):
        return "permission was denied"
    if code in (errno.ENOENT, errno.ENOTDIR):
        return "the folder does not exist"
    if code == errno.EIO:
        return "the disk reported an error"
    if code in (errno.ENODEV, errno.ENXIO, getattr(errno, "ESTALE", -1)):
        return "the disk is no longer available"
    return exc.strerror or str(exc)


def write_atomic(path: str | os.PathLike[str], text: str | bytes, *,
                 new_mode: int = 0o666) -> None:
    """Replace ``path`` with ``text`` (UTF-8) so it is never seen half-written.

    Writes a temporary file in the same folder, fsyncs it, renames it over
    ``path`` and fsyncs the folder. A new file gets ``new_mode`` less the
    umask (by default the usual 0666); an existing file keeps its mode.
    Bytes are written as they are. A symlink is
    followed (the file it points to is replaced, the link stays); a device,
    FIFO or folder is refused, never replaced.

    Raises:
        ExportError: with a message such as "Can't save notes.srt: the disk is
            full." (the OSError is chained); the temporary file is removed.
    """
    target = Path(os.path.realpath(path))
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise ExportError(f"Can't save {target.name}: {describe_os_error(exc)}.",
                          exc.errno) from exc
    if mode is not None and not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a device or pipe)"
        raise ExportError(f"Can't save to {path}: it is {what}. Choose a file name.")
    data = text if isinstance(text, bytes) else text.encode("utf-8", errors="replace")
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = -1
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, new_mode)
        try:
            os.chmod(tmp, os.stat(target).st_mode & 0o7777)
        except FileNotFoundError:
            pass
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            if written <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            view = view[written:]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, target)
    except OSError as exc:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        log.warning("export to %s failed: %s", target, exc)
        raise ExportError(
            f"Can't save {target.name}: {describe_os_error(exc)}.", exc.errno
        ) from exc
    fsync_dir(target.parent)


def write_stdout(text: str) -> None:
    """``text`` to stdout (a final newline added); a full disk or closed pipe is one line.

    Raises:
        ExportError: stdout could not be written.
    """
    try:
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
        sys.stdout.flush()
    except OSError as exc:
        # NB: the unwritten data would fail again when Python flushes at exit
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        raise ExportError(f"Can't write to standard output: {describe_os_error(exc)}.",
                          exc.errno) from exc


def fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); best effort elsewhere."""
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
