"""``wfhist status`` describes any file: known states, partial migrations, strangers, service."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from dbfiles import run_sql

from tests.conftest import FIXTURES, copy_db
from wfhist.cli import main
from wfhist.demo import create_sample_db
from wfhist.schema import STATES, TABLE
from wfhist.sqlscript import split_statements
from wfhist.status import status

AS_WRITTEN = FIXTURES / "005_rename_temporal_columns.sql"
RESTRICTED = FIXTURES / "005_restricted_to_existing_columns.sql"


@pytest.fixture(scope="session")
def state_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("states")
    return {s: create_sample_db(root / f"{s}.db", rows=200, state=s) for s in STATES}


@pytest.fixture
def files(state_templates: dict[str, Path], tmp_path: Path) -> dict[str, Path]:
    return {s: copy_db(p, tmp_path / p.name) for s, p in state_templates.items()}


@pytest.mark.parametrize("state", STATES)
def test_each_known_state_is_recognised(
    files: dict[str, Path], state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = status(files[state])
    assert result.known and result.nearest == state and result.shape == state
    assert [r["migration_file"] for r in result.service_migrations][:3] == [
        "002_add_performance_metrics.sql",
        "003_add_analytics_metrics.sql",
        "004_add_observability_and_pattern_learning.sql",
    ]
    assert result.way_forward
    assert main(["status", str(files[state])]) == 0
    out = capsys.readouterr().out
    assert f"state: {state} (a known state)" in out and "way forward: wfhist migrate" in out


def test_2025_11_27_names_the_partial_005_and_the_service_code(files: dict[str, Path]) -> None:
    result = status(files["2025-11-27"])
    assert result.partial == [
        "005 partially applied: day_of_week added, idx_submission_day_of_week dropped, "
        "idx_day_of_week/idx_workflow_type created, rebuild not run (not in the service's "
        "schema_migrations: its runner records a file only when every statement succeeded)"
    ]
    assert len(result.service_code) == 1
    assert "day_of_week exists without hour_of_day" in result.service_code[0]
    assert result.way_forward == [f"wfhist migrate {files['2025-11-27']} --to 8"]
    assert [m.name for m in result.pending][-1] == "008_repair_temporal_columns.sql"


def test_the_renamed_file_has_nothing_to_say_about_the_service(files: dict[str, Path]) -> None:
    result = status(files["renamed"])
    assert result.service_code == [] and result.partial == []
    assert result.way_forward == [f"wfhist migrate {files['renamed']} --baseline 8"]


def test_first_five_statements_of_005_are_named(files: dict[str, Path]) -> None:
    """What the service's runner leaves when 005 stops at statement 6."""
    db = files["post-006"]
    run_sql(db, *split_statements(AS_WRITTEN.read_text(encoding="utf-8"))[:5])
    result = status(db)
    assert not result.known and result.nearest == "post-006"
    assert result.partial[0].startswith(
        "005 partially applied: hour_of_day/day_of_week added, "
        "idx_submission_hour/idx_submission_day_of_week dropped, rebuild not run ("
    )
    assert result.differences["columns"]["extra"] == ["hour_of_day", "day_of_week"]
    assert result.differences["indexes"]["missing"] == [
        "idx_submission_day_of_week",
        "idx_submission_hour",
    ]
    assert result.way_forward == [f"wfhist migrate {db} --baseline 6 --to 8"]


def test_extra_columns_give_the_baseline_command(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db = files["post-006"]
    run_sql(db, f"ALTER TABLE {TABLE} ADD COLUMN phase_number INTEGER")
    assert main(["status", str(db)]) == 0  # a report: exit 0, not "extra columns" exit 2
    out = capsys.readouterr().out
    assert "unknown; nearest known state post-006" in out
    assert "extra columns: phase_number" in out
    assert f"way forward: wfhist migrate {db} --baseline 6" in out


def test_missing_columns_views_and_triggers_are_listed(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db = files["pre-006"]
    con = sqlite3.connect(db)
    trigger = con.execute("SELECT name FROM sqlite_schema WHERE type = 'trigger'").fetchone()[0]
    view = con.execute("SELECT name FROM sqlite_schema WHERE type = 'view'").fetchone()[0]
    con.close()
    run_sql(db, f"DROP TRIGGER {trigger}", f"DROP VIEW {view}")
    run_sql(db, *split_statements(RESTRICTED.read_text(encoding="utf-8")))
    assert main(["status", str(db), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    # the rebuilt 22 columns include hour_of_day/day_of_week: closest to the renamed state
    assert doc["known"] is False and doc["nearest"] == "renamed"
    missing = doc["differences"]["columns"]["missing"]
    assert len(missing) == 48 and "created_at" in missing and "scoring_version" in missing
    assert doc["differences"]["triggers"]["missing"] == [trigger]
    assert doc["differences"]["views"]["missing"] == [view]
    assert doc["way_forward"][0].startswith("cannot be adopted")


def test_an_unreadable_file_is_the_only_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("not a database\n" * 100)
    assert main(["status", str(text)]) == 2


def test_conflicting_weekdays_are_counted(files: dict[str, Path]) -> None:
    db = files["2025-11-27"]
    run_sql(
        db,
        f"UPDATE {TABLE} SET day_of_week = (submission_day_of_week + 1) % 7 "
        "WHERE submission_day_of_week IS NOT NULL",
    )
    con = sqlite3.connect(db)
    n = con.execute(f"SELECT count(*) FROM {TABLE} WHERE submission_day_of_week IS NOT NULL")
    expected = n.fetchone()[0]
    con.close()
    assert expected > 0
    notes = status(db).notes
    assert f"{expected} rows hold different values in submission_day_of_week and day_of_week" in (
        " ".join(notes)
    )
