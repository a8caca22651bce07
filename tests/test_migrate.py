"""The migration runner on real files: baseline, record, drift, errors, faults and writers."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FIXTURES, MIGRATIONS

from tests.clirun import StderrLines
from wfhist import migrate as migrate_mod
from wfhist.backup import content_hash
from wfhist.cli import main
from wfhist.exceptions import LockedError, MigrationError, SchemaError, UsageError
from wfhist.lock import migration_lock
from wfhist.migrate import MigrationFailed, migrate
from wfhist.model import MIGRATIONS_TABLE
from wfhist.status import status

ROOT = MIGRATIONS.parent


def _q(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _columns(db: Path, table: str = "workflow_history") -> list[str]:
    return [r[1] for r in _q(db, f"PRAGMA table_info({table})")]


def _history(db: Path) -> list[tuple]:
    return _q(db, f"SELECT version, name, kind FROM {MIGRATIONS_TABLE} ORDER BY version")


def _migrations_dir(tmp_path: Path, *names: str, extra: dict[str, str] | None = None) -> Path:
    """A private migrations directory: copies of shipped files plus ``extra`` {name: sql}."""
    d = tmp_path / "migrations"
    d.mkdir(exist_ok=True)
    for name in names:
        shutil.copyfile(MIGRATIONS / name, d / name)
    for name, sql in (extra or {}).items():
        (d / name).write_text(sql)
    return d


M006 = "006_add_scoring_version.sql"
M007 = "007_schema_version_view.sql"
M008 = "008_rename_temporal_columns.sql"


# --- the acceptance run on the sample ---------------------------------------------


def test_migrate_sample_backup_record_noop_and_rollback(sample_db: Path) -> None:
    rows = _q(sample_db, "SELECT count(*) FROM workflow_history")[0][0]
    original = content_hash(sample_db)
    result = migrate(sample_db)

    assert result.applied == [6, 7] and result.baseline == 5 and result.verdict == "PASS"
    assert result.backup is not None
    assert result.backup.path.is_file() and result.backup.manifest_path.is_file()
    assert content_hash(result.backup.path) == original
    assert _q(sample_db, "SELECT scoring_version, count(*) FROM workflow_history GROUP BY 1") == [
        ("1.0", rows)
    ]
    assert _history(sample_db) == [
        (5, "005-equivalent baseline: everything before 006", "baseline"),
        (6, M006, "applied"),
        (7, M007, "applied"),
    ]
    assert _q(sample_db, "PRAGMA user_version") == [(7,)]
    assert _q(sample_db, "SELECT version, workflow_history_columns FROM schema_version") == [
        (7, 70)
    ]
    st = status(sample_db)
    assert [(m.version, m.state, m.checksum) for m in st.migrations] == [
        (5, "baseline", "-"),
        (6, "applied", "ok"),
        (7, "applied", "ok"),
        (8, "pending", "-"),
    ]
    assert st.current_version == 7 and st.pending[0].opt_in

    # a second run is a no-op: nothing written, not even a backup
    backups = sorted(result.backup.path.parent.iterdir())
    migrated = content_hash(sample_db)
    again = migrate(sample_db)
    assert again.up_to_date and again.backup is None and again.applied == []
    assert content_hash(sample_db) == migrated
    assert sorted(result.backup.path.parent.iterdir()) == backups

    # rollback restores a file whose content hash equals the backup's
    from wfhist.rollback import rollback

    rollback(sample_db, result.backup.path)
    assert content_hash(sample_db) == content_hash(result.backup.path) == original


def test_to_8_renames_the_temporal_columns_and_records_the_renames(sample_db: Path) -> None:
    before = _q(
        sample_db, "SELECT id, submission_hour, submission_day_of_week FROM workflow_history"
    )
    result = migrate(sample_db, to=8)
    assert result.applied == [6, 7, 8] and result.verdict == "PASS"
    cols = _columns(sample_db)
    assert "hour_of_day" in cols and "day_of_week" in cols and "submission_hour" not in cols
    assert len(cols) == 70
    assert _q(sample_db, "SELECT id, hour_of_day, day_of_week FROM workflow_history") == before
    indexes = {r[1] for r in _q(sample_db, "PRAGMA index_list(workflow_history)")}
    assert {"idx_hour_of_day", "idx_day_of_week"} <= indexes
    assert not indexes & {"idx_submission_hour", "idx_submission_day_of_week"}
    renames = _q(sample_db, f"SELECT renames FROM {MIGRATIONS_TABLE} WHERE version = 8")[0][0]
    assert json.loads(renames) == {
        "workflow_history": {
            "submission_hour": "hour_of_day",
            "submission_day_of_week": "day_of_week",
        }
    }
    assert status(sample_db).shape == "renamed"


def test_refuses_rename_on_an_sqlite_without_rename_column(
    sample_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate(sample_db)
    monkeypatch.setattr(migrate_mod, "RENAME_COLUMN_SQLITE", (99, 0, 0))
    before = content_hash(sample_db)
    with pytest.raises(MigrationError, match=r"008_rename_temporal_columns\.sql.*RENAME COLUMN"):
        migrate(sample_db, to=8)
    assert content_hash(sample_db) == before


def test_to_below_the_current_version_or_unknown_is_refused(sample_db: Path) -> None:
    migrate(sample_db)
    with pytest.raises(MigrationError, match="only go forward"):
        migrate(sample_db, to=6)
    with pytest.raises(UsageError, match="no migration 012"):
        migrate(sample_db, to=12)


# --- baselines ---------------------------------------------------------------------


def test_post_006_file_without_history_gets_baseline_6(sample_db: Path) -> None:
    con = sqlite3.connect(sample_db)
    con.execute("ALTER TABLE workflow_history ADD COLUMN scoring_version TEXT DEFAULT '1.0'")
    con.commit()
    con.close()
    st = status(sample_db)
    assert not st.recorded and any("baseline 006" in n for n in st.notes)
    result = migrate(sample_db)
    assert result.baseline == 6 and result.applied == [7]
    assert [v for v, _, _ in _history(sample_db)] == [6, 7]


def test_unknown_shape_is_refused_with_the_differences(sample_db: Path) -> None:
    con = sqlite3.connect(sample_db)
    con.execute("ALTER TABLE workflow_history DROP COLUMN gh_issue_state")
    con.execute("ALTER TABLE workflow_history ADD COLUMN surprise TEXT")
    con.commit()
    con.close()
    before = content_hash(sample_db)
    with pytest.raises(SchemaError, match=r"missing columns \[gh_issue_state\].*\[surprise\]"):
        migrate(sample_db)
    assert content_hash(sample_db) == before
    assert not (sample_db.parent / "backups").exists()


# --- errors in migrations ----------------------------------------------------------------


def test_syntax_error_in_third_statement_leaves_the_file_unchanged(
    sample_db: Path, tmp_path: Path
) -> None:
    bad = (
        "ALTER TABLE workflow_history ADD COLUMN a1 TEXT;\n"
        "UPDATE workflow_history SET a1 = 'x';\n"
        "CREATE TABLEE oops (x);\n"
        "ALTER TABLE workflow_history ADD COLUMN a2 TEXT;\n"
    )
    d = _migrations_dir(tmp_path, extra={"006_bad.sql": bad})
    before = content_hash(sample_db)
    with pytest.raises(MigrationError) as info:
        migrate(sample_db, migrations_dir=d)
    message = str(info.value)
    assert "006_bad.sql" in message and "statement 3 of 4" in message
    assert "syntax error" in message
    assert content_hash(sample_db) == before
    assert _q(sample_db, "PRAGMA user_version") == [(0,)]
    assert not _q(sample_db, "SELECT 1 FROM sqlite_schema WHERE name = ?", (MIGRATIONS_TABLE,))


def test_error_after_good_migrations_rolls_back_all_of_them(
    sample_db: Path, tmp_path: Path
) -> None:
    """All pending migrations share one transaction: all applied and verified, or none."""
    d = _migrations_dir(tmp_path, M006, extra={"007_bad.sql": "SELECT nope FROM nowhere;"})
    before = content_hash(sample_db)
    with pytest.raises(MigrationFailed, match=r"007_bad\.sql.*unchanged at version 005"):
        migrate(sample_db, migrations_dir=d)
    assert content_hash(sample_db) == before
    assert [m.version for m in status(sample_db, d).pending] == [6, 7]


def test_transaction_control_in_a_migration_is_refused_before_anything_runs(
    sample_db: Path, tmp_path: Path
) -> None:
    d = _migrations_dir(
        tmp_path, extra={"006_txn.sql": "BEGIN;\nALTER TABLE workflow_history ADD x;\nCOMMIT;\n"}
    )
    before = content_hash(sample_db)
    refused = r"006_txn\.sql: statement 1 .*refused: BEGIN controls the transaction"
    with pytest.raises(MigrationError, match=refused):
        migrate(sample_db, migrations_dir=d)
    assert content_hash(sample_db) == before


def test_edited_applied_migration_is_refused_and_status_shows_it(
    sample_db: Path, tmp_path: Path
) -> None:
    d = _migrations_dir(tmp_path, M006, M007)
    migrate(sample_db, migrations_dir=d)
    with (d / M006).open("a") as f:
        f.write("-- an innocent-looking edit\n")
    (d / "008_next.sql").write_text("ALTER TABLE workflow_history ADD COLUMN later TEXT;\n")
    st = status(sample_db, d)
    assert {m.version: m.checksum for m in st.migrations}[6] == "changed"
    before = content_hash(sample_db)
    with pytest.raises(MigrationError, match=r"006_add_scoring_version\.sql: migration 006 was"):
        migrate(sample_db, migrations_dir=d)
    assert content_hash(sample_db) == before
    assert main(["migrate", str(sample_db), "--migrations", str(d)]) == 1


def test_missing_applied_migration_is_refused_and_status_shows_it(
    sample_db: Path, tmp_path: Path
) -> None:
    d = _migrations_dir(tmp_path, M006, M007)
    migrate(sample_db, migrations_dir=d)
    (d / M007).unlink()
    assert {m.version: m.checksum for m in status(sample_db, d).migrations}[7] == "missing"
    with pytest.raises(MigrationError, match=r"applied migration 007 .* is missing"):
        migrate(sample_db, migrations_dir=d)


def test_a_migration_that_loses_data_is_rolled_back_and_named(
    sample_db: Path, tmp_path: Path
) -> None:
    d = _migrations_dir(
        tmp_path,
        M006,
        extra={"007_drop.sql": "ALTER TABLE workflow_history DROP COLUMN nl_input;\n"},
    )
    migrate(sample_db, migrations_dir=d, to=6)
    at_6 = content_hash(sample_db)
    with pytest.raises(MigrationError) as info:
        migrate(sample_db, migrations_dir=d)
    message = str(info.value)
    assert "verification FAILED" in message and "workflow_history.nl_input (" in message
    assert "unchanged at version 006" in message and "nothing was lost" in message
    assert isinstance(info.value, MigrationFailed)
    outcome = info.value.result
    assert not outcome.committed and outcome.verdict == "FAIL" and outcome.to_version == 6
    assert outcome.verification is not None
    assert outcome.verification.columns_dropped[0]["column"] == "nl_input"
    assert content_hash(sample_db) == at_6
    assert not list(sample_db.parent.glob("workflow_history.db.before-rollback-*"))  # no restore


# --- the historic 005, given to migrate -------------------------------------------------


def _with_unsafe_005(tmp_path: Path, fixture: str) -> Path:
    source = FIXTURES / fixture
    assert source.is_file(), f"missing fixture {source}"
    return _migrations_dir(tmp_path, M006, M007, extra={"009_unsafe.sql": source.read_text()})


def test_historic_005_as_written_fails_in_its_transaction(sample_db: Path, tmp_path: Path) -> None:
    d = _with_unsafe_005(tmp_path, "005_rename_temporal_columns.sql")
    migrate(sample_db, migrations_dir=d, to=7)
    at_7 = content_hash(sample_db)
    with pytest.raises(MigrationError) as info:
        migrate(sample_db, migrations_dir=d)
    message = str(info.value)
    assert "009_unsafe.sql" in message and "statement 6 of" in message
    assert "no such column" in message
    assert (
        content_hash(sample_db) == at_7
    )  # the two added columns and dropped indexes did not stick


def test_historic_005_restricted_variant_is_caught_and_restored(
    sample_db: Path, tmp_path: Path
) -> None:
    d = _with_unsafe_005(tmp_path, "005_restricted_to_existing_columns.sql")
    migrate(sample_db, migrations_dir=d, to=7)
    at_7 = content_hash(sample_db)
    with pytest.raises(MigrationError) as info:
        migrate(sample_db, migrations_dir=d)
    message = str(info.value)
    assert "50 columns would have been lost" in message
    for column in ("created_at", "model_used", "actual_cost_total", "workflow_id", "id"):
        assert f"workflow_history.{column} (" in message
    assert "rolled back" in message
    assert content_hash(sample_db) == at_7
    assert [v for v, _, _ in _history(sample_db)] == [5, 6, 7]


# --- processes: a second migrate, kill -9, a live writer -------------------------------------

SLOW_MIGRATION = """\
ALTER TABLE workflow_history ADD COLUMN slow_marker TEXT DEFAULT 'migrated';
CREATE TABLE slow_scratch AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c
    WHERE x < {blob_rows}) SELECT x, randomblob(200) AS b FROM c;
