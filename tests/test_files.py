"""wfhist.files: the one place SQLite files are opened, with bounded waits and clear refusals."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.backup_dbs import LockHolder
from wfhist import files
from wfhist.exceptions import LockedError, UsageError


def _db(path: Path, rows: int = 10) -> Path:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x)")
    con.executemany("INSERT INTO t (x) VALUES (?)", [(i,) for i in range(rows)])
    con.commit()
    con.close()
    return path


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty file"),
        (b"id,status\n1,completed\n", "not a SQLite database"),
        (b"SQLite format 3\x00" + b"\x00" * 20, "truncated"),
    ],
    ids=["empty", "text", "truncated"],
)
def test_validate_refuses_files_that_are_not_databases(
    tmp_path: Path, content: bytes, fragment: str
) -> None:
    path = tmp_path / "x.db"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=fragment):
        files.validate_db_path(path)
    assert path.read_bytes() == content  # never "repaired" or initialised


def test_validate_refuses_missing_and_directories(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        files.validate_db_path(tmp_path / "missing.db")
    with pytest.raises(UsageError, match="is a directory"):
        files.validate_db_path(tmp_path)


def test_open_readonly_cannot_write(tmp_path: Path) -> None:
    db = _db(tmp_path / "a.db")
    before = db.read_bytes()
    con = files.open_readonly(db)
    try:
        with pytest.raises(sqlite3.OperationalError):
            con.execute("INSERT INTO t (x) VALUES (1)")
    finally:
        con.close()
    assert db.read_bytes() == before


def test_a_held_lock_is_waited_for_a_bounded_time(tmp_path: Path) -> None:
    db = _db(tmp_path / "a.db")
    holder = LockHolder(db)
    try:
        con = files.open_readonly(db, busy_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError) as info:
            con.execute("SELECT count(*) FROM t").fetchone()
        waited = time.monotonic() - started
        con.close()
    finally:
        holder.stop()
    assert 0.4 <= waited < 5
    assert files.is_locked_error(info.value)
    err = files.explain_sqlite_error(db, info.value)
    assert isinstance(err, LockedError)
    assert str(db) in str(err) and "--busy-timeout" in str(err)


def test_hot_journal_is_named_with_what_to_do(tmp_path: Path) -> None:
    db = _db(tmp_path / "hot.db", rows=20_000)
    code = (
        "import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('PRAGMA cache_size = 1')\n"  # force pages into the file mid-transaction
        "c.execute('BEGIN')\n"
        "c.execute('UPDATE t SET x = x + 1')\n"
        "print('dirty', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "dirty"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert Path(f"{db}-journal").stat().st_size > 0
    con = files.open_readonly(db)
    with pytest.raises(sqlite3.OperationalError) as info:
        con.execute("SELECT count(*) FROM t").fetchone()
    con.close()
    err = files.explain_sqlite_error(db, info.value)
    assert "hot journal" in str(err) and err.exit_code == 2
    assert "\n" not in str(err)


def test_create_new_never_follows_a_symlink_or_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    link = tmp_path / "out.db"
    link.symlink_to(target)
    with pytest.raises(OSError):
        files.create_new(link, 0o600)
    with pytest.raises(FileExistsError):
        files.create_new(target, 0o600)
    assert target.read_text() == "keep me"


def test_private_mode_is_never_more_readable_than_the_source(tmp_path: Path) -> None:
    src = _db(tmp_path / "a.db")
    os.chmod(src, 0o600)
    mode = files.private_mode(src)
    assert mode == 0o600
    fd = files.create_new(tmp_path / "copy", mode)
    os.close(fd)
    assert (tmp_path / "copy").stat().st_mode & 0o777 == 0o600


def test_a_lock_taking_statement_says_it_waits_then_gives_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = _db(tmp_path / "a.db")
    holder = LockHolder(db)
    con = files.open_writer(db)
    try:
        with caplog.at_level("INFO", logger="wfhist"), pytest.raises(LockedError):
            files.execute_waiting(con, db, "BEGIN IMMEDIATE", "take the write lock", 0.5)
        assert not con.in_transaction
    finally:
        con.close()
        holder.stop()
    waits = [r.getMessage() for r in caplog.records if "waiting up to 0.5 s" in r.getMessage()]
    assert len(waits) == 1 and "take the write lock" in waits[0]


def test_a_lock_taking_statement_proceeds_when_the_lock_is_released(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = _db(tmp_path / "a.db")
    code = (
        "import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(0.5)\n"
        "c.execute('COMMIT')\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    con = files.open_writer(db)
    try:
        with caplog.at_level("INFO", logger="wfhist"):
            files.execute_waiting(con, db, "BEGIN IMMEDIATE", "take the write lock", 20)
        assert con.in_transaction
        con.execute("ROLLBACK")
    finally:
        con.close()
        holder.wait()
    assert any("waiting up to 20 s" in r.getMessage() for r in caplog.records)
