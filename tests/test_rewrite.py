"""``wfhist plan DB MIGRATION.sql --rewrite SAFE.sql`` on the historic 005, on real sample files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, MIGRATIONS, copy_db
from wfhist.cli import main
from wfhist.demo import create_sample_db
from wfhist.exceptions import MigrationError
from wfhist.plan import plan_migration
from wfhist.rewrite import rewrite
from wfhist.schema import TABLE

AS_WRITTEN = FIXTURES / "005_rename_temporal_columns.sql"
RESTRICTED = FIXTURES / "005_restricted_to_existing_columns.sql"
M008 = MIGRATIONS / "008_rename_temporal_columns.sql"


def _apply(db: Path, script: Path) -> None:
    con = sqlite3.connect(db, isolation_level=None)
    try:
        con.execute("BEGIN")
        for stmt in script.read_text(encoding="utf-8").split(";\n"):
            if stmt.strip() and not all(
                line.startswith("--") for line in stmt.strip().splitlines()
            ):
                con.execute(stmt)
        con.execute("COMMIT")
    finally:
        con.close()


def _schema(db: Path) -> tuple[list[tuple], dict[str, str]]:
    con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        columns = con.execute(f"PRAGMA table_info({TABLE})").fetchall()
        indexes = {
            name: " ".join(sql.replace('"', "").split())
            for name, sql in con.execute(
                "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL"
            )
        }
        return columns, indexes
    finally:
        con.close()


def _column(db: Path, column: str) -> list[tuple]:
    con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        return con.execute(
            f'SELECT id, "{column}", typeof("{column}") FROM {TABLE} ORDER BY id'
        ).fetchall()
    finally:
        con.close()


def test_plan_rewrite_of_005_passes_and_keeps_the_old_values(
    sample_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    safe = tmp_path / "005_safe.sql"
    assert main(["plan", str(sample_db), str(AS_WRITTEN), "--rewrite", str(safe)]) == 1
    out = capsys.readouterr().out
    assert "plan verdict: FAIL" in out  # the original still fails
    assert f"rewrite: wrote {safe} (its own dry run: PASS)" in out
    text = safe.read_text(encoding="utf-8")
    assert "DROP TABLE" not in text and "AS SELECT" not in text and "INSERT" not in text
    assert "started_at" not in text  # no index on a column that does not exist

    assert plan_migration(sample_db, safe).verdict == "PASS"
    hours, days = (
        _column(sample_db, "submission_hour"),
        _column(sample_db, "submission_day_of_week"),
    )
    assert sum(v is not None for _, v, _ in hours) > 0
    migrated = copy_db(sample_db, tmp_path / "migrated.db")
    _apply(migrated, safe)
    assert _column(migrated, "hour_of_day") == hours
    assert _column(migrated, "day_of_week") == days


@pytest.mark.parametrize("fixture", [AS_WRITTEN, RESTRICTED])
def test_rewrite_of_005_is_008_plus_the_indexes_005_meant(
    sample_db: Path, tmp_path: Path, fixture: Path
) -> None:
    safe = tmp_path / "safe.sql"
    rewrite(sample_db, fixture, safe)
    by_rewrite = copy_db(sample_db, tmp_path / "by_rewrite.db")
    by_008 = copy_db(sample_db, tmp_path / "by_008.db")
    _apply(by_rewrite, safe)
    _apply(by_008, M008)
    columns_r, indexes_r = _schema(by_rewrite)
    columns_8, indexes_8 = _schema(by_008)
    assert columns_r == columns_8
    assert set(indexes_r) - set(indexes_8) == {"idx_workflow_type"}
    assert set(indexes_8) <= set(indexes_r)
    assert indexes_r["idx_workflow_type"].endswith("workflow_history(workflow_type)")
    for name in ("idx_hour_of_day", "idx_day_of_week"):
        assert indexes_r[name].endswith(indexes_8[name].split(" ON ")[1])


def test_rewrite_never_overwrites(sample_db: Path, tmp_path: Path) -> None:
    safe = tmp_path / "safe.sql"
    safe.write_text("-- mine\n", encoding="utf-8")
    assert main(["plan", str(sample_db), str(AS_WRITTEN), "--rewrite", str(safe)]) == 2
    assert safe.read_text(encoding="utf-8") == "-- mine\n"
    link = tmp_path / "link.sql"
    link.symlink_to(tmp_path / "nowhere.sql")
    assert main(["plan", str(sample_db), str(AS_WRITTEN), "--rewrite", str(link)]) == 2
    assert not (tmp_path / "nowhere.sql").exists()


def test_rewrite_that_cannot_pass_writes_nothing(tmp_path: Path) -> None:
    """On the 2025-11-27 file day_of_week exists: the rewrite's own dry run fails, no file."""
    db = create_sample_db(tmp_path / "nov27.db", rows=60, state="2025-11-27")
    safe = tmp_path / "safe.sql"
    with pytest.raises(MigrationError) as exc:
        rewrite(db, AS_WRITTEN, safe)
    assert "did not pass its own dry run" in str(exc.value)
    assert f"'wfhist migrate {db} --to 8' repairs it" in str(exc.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nov27.db"]


def test_plan_points_at_the_rewrite(sample_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(sample_db), str(RESTRICTED)]) == 1
    assert "--rewrite SAFE.sql" in capsys.readouterr().out


HAND_WRITTEN = """-- UPDATE workflow_history SET day_of_week = submission_day_of_week; (a comment)
ALTER TABLE "workflow_history" ADD COLUMN "hour_of_day" INTEGER;
UPDATE "workflow_history" SET "hour_of_day" = "submission_hour";
ALTER TABLE workflow_history ADD COLUMN note TEXT;
UPDATE workflow_history SET note = 'a;b' WHERE id < 3;
CREATE TABLE wh_copy AS SELECT id, adw_id, status, hour_of_day FROM workflow_history;
DROP TABLE workflow_history;
CREATE TABLE workflow_history (id INTEGER PRIMARY KEY, adw_id TEXT, status TEXT, hour_of_day INT);
INSERT INTO workflow_history SELECT * FROM wh_copy;
DROP TABLE wh_copy;
CREATE INDEX "idx;hour" ON workflow_history(hour_of_day);
"""


def test_rewrite_reads_sql_the_way_sqlite_does(sample_db: Path, tmp_path: Path) -> None:
    """Quoted names, ';' in strings and names, a copy only in a comment, a non-copy UPDATE."""
    migration = tmp_path / "009_hand_written.sql"
    migration.write_text(HAND_WRITTEN, encoding="utf-8")
    assert plan_migration(sample_db, migration).verdict == "FAIL"
    safe = tmp_path / "safe.sql"
    result = rewrite(sample_db, migration, safe)
    assert result.verdict == "PASS"
    body = [line for line in safe.read_text().splitlines() if not line.startswith("--")]
    assert body == [
        'ALTER TABLE "workflow_history" RENAME COLUMN "submission_hour" TO "hour_of_day";',
        "ALTER TABLE workflow_history ADD COLUMN note TEXT;",
        "UPDATE workflow_history SET note = 'a;b' WHERE id < 3;",
        'CREATE INDEX "idx;hour" ON workflow_history(hour_of_day);',
    ]


def test_no_rewrite_for_a_migration_that_passes(
    sample_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    safe = tmp_path / "safe.sql"
    assert main(["plan", str(sample_db), str(M008), "--rewrite", str(safe)]) == 0
    assert "rewrite: not needed" in capsys.readouterr().out
    assert not safe.exists()
