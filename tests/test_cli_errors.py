"""The CLI's last line of defence (wfhist.cli_errors) on real SQLite, DuckDB and OS errors."""

from __future__ import annotations

import errno
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from wfhist.cli_errors import last_resort
from wfhist.exceptions import LockedError
from wfhist.read.extensions import load_sqlite_scanner

HOLDER = """\
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(60)
"""


def test_a_lock_duckdb_meets_mid_scan_is_the_lock_line(sample_db: Path) -> None:
    duck = duckdb.connect()
    load_sqlite_scanner(duck)
    duck.execute(f"ATTACH '{sample_db}' AS s (TYPE sqlite, READ_ONLY)")
    holder = subprocess.Popen(  # another process: POSIX locks never conflict within one
        [sys.executable, "-c", HOLDER, str(sample_db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(duckdb.Error) as info:
            duck.execute("SELECT count(*) FROM s.workflow_history").fetchall()
    finally:
        holder.kill()
        holder.wait()
        duck.close()
    err = last_resort(info.value, str(sample_db))
    assert isinstance(err, LockedError) and str(sample_db) in str(err), err


def test_other_duckdb_sqlite_and_disk_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(duckdb.Error) as info:
        duckdb.connect().execute("SELECT * FROM no_such_table")
    err = last_resort(info.value, "x.db")
    assert err is not None and err.exit_code == 1 and "\n" not in str(err)
    assert str(err).startswith("x.db: DuckDB could not read it: Catalog Error"), err
    text = tmp_path / "text.db"
    text.write_bytes(b"not a database, but long enough to be one" * 20)
    with pytest.raises(sqlite3.DatabaseError) as sq:
        sqlite3.connect(text).execute("SELECT 1 FROM sqlite_schema").fetchall()
    err = last_resort(sq.value, str(text))
    assert err is not None and "not a SQLite database" in str(err) and err.exit_code == 2
    full = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out"))
    err = last_resort(full, None)
    assert err is not None and err.exit_code == 1 and "disk is full" in str(err)


def test_a_real_bug_keeps_its_traceback() -> None:
    assert last_resort(ValueError("bug"), "x.db") is None
    assert last_resort(OSError(errno.EBADF, "Bad file descriptor"), "x.db") is None