CREATE TABLE slow_sum AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c
    WHERE x < {cpu_rows}) SELECT sum(x) AS s FROM c;
DROP TABLE slow_scratch;
"""


def _slow_dir(tmp_path: Path, blob_rows: int = 100_000, cpu_rows: int = 3_000_000) -> Path:
    sql = SLOW_MIGRATION.format(blob_rows=blob_rows, cpu_rows=cpu_rows)
    return _migrations_dir(tmp_path, extra={"006_slow.sql": sql})


def _start_cli(*args: str) -> tuple[subprocess.Popen[str], StderrLines]:
    """Run ``python -m wfhist.cli`` and follow its stderr line by line."""
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "wfhist.cli", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, StderrLines(proc)


def test_second_concurrent_migrate_refuses_at_once(sample_db: Path, tmp_path: Path) -> None:
    d = _slow_dir(tmp_path, blob_rows=10_000, cpu_rows=10_000_000)
    first, lines = _start_cli("migrate", str(sample_db), "--migrations", str(d))
    try:
        lines.wait_for("statement 1/", timeout=20)
        with pytest.raises(LockedError):
            migrate(sample_db, migrations_dir=d, busy_timeout=0.3)
        started = time.monotonic()
        second = subprocess.run(
            [
                *(sys.executable, "-m", "wfhist.cli", "migrate", str(sample_db)),
                *("--migrations", str(d), "--busy-timeout", "0.5"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert time.monotonic() - started < 10
        assert second.returncode == LockedError.exit_code
        assert "another wfhist migrate/rollback is running" in second.stderr
        assert "waiting for the wfhist lock held by pid" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 2  # the waiting line and the error
    finally:
        assert first.wait(timeout=60) == 0
    assert [v for v, _, _ in _history(sample_db)] == [5, 6]


WRITER = """\
import os, sqlite3, sys, time
db, out, stop = sys.argv[1:4]
con = sqlite3.connect(db, isolation_level=None, timeout=30)
con.execute("PRAGMA busy_timeout = 30000")
n = 0
with open(out, "a") as f:
    while not os.path.exists(stop):
        n += 1
        adw = f"w{n:07d}"
        con.execute("BEGIN IMMEDIATE")
        con.execute(
            "INSERT INTO workflow_history (adw_id, status, nl_input) VALUES (?, 'running', ?)",
            (adw, "written by the live writer"),
        )
        con.execute("COMMIT")
        f.write(adw + "\\n")  # only after COMMIT returned: this row is committed
        f.flush()
        time.sleep(0.002)
