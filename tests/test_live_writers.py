"""The service keeps writing through ``wfhist migrate``: nothing it committed may be lost.

A real writer process (tests/writer_proc.py, opened like the service: Python's
sqlite3 defaults, 5 s busy timeout, foreign keys ON) inserts complete rows and
updates old ones throughout a real ``python -m wfhist migrate`` process, and logs
every operation only after its COMMIT returned. Afterwards every logged insert
must be in the file and every updated row must hold the last logged value --
whether the migration PASSed (committed) or FAILed (rolled back) -- in the real
file's DELETE journal mode and in WAL mode.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import MIGRATIONS

from wfhist.demo import create_sample_db

ROOT = MIGRATIONS.parent
WRITER = Path(__file__).resolve().parent / "writer_proc.py"
BLANK = "UPDATE workflow_history SET nl_input = NULL;\n"


@pytest.fixture(params=["delete", "wal"])
def live_db(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    db = create_sample_db(tmp_path / "workflow_history.db", rows=458, wal=request.param == "wal")
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == request.param
    finally:
        con.close()
    return db


class Writer:
    """The writer process, its log of committed operations and its stop file."""

    def __init__(self, db: Path, tmp_path: Path) -> None:
        self.log = tmp_path / "committed.log"
        self.stop_file = tmp_path / "stop"
        self.proc = subprocess.Popen(
            [sys.executable, str(WRITER), str(db), str(self.log), str(self.stop_file)]
        )

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def wait_for(self, ops: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(self.lines()) < ops:
            assert self.proc.poll() is None, "the writer died"
            assert time.monotonic() < deadline, f"the writer committed {len(self.lines())} ops"
            time.sleep(0.02)

    def stop(self) -> dict[str, float]:
        self.stop_file.touch()
        assert self.proc.wait(timeout=30) == 0
        stats: dict[str, float] = json.loads(Path(f"{self.log}.stats").read_text())
        return stats


@pytest.fixture
def writer(live_db: Path, tmp_path: Path) -> Iterator[Writer]:
    w = Writer(live_db, tmp_path)
    try:
        w.wait_for(30)  # it is really writing before migrate starts
        yield w
    finally:
        if w.proc.poll() is None:
            w.stop_file.touch()
            w.proc.wait(timeout=30)


def _migrate(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wfhist", "migrate", str(db), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _assert_every_commit_present(db: Path, lines: list[str]) -> tuple[int, int]:
    """Every logged insert is present; every updated row holds its LAST logged value."""
    inserted = [line.split()[1] for line in lines if line.startswith("I ")]
    last: dict[int, tuple[str, int]] = {}
    for line in lines:
        if line.startswith("U "):
            _, rid, message, retry = line.split()
            last[int(rid)] = (message, int(retry))
    con = sqlite3.connect(db)
    try:
        have = {r[0] for r in con.execute("SELECT adw_id FROM workflow_history")}
        rows = {
            r[0]: (r[1], r[2])
            for r in con.execute("SELECT id, error_message, retry_count FROM workflow_history")
        }
    finally:
        con.close()
    missing = [a for a in inserted if a not in have]
    assert not missing, f"{len(missing)} committed inserts lost, e.g. {missing[:3]}"
    wrong = {rid: (rows.get(rid), want) for rid, want in last.items() if rows.get(rid) != want}
    assert not wrong, (
        f"{len(wrong)} rows lost their last committed update: {list(wrong.items())[:3]}"
    )
    return len(inserted), len(last)


def test_writer_through_a_passing_migrate_loses_nothing(live_db: Path, writer: Writer) -> None:
    done = _migrate(live_db)
    writer.wait_for(len(writer.lines()) + 20)  # it keeps writing afterwards, in the new schema
    stats = writer.stop()
    assert done.returncode == 0, done.stderr
    assert "verification: PASS" in done.stdout and "migrated 005 → 007" in done.stdout
    assert "write lock held" in done.stdout
    inserts, updates = _assert_every_commit_present(live_db, writer.lines())
    assert inserts > 10 and updates > 10
    assert stats["max_wait_s"] < 5  # no write ever waited past the service's busy timeout
    backup = Path(next(x for x in done.stdout.splitlines() if "backup:" in x).split()[-1])
    con = sqlite3.connect(backup)
    try:
        in_backup = {r[0] for r in con.execute("SELECT adw_id FROM workflow_history")}
    finally:
        con.close()
    logged = [x.split()[1] for x in writer.lines() if x.startswith("I ")]
    assert any(a in in_backup for a in logged) and any(a not in in_backup for a in logged)
    con = sqlite3.connect(live_db)
    try:
        assert con.execute("PRAGMA user_version").fetchone() == (7,)
        assert con.execute(
            "SELECT count(*) FROM workflow_history WHERE scoring_version IS NOT '1.0'"
        ).fetchone() == (0,)
    finally:
        con.close()


def test_writer_through_a_failing_migrate_loses_nothing(
    live_db: Path, writer: Writer, tmp_path: Path
) -> None:
    d = tmp_path / "migrations"
    d.mkdir()
    (d / "006_add_scoring_version.sql").write_bytes(
        (MIGRATIONS / "006_add_scoring_version.sql").read_bytes()
    )
    (d / "007_blank_nl_input.sql").write_text(BLANK)
    done = _migrate(live_db, "--migrations", str(d))
    writer.wait_for(len(writer.lines()) + 20)
    writer.stop()
    assert done.returncode == 1, done.stderr
    error = [line for line in done.stderr.splitlines() if line.startswith("wfhist: error:")]
    assert len(error) == 1 and "verification FAILED" in error[0]
    assert "unchanged at version 005" in error[0] and "nothing was lost" in error[0]
    assert "Traceback" not in done.stderr
    inserts, updates = _assert_every_commit_present(live_db, writer.lines())
    assert inserts > 10 and updates > 10
    con = sqlite3.connect(live_db)
    try:
        assert con.execute("PRAGMA user_version").fetchone() == (0,)
        assert "scoring_version" not in {
            r[1] for r in con.execute("PRAGMA table_info(workflow_history)")
        }
        assert (
            con.execute(
                "SELECT count(*) FROM workflow_history WHERE nl_input IS NOT NULL"
            ).fetchone()[0]
            > 400
        )  # the blanked values are all there
    finally:
        con.close()
    assert not list(live_db.parent.glob("*.before-rollback-*"))  # no restore happened
