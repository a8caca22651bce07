"""Opening SQLite files safely: checked paths, bounded waits, read-only connections.

This is wfhist's one SQLite access layer for *opening* files: every module that
reads a database (verify, backup, migrate, plan, status, read's profiling) opens
it through :func:`open_readonly`, and every module that writes one through
:func:`open_writer`. Both wait for another process's lock at most
``busy_timeout`` seconds (default :data:`BUSY_TIMEOUT_S`) and then raise a
:class:`~wfhist.exceptions.LockedError` naming the file, never wait forever.

Kept apart from :mod:`wfhist.read` so that the operator commands do not load
DuckDB and pandas just to check a path.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from wfhist.exceptions import LockedError, UsageError, WfhistError

log = logging.getLogger("wfhist.files")

SQLITE_MAGIC = b"SQLite format 3\x00"
#: SQLite's smallest page size: a real database file is at least one page long.
_MIN_DB_BYTES = 512
#: Seconds any wfhist connection waits for another process's lock before giving up.
#: Overridden per call (``--busy-timeout`` on the command line).
BUSY_TIMEOUT_S = 30.0
#: Memory-map up to this much of a file being read (SQLite caps it at its own maximum).
MMAP_BYTES = 1 << 40


def validate_db_path(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` resolved if it is an existing SQLite file, else say what is wrong.

    Checks the 16-byte header and the minimum size, so an empty, truncated or
    text file is refused with one line before SQLite is asked anything (SQLite
    itself would treat an empty file as a new, empty database).
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise UsageError(f"{p}: no such file; give the path of a workflow history SQLite file")
    if p.is_dir():
        raise UsageError(f"{p}: is a directory; give the path of a SQLite file inside it")
    try:
        with p.open("rb") as fh:
            head = fh.read(100)
        size = p.stat().st_size
    except PermissionError as exc:
        raise UsageError(f"{p}: cannot be read ({exc.strerror}); check its permissions") from exc
    if size == 0:
        raise UsageError(f"{p}: empty file (0 bytes), not a SQLite database; check the path")
    if head[: len(SQLITE_MAGIC)] != SQLITE_MAGIC:
        raise UsageError(f"{p}: not a SQLite database (bad header); check the path")
    if size < _MIN_DB_BYTES:
        raise UsageError(f"{p}: truncated SQLite file ({size} bytes); restore it from a backup")
    return p.resolve()


def readonly_uri(path: Path) -> str:
    """A ``mode=ro`` URI: the file is never opened for writing."""
    return f"{path.resolve().as_uri()}?mode=ro"


def open_readonly(
    path: str | os.PathLike[str],
    *,
    busy_timeout: float | None = None,
    check_same_thread: bool = True,
) -> sqlite3.Connection:
    """An autocommit connection that cannot write (``mode=ro`` + ``query_only``).

    For questions only SQLite itself can answer (``PRAGMA``s, ``typeof``, value
    comparison). Read-only means it takes no write lock, so it is safe beside the
    service and beside a DuckDB scan of the same file. Reads go through a memory
    map (twice as fast as read() calls for a full scan).
    """
    p = validate_db_path(path)
    con = sqlite3.connect(
        readonly_uri(p),
        uri=True,
        isolation_level=None,
        timeout=BUSY_TIMEOUT_S if busy_timeout is None else busy_timeout,
        check_same_thread=check_same_thread,
    )
    try:
        con.execute("PRAGMA query_only = 1")
        con.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    except sqlite3.DatabaseError:
        con.close()
        raise
    return con


def open_writer(
    path: str | os.PathLike[str], *, busy_timeout: float | None = None
) -> sqlite3.Connection:
    """An autocommit read-write connection (``migrate``/``rollback``): the caller owns BEGIN."""
    p = validate_db_path(path)
    return sqlite3.connect(
        p,
        isolation_level=None,
        timeout=BUSY_TIMEOUT_S if busy_timeout is None else busy_timeout,
    )


def is_locked_error(exc: BaseException) -> bool:
    """True for SQLite's "database is locked"/"busy" errors (another process holds a lock)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return True
    text = str(exc).lower()
    return "database is locked" in text or "database table is locked" in text


def locked_error(
    path: str | os.PathLike[str], busy_timeout: float | None, what: str
) -> LockedError:
    """The one line said when another process kept a lock past our bounded wait."""
    waited = BUSY_TIMEOUT_S if busy_timeout is None else busy_timeout
    return LockedError(
        f"{path}: another process holds a lock on this database; waited {waited:g} s to {what}. "
        "Let it finish (or stop it), or wait longer with --busy-timeout SECONDS"
    )


@contextlib.contextmanager
def open_sqlite_readonly(path: str | os.PathLike[str]) -> Iterator[sqlite3.Connection]:
    """:func:`open_readonly` as a context manager that closes the connection."""
    con = open_readonly(path)
    try:
        yield con
    finally:
        con.close()


def sqlite_files(path: Path) -> list[Path]:
    """The database file and the journal files SQLite may create next to it."""
    return [path, *(Path(f"{path}{s}") for s in ("-journal", "-wal", "-shm"))]


def remove_quietly(*paths: Path) -> None:
    """Delete files that may or may not exist (clean-up after a failed write)."""
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def fsync_path(path: Path) -> None:
    """Flush a file (or directory) to stable storage, so a rename cannot outlive its data."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def private_mode(source: Path) -> int:
    """The permission bits for a file wfhist derives from ``source``: never more readable.

    A backup, manifest, snapshot cache or export of a 0600 database is 0600 too.
    """
    try:
        return source.stat().st_mode & 0o666
    except OSError:
        return 0o600


def create_new(path: Path, mode: int) -> int:
    """Create ``path`` exclusively (never through a symlink, never over a file); return its fd.

    ``O_EXCL`` with ``O_CREAT`` refuses an existing name, a symlink included, so
    wfhist never writes over a file it did not make. ``fchmod`` applies ``mode``
    exactly, whatever the umask.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
    os.fchmod(fd, mode)
    return fd


