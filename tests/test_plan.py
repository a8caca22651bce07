"""wfhist.plan: dry runs on a temporary copy, judged by verify; the live file never changes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile_cases import CASES, REFUSED, HostileCase, files_under, materialize
from wfhist.backup import online_copy
from wfhist.cli import main
from wfhist.plan import plan_migration
from wfhist.render import describe_changes, render
from wfhist.schema import COLUMNS_PRE_006, TABLE
from wfhist.sqlscript import RefusedStatement, StatementError, read_script, run_script
from wfhist.verify import FAIL, PASS, WARN

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
MIGRATIONS = ROOT / "migrations"
AS_WRITTEN = FIXTURES / "005_rename_temporal_columns.sql"
RESTRICTED = FIXTURES / "005_restricted_to_existing_columns.sql"
M006 = MIGRATIONS / "006_add_scoring_version.sql"
M008 = MIGRATIONS / "008_rename_temporal_columns.sql"


def _snapshot(path: Path) -> tuple[bytes, int, bytes]:
    """Bytes and mtime of the database file, and the content of its -wal.

    A reader of a WAL database may create empty ``-wal``/``-shm`` side files (any
    SQLite reader does, the service's own included); the data must not change.
    """
    wal = Path(f"{path}-wal")
    return path.read_bytes(), os.stat(path).st_mtime_ns, wal.read_bytes() if wal.exists() else b""


def _kept_columns(sql_path: Path) -> set[str]:
    """The existing columns the 005 rebuild keeps: those its new CREATE TABLE names."""
    con = sqlite3.connect(":memory:")
    stmt = next(s for s in read_script(sql_path).split(";") if f"CREATE TABLE {TABLE} (" in s)
    con.execute(stmt)
    return {r[1] for r in con.execute(f"PRAGMA table_info({TABLE})")}


def _non_null(db: Path, column: str) -> int:
    con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        return con.execute(f'SELECT count("{column}") FROM {TABLE}').fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "plan-work"
    path.mkdir()
    return path


def test_005_as_written_errors_at_create_table_as_select(
    sample_db: Path, workdir: Path, capsys
) -> None:
    before = _snapshot(sample_db)
    result = plan_migration(sample_db, AS_WRITTEN, workdir=workdir)
    assert result.verdict == FAIL
    err = result.error
    assert err is not None
    # the reference's facts: statement 6 of 19, the first of the 14 nonexistent names
    assert err["statement"].startswith("CREATE TABLE workflow_history_temp AS SELECT")
    assert (err["statement_number"], result.statements) == (6, 19)
    assert err["message"] == "no such column: issue_title"
    # the statements before it, without a transaction, would have stuck:
    partial = result.partial
    assert partial is not None
    assert {(a["table"], a["column"]) for a in partial.columns_added} == {
        (TABLE, "hour_of_day"),
        (TABLE, "day_of_week"),
    }
    assert {i["name"] for i in partial.indexes_dropped} == {
        "idx_submission_hour",
        "idx_submission_day_of_week",
    }
    assert not partial.columns_dropped
    # a runner that ignores errors leaves the table empty
    assert result.keep_going is not None
    lost = result.keep_going["verification"]
    assert lost.verdict == FAIL
    assert lost.tables[TABLE]["rows_missing"] == lost.tables[TABLE]["rows_before"] == 458
    text = render(result)
    assert f"ERROR at statement {err['statement_number']}" in text
    assert "hour_of_day" in text and "idx_submission_hour" in text
    assert _snapshot(sample_db) == before
    assert list(workdir.iterdir()) == []  # temporary copies removed

    assert main(["plan", str(sample_db), str(AS_WRITTEN), "--workdir", str(workdir)]) == 1
    assert "would have stuck" in capsys.readouterr().out
    assert _snapshot(sample_db) == before


def test_005_as_written_error_statement_number_matches_the_script(sample_db: Path) -> None:
    """The reported statement number is the one SQLite itself fails on."""
    result = plan_migration(sample_db, AS_WRITTEN)
    copy = sample_db.with_name("check.db")
    online_copy(sample_db, copy)
    con = sqlite3.connect(copy, isolation_level=None)
    with pytest.raises(StatementError) as exc:
        run_script(con, read_script(AS_WRITTEN), source="x")
    con.close()
    assert result.error is not None
    assert result.error["statement_number"] == exc.value.statement_number


@pytest.mark.parametrize("shape", ["pre-006", "post-006"])
def test_005_restricted_fails_listing_lost_columns(
    sample_db: Path, workdir: Path, shape: str
) -> None:
    if shape == "post-006":
        con = sqlite3.connect(sample_db, isolation_level=None)
        run_script(con, read_script(M006), source=str(M006))
        con.close()
    before = _snapshot(sample_db)
    result = plan_migration(sample_db, RESTRICTED, workdir=workdir)
    assert result.error is None
    verification = result.verification
    assert verification is not None and result.verdict == FAIL

    all_columns = [c.name for c in COLUMNS_PRE_006] + (
        ["scoring_version"] if shape == "post-006" else []
    )
    expected = [c for c in all_columns if c not in _kept_columns(RESTRICTED)]
    assert len(expected) == (49 if shape == "pre-006" else 50)
    dropped = {d["column"]: d["non_null"] for d in verification.columns_dropped}
    assert list(dropped) == expected
    for column in ("created_at", "model_used", "actual_cost_total", "id", "workflow_id"):
        assert dropped[column] == _non_null(sample_db, column) > 0
    assert verification.check("columns_dropped").status == FAIL
    # the primary key id is gone (005 makes adw_id the key), rows are matched by adw_id instead
    pk = [c for c in verification.schema_changes if c["change"] == "primary key"]
    assert pk == [
        {
            "table": TABLE,
            "change": "primary key",
            "column": None,
            "before": ["id"],
            "after": ["adw_id"],
        }
    ]
    assert verification.tables[TABLE]["key"].startswith("adw_id")
    lost_indexes = {i["name"] for i in verification.indexes_dropped}
    assert {"idx_created_at", "idx_model_used", "idx_workflow_history_workflow_id"} <= lost_indexes
    # the related tables reference workflow_history(workflow_id), not unique even before (the
    # real shape): reported as a mismatch already in BEFORE, never a crash
    integrity = verification.check("integrity")
    assert integrity.status == WARN and "foreign key mismatch" in integrity.detail
    # counts alone would have said "all rows kept"
    assert verification.check("rows").status == PASS
    assert _snapshot(sample_db) == before
    assert main(["plan", str(sample_db), str(RESTRICTED), "--workdir", str(workdir)]) == 1
    assert list(workdir.iterdir()) == []


def test_006_plan_passes(sample_db: Path, workdir: Path, tmp_path: Path, capsys) -> None:
    before = _snapshot(sample_db)
    result = plan_migration(sample_db, M006, workdir=workdir)
    assert result.verdict == PASS and result.verification is not None
    added = result.verification.columns_added
    assert [(a["column"], a["rows_default"], a["rows"]) for a in added] == [
        ("scoring_version", 458, 458)
    ]
    assert [a["action"] for a in result.actions] == ["ALTER TABLE"]
    out = tmp_path / "plan.json"
    assert main(["plan", str(sample_db), str(M006), "--json", str(out)]) == 0
    assert '"verdict": "PASS"' in out.read_text()
    assert "plan verdict: PASS" in capsys.readouterr().out
    assert _snapshot(sample_db) == before
    assert list(workdir.iterdir()) == []


def test_008_plan_takes_renames_from_the_script(sample_db: Path) -> None:
    result = plan_migration(sample_db, M008)
    assert result.renames == {
        TABLE: {"submission_hour": "hour_of_day", "submission_day_of_week": "day_of_week"}
    }
    assert result.verdict == PASS and result.verification is not None
    assert len(result.verification.indexes_renamed) == 2


def test_plan_against_live_writer_snapshot(sample_db: Path) -> None:
    """Rows committed in the live file's WAL are in the snapshot the plan works on."""
    writer = sqlite3.connect(sample_db)
    writer.execute("PRAGMA wal_autocheckpoint = 0")  # keep the new row in the -wal file
    writer.execute(f"INSERT INTO {TABLE} (adw_id, status) VALUES ('feedbeef', 'running')")
    writer.commit()
    try:
        result = plan_migration(sample_db, M006)
    finally:
        writer.close()
    assert result.verdict == PASS and result.verification is not None
    assert result.verification.tables[TABLE]["rows_before"] == 459


def test_describe_changes_on_identical_state_is_empty(sample_db: Path) -> None:
    result = plan_migration(sample_db, M006)
    assert result.verification is not None
    lines = describe_changes(result.verification)
    assert lines == [f"columns added: {TABLE}.scoring_version"]


def test_missing_migration_file_is_a_clear_error(sample_db: Path, tmp_path: Path, capsys) -> None:
    assert main(["plan", str(sample_db), str(tmp_path / "nope.sql")]) == 1
    assert "migration file not found" in capsys.readouterr().err
    assert main(["plan", str(tmp_path / "nope.db"), str(M006)]) == 2


# --- hostile migration files: plan is a sandbox --------------------------------------------


def _outside_files(root: Path) -> dict[str, tuple[int, int]]:
    """Files below ``root``, leaving out the live file's -wal/-shm (checked by _snapshot)."""
    return {k: v for k, v in files_under(root).items() if not k.endswith(("-wal", "-shm"))}


@pytest.mark.parametrize("case", CASES, ids=[c.fixture for c in CASES])
def test_hostile_migration_through_plan_cli(
    case: HostileCase, sample_db: Path, tmp_path: Path
) -> None:
    """Every hostile file: the verdict of the table, one line or a report, nothing written.

    The live file keeps its bytes and mtime, the work directory is emptied, and no file
    appears anywhere else (``VACUUM INTO``'s target, an attached copy).
    """
    out_dir = tmp_path / "elsewhere"
    out_dir.mkdir()
    workdir = tmp_path / "plan-work"
    workdir.mkdir()
    migration = materialize(case, tmp_path / case.fixture, live_db=sample_db, out_dir=out_dir)
    before, files = _snapshot(sample_db), _outside_files(tmp_path)
    args = ["plan", str(sample_db), str(migration), "--workdir", str(workdir), "--json", "-"]
    proc = subprocess.run(
        [sys.executable, "-m", "wfhist.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert "Traceback" not in proc.stdout + proc.stderr
    if case.outcome == REFUSED:
        assert proc.returncode == 1 and proc.stdout == ""
        (line,) = proc.stderr.strip().splitlines()
        assert f"{migration}: statement {case.statement} (line " in line
        assert "refused" in line and case.says in line
    else:
        assert proc.returncode == (0 if case.outcome == PASS else 1), proc.stderr
        data = json.loads(proc.stdout)
        assert data["verdict"] == case.outcome
        if case.outcome == PASS:
            added = data["verification"]["columns_added"]
            assert {(a["table"], a["column"]) for a in added} == {
                (TABLE, c) for c in case.columns_added
            }
        elif case.statement is not None:
            assert data["error"]["statement_number"] == case.statement
            assert case.says in data["error"]["message"]
        else:
            assert case.says in json.dumps(data["verification"])
    assert _snapshot(sample_db) == before
    assert list(workdir.iterdir()) == [] and list(out_dir.iterdir()) == []
    assert _outside_files(tmp_path) == files


def test_plan_refusal_is_raised_before_anything_is_copied(sample_db: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "plan-work"
    workdir.mkdir()
    case = next(c for c in CASES if c.fixture == "hidden_commit.sql")
    with pytest.raises(RefusedStatement) as exc:
        plan_migration(sample_db, case.path, workdir=workdir)
    assert exc.value.exit_code == 1 and "statement 2" in str(exc.value)
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize("bad", ["missing", "a_file"])
def test_bad_workdir_is_one_line(sample_db: Path, tmp_path: Path, bad: str, capsys) -> None:
    (tmp_path / "a_file").write_text("x")
    before = _snapshot(sample_db)
    assert main(["plan", str(sample_db), str(M006), "--workdir", str(tmp_path / bad)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert f"--workdir {tmp_path / bad}: cannot create a temporary directory" in line
    assert _snapshot(sample_db) == before


def test_plan_denies_at_run_time_what_the_text_does_not_show(
    sample_db: Path, tmp_path: Path
) -> None:
    """A trigger already in the file writes the runner's table when the migration fires it:
    the text passes the guard, the sandbox denies it while running -> FAIL naming statement 1."""
    con = sqlite3.connect(sample_db, isolation_level=None)
    con.execute("CREATE TABLE wfhist_migrations (version INTEGER PRIMARY KEY, name TEXT)")
    con.execute(
        f"CREATE TRIGGER forget AFTER INSERT ON {TABLE} BEGIN DELETE FROM wfhist_migrations; END"
    )
    con.close()
    migration = tmp_path / "insert.sql"
    migration.write_text(f"INSERT INTO {TABLE} (adw_id, status) VALUES ('feedbeef', 'running');\n")
    before = _snapshot(sample_db)
    result = plan_migration(sample_db, migration)
    assert result.verdict == FAIL and result.error is not None
    assert result.error["statement_number"] == 1
    assert result.error["message"].startswith("not allowed: it writes wfhist_migrations")
    assert result.keep_going is not None  # the runner without a transaction is sandboxed too
    assert result.keep_going["errors"][0]["message"] == result.error["message"]
    assert _snapshot(sample_db) == before
