"""Backups and rollback on real SQLite files: verified, never overwriting, never half-written."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wfhist import backup as backup_mod
from wfhist.backup import (
    backup,
    check_backup,
    content_digest,
    content_hash,
    migration_lock,
    online_copy,
    rollback,
)
from wfhist.cli import main
from wfhist.exceptions import BackupError, LockedError, UsageError
from wfhist.migrate import migrate

NAME = re.compile(r"^workflow_history_backup_\d{8}_\d{6}(_\d+)?\.db$")


def _rows(db: Path, table: str = "workflow_history") -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# --- backup ----------------------------------------------------------------------


def test_backup_is_verified_named_and_has_a_manifest(sample_db: Path, tmp_path: Path) -> None:
    before = content_hash(sample_db)
    result = backup(sample_db, tmp_path / "out")
    assert NAME.match(result.path.name), result.path.name
    assert result.manifest_path == result.path.with_suffix(".json")
    assert _files(tmp_path / "out") == sorted([result.path.name, result.manifest_path.name])
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["source"] == str(sample_db.resolve())
    assert manifest["rows"]["workflow_history"] == _rows(sample_db)
    assert manifest["rows"]["tool_calls"] == _rows(sample_db, "tool_calls")
    assert manifest["content_hash"] == before == content_hash(result.path)
    assert manifest["sqlite_version"] == sqlite3.sqlite_version
    assert {"created_at", "wfhist_version", "bytes"} <= manifest.keys()
    # the copy is a single self-contained file (rollback-journal mode), readable on its own
    con = sqlite3.connect(result.path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    assert content_hash(sample_db) == before  # the source was not changed


def test_default_directory_is_backups_next_to_the_db(sample_db: Path) -> None:
    result = backup(sample_db)
    assert result.path.parent == sample_db.parent / "backups"


def test_backup_includes_committed_rows_that_live_only_in_the_wal(
    sample_db: Path, tmp_path: Path
) -> None:
    """Why a plain file copy is not a backup: the committed row is still in the -wal file."""
    writer = sqlite3.connect(sample_db)
    assert writer.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("INSERT INTO workflow_history (adw_id, status) VALUES ('walonly1', 'running')")
    writer.commit()  # committed, but not checkpointed while this connection stays open
    try:
        plain = tmp_path / "plain.db"
        shutil.copyfile(sample_db, plain)
        assert _count_adw(plain, "walonly1") == 0
        result = backup(sample_db, tmp_path / "out")
        assert _count_adw(result.path, "walonly1") == 1
    finally:
        writer.close()


def _count_adw(db: Path, adw_id: str) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute(
            "SELECT count(*) FROM workflow_history WHERE adw_id = ?", (adw_id,)
        ).fetchone()[0]
    finally:
        con.close()


def test_backup_never_overwrites_a_file_with_the_same_name(
    sample_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed = datetime(2025, 11, 21, 3, 40, 59, tzinfo=UTC)
    monkeypatch.setattr(backup_mod, "_utc_now", lambda: fixed)
    out = tmp_path / "out"
    out.mkdir()
    squatter = out / "workflow_history_backup_20251121_034059.db"
    squatter.write_bytes(b"precious, not a backup")
    first = backup(sample_db, out)
    second = backup(sample_db, out)
    assert squatter.read_bytes() == b"precious, not a backup"
    assert first.path.name == "workflow_history_backup_20251121_034059_1.db"
    assert second.path.name == "workflow_history_backup_20251121_034059_2.db"
    assert content_hash(first.path) == content_hash(second.path) == content_hash(sample_db)


def _tiny_db(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v)")
    con.executemany("INSERT INTO t (v) VALUES (?)", [(1,), ("x",), (None,), (2.5,), (b"\x00",)])
    con.commit()
    con.close()
    return path


@pytest.mark.parametrize(
    "new_value",
    ["1", 1.0, None, 1.0000000000000002, b"1"],
    ids=["text", "real", "null", "last-bit", "blob"],
)
def test_content_hash_sees_storage_class_and_exact_value(tmp_path: Path, new_value: object) -> None:
    db = _tiny_db(tmp_path / "t.db")
    original = content_hash(db)
    con = sqlite3.connect(db)
    con.execute("UPDATE t SET v = ? WHERE id = 1", (new_value,))
    con.commit()
    assert content_hash(db) != original
    con.execute("UPDATE t SET v = 1 WHERE id = 1")
    con.commit()
    con.close()
    assert content_hash(db) == original


def test_content_hash_sees_schema_changes_and_ignores_physical_layout(tmp_path: Path) -> None:
    db = _tiny_db(tmp_path / "t.db")
    original, rows = content_digest(db)
    assert rows == {"t": 5}
    con = sqlite3.connect(db)
    con.execute("VACUUM")  # rewrites every page, changes no value
    assert content_hash(db) == original
    con.execute("CREATE INDEX t_v ON t(v)")
    con.commit()
    con.close()
    assert content_hash(db) != original


def test_backup_of_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such database file"):
        backup(tmp_path / "nope.db", tmp_path / "out")
    assert not (tmp_path / "out").exists() or _files(tmp_path / "out") == []


def test_backup_into_a_path_that_is_a_file_fails_clearly(sample_db: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    with pytest.raises(BackupError, match="cannot create the backup directory"):
        backup(sample_db, blocker / "out")


@contextlib.contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[Path]:
    """Mount a tiny tmpfs at ``path`` (root only; the test is skipped with the reason otherwise)."""
    path.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to simulate the filesystem: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_backup_on_a_full_disk_fails_clearly_and_leaves_nothing(
    sample_db: Path, tmp_path: Path
) -> None:
    assert sample_db.stat().st_size > 64 * 1024  # the sample cannot fit
    with _tmpfs(tmp_path / "full", "64k") as out:
        with pytest.raises(BackupError) as info:
            backup(sample_db, out)
        assert "full" in str(info.value) or "no space" in str(info.value)
        assert str(out) in str(info.value)
        assert _files(out) == []


def test_backup_on_a_read_only_filesystem_fails_clearly_and_leaves_nothing(
    sample_db: Path, tmp_path: Path
) -> None:
    with _tmpfs(tmp_path / "ro", "4m") as out:
        remount = subprocess.run(
            ["mount", "-o", "remount,ro", str(out)], capture_output=True, text=True, check=False
        )
        if remount.returncode != 0:
            pytest.skip(f"cannot remount read-only: {remount.stderr.strip()}")
        with pytest.raises(BackupError, match="not writable"):
            backup(sample_db, out)
        assert _files(out) == []


def test_backup_on_a_full_disk_via_cli_exits_1(sample_db: Path, tmp_path: Path, capsys) -> None:
    with _tmpfs(tmp_path / "full", "64k") as out:
        assert main(["backup", str(sample_db), "--out", str(out)]) == 1
        assert _files(out) == []
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("wfhist: error: ") and ("full" in last or "no space" in last)


def test_stale_temporary_file_of_a_dead_process_is_removed(sample_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    # above the kernel's pid_max (2**22), so no live process can own it
    stale = out / f".tmp-workflow_history_backup_20250101_000000-pid{2**22 + 7}.db"
    stale.write_bytes(b"half a backup from a killed run")
    backup(sample_db, out)
    assert not stale.exists()


def test_online_copy_leaves_source_untouched_and_never_overwrites(
    sample_db: Path, tmp_path: Path
) -> None:
    con = sqlite3.connect(sample_db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    stat = sample_db.stat()
    raw = sample_db.read_bytes()
    dst = tmp_path / "copy.db"
    online_copy(sample_db, dst)
    assert content_hash(dst) == content_hash(sample_db)
    assert sample_db.read_bytes() == raw and sample_db.stat().st_mtime_ns == stat.st_mtime_ns
    with pytest.raises(FileExistsError):
        online_copy(sample_db, dst)


# --- the lock --------------------------------------------------------------------


def test_lock_refuses_a_second_holder_at_once(sample_db: Path) -> None:
    with (
        migration_lock(sample_db),
        pytest.raises(LockedError, match="another wfhist"),
        migration_lock(sample_db),
    ):
        pass
    with migration_lock(sample_db):  # released when the holder is done
        pass


# --- rollback --------------------------------------------------------------------


def test_rollback_restores_the_backup_and_keeps_the_current_content(sample_db: Path) -> None:
    original = content_hash(sample_db)
    result = migrate(sample_db)
    migrated = content_hash(sample_db)
    assert migrated != original
    assert result.backup is not None
    restored = rollback(sample_db, result.backup.path)
    manifest = json.loads(result.backup.manifest_path.read_text())
    assert content_hash(sample_db) == manifest["content_hash"] == original
    assert restored.content_hash == original
    assert restored.kept_aside.name.startswith("workflow_history.db.before-rollback-")
    assert content_hash(restored.kept_aside) == migrated
    con = sqlite3.connect(sample_db)
    assert "scoring_version" not in {
        r[1] for r in con.execute("PRAGMA table_info(workflow_history)")
    }
    con.close()


def test_rollback_refuses_a_backup_that_no_longer_matches_its_manifest(sample_db: Path) -> None:
    made = backup(sample_db)
    con = sqlite3.connect(made.path)
    con.execute("UPDATE workflow_history SET model_used = 'tampered' WHERE id = 1")
    con.commit()
    con.close()
    live = content_hash(sample_db)
    with pytest.raises(BackupError, match="does not match its manifest"):
        rollback(sample_db, made.path)
    assert content_hash(sample_db) == live
    assert not list(sample_db.parent.glob("*.before-rollback-*"))


def test_rollback_needs_the_manifest(sample_db: Path) -> None:
    made = backup(sample_db)
    made.manifest_path.unlink()
    with pytest.raises(BackupError, match="manifest not found"):
        check_backup(made.path)


def test_rollback_holds_the_migration_lock(sample_db: Path) -> None:
    made = backup(sample_db)
    with migration_lock(sample_db), pytest.raises(LockedError):
        rollback(sample_db, made.path)


def test_cli_backup_then_rollback(sample_db: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / f"b-{uuid.uuid4().hex[:6]}"
    assert main(["backup", str(sample_db), "--out", str(out)]) == 0
    made = next(out.glob("*.db"))
    assert "verified" in capsys.readouterr().out
    con = sqlite3.connect(sample_db)
    con.execute("DELETE FROM tool_calls")
    con.commit()
    con.close()
    assert main(["rollback", str(sample_db), "--backup", str(made)]) == 0
    assert content_hash(sample_db) == content_hash(made)
    assert "previous content kept in" in capsys.readouterr().out
    assert main(["rollback", str(sample_db)]) == 2  # --backup is required
    os.remove(made.with_suffix(".json"))
    assert main(["rollback", str(sample_db), "--backup", str(made)]) == 1


def test_source_with_orphaned_rows_is_copied_as_is_and_said_so(
    sample_db: Path, tmp_path: Path
) -> None:
    con = sqlite3.connect(sample_db)  # foreign keys are off by default, as in the service
    con.execute("INSERT INTO tool_calls (workflow_id, tool_name) VALUES ('wf-gone', 'Read')")
    con.commit()
    con.close()
    result = backup(sample_db, tmp_path / "out")
    assert result.foreign_key_violations == 1
    assert "foreign-key violations" in result.notes[0]
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["foreign_key_violations"] == 1
    assert content_hash(result.path) == content_hash(sample_db)