#: SQLite's extended result codes that need their own advice (sqlite3.h).
_READONLY_ROLLBACK = 776  # a hot journal that a read-only connection cannot roll back
_PRIMARY_ADVICE = {
    sqlite3.SQLITE_NOTADB: (2, "not a SQLite database or encrypted; check the path"),
    sqlite3.SQLITE_CORRUPT: (
        1,
        "the database file is damaged; do not migrate it: restore it from a backup "
        "(or salvage with 'sqlite3 DB .recover')",
    ),
    sqlite3.SQLITE_FULL: (1, "the disk is full; free space and run again (nothing was changed)"),
    sqlite3.SQLITE_CANTOPEN: (
        2,
        "cannot open the file or its journal (permissions, or a read-only directory that "
        "needs a -wal/-shm file); check both",
    ),
    sqlite3.SQLITE_READONLY: (
        2,
        "the file or its directory is read-only; wfhist needs write access for this command",
    ),
    sqlite3.SQLITE_IOERR: (1, "an I/O error while reading or writing the file; check the disk"),
    sqlite3.SQLITE_PERM: (2, "permission denied by the operating system; check file modes"),
}


def explain_sqlite_error(path: str | os.PathLike[str] | None, exc: sqlite3.Error) -> WfhistError:
    """One actionable line (and exit code) for an SQLite error about a whole file.

    Used where a SQLite error can only mean the file or its surroundings are not
    as expected (damaged, locked, a hot journal, a full disk), so that the CLI
    never shows a traceback for them.
    """
    where = f"{path}: " if path is not None else ""
    code = getattr(exc, "sqlite_errorcode", None)
    if code == _READONLY_ROLLBACK:
        return hot_journal_error(path or "database")
    if is_locked_error(exc):
        return locked_error(path or "database", None, "read or write it")
    if code is not None and code & 0xFF in _PRIMARY_ADVICE:
        exit_code, advice = _PRIMARY_ADVICE[code & 0xFF]
        err = WfhistError(f"{where}{advice} (SQLite: {exc})")
        err.exit_code = exit_code
        return err
    err = WfhistError(f"{where}SQLite error: {exc}")
    err.exit_code = 1
    return err


def hot_journal_error(path: str | os.PathLike[str]) -> UsageError:
    """The one line for a hot journal: what it is and what the operator should do."""
    return UsageError(
        f"{path}: a hot journal ({path}-journal) was left by a writer that crashed; "
        "the last transaction must be rolled back before the file can be read: let the "
        "service open it once, or run 'sqlite3 DB \"PRAGMA quick_check\"' as the file's "
        "owner (keep a copy of both files first)"
    )


def check_readable(path: Path, busy_timeout: float | None = None) -> None:
    """Take and release a read lock on ``path`` within the bound, or say why not.

    For readers that cannot bound their own wait: DuckDB's sqlite scanner waits
    5 s per statement on a locked file whatever ``--busy-timeout`` says, and
    cannot roll back a hot journal (it only says "attempt to write a readonly
    database"). A read-only probe is retried from Python (so Ctrl-C ends it at
    once, unlike SQLite's own busy wait) for at most ``busy_timeout`` seconds,
    saying once that it waits, then raises :func:`locked_error`; a crashed
    writer's hot journal raises :func:`hot_journal_error` (a live writer's
    journal just reads). Other errors are left to the caller's own reads.
    """
    wait = BUSY_TIMEOUT_S if busy_timeout is None else busy_timeout
    deadline = time.monotonic() + wait
    con = sqlite3.connect(readonly_uri(path), uri=True, isolation_level=None, timeout=0)
    try:
        for attempt in itertools.count():
            try:
                con.execute("PRAGMA schema_version").fetchall()
                return
            except sqlite3.Error as exc:
                if getattr(exc, "sqlite_errorcode", None) == _READONLY_ROLLBACK:
                    raise hot_journal_error(path) from None
                if not is_locked_error(exc):
                    return
                if time.monotonic() >= deadline:
                    raise locked_error(path, busy_timeout, "read it") from exc
                if attempt == 0:
                    log.info("%s: another process holds a lock; waiting up to %g s", path, wait)
            time.sleep(0.05)
    finally:
        con.close()


def execute_waiting(
    con: sqlite3.Connection,
    path: Path,
    statement: str,
    what: str,
    busy_timeout: float | None = None,
) -> None:
    """Execute a lock-taking ``statement`` (``BEGIN IMMEDIATE``), saying so when it must wait.

    SQLite's busy wait is silent: an operator whose ``migrate`` sits behind the
    service's transaction would see nothing for up to ``--busy-timeout``
    seconds. So the statement is first tried without waiting; only if another
    process holds the lock is one line logged ("waiting up to S s to WHAT"),
    then it is retried with the bounded wait, and a lock still held is
    :func:`locked_error`. The connection's busy timeout is restored afterwards.
    """
    wait = BUSY_TIMEOUT_S if busy_timeout is None else busy_timeout
    con.execute("PRAGMA busy_timeout = 0")
    try:
        try:
            con.execute(statement)
            return
        except sqlite3.OperationalError as exc:
            if not is_locked_error(exc):
                raise
        log.info("%s: another process holds a lock; waiting up to %g s to %s", path, wait, what)
        con.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
        try:
            con.execute(statement)
        except sqlite3.OperationalError as exc:
            if is_locked_error(exc):
                raise locked_error(path, wait, what) from exc
            raise
    finally:
        con.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
