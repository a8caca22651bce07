"""wfhist.render: one renderer per result type, found by type; verify's text table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from backup_dbs import make_db
from dbfiles import run_sql

from wfhist.backup import backup
from wfhist.render import RENDERERS, render
from wfhist.rollback import rollback
from wfhist.verify import FAIL, format_result, verify


def test_verify_result_renders_one_row_per_check_and_the_verdict(tmp_path: Path) -> None:
    before = run_sql(
        tmp_path / "b.db",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
        "INSERT INTO t VALUES (1, 'a'), (2, 'b')",
    )
    after = run_sql(
        tmp_path / "a.db",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
        "INSERT INTO t VALUES (1, 'a'), (2, 'B')",
    )
    result = verify(before, after)
    assert result.verdict == FAIL
    text = render(result, width=80)
    assert text == format_result(result, width=80)  # the old name is the same renderer
    lines = text.splitlines()
    assert lines[0].startswith(f"BEFORE {before}")
    for check in result.checks:
        assert any(line.startswith(f"{check.name:<16} {check.status:<6}") for line in lines)
    assert lines[-1].startswith("verdict: FAIL")
    assert all(len(line) <= 80 for line in lines[4:-1])


def test_backup_and_rollback_render_their_files_proof_and_notes(tmp_path: Path) -> None:
    db = make_db(tmp_path / "wf.db", rows=40)
    made = backup(db, tmp_path / "backups")
    assert made.notes  # the real shape's foreign keys to a non-unique column are noted
    lines = render(made).splitlines()
    assert lines[0] == f"backup {made.path} verified ({sum(made.rows.values())} rows, " + (
        f"sha256 {made.sha256})"
    )
    assert lines[1] == f"  proof: {made.proof}"
    assert lines[2] == f"manifest {made.manifest_path}"
    assert lines[3:] == [f"  note: {n}" for n in made.notes]
    restored = rollback(db, made.path)
    lines = render(restored).splitlines()
    assert lines[0] == f"restored {db} from {made.path} ({restored.proof})"
    assert lines[1] == f"previous content kept in {restored.kept_aside}"
    assert restored.kept_aside.is_file()


def test_unknown_type_is_refused_and_subclasses_use_the_base_renderer() -> None:
    @dataclass
    class Base:
        n: int

    class Child(Base):
        pass

    with pytest.raises(TypeError, match="no renderer for Base"):
        render(Base(1))
    RENDERERS[Base] = lambda r, **_: f"base {r.n}"
    try:
        assert render(Child(2)) == "base 2"
    finally:
        del RENDERERS[Base]


def test_plan_renders_drops_the_error_what_would_have_stuck_and_the_verdict(
    sample_db: Path,
) -> None:
    from conftest import FIXTURES, MIGRATIONS

    from wfhist.plan import plan_migration
    from wfhist.render import describe_changes

    failed = plan_migration(sample_db, FIXTURES / "005_rename_temporal_columns.sql")
    assert failed.error is not None and failed.partial and failed.keep_going
    text = render(failed)
    lines = text.splitlines()
    assert lines[0].startswith(f"plan: {failed.migration} ({failed.statements} statements)")
    assert lines[1].startswith("drops/rewrites: #1 ALTER TABLE workflow_history")
    n = failed.error["statement_number"]
    assert f"ERROR at statement {n} of {failed.statements}: no such column" in text
    assert f"statements 1-{n - 1} would have stuck (verdict of that state: FAIL):" in text
    for change in describe_changes(failed.partial) + describe_changes(
        failed.keep_going["verification"]
    ):
        assert f"  {change}" in lines
    assert "  rows lost: workflow_history 458 of 458" in lines  # what `sqlite3 db < file` leaves
    assert lines[-1].startswith("plan verdict: FAIL")
    passed = plan_migration(sample_db, MIGRATIONS / "006_add_scoring_version.sql")
    assert passed.verification is not None
    assert describe_changes(passed.verification) == [
        "columns added: workflow_history.scoring_version"
    ]
    text = render(passed, width=80)
    assert render(passed.verification, width=80) in text  # the verification's own table
    assert text.splitlines()[-1].startswith("plan verdict: PASS")