"""


def test_writer_keeps_writing_through_backup_and_migrate(sample_db: Path, tmp_path: Path) -> None:
    committed = tmp_path / "committed.txt"
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(sample_db), str(committed), str(stop)]
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (
            not committed.exists() or len(committed.read_text().split()) < 30
        ):
            time.sleep(0.02)
        result = migrate(sample_db, to=8)
        time.sleep(0.2)  # a few more rows in the new schema
    finally:
        stop.touch()
        writer.wait(timeout=30)
    assert writer.returncode == 0
    written = committed.read_text().split()
    have = {r[0] for r in _q(sample_db, "SELECT adw_id FROM workflow_history")}
    assert not [a for a in written if a not in have]  # every committed row is present
    assert result.verdict == "PASS" and result.committed
    assert result.backup is not None
    in_backup = {r[0] for r in _q(result.backup.path, "SELECT adw_id FROM workflow_history")}
    assert any(a in in_backup for a in written)  # the writer wrote before the backup snapshot
    assert any(a not in in_backup for a in written)  # and after it, during the migration


# --- CLI ---------------------------------------------------------------------------


def test_cli_migrate_status_and_exit_codes(sample_db: Path, capsys) -> None:
    assert main(["status", str(sample_db)]) == 0
    out = capsys.readouterr().out
    assert "baseline" in out and "006  pending" in out
    assert main(["migrate", str(sample_db)]) == 0
    captured = capsys.readouterr()
    assert "migrated 005 → 007" in captured.out and "verification: PASS" in captured.out
    assert "migrate: applying 006_add_scoring_version.sql" in captured.err  # progress on stderr
    assert main(["migrate", str(sample_db)]) == 0
    assert "up to date at version 007" in capsys.readouterr().out
    assert main(["status", str(sample_db), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["current_version"] == 7 and data["user_version"] == 7
    assert main(["migrate", str(sample_db), "--to", "x"]) == 2
    assert main(["migrate", str(sample_db.parent / "missing.db")]) == 2
    with migration_lock(sample_db):
        assert (
            main(["migrate", str(sample_db), "--to", "8", "--busy-timeout", "0.2"])
            == LockedError.exit_code
        )
    assert os.path.exists(str(sample_db) + ".wfhist-lock")


# --- locks met by migrate (the lock itself: tests/test_lock.py) ----------------------

HOLDER = """\
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("wal", [False, True], ids=["delete", "wal"])
def test_exclusive_lock_elsewhere_fails_within_the_busy_timeout_before_any_backup(
    tmp_path: Path, wal: bool
) -> None:
    from wfhist.demo import create_sample_db

    db = create_sample_db(tmp_path / "workflow_history.db", rows=50, wal=wal)
    before = content_hash(db)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "wfhist", "migrate", str(db), "--busy-timeout", "2"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert done.returncode == LockedError.exit_code, done.stderr
    assert 2 <= elapsed < 2 + 10, elapsed  # the bound, plus interpreter start-up (loaded CI)
    lines = done.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("wfhist: error:")]
    assert len(errors) == 1 and "another process holds a lock" in errors[0], done.stderr
    assert "waited 2 s" in errors[0] and "--busy-timeout" in errors[0]
    assert "Traceback" not in done.stderr
    # it said that it waits, and for what, before the bound ran out (once)
    waits = [line for line in lines if "waiting up to 2 s" in line]
    assert len(waits) == 1 and "lock" in waits[0], done.stderr
    backups = tmp_path / "backups"
    assert not backups.exists() or not list(backups.iterdir())  # nothing partial, no backup
    assert content_hash(db) == before


