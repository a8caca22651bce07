"""wfhist.read.cache pieces on real files: stale temporary siblings and source fingerprints.

The snapshot cache as a whole (built, refreshed by chunk, equal to a live read,
never written over a foreign file) is tests/test_snapshot.py.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from dbfiles import run_sql

from wfhist.read.cache.fingerprint import fingerprint
from wfhist.read.cache.tempdirs import chmod_tree, remove_stale, temp_sibling


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    return proc.pid


def test_only_siblings_of_dead_processes_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "export"
    dead = _dead_pid()
    stale_dir = tmp_path / f".export.wfhist-tmp-{dead}"
    (stale_dir / "year=2025").mkdir(parents=True)
    (stale_dir / "year=2025" / "part.parquet").write_bytes(b"x")
    stale_old = tmp_path / f".export.wfhist-old-{dead}"
    stale_old.write_bytes(b"y")
    mine = temp_sibling(target)
    mine.mkdir()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        live = tmp_path / f".export.wfhist-tmp-{alive.pid}"
        live.mkdir()
        others = [
            tmp_path / f".other.wfhist-tmp-{dead}",  # another target's
            tmp_path / f".export.wfhist-tmp-{dead}x",  # not a pid
            tmp_path / "export",  # the target itself
        ]
        for p in others:
            p.mkdir()
        removed = remove_stale(target)
        assert sorted(removed) == sorted([stale_dir, stale_old])
        assert not stale_dir.exists() and not stale_old.exists()
        assert mine.is_dir() and live.is_dir() and all(p.is_dir() for p in others)
    finally:
        alive.kill()
        alive.wait(timeout=10)


def test_a_stale_name_that_is_a_symlink_is_unlinked_not_followed(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("keep")
    link = tmp_path / f".export.wfhist-tmp-{_dead_pid()}"
    link.symlink_to(precious, target_is_directory=True)
    assert remove_stale(tmp_path / "export") == [link]
    assert not link.is_symlink() and (precious / "keep.txt").read_text() == "keep"


def test_chmod_tree_gives_folders_the_matching_search_bits(tmp_path: Path) -> None:
    root = tmp_path / "t"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "f").write_text("x")
    chmod_tree(root, 0o640)
    assert (root / "a" / "b" / "f").stat().st_mode & 0o777 == 0o640
    assert (root / "a").stat().st_mode & 0o777 == 0o750
    assert root.stat().st_mode & 0o777 == 0o750


def test_fingerprint_changes_with_every_commit_and_setting_only(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    run_sql(db, "CREATE TABLE t (v)")
    first = fingerprint([str(db)], ["UTC"])
    assert fingerprint([str(db)], ["UTC"]) == first
    assert fingerprint([str(db)], ["Europe/Berlin"]) != first
    stat = db.stat()
    run_sql(db, "INSERT INTO t VALUES (1)")
    os.utime(db, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime: the counter still tells
    assert fingerprint([str(db)], ["UTC"]) != first


def test_fingerprint_sees_commits_that_live_only_in_the_wal(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    keep = sqlite3.connect(db, isolation_level=None)  # keeps the -wal from being checkpointed
    try:
        keep.execute("PRAGMA journal_mode=wal")
        keep.execute("PRAGMA wal_autocheckpoint=0")
        keep.execute("CREATE TABLE t (v)")
        before = fingerprint([str(db)], [])
        main_bytes = db.read_bytes()
        keep.execute("INSERT INTO t VALUES (1)")
        assert db.read_bytes() == main_bytes  # the database file itself did not change
        assert fingerprint([str(db)], []) != before
    finally:
        keep.close()


def test_a_dsn_is_never_taken_for_a_cached_state() -> None:
    dsn = "postgresql://u@127.0.0.1:1/db"
    assert fingerprint([dsn], []) != fingerprint([dsn], [])
