"""Backups on real SQLite files: proved page-identical, never overwriting, never half-written."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from backup_dbs import LockHolder, count, make_db
from clirun import assert_one_clean_line, wfhist
from mounts import tmpfs

from wfhist import backup as backup_mod
from wfhist.backup import (
    MANIFEST_FORMAT,
    backup,
    check_backup,
    content_digest,
    content_hash,
    online_copy,
)
from wfhist.cli import main
from wfhist.exceptions import BackupError, UsageError
from wfhist.proof import file_sha256

WRITER = Path(__file__).resolve().parent / "writer_proc.py"
NAME = re.compile(r"^workflow_history_backup_\d{8}_\d{6}(_\d+)?\.db$")


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# --- what a backup is ----------------------------------------------------------------


def test_backup_is_proved_named_and_has_a_manifest(sample_db: Path, tmp_path: Path) -> None:
    before = content_hash(sample_db)
    result = backup(sample_db, tmp_path / "out")
    assert NAME.match(result.path.name), result.path.name
    assert result.manifest_path == result.path.with_suffix(".json")
    assert _files(tmp_path / "out") == sorted([result.path.name, result.manifest_path.name])
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["format"] == MANIFEST_FORMAT
    assert manifest["source"] == str(sample_db.resolve())
    assert manifest["rows"]["workflow_history"] == count(
        sample_db, "SELECT count(*) FROM workflow_history"
    )
    assert manifest["sha256"] == file_sha256(result.path) == result.sha256
    assert manifest["bytes"] == result.path.stat().st_size
    assert manifest["proof"].startswith("page-identical to the source snapshot")
    assert len(manifest["identity"]["oldest_adw_ids_hex"]) == 16
    assert manifest["sqlite_version"] == sqlite3.sqlite_version
    assert content_hash(result.path) == before == content_hash(sample_db)
    con = sqlite3.connect(result.path)  # a single self-contained file, readable on its own
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    assert check_backup(result.path)["sha256"] == result.sha256


def test_default_directory_is_backups_next_to_the_db(sample_db: Path) -> None:
    result = backup(sample_db)
    assert result.path.parent == sample_db.parent / "backups"


def test_real_shape_non_unique_parent_is_noted_not_fatal(tmp_path: Path) -> None:
    """The real file: foreign keys to a non-unique workflow_id make foreign_key_check raise."""
    db = make_db(tmp_path / "workflow_history.db")
    con = sqlite3.connect(db)
    with pytest.raises(sqlite3.DatabaseError, match="foreign key mismatch"):
        con.execute("PRAGMA foreign_key_check").fetchall()
    con.close()
    result = backup(db, tmp_path / "out")
    assert any("foreign keys of tool_calls point at a non-unique parent" in n for n in result.notes)
    assert result.foreign_key_violations == 1  # pattern_occurrences -> operation_patterns(7)
    assert result.proof.startswith("page-identical")
    assert content_hash(result.path) == content_hash(db)
    check_backup(result.path)


def test_invalid_utf8_and_nul_in_text_are_copied_and_compared_as_bytes(tmp_path: Path) -> None:
    db = make_db(tmp_path / "workflow_history.db")
    result = backup(db, tmp_path / "out")
    query = "SELECT hex(CAST(error_message AS BLOB)) FROM workflow_history WHERE id = 2"
    for path in (db, result.path):
        con = sqlite3.connect(path)
        assert con.execute(query).fetchone()[0] == "41FF00FE42"
        con.close()
    original = content_hash(db)
    con = sqlite3.connect(db)  # change one byte *after* the NUL: quote() would not see it
    con.execute(
        "UPDATE workflow_history SET error_message = CAST(x'41ff00fe43' AS TEXT) WHERE id = 2"
    )
    con.commit()
    con.close()
    assert content_hash(db) != original


def test_committed_rows_that_live_only_in_the_wal_are_in_the_backup(
    tmp_path: Path,
) -> None:
    """Why a plain file copy is not a backup; and the page proof reads the -wal too."""
    db = make_db(tmp_path / "workflow_history.db", journal="wal")
    writer = sqlite3.connect(db)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    for i in range(20):
        writer.execute("INSERT INTO workflow_history (adw_id) VALUES (?)", (f"walonly{i}",))
        writer.execute("UPDATE workflow_history SET retry_count = ? WHERE id = 3", (i,))
        writer.commit()  # committed, not checkpointed while this connection stays open
    try:
        plain = tmp_path / "plain.db"
        shutil.copyfile(db, plain)
        assert count(plain, "SELECT count(*) FROM workflow_history WHERE adw_id = 'walonly19'") == 0
        result = backup(db, tmp_path / "out")
        assert (
            count(result.path, "SELECT count(*) FROM workflow_history WHERE adw_id LIKE 'walonly%'")
            == 20
        )
        assert count(result.path, "SELECT retry_count FROM workflow_history WHERE id = 3") == 19
        assert result.proof.startswith("page-identical"), result.notes
    finally:
        writer.close()


@pytest.mark.parametrize("mode", [0o600, 0o640])
def test_backup_and_manifest_are_no_more_readable_than_the_source(
    tmp_path: Path, mode: int
) -> None:
    db = make_db(tmp_path / "workflow_history.db")
    db.chmod(mode)
    old = os.umask(0)
    try:
        result = backup(db, tmp_path / "out")
    finally:
        os.umask(old)
    assert result.path.stat().st_mode & 0o777 == mode
    assert result.manifest_path.stat().st_mode & 0o777 == mode


def test_backup_never_overwrites_or_writes_through_a_link(
    sample_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed = datetime(2025, 11, 21, 3, 40, 59, tzinfo=UTC)
    monkeypatch.setattr(backup_mod, "_utc_now", lambda: fixed)
    out = tmp_path / "out"
    out.mkdir()
    squatter = out / "workflow_history_backup_20251121_034059.db"
    squatter.write_bytes(b"precious, not a backup")
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch")
    (out / "workflow_history_backup_20251121_034059_1.json").symlink_to(victim)
    first = backup(sample_db, out)
    second = backup(sample_db, out)
    assert squatter.read_bytes() == b"precious, not a backup"
    assert victim.read_text() == "do not touch"
    assert first.path.name == "workflow_history_backup_20251121_034059_2.db"
    assert second.path.name == "workflow_history_backup_20251121_034059_3.db"
    assert content_hash(first.path) == content_hash(second.path) == content_hash(sample_db)


# --- the proof catches a changed copy ------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE workflow_history SET model_used = 'tampered' WHERE id = 1",
        "UPDATE workflow_history SET cost_per_token = cost_per_token + 1e-12 WHERE id = 7",
        "DELETE FROM tool_calls WHERE id = (SELECT max(id) FROM tool_calls)",
    ],
    ids=["text", "last-digit", "one-row"],
)
def test_check_backup_refuses_a_copy_with_one_changed_value(sample_db: Path, sql: str) -> None:
    made = backup(sample_db)
    con = sqlite3.connect(made.path)
    assert con.execute(sql).rowcount == 1
    con.commit()
    con.close()
    with pytest.raises(BackupError, match="does not match its manifest"):
        check_backup(made.path)


def test_check_backup_refuses_a_flipped_byte_and_a_missing_manifest(sample_db: Path) -> None:
    made = backup(sample_db)
    raw = bytearray(made.path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    made.path.write_bytes(bytes(raw))
    with pytest.raises(BackupError, match="does not match its manifest"):
        check_backup(made.path)
    made.manifest_path.unlink()
    with pytest.raises(BackupError, match="manifest not found"):
        check_backup(made.path)


def test_content_hash_sees_storage_class_and_ignores_physical_layout(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v)")
    con.executemany("INSERT INTO t (v) VALUES (?)", [(1,), ("x",), (None,), (2.5,), (b"\x00",)])
    con.commit()
    original, rows = content_digest(db)
    assert rows == {"t": 5}
    for value in ["1", 1.0, None, 1.0000000000000002, b"1"]:
        con.execute("UPDATE t SET v = ? WHERE id = 1", (value,))
        con.commit()
        assert content_hash(db) != original, value
    con.execute("UPDATE t SET v = 1 WHERE id = 1")
    con.commit()
    con.execute("VACUUM")  # rewrites every page, changes no value
    assert content_hash(db) == original
    con.close()


# --- bad input, locks, disks -----------------------------------------------------


def test_backup_of_a_missing_or_empty_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        backup(tmp_path / "nope.db", tmp_path / "out")
    (tmp_path / "empty.db").write_bytes(b"")
    with pytest.raises(UsageError, match="empty file"):
        backup(tmp_path / "empty.db", tmp_path / "out")
    assert not (tmp_path / "out").exists() or _files(tmp_path / "out") == []


def test_backup_waits_a_bounded_time_for_a_lock_and_leaves_nothing(tmp_path: Path) -> None:
    db = make_db(tmp_path / "workflow_history.db")  # DELETE mode, as the service's file
    out = tmp_path / "out"
    holder = LockHolder(db)
    try:
        run = wfhist("backup", db, "--out", out, "--busy-timeout", "2", timeout=30)
    finally:
        holder.stop()
    line = assert_one_clean_line(run)
    assert "lock" in line and str(db) in line and "2 s" in line, line
    assert run.seconds < 2 + 8, run.seconds
    assert not out.exists() or _files(out) == []


def test_backup_into_a_path_that_is_a_file_fails_clearly(sample_db: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    with pytest.raises(BackupError, match="cannot create the backup directory"):
        backup(sample_db, blocker / "out")


def test_backup_on_a_full_disk_fails_clearly_and_leaves_nothing(
    sample_db: Path, tmp_path: Path
) -> None:
    assert sample_db.stat().st_size > 64 * 1024  # the sample cannot fit
    with tmpfs(tmp_path / "full", "size=64k") as out:
        with pytest.raises(BackupError) as info:
            backup(sample_db, out)
        assert "full" in str(info.value) or "no space" in str(info.value)
        assert str(out) in str(info.value)
        assert _files(out) == []


def test_backup_on_a_read_only_filesystem_fails_clearly_and_leaves_nothing(
    sample_db: Path, tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "ro", "size=4m") as out:
        remount = subprocess.run(
            ["mount", "-o", "remount,ro", str(out)], capture_output=True, text=True, check=False
        )
        if remount.returncode != 0:
            pytest.skip(f"cannot remount read-only: {remount.stderr.strip()}")
        with pytest.raises(BackupError, match="not writable"):
            backup(sample_db, out)
        assert _files(out) == []


def test_backup_on_a_full_disk_via_cli_exits_1(sample_db: Path, tmp_path: Path, capsys) -> None:
    with tmpfs(tmp_path / "full", "size=64k") as out:
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


def test_cli_backup_prints_the_proof(sample_db: Path, tmp_path: Path, capsys) -> None:
    assert main(["backup", str(sample_db), "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "verified" in out and "proof: page-identical" in out
    assert main(["backup", str(sample_db), "--out", str(tmp_path / "j"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sha256"] == file_sha256(Path(data["path"]))


def test_the_real_shaped_sample_backs_up_with_unchecked_foreign_keys_named(
    sample_db: Path, tmp_path: Path
) -> None:
    result = backup(sample_db, tmp_path / "out")
    (note,) = [n for n in result.notes if "non-unique parent" in n]
    for table in ("tool_calls", "hook_events", "pattern_occurrences", "cost_savings_log"):
        assert table in note
    assert result.proof.startswith("page-identical")
    assert json.loads(result.manifest_path.read_text())["notes"] == result.notes


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_backup_with_a_writer_running_is_one_committed_snapshot(
    tmp_path: Path, journal: str
) -> None:
    """A real writer process inserts and updates throughout; the proof still holds."""
    db = make_db(tmp_path / "workflow_history.db", 1000, journal=journal)
    log, stop = tmp_path / "writer.log", tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, str(WRITER), str(db), str(log), str(stop), "3"])
    try:
        deadline = time.monotonic() + 20
        while (
            not log.exists() or log.read_text().count("\n") < 20
        ) and time.monotonic() < deadline:
            time.sleep(0.05)
        before = [ln.split()[1] for ln in log.read_text().splitlines() if ln.startswith("I ")]
        results = [backup(db, tmp_path / f"out{i}") for i in range(2)]
    finally:
        stop.touch()
        assert writer.wait(timeout=30) == 0
    committed = {ln.split()[1] for ln in log.read_text().splitlines() if ln.startswith("I ")}
    for result in results:
        assert result.proof.startswith("page-identical"), result.notes
        con = sqlite3.connect(result.path)
        ids = {r[0] for r in con.execute("SELECT adw_id FROM workflow_history")}
        con.close()
        assert set(before) <= ids  # every insert committed before the backup began
        assert {i for i in ids if i.startswith("live")} <= committed  # nothing uncommitted
        check_backup(result.path)


def test_backups_with_an_older_manifest_are_still_checked_row_by_row(tmp_path: Path) -> None:
    db = make_db(tmp_path / "workflow_history.db")
    made = backup(db, tmp_path / "out")
    digest, rows = content_digest(made.path)
    old = {"format": "wfhist-backup/1", "source": str(db), "content_hash": digest, "rows": rows}
    made.manifest_path.unlink()
    made.manifest_path.write_text(json.dumps(old))
    assert check_backup(made.path)["content_hash"] == digest
    con = sqlite3.connect(made.path)
    con.execute("UPDATE workflow_history SET cost = cost + 1e-9 WHERE id = 5")
    con.commit()
    con.close()
    with pytest.raises(BackupError, match="rows or content hash"):
        check_backup(made.path)


def test_backup_of_a_damaged_file_is_one_line_and_keeps_nothing(tmp_path: Path) -> None:
    db = make_db(tmp_path / "workflow_history.db")
    raw = bytearray(db.read_bytes())
    middle = (len(raw) // 4096 // 2) * 4096
    raw[middle : middle + 4096] = bytes([0x5A]) * 4096
    db.write_bytes(bytes(raw))
    run = wfhist("backup", db, "--out", tmp_path / "out", timeout=60)
    line = assert_one_clean_line(run, codes=(1,))
    assert "damaged" in line, line
    assert _files(tmp_path / "out") == []
