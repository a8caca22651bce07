"""Adopt and repair the real file as it stood on 2025-11-27 (005 partially applied).

Every promise is checked on real files made by the sample generator in that
state, and the value check reads both files with plain sqlite3, independently
of wfhist's own verification.
"""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, copy_db
from wfhist import adopt
from wfhist.cli import main
from wfhist.demo import create_sample_db
from wfhist.exceptions import MigrationError, SchemaError
from wfhist.migrate import migrate
from wfhist.schema import EXPECTED_BY_STATE, TABLE
from wfhist.sqlscript import split_statements

NEW_NAME = {"submission_hour": "hour_of_day", "submission_day_of_week": "day_of_week"}


@pytest.fixture(scope="session")
def nov27_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("nov27") / "workflow_history.db"
    return create_sample_db(path, state="2025-11-27")


@pytest.fixture
def nov27(nov27_template: Path, tmp_path: Path) -> Path:
    return copy_db(nov27_template, tmp_path / "workflow_history.db")


def _ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tables(con: sqlite3.Connection) -> list[str]:
    rows = con.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    return [r[0] for r in rows]


def _rows(con: sqlite3.Connection, table: str) -> dict[int, dict[str, Any]]:
    cur = con.execute(f'SELECT rowid AS "__rowid", * FROM "{table}"')
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names[1:], r[1:], strict=True)) for r in cur}


def _typed(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)


def _assert_every_value_kept(before: Path, after: Path, renamed: bool = True) -> int:
    """Every non-NULL value of BEFORE, row by row, is in AFTER under its new name."""
    checked = 0
    old, new = _ro(before), _ro(after)
    try:
        for table in _tables(old):
            before_rows, after_rows = _rows(old, table), _rows(new, table)
            for rowid, row in before_rows.items():
                assert rowid in after_rows, f"{table} rowid {rowid} lost"
                for column, value in row.items():
                    if value is None:
                        continue
                    target = column
                    if renamed and table == TABLE:
                        target = NEW_NAME.get(column, column)
                    assert _typed(after_rows[rowid][target]) == _typed(value), (
                        f"{table} rowid {rowid}: {column}={value!r} is "
                        f"{target}={after_rows[rowid][target]!r} after"
                    )
                    checked += 1
    finally:
        old.close()
        new.close()
    return checked


def test_migrate_to_8_on_2025_11_27_keeps_every_value(nov27: Path, tmp_path: Path) -> None:
    original = copy_db(nov27, tmp_path / "original.db")
    con = _ro(nov27)
    recent = con.execute(
        f"SELECT count(*) FROM {TABLE} WHERE day_of_week IS NOT NULL "
        "AND submission_day_of_week IS NULL"
    ).fetchone()[0]
    con.close()
    assert recent > 0  # rows the service wrote after 87423d6: weekday only in day_of_week

    result = migrate(nov27, to=8, backup_dir=tmp_path / "backups")
    assert result.verdict == "PASS" and result.applied == [7, 8] and result.baseline == 6

    assert _assert_every_value_kept(original, nov27) > 458 * 40
    con = _ro(nov27)
    try:
        names = [r[1] for r in con.execute(f"PRAGMA table_info({TABLE})")]
        assert set(names) == set(EXPECTED_BY_STATE["renamed"]) | {"phase_number", "is_multi_phase"}
        # the canonical position: day_of_week is where submission_day_of_week was
        assert names.index("day_of_week") == names.index("hour_of_day") + 1
        indexes = {
            r[0]: r[1]
            for r in con.execute(
                "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?",
                (TABLE,),
            )
        }
        assert "idx_hour_of_day" in indexes and "idx_day_of_week" in indexes
        assert "idx_workflow_type" in indexes  # the partial 005's index is kept
        assert not any(n.startswith("idx_submission") for n in indexes)
        recorded = con.execute(
            "SELECT name, kind, renames FROM wfhist_migrations WHERE version = 8"
        ).fetchone()
        assert recorded[0] == adopt.REPAIR_NAME and recorded[1] == "applied"
        assert '"submission_day_of_week": "day_of_week"' in recorded[2]
        assert '"day_of_week": "day_of_week"' in recorded[2]
    finally:
        con.close()
    # verify on its own reads the recorded renames and the merge from the file
    assert result.backup is not None
    assert main(["verify", str(result.backup.path), str(nov27)]) == 0
    # a second run sees the recorded repair (its checksum), nothing to do
    again = migrate(nov27, to=8, backup_dir=tmp_path / "backups")
    assert again.up_to_date