def test_a_symlink_planted_as_the_lock_file_is_refused_and_its_target_untouched(
    sample_db: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "passwd"
    victim.write_text("root:x:0:0:root:/root:/bin/bash\n")
    victim.chmod(0o644)
    stat_before = victim.stat()
    Path(f"{sample_db}.wfhist-lock").symlink_to(victim)
    done = subprocess.run(
        [sys.executable, "-m", "wfhist", "migrate", str(sample_db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 1 and "wfhist-lock" in errors[0] and "not a lock file" in errors[0]
    assert victim.read_text() == "root:x:0:0:root:/root:/bin/bash\n"
    assert victim.stat().st_mode == stat_before.st_mode
    assert victim.stat().st_mtime_ns == stat_before.st_mtime_ns
    assert not (sample_db.parent / "backups").exists()
    # hard links, FIFOs and the lock file's mode: tests/test_lock.py


def test_max_lock_seconds_rolls_back_a_migration_that_would_keep_writers_waiting(
    sample_db: Path, tmp_path: Path
) -> None:
    d = _slow_dir(tmp_path, blob_rows=1000, cpu_rows=50_000_000)
    before = content_hash(sample_db)
    started = time.monotonic()
    with pytest.raises(MigrationFailed, match=r"longer than --max-lock-seconds 0\.5") as info:
        migrate(sample_db, migrations_dir=d, max_lock_seconds=0.5)
    assert time.monotonic() - started < 10
    lock_seconds = info.value.result.lock_seconds
    assert lock_seconds is not None and 0.5 <= lock_seconds < 3
    assert content_hash(sample_db) == before


# --- the real shape, and the hostile files plan sees ------------------------------------


def test_migrate_passes_on_the_real_shape_with_a_non_unique_parent_key(sample_db: Path) -> None:
    con = sqlite3.connect(sample_db)
    try:
        with pytest.raises(sqlite3.OperationalError, match="foreign key mismatch"):
            con.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        con.close()
    assert main(["migrate", str(sample_db)]) == 0
    assert status(sample_db).current_version == 7


def test_while_the_transaction_is_open_reads_see_the_old_file_and_writes_wait(
    sample_db: Path, tmp_path: Path
) -> None:
    d = _slow_dir(tmp_path, blob_rows=100_000, cpu_rows=10_000_000)  # 20 MB > the page cache
    rows = _q(sample_db, "SELECT count(*) FROM workflow_history")[0][0]
    original = hashlib.sha256(sample_db.read_bytes()).hexdigest()
    proc, lines = _start_cli("migrate", str(sample_db), "--migrations", str(d))
    try:
        lines.wait_for("statement 3/4", timeout=20)
        # cache_spill=OFF: the file keeps its pre-migration bytes until COMMIT
        assert hashlib.sha256(sample_db.read_bytes()).hexdigest() == original
        con = sqlite3.connect(sample_db, timeout=0.3)  # like the service, with a short timeout
        try:
            assert con.execute("SELECT count(*) FROM workflow_history").fetchone() == (rows,)
            assert "slow_marker" not in _columns(sample_db)  # the file as it was
            started = time.monotonic()
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                con.execute("UPDATE workflow_history SET retry_count = 1 WHERE id = 1")
            assert time.monotonic() - started >= 0.25  # it waited its busy timeout
            con.rollback()
        finally:
            con.close()
    finally:
        assert proc.wait(timeout=60) == 0
    assert "slow_marker" in _columns(sample_db)


def test_a_path_with_uri_characters_is_attached_as_itself(sample_db: Path, tmp_path: Path) -> None:
    odd = tmp_path / "odd dir #1" / "work flow?%23.db"
    odd.parent.mkdir()
    shutil.copyfile(sample_db, odd)
    result = migrate(odd)
    assert result.verdict == "PASS" and result.committed and result.applied == [6, 7]
    assert sorted(p.name for p in odd.parent.iterdir() if not p.name.endswith("-lock")) == [
        "backups",
        "work flow?%23.db",
    ]  # no stray file created from a misread URI


READER = """\
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN")
con.execute("SELECT count(*) FROM workflow_history").fetchone()  # holds a read lock
print("reading", flush=True)
time.sleep(60)
"""


def test_a_reader_that_never_ends_makes_commit_give_up_within_the_bound_unchanged(
    sample_db: Path,
) -> None:
    """DELETE mode: COMMIT waits for open reads at most --busy-timeout, then rolls back."""
    before = content_hash(sample_db)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(sample_db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "reading"
        done = subprocess.run(
            [sys.executable, "-m", "wfhist", "migrate", str(sample_db), "--busy-timeout", "1"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        reader.kill()
        reader.wait(timeout=10)
    errors = [line for line in done.stderr.splitlines() if line.startswith("wfhist:")]
    assert done.returncode == LockedError.exit_code, done.stderr
    assert len(errors) == 1 and "waited 1 s to commit" in errors[0], done.stderr
    assert "unchanged at version 005" in errors[0] and "nothing was lost" in errors[0]
    assert content_hash(sample_db) == before


def test_migrate_json_documents_follow_the_schema_committed_and_rolled_back(
    sample_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import jsonschema

    from wfhist.serialize import schema

    jsonschema.Draft202012Validator.check_schema(schema("migrate"))
    validator = jsonschema.Draft202012Validator(schema("migrate"))
    d = _migrations_dir(
        tmp_path, M006, extra={"007_blank.sql": "UPDATE workflow_history SET model_used = NULL;\n"}
    )
    assert main(["migrate", str(sample_db), "--migrations", str(d), "--json"]) == 1
    failed = json.loads(capsys.readouterr().out)
    validator.validate(failed)
    assert failed["verdict"] == "FAIL" and not failed["committed"] and failed["applied"] == []
    assert failed["verification"]["format"] == "wfhist-verify/1"
    (d / "007_blank.sql").unlink()
    assert main(["migrate", str(sample_db), "--migrations", str(d), "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    validator.validate(done)
    assert done["format"] == "wfhist-migrate/1" and done["committed"] and done["applied"] == [6]
    assert main(["migrate", str(sample_db), "--migrations", str(d), "--json"]) == 0
    validator.validate(json.loads(capsys.readouterr().out))  # up to date


LOCK_HOLDER = """\
import sys, time
from wfhist.lock import migration_lock
with migration_lock(sys.argv[1]):
    print("holding", flush=True)
    time.sleep(1.5)
"""


def test_a_run_waits_for_the_wfhist_lock_then_proceeds(
    sample_db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(sample_db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        with caplog.at_level("INFO", logger="wfhist"):
            result = migrate(sample_db, busy_timeout=30)
    finally:
        holder.wait(timeout=30)
    waiting = [
        r.getMessage() for r in caplog.records if "waiting for the wfhist lock" in r.getMessage()
    ]
    assert waiting == [f"waiting for the wfhist lock held by pid {holder.pid} (up to 30 s)"]
    assert result.committed and result.applied == [6, 7]
