"""Snapshot cache files: only ever written to a file wfhist made; always equal to a live read."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

import duckdb
import pytest
from test_read import make_db

from wfhist.exceptions import UsageError
from wfhist.read import connect
from wfhist.read.cache.snapshot import MAGIC

ORDERED = "SELECT * FROM history ORDER BY source, id"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    rows = [
        {"adw_id": f"a{i}", "created_at": f"2025-11-{10 + i % 9:02d} 0{i % 10}:00:00",
         "duration_seconds": i, "submission_hour": i % 24 if i % 3 else None}
        for i in range(60)
    ]  # fmt: skip
    return make_db(tmp_path / "live.db", rows)


def _foreign_duckdb(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE history_snapshot AS SELECT 42 AS answer")
    con.close()


@pytest.mark.parametrize("kind", ["duckdb", "source", "symlink", "text", "empty", "dir"])
def test_cache_refuses_anything_it_did_not_create(db: Path, tmp_path: Path, kind: str) -> None:
    target = tmp_path / "cache.duckdb"
    if kind == "duckdb":
        _foreign_duckdb(target)
    elif kind == "source":
        target = db
    elif kind == "symlink":
        victim = tmp_path / "victim.txt"
        victim.write_text("precious")
        target.symlink_to(victim)
    elif kind == "text":
        target.write_text("notes\n")
    elif kind == "empty":
        target.touch()
    else:
        target.mkdir()
    before = None if target.is_dir() else Path(target).read_bytes()
    with pytest.raises(UsageError) as err:
        connect(db, snapshot=target)
    message = str(err.value)
    assert "\n" not in message and "delete" not in message and "nothing was changed" in message
    if before is not None:
        assert Path(target).read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if "wfhist-tmp" in p.name]


def test_cache_is_marked_private_and_reused(db: Path, tmp_path: Path) -> None:
    os.chmod(db, 0o600)
    cache = tmp_path / "snap.duckdb"
    old = os.umask(0o022)
    try:
        connect(db, snapshot=cache).close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    con = duckdb.connect(str(cache), read_only=True)
    assert con.execute("SELECT magic FROM wfhist_cache_meta").fetchone() == (MAGIC,)
    con.close()
    mtime = cache.stat().st_mtime_ns
    connect(db, snapshot=cache).close()
    assert cache.stat().st_mtime_ns == mtime  # unchanged source: reopened, not rebuilt


def _live(db: Path) -> list[tuple]:
    con = connect(db)
    try:
        return con.execute(ORDERED).fetchall()
    finally:
        con.close()


def test_refreshed_snapshot_equals_a_fresh_read(
    db: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Inserts, updates (updated_at untouched) and deletes all reach the cache, incrementally."""
    caplog.set_level(logging.INFO, logger="wfhist.read")
    cache = tmp_path / "snap.duckdb"
    connect(db, snapshot=cache).close()
    with sqlite3.connect(db) as con:
        con.execute(
            "INSERT INTO workflow_history (adw_id, status, created_at) "
            "VALUES ('new1', 'running', '2025-11-30T01:02:03Z')"
        )
        con.execute("UPDATE workflow_history SET duration_seconds = 'N/A' WHERE id = 3")
        con.execute("UPDATE workflow_history SET status = 'failed' WHERE id = 40")
        con.execute("DELETE FROM workflow_history WHERE id IN (7, 59)")
    caplog.clear()
    snap = connect(db, snapshot=cache)
    try:
        assert snap.execute(ORDERED).fetchall() == _live(db)
        bad = snap.execute("SELECT column_name, bad_values FROM wfhist_bad_values").fetchall()
        assert bad == [("duration_seconds", 1)]
    finally:
        snap.close()
    assert "re-reading 1 changed id range(s)" in caplog.text  # ids 1..60: one chunk
    assert "building the snapshot cache" not in caplog.text


def test_changed_shape_rebuilds(db: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wfhist.read")
    cache = tmp_path / "snap.duckdb"
    connect(db, snapshot=cache).close()
    with sqlite3.connect(db) as con:
        con.execute("ALTER TABLE workflow_history ADD COLUMN scoring_version TEXT DEFAULT '1.0'")
    caplog.clear()
    snap = connect(db, snapshot=cache)
    try:
        assert snap.execute(ORDERED).fetchall() == _live(db)
    finally:
        snap.close()
    assert "building the snapshot cache" in caplog.text


def test_chunks_far_apart_are_reread_alone(tmp_path: Path) -> None:
    """Ids spread over many chunks: one update re-reads one chunk and still equals live."""
    path = make_db(tmp_path / "wide.db", [{"adw_id": f"w{i}"} for i in range(5)])
    with sqlite3.connect(path) as con:
        con.execute("UPDATE workflow_history SET id = id * 5000")  # chunks 1, 2, 3, 4 (and 0)
    cache = tmp_path / "snap.duckdb"
    connect(path, snapshot=cache).close()
    with sqlite3.connect(path) as con:
        con.execute("UPDATE workflow_history SET model_used = 'x' WHERE id = 10000")
        con.execute("DELETE FROM workflow_history WHERE id = 20000")
    snap = connect(path, snapshot=cache)
    try:
        assert snap.execute(ORDERED).fetchall() == _live(path)
    finally:
        snap.close()
