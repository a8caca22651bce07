"""Another process holds the database locked: every command gives up within its bound.

The README promises bounded, stated waits: no command waits forever on a lock, each says
what it waited for, and nothing partial is left behind (no backup, no ``.tmp-`` file, no
``.before-rollback-*`` copy, no Parquet folder).
"""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backup_dbs import LockHolder
from tests.clirun import assert_one_clean_line, wfhist

ROOT = Path(__file__).resolve().parent.parent
MIGRATION_006 = ROOT / "migrations" / "006_add_scoring_version.sql"
BOUND = 2.0
#: Interpreter start-up, imports and the work before the wait, on a loaded 2-core machine.
SLACK = 20.0


@pytest.fixture
def locked_db(sample_db_template: Path, tmp_path: Path) -> Iterator[Path]:
    db = tmp_path / "live.db"
    shutil.copyfile(sample_db_template, db)
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode = DELETE").fetchone()[0] == "delete"
    con.close()
    backup = wfhist("backup", db, "--out", tmp_path / "backups")
    assert backup.code == 0, backup.err
    holder = LockHolder(db)
    try:
        yield db
    finally:
        holder.stop()


def _backup_of(d: Path) -> Path:
    return sorted((d / "backups").glob("*_backup_*.db"))[0]


COMMANDS = {
    "summary": lambda db, d: ["summary", db],
    "status": lambda db, d: ["status", db],
    "backup": lambda db, d: ["backup", db, "--out", d / "backups2"],
    "plan": lambda db, d: ["plan", db, MIGRATION_006],
    "migrate": lambda db, d: ["migrate", db, "--backup-dir", d / "backups3"],
    "verify": lambda db, d: ["verify", _backup_of(d), db],
    "rollback": lambda db, d: ["rollback", db, "--backup", _backup_of(d)],
    "export": lambda db, d: ["export", db, "--parquet", d / "parquet"],
    "report": lambda db, d: ["report", "temporal_analytics", "--db", db, "--out", d / "reports"],
}


#: Commands that say "waiting" before the bound is over (migrate, rollback, report wait inside
#: SQLite's silent busy handler and say it in their one error line).
SAYS_WAITING = {"summary", "export", "verify", "status", "backup", "plan"}


def _names(d: Path) -> list[str]:
    """Every file under ``d``, except the lock file migrate/rollback keep (README: it stays)."""
    return sorted(p.name for p in d.rglob("*") if not p.name.endswith(".wfhist-lock"))


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_gives_up_within_its_bound(command: str, locked_db: Path, tmp_path: Path) -> None:
    before = _names(tmp_path)
    data = locked_db.read_bytes()
    args = [*COMMANDS[command](locked_db, tmp_path), "--busy-timeout", str(BOUND)]
    run = wfhist(*args, timeout=BOUND + SLACK + 30)
    assert run.seconds < BOUND + SLACK, f"{command} took {run.seconds:.1f} s"
    line = assert_one_clean_line(run, codes=(1, 2, 3))
    assert "lock" in line.lower(), line
    assert str(BOUND).rstrip("0").rstrip(".") in line or "--busy-timeout" in line, line
    if command in SAYS_WAITING:
        said = [x for x in run.lines if not x.startswith("wfhist: error:")]
        assert any("waiting" in x for x in said), f"{command} did not say it waited: {run.err}"
    after = _names(tmp_path)
    assert after == before, f"{command} left files: {set(after) - set(before)}"
    assert locked_db.read_bytes() == data


@pytest.mark.parametrize("command", ["summary", "status"])
def test_ctrl_c_while_waiting_for_a_lock_is_one_line(command: str, locked_db: Path) -> None:
    """Interrupted during its (Python-side) wait, a reader exits 130 at once with one line."""
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "wfhist", command, str(locked_db), "--busy-timeout", "60"],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # not inherited SIG_IGN
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()  # "…: another process holds a lock; waiting up to 60 s"
    assert "waiting" in line, line
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=30)[1]
    assert proc.returncode == 130 and time.monotonic() - started < 10
    assert "Traceback" not in err and err.strip().splitlines() == [
        "wfhist: interrupted; nothing was changed"
    ], err


@pytest.mark.parametrize("bound", [0.3, 2.0])
def test_duckdb_reads_keep_a_bound_shorter_than_the_scanners_own_5_s(
    bound: float, locked_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB's sqlite scanner waits 5 s per statement on a locked file; wfhist's bound wins."""
    import time

    from wfhist import files
    from wfhist.exceptions import LockedError
    from wfhist.read import summarize

    monkeypatch.setattr(files, "BUSY_TIMEOUT_S", bound)
    started = time.monotonic()
    with pytest.raises(LockedError, match=f"waited {bound:g} s"):
        summarize(locked_db)
    assert bound <= time.monotonic() - started < bound + 2.5
