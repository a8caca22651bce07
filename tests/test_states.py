"""Every state the real file has been in, through every command an operator runs on it.

Each state of the real-shaped sample (DELETE journal mode, foreign keys pointing at a
non-unique ``workflow_id``, the service's views, triggers and ``schema_migrations``) goes
through ``summary``, ``status``, ``backup``, ``migrate``, ``migrate --to 8``, ``verify`` and
the three reports, as the real command in a child process. Each step must succeed and say
what the state is; the final file must hold every non-NULL value of the original, under its
canonical name.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.clirun import wfhist
from wfhist.demo import create_sample_db
from wfhist.schema import STATES

ROWS = 120
CANONICAL = {"submission_hour": "hour_of_day", "submission_day_of_week": "day_of_week"}


def _values(db: Path) -> dict[tuple[int, str], object]:
    """Every non-NULL value of workflow_history, by (id, canonical column name)."""
    con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        cols = [r[1] for r in con.execute("PRAGMA table_info(workflow_history)")]
        out: dict[tuple[int, str], object] = {}
        for row in con.execute(f"SELECT {', '.join(cols)} FROM workflow_history"):
            values = dict(zip(cols, row, strict=True))
            for col, value in values.items():
                if value is not None:
                    out[(values["id"], CANONICAL.get(col, col))] = value
        return out
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.parametrize("state", STATES)
def test_every_command_on_every_state(state: str, tmp_path: Path) -> None:
    db = create_sample_db(tmp_path / "workflow_history.db", rows=ROWS, state=state)
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    con.close()
    original = _values(db)

    summary = wfhist("summary", db, "--json")
    assert summary.code == 0, summary.err
    assert json.loads(summary.out)["rows"] == ROWS

    status = wfhist("status", db)
    assert status.code == 0, status.err
    assert state in status.out

    backup = wfhist("backup", db, "--out", tmp_path / "backups")
    assert backup.code == 0, backup.err
    backups = sorted((tmp_path / "backups").glob("*_backup_*.db"))
    assert len(backups) == 1

    extra: list[str] = ["--baseline", "8"] if state == "renamed" else []
    first = wfhist("migrate", db, "--backup-dir", tmp_path / "m1", *extra)
    assert first.code == 0, first.err
    to8 = wfhist("migrate", db, "--to", "8", "--backup-dir", tmp_path / "m2")
    assert to8.code == 0, to8.err
    final = wfhist("status", db, "--json")
    assert json.loads(final.out)["current_version"] == 8, final.out

    verify = wfhist("verify", backups[0], db)
    assert verify.code == 0, verify.out + verify.err
    assert "PASS" in verify.out

    after = _values(db)
    lost = {k: v for k, v in original.items() if after.get(k) != v}
    assert not lost, f"{len(lost)} values lost or changed, e.g. {list(lost.items())[:3]}"

    reports = tmp_path / "reports"
    all_reports = wfhist("report", "--all", "--db", db, "--out", reports, timeout=600)
    assert all_reports.code == 0, all_reports.err
    checked = wfhist(
        "report",
        "verify_migration",
        "--db",
        db,
        "--out",
        reports,
        "--no-input",
        "-p",
        "backup_path",
        backups[0],
        timeout=600,
    )
    assert checked.code == 0, checked.err
    for name in ("temporal_analytics", "scoring_versions", "verify_migration"):
        page = (reports / f"{name}.html").read_text(encoding="utf-8")
        assert "Traceback" not in page and "Warning" not in page, name
    assert "PASS" in (reports / "verify_migration.html").read_text(encoding="utf-8")
