"""verify_connection: two schemas of one connection, inside the caller's write transaction.

The migration runner's shape: the live file is ``main`` of a writer connection
holding ``BEGIN IMMEDIATE`` with the migration applied and not committed; the
pre-migration state is attached read-only as ``before``. Every test here uses
real files and a second connection to see what was (not) committed.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from dbfiles import run_sql

from wfhist.exceptions import UsageError
from wfhist.files import readonly_uri
from wfhist.verify import FAIL, PASS, verify, verify_connection


@pytest.fixture
def live(tmp_path: Path) -> Path:
    """A file shaped like the real one: a parent whose workflow_id index is NOT unique."""
    return run_sql(
        tmp_path / "live.db",
        "CREATE TABLE wh (id INTEGER PRIMARY KEY AUTOINCREMENT, workflow_id TEXT, "
        "submission_day_of_week INTEGER, day_of_week INTEGER, cost REAL DEFAULT 0.0)",
        "CREATE INDEX idx_wf ON wh(workflow_id)",
        "CREATE TABLE tool_calls (id INTEGER PRIMARY KEY, "
        "workflow_id TEXT NOT NULL REFERENCES wh(workflow_id), name TEXT)",
        "INSERT INTO wh (workflow_id, submission_day_of_week, day_of_week, cost) VALUES "
        "('wf-1', 0, NULL, 1.5), ('wf-2', NULL, 3, 2.5), ('wf-3', 4, 4, 0.0), "
        "('wf-4', NULL, NULL, 0.25)",
        "INSERT INTO tool_calls (workflow_id, name) VALUES ('wf-1', 'grep'), ('wf-2', 'ls')",
    )


def _runner(live: Path, tmp_path: Path) -> sqlite3.Connection:
    """Writer on ``live`` with the pre-migration snapshot attached as ``before``, in BEGIN."""
    snapshot = tmp_path / "snapshot.db"
    shutil.copyfile(live, snapshot)
    con = sqlite3.connect(live, isolation_level=None)
    con.execute("ATTACH DATABASE ? AS before", (readonly_uri(snapshot),))
    con.execute("BEGIN IMMEDIATE")
    return con


def _columns(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return [r[1] for r in con.execute("PRAGMA table_info(wh)")]
    finally:
        con.close()


def test_pass_inside_the_open_transaction_commits_nothing(live: Path, tmp_path: Path) -> None:
    con = _runner(live, tmp_path)
    con.execute("ALTER TABLE wh ADD COLUMN scoring_version TEXT DEFAULT '1.0'")
    result = verify_connection(con, before_label="snapshot", after_label="live (uncommitted)")
    assert result.verdict == PASS, [(c.name, c.status, c.detail) for c in result.checks]
    assert con.in_transaction  # verify neither committed nor rolled back
    assert "scoring_version" not in _columns(live)  # other connections see nothing yet
    assert result.before["path"] == "snapshot"
    assert "4/4 rows = '1.0'" in result.check("columns_added").detail
    assert result.check("integrity").detail.startswith("quick_check ok")
    con.execute("ROLLBACK")
    con.close()


def test_fail_inside_the_transaction_then_rollback_leaves_the_file(
    live: Path, tmp_path: Path
) -> None:
    con = _runner(live, tmp_path)
    con.execute("UPDATE wh SET cost = 0.0 WHERE id = 2")
    result = verify_connection(con)
    assert result.verdict == FAIL
    assert result.check("values").samples[0]["samples"][0]["key"] == {"id": 2}
    con.execute("ROLLBACK")
    con.close()
    assert verify(tmp_path / "snapshot.db", live).verdict == PASS


def test_foreign_key_mismatch_is_reported_not_raised(live: Path, tmp_path: Path) -> None:
    con = _runner(live, tmp_path)
    con.execute("PRAGMA foreign_keys = ON")  # as the service's connections run
    result = verify_connection(con)
    integrity = result.check("integrity")
    # The mismatch was already in BEFORE: a WARN naming it, never an exception.
    assert integrity.status != FAIL and "foreign key mismatch" in integrity.detail
    assert "tool_calls" in result.integrity["foreign_key_check"]["mismatches"]
    con.execute("ROLLBACK")
    con.close()


_MERGE = {"wh": {"submission_day_of_week": "day_of_week", "day_of_week": "day_of_week"}}


def _merge_migration(con: sqlite3.Connection) -> None:
    con.execute("UPDATE wh SET day_of_week = coalesce(day_of_week, submission_day_of_week)")
    con.execute("ALTER TABLE wh DROP COLUMN submission_day_of_week")


def test_merge_of_two_columns_passes_when_no_value_differs(live: Path, tmp_path: Path) -> None:
    con = _runner(live, tmp_path)
    _merge_migration(con)
    result = verify_connection(con, renames=_MERGE)
    assert result.verdict == PASS, [(c.name, c.status, c.detail) for c in result.checks]
    assert result.check("columns_dropped").detail == "none"
    con.execute("ROLLBACK")
    con.close()


def test_merge_with_conflicting_values_fails_naming_the_rows(live: Path, tmp_path: Path) -> None:
    con = sqlite3.connect(live, isolation_level=None)
    con.execute("UPDATE wh SET day_of_week = 6 WHERE id = 3")  # 4 vs 6: a real conflict
    con.close()
    con = _runner(live, tmp_path)
    _merge_migration(con)
    result = verify_connection(con, renames=_MERGE)
    assert result.verdict == FAIL
    [conflict] = result.merge_conflicts
    assert conflict["rows"] == 1
    assert conflict["samples"][0]["key"] == {"id": 3}
    assert "merge conflict" in result.check("values").detail
    con.execute("ROLLBACK")
    con.close()


def test_merge_that_loses_a_value_fails(live: Path, tmp_path: Path) -> None:
    con = _runner(live, tmp_path)
    con.execute("ALTER TABLE wh DROP COLUMN submission_day_of_week")  # id 1's 0 is gone
    result = verify_connection(con, renames=_MERGE)
    assert result.verdict == FAIL
    [changed] = [v for v in result.values_changed if v["column"] == "submission_day_of_week"]
    assert changed["changed"] == 1 and changed["samples"][0]["key"] == {"id": 1}
    con.execute("ROLLBACK")
    con.close()


def test_unknown_schema_is_a_usage_error(live: Path) -> None:
    con = sqlite3.connect(live, isolation_level=None)
    with pytest.raises(UsageError, match="no schema 'before'"):
        verify_connection(con)
    con.close()


def test_text_factory_is_restored(live: Path, tmp_path: Path) -> None:
    con = _runner(live, tmp_path)
    con.text_factory = bytes
    verify_connection(con)
    assert con.text_factory is bytes
    con.execute("ROLLBACK")
    con.close()


def test_package_is_not_shadowed_by_a_function() -> None:
    import types

    import wfhist
    import wfhist.verify

    assert isinstance(wfhist.verify, types.ModuleType)
    assert wfhist.verify_files is wfhist.verify.verify


def test_never_issues_transaction_control_or_attach(live: Path, tmp_path: Path) -> None:
    con = _runner(live, tmp_path)
    con.execute("ALTER TABLE wh ADD COLUMN extra TEXT")
    issued: list[str] = []
    con.set_trace_callback(issued.append)
    verify_connection(con, integrity="full")
    con.set_trace_callback(None)
    verbs = {s.split(None, 1)[0].upper() for s in issued if s.strip()}
    assert verbs, "the trace saw no statements: the test could not fail"
    assert not verbs & {"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"}
    assert not verbs & {"ATTACH", "DETACH", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP"}
    assert any("integrity_check" in s for s in issued)
    con.execute("ROLLBACK")
    con.close()


def test_merge_renames_keep_the_merge_target_and_compose() -> None:
    from wfhist.verify import merge_renames, parse_renames

    merge = {"t": {"s": "d", "d": "d"}}
    assert merge_renames(merge) == merge  # "d -> d" is not swallowed by "s -> d"
    assert merge_renames(merge, {"t": {"d": "e"}}) == {"t": {"s": "e", "d": "e"}}
    assert parse_renames(["t.s=d", "t.d=d"]) == merge
