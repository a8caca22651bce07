"""The wfhist lock: one migrate/rollback per database file at a time.

An OS lock on ``<db>.wfhist-lock`` (``flock`` on POSIX, ``msvcrt.locking`` on
Windows): the kernel drops it when the holder exits, even on ``kill -9``, so a
crashed run never blocks the next one. The lock file itself stays; deleting it
would race with a new holder. It is opened without following symbolic links and
must be a regular file with one link, so a planted ``DB.wfhist-lock`` symlink or
hard link can never make wfhist (often run as root) write to another file.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from wfhist import files
from wfhist.exceptions import LockedError, UsageError, WfhistError

log = logging.getLogger("wfhist.lock")

#: Seconds between two attempts while another wfhist process holds the lock.
POLL_S = 0.1


def lock_path(db: str | Path) -> Path:
    """``<db>.wfhist-lock`` next to the resolved database path."""
    return Path(str(Path(db).resolve()) + ".wfhist-lock")


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock without waiting; False when another process holds it."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _open_lock_file(path: Path, mode: int) -> int:
    """Open (or create) the lock file, refusing links and anything but a regular file."""
    flags = (
        os.O_RDWR
        | os.O_CREAT
        | getattr(os, "O_NOFOLLOW", 0)
        | getattr(os, "O_NONBLOCK", 0)
        | getattr(os, "O_CLOEXEC", 0)
    )
    refuse = (
        f"{path}: is not a lock file wfhist made (a link or special file); wfhist will not "
        "write through it. Remove it after checking who put it there, then run again"
    )
    try:
        fd = os.open(path, flags, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP or path.is_symlink():
            raise UsageError(refuse) from None
        raise WfhistError(
            f"{path}: cannot create the lock file ({exc.strerror}); check that directory's "
            "permissions and free space (the database was not touched)"
        ) from exc
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        os.close(fd)
        raise UsageError(refuse)
    euid = getattr(os, "geteuid", lambda: -1)()
    if st.st_uid == euid and stat.S_IMODE(st.st_mode) != mode:
        os.fchmod(fd, mode)  # never more readable than the database
    return fd


def _holder(fd: int) -> str:
    """What the holder wrote into the lock file ("pid N"), for the waiting message."""
    with contextlib.suppress(OSError):
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 64).decode(errors="replace").strip()
        if text:
            return text
    return "another process"


@contextlib.contextmanager
def migration_lock(db: str | Path, *, timeout: float | None = None) -> Iterator[Path]:
    """Hold the exclusive wfhist lock on ``db``, waiting at most ``timeout`` seconds.

    ``timeout`` defaults to :data:`wfhist.files.BUSY_TIMEOUT_S` read at call
    time. While another wfhist process holds the lock it logs once "waiting for
    the wfhist lock held by pid N", then raises :class:`LockedError` (one line)
    when the wait is over.
    """
    wait = files.BUSY_TIMEOUT_S if timeout is None else timeout
    path = lock_path(db)
    fd = _open_lock_file(path, files.private_mode(Path(db)))
    try:
        deadline = time.monotonic() + wait
        said = False
        while not _try_lock(fd):
            holder = _holder(fd)
            if time.monotonic() >= deadline:
                raise LockedError(
                    f"{db}: another wfhist migrate/rollback is running on this file ({holder}, "
                    f"lock {path.name}); waited {wait:g} s. Wait for it to finish, then run "
                    "again (or wait longer with --busy-timeout SECONDS)"
                )
            if not said:
                log.info("waiting for the wfhist lock held by %s (up to %g s)", holder, wait)
                said = True
            time.sleep(max(0.0, min(POLL_S, deadline - time.monotonic())))
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"pid {os.getpid()}\n".encode())
        except OSError as exc:  # a full disk: nothing else was written yet
            raise WfhistError(
                f"{path}: cannot write the lock file ({exc.strerror}); free space on that "
                "disk, then run again (the database was not touched)"
            ) from exc
        yield path
    finally:
        os.close(fd)  # closing releases the lock