def test_conflicting_weekdays_refuse_listing_the_rows(nov27: Path, tmp_path: Path) -> None:
    con = sqlite3.connect(nov27)
    row = con.execute(
        f"SELECT rowid, adw_id, submission_day_of_week FROM {TABLE} "
        "WHERE submission_day_of_week IS NOT NULL LIMIT 1"
    ).fetchone()
    con.execute(f"UPDATE {TABLE} SET day_of_week = ? WHERE rowid = ?", ((row[2] + 1) % 7, row[0]))
    con.commit()
    con.close()
    before = _digest(nov27)
    with pytest.raises(MigrationError) as exc:
        migrate(nov27, to=8, backup_dir=tmp_path / "backups")
    message = str(exc.value)
    assert f"rowid {row[0]} adw_id {row[1]}" in message and "1 rows" in message
    assert "never picks one" in message
    assert _digest(nov27) == before  # nothing written, not even the runner's table
    assert main(["migrate", str(nov27), "--to", "8"]) == 1


def test_default_migrate_on_2025_11_27_stops_before_the_repair(nov27: Path, tmp_path: Path) -> None:
    """Without --to the opt-in 008 is held back; a conflict does not block 007."""
    con = sqlite3.connect(nov27)
    con.execute(
        f"UPDATE {TABLE} SET day_of_week = (submission_day_of_week + 1) % 7 "
        "WHERE submission_day_of_week IS NOT NULL"
    )
    con.commit()
    con.close()
    result = migrate(nov27, backup_dir=tmp_path / "backups")
    assert result.applied == [7] and result.verdict == "PASS"
    con = _ro(nov27)
    names = [r[1] for r in con.execute(f"PRAGMA table_info({TABLE})")]
    con.close()
    assert "submission_hour" in names and "day_of_week" in names  # untouched


