"""The CLI's last line of defence: environment errors no module turned into one line.

A damaged or locked file, a full or read-only disk can surface as a raw
``sqlite3``/DuckDB/``OSError`` from any depth. These are facts about the
operator's environment, not bugs, so :func:`last_resort` turns them into the
README's one ``wfhist: error:`` line; anything else (a real bug) is left to
raise with its traceback. Kept apart from :mod:`wfhist.cli` so that module
stays the argument layer.
"""

from __future__ import annotations

import argparse
import errno

from wfhist.exceptions import WfhistError


def subject(args: argparse.Namespace) -> str | None:
    """The database a command works on, to name it in a last-resort error line."""
    for name in ("db", "after", "source"):
        value = getattr(args, name, None)
        if isinstance(value, list):
            value = value[0] if len(value) == 1 else None
        if isinstance(value, str):
            return value
    return None


_OS_ADVICE = {
    errno.ENOSPC: (1, "the disk is full; free space and run again"),
    errno.EDQUOT: (1, "the disk quota is exceeded; free space and run again"),
    errno.EROFS: (2, "read-only filesystem; run it where wfhist may write, or remount"),
    errno.EACCES: (2, "permission denied; check the file's and its folder's permissions"),
    errno.EPERM: (2, "operation not permitted; check the file's and its folder's permissions"),
}


def last_resort(exc: BaseException, db: str | None) -> WfhistError | None:
    """One line for an error no module turned into a WfhistError, or None for a real bug.

    SQLite and DuckDB errors and a full or read-only disk are about the environment,
    not wfhist's code: the operator gets one line (and the exit code of the operation
    that could not run). Anything else keeps its traceback.
    """
    import sqlite3

    from wfhist import files

    if isinstance(exc, sqlite3.Error):
        return files.explain_sqlite_error(db, exc)
    if type(exc).__module__.startswith(("duckdb", "_duckdb")):
        if files.is_locked_error(exc):  # the scanner has no busy wait: a lock taken mid-scan
            return files.locked_error(db or "database", None, "read it")
        lines = str(exc).strip().strip("'\"").splitlines()
        text = lines[0] if lines else type(exc).__name__
        if text.startswith("IO Error"):  # a file DuckDB reads or writes, not necessarily db
            err = WfhistError(f"DuckDB could not read or write a file: {text}")
        else:
            err = WfhistError(f"{db or 'database'}: DuckDB could not read it: {text}")
        err.exit_code = 1
        return err
    if isinstance(exc, OSError) and exc.errno in _OS_ADVICE:
        code, advice = _OS_ADVICE[exc.errno]
        where = exc.filename or db or "a file"
        err = WfhistError(f"{where}: {advice} ({exc.strerror})")
        err.exit_code = code
        return err
    return None
