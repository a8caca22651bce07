"""Snapshot cache files: the mapped history kept in a DuckDB file wfhist made and marked.

``connect(..., snapshot="cache.duckdb")`` reads the history once into a DuckDB
file and reopens it in milliseconds while the sources are unchanged. The file
is only ever one wfhist created: it holds a ``wfhist_cache_meta`` table with
:data:`MAGIC`, and anything else at that path -- an unrelated DuckDB database,
the SQLite source itself, a symlink, a text file -- is refused with one line and
left untouched. A new or rebuilt cache is written in a private (0700) sibling
folder and moved into place complete, with the source's permission bits at most.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import duckdb

from wfhist.exceptions import UsageError
from wfhist.files import private_mode
from wfhist.read.cache.tempdirs import remove_stale, temp_sibling
from wfhist.read.extensions import new_duckdb
from wfhist.read.sources import first_line, is_postgres_dsn

#: The value wfhist writes into every cache it creates; nothing else is treated as a cache.
MAGIC = "wfhist snapshot cache v1"
_DUCKDB_HEADER = b"DUCK"  # bytes 8-11 of every DuckDB database file
#: DuckDB's memory cap while a cache is built or refreshed (it spills beyond it).
BUILD_MEMORY = "640MB"


def _refuse(path: Path, why: str) -> UsageError:
    return UsageError(
        f"{path}: {why}; wfhist writes a snapshot cache only to a new file name or to a cache "
        "it created (nothing was changed)"
    )


def check_target(cache: Path, sources: list[str]) -> bool:
    """True if ``cache`` is a wfhist cache, False if it does not exist; refuse anything else."""
    try:
        st = cache.lstat()
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(st.st_mode):
        raise _refuse(cache, "is a symbolic link")
    if not stat.S_ISREG(st.st_mode):
        raise _refuse(cache, "exists and is not a regular file")
    for text in sources:
        if not is_postgres_dsn(text) and Path(text).exists() and cache.samefile(text):
            raise _refuse(cache, "is a source database of this read, not a cache")
    with cache.open("rb") as fh:
        head = fh.read(16)
    if head[8:12] != _DUCKDB_HEADER:
        raise _refuse(cache, "exists and is not a DuckDB file")
    con = _open(cache, read_only=True)
    try:
        row = con.execute("SELECT magic FROM wfhist_cache_meta").fetchone()
    except duckdb.Error:
        row = None
    finally:
        con.close()
    if not row or row[0] != MAGIC:
        raise _refuse(cache, "is a DuckDB database wfhist did not create")
    return True


def _open(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(
            str(path),
            read_only=read_only,
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
        )
    except duckdb.Error as exc:
        raise UsageError(
            f"{path}: snapshot cache cannot be opened ({first_line(exc)}); another process may "
            "be using it -- close that session, or pass another snapshot path"
        ) from exc
    return con


def open_cache(cache: Path) -> tuple[duckdb.DuckDBPyConnection, str | None, str | None]:
    """The marked cache opened for reading and refreshing, with its (key, shape)."""
    with private_umask():
        con = _open(cache)
    try:
        row = con.execute("SELECT key, shape FROM wfhist_cache_meta").fetchone()
    except duckdb.Error:
        row = None
    return con, (row[0] if row else None), (row[1] if row else None)


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Files DuckDB creates meanwhile (database, ``.wal``, spill files) are owner-only."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


@contextlib.contextmanager
def new_cache_file(cache: Path, mode: int) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB file built in a private sibling folder, moved to ``cache`` when complete.

    The caller fills it; on success it gets ``mode`` and replaces ``cache`` (which
    :func:`check_target` has verified is absent or a wfhist cache). On failure the
    folder is removed and ``cache`` is untouched.
    """
    remove_stale(cache)
    tmpdir = temp_sibling(cache)
    shutil.rmtree(tmpdir, ignore_errors=True)
    with private_umask():
        tmpdir.mkdir(mode=0o700)
    built = tmpdir / "cache.duckdb"
    try:
        with private_umask():
            con = new_duckdb(str(built))
            con.execute("SET temp_directory = ?", [str(tmpdir / "spill")])
            con.execute("SET memory_limit = ?", [BUILD_MEMORY])
            con.execute(
                "CREATE TABLE wfhist_cache_meta (magic VARCHAR, key VARCHAR, shape VARCHAR)"
            )
            con.execute("INSERT INTO wfhist_cache_meta VALUES (?, NULL, NULL)", [MAGIC])
            try:
                yield con
                con.execute("CHECKPOINT")
            finally:
                con.close()
        os.chmod(built, mode)
        os.replace(built, cache)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def set_key(con: duckdb.DuckDBPyConnection, key: str, shape: str) -> None:
    """Record which source state (and shape) the cache holds, once the snapshot is complete."""
    con.execute("UPDATE wfhist_cache_meta SET key = ?, shape = ?", [key, shape])


def cache_mode(sources: list[str]) -> int:
    """The cache's permission bits: no more readable than the least readable source file."""
    mode = 0o666
    for text in sources:
        mode &= 0o600 if is_postgres_dsn(text) else private_mode(Path(text))
    return mode
