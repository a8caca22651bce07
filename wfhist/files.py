"""Opening SQLite files safely: checked paths and read-only connections.

Kept apart from :mod:`wfhist.read` so that the operator commands (backup,
migrate, verify) do not load DuckDB and pandas just to check a path.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from wfhist.exceptions import UsageError

SQLITE_MAGIC = b"SQLite format 3\x00"


def validate_db_path(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a Path if it is an existing SQLite file, else say what is wrong."""
    p = Path(path).expanduser()
    if not p.exists():
        raise UsageError(f"{p}: no such file; give the path of a workflow history SQLite file")
    if p.is_dir():
        raise UsageError(f"{p}: is a directory; give the path of a SQLite file inside it")
    try:
        with p.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except PermissionError as exc:
        raise UsageError(f"{p}: cannot be read ({exc.strerror}); check its permissions") from exc
    if head != SQLITE_MAGIC:
        raise UsageError(f"{p}: not a SQLite database (bad header); check the path")
    return p.resolve()


@contextlib.contextmanager
def open_sqlite_readonly(path: str | os.PathLike[str]) -> Iterator[sqlite3.Connection]:
    """A sqlite3 connection that cannot write: ``mode=ro`` URI, closed on exit.

    For questions only SQLite itself can answer (``PRAGMA``s, ``typeof``).
    Read-only means it takes no write lock, so it is safe beside the service
    and beside a DuckDB scan of the same file.
    """
    p = validate_db_path(path)
    con = sqlite3.connect(f"{p.as_uri()}?mode=ro", uri=True)
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