def test_verification_catches_a_repair_that_drops_the_merged_values(
    nov27: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repair without the merge UPDATE loses the service's recent weekdays: FAIL, unchanged."""
    real = adopt.plan_repair

    def without_merge(con: sqlite3.Connection, table: str = TABLE) -> adopt.Repair | None:
        repair = real(con, table)
        assert repair is not None
        kept = [line for line in repair.sql.splitlines() if not line.startswith("UPDATE")]
        repair.sql = "\n".join(kept) + "\n"
        return repair

    monkeypatch.setattr(adopt, "plan_repair", without_merge)
    before = _digest(nov27)
    with pytest.raises(MigrationError) as exc:
        migrate(nov27, to=8, backup_dir=tmp_path / "backups")
    assert "FAIL" in str(exc.value) or "verification" in str(exc.value)
    assert _digest(nov27) == before


def test_plan_repair_on_a_clean_file_is_none(sample_db: Path) -> None:
    con = _ro(sample_db)
    try:
        assert adopt.plan_repair(con) is None
    finally:
        con.close()


def _post006_plus_extras(tmp_path: Path) -> Path:
    """A post-006 file with two columns wfhist does not know (a later service feature)."""
    db = create_sample_db(tmp_path / "extras.db", rows=80, state="post-006")
    con = sqlite3.connect(db)
    con.execute(f"ALTER TABLE {TABLE} ADD COLUMN phase_number INTEGER")
    con.execute(f"ALTER TABLE {TABLE} ADD COLUMN is_multi_phase BOOLEAN DEFAULT 0")
    con.execute(f"UPDATE {TABLE} SET phase_number = id % 3")
    con.commit()
    con.close()
    return db


def test_baseline_adopts_a_known_shape_plus_extra_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _post006_plus_extras(tmp_path)
    original = copy_db(db, tmp_path / "original.db")
    with pytest.raises(SchemaError):  # unknown shape: refused without --baseline
        migrate(db, backup_dir=tmp_path / "backups")
    assert main(["migrate", str(db), "--baseline", "6", "--backup-dir", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "baseline (--baseline 6): post-006 plus phase_number, is_multi_phase" in out
    con = _ro(db)
    rows = con.execute("SELECT version, kind FROM wfhist_migrations ORDER BY version").fetchall()
    con.close()
    assert rows == [(6, "baseline"), (7, "applied")]
    assert _assert_every_value_kept(original, db, renamed=False) > 80 * 40
    # a second --baseline is refused: the file has a history now
    assert main(["migrate", str(db), "--baseline", "6"]) == 2


def test_baseline_refuses_a_file_missing_columns(tmp_path: Path) -> None:
    db = create_sample_db(tmp_path / "pre.db", rows=40, state="pre-006")
    before = _digest(db)
    with pytest.raises(SchemaError) as exc:
        adopt.record_baseline(db, 6)
    assert "lacks scoring_version" in str(exc.value)
    assert _digest(db) == before
    assert main(["migrate", str(db), "--baseline", "7"]) == 2


@pytest.mark.parametrize("state", ["pre-006", "post-006", "2025-11-27", "renamed"])
def test_every_state_reaches_the_renamed_schema_keeping_every_value(
    tmp_path: Path, state: str
) -> None:
    db = create_sample_db(tmp_path / f"{state}.db", rows=120, state=state)
    original = copy_db(db, tmp_path / "original.db")
    if state == "renamed":  # renamed by hand: no history, adopted at 008
        adopt.record_baseline(db, 8)
    result = migrate(db, to=8, backup_dir=tmp_path / "backups")
    assert result.verdict in ("PASS", None)  # None: nothing was pending
    assert _assert_every_value_kept(original, db) > 120 * 40
    con = _ro(db)
    names = {r[1] for r in con.execute(f"PRAGMA table_info({TABLE})")}
    con.close()
    assert set(EXPECTED_BY_STATE["renamed"]) <= names
    assert not names & {"submission_hour", "submission_day_of_week"}


_SERVICE_87423D6 = """
import os, sqlite3, sys, time
db, log_path, stop = sys.argv[1:4]
con = sqlite3.connect(db)  # the service's defaults: 5 s busy timeout, implicit transactions
n = 0
with open(log_path, "a", encoding="utf-8") as log:
    while not os.path.exists(stop):
        n += 1
        adw, day = f"svc{n:06d}", n % 7
        while True:
            try:  # the code from 87423d6 on: weekday into day_of_week, no hour column to write
                con.execute(
                    "INSERT INTO workflow_history (adw_id, status, day_of_week) "
                    "VALUES (?, 'running', ?)",
                    (adw, day),
                )
                con.commit()
                break
            except sqlite3.OperationalError as exc:
                con.rollback()
                if "locked" not in str(exc):
                    raise
        log.write(f"{adw} {day}\\n")
        log.flush()
        time.sleep(0.002)
"""


def test_repair_while_the_service_writes(nov27: Path, tmp_path: Path) -> None:
    """The service (87423d6 code) keeps inserting during --to 8: every committed row is kept."""
    log, stop = tmp_path / "service.log", tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", _SERVICE_87423D6, str(nov27), str(log), str(stop)]
    )
    try:
        deadline = time.monotonic() + 20
        while (not log.exists() or log.stat().st_size < 200) and time.monotonic() < deadline:
            time.sleep(0.05)
        result = migrate(nov27, to=8, backup_dir=tmp_path / "backups")
        time.sleep(0.3)  # rows written after the COMMIT land in the renamed schema
    finally:
        stop.touch()
        assert writer.wait(timeout=20) == 0
    assert result.verdict == "PASS"
    committed = dict(line.split() for line in log.read_text().splitlines())
    con = _ro(nov27)
    stored = dict(
        con.execute(f"SELECT adw_id, day_of_week FROM {TABLE} WHERE adw_id LIKE 'svc%'").fetchall()
    )
    con.close()
    assert len(committed) > 10
    assert {k: int(v) for k, v in committed.items()} == stored


def test_first_five_statements_of_005_plus_extras_adopted_and_repaired(tmp_path: Path) -> None:
    """005 stopped at statement 6 on a file with an unknown column: --baseline 6 --to 8."""
    db = _post006_plus_extras(tmp_path)
    con = sqlite3.connect(db, isolation_level=None)
    for stmt in split_statements((FIXTURES / "005_rename_temporal_columns.sql").read_text())[:5]:
        con.execute(stmt)
    con.close()
    original = copy_db(db, tmp_path / "original.db")
    assert main(["migrate", str(db), "--baseline", "6", "--to", "8"]) == 0
    # both pairs were merged: every value of both old columns is in the canonical one
    old, new = _ro(original), _ro(db)
    for stored, canonical in NEW_NAME.items():
        before = old.execute(f"SELECT id, {stored}, {canonical} FROM {TABLE} ORDER BY id")
        after = dict(new.execute(f"SELECT id, {canonical} FROM {TABLE}").fetchall())
        for row_id, a, b in before:
            assert after[row_id] == (a if a is not None else b)
    names = [r[1] for r in new.execute(f"PRAGMA table_info({TABLE})")]
    indexes = {r[1] for r in new.execute(f"PRAGMA index_list({TABLE})")}
    old.close()
    new.close()
    assert set(names) == set(EXPECTED_BY_STATE["renamed"]) | {"phase_number", "is_multi_phase"}
    assert {"idx_hour_of_day", "idx_day_of_week"} <= indexes
