"""rollback: under one lock, the replaced content kept aside complete, the right database only."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from backup_dbs import LockHolder, count, make_db
from clirun import assert_one_clean_line, wfhist

from wfhist.backup import backup, content_hash
from wfhist.cli import main
from wfhist.exceptions import BackupError, LockedError, UsageError
from wfhist.lock import migration_lock
from wfhist.rollback import rollback

WRITER = Path(__file__).resolve().parent / "writer_proc.py"


def _asides(directory: Path) -> list[Path]:
    """Every file a rollback may have left next to the database, hidden ones included."""
    return sorted(p for p in directory.iterdir() if "before-rollback" in p.name)


def _change(db: Path) -> None:
    """What a bad migration might do: lose rows and add a column."""
    con = sqlite3.connect(db)
    con.execute("DELETE FROM tool_calls WHERE id % 2 = 0")
    con.execute("ALTER TABLE workflow_history ADD COLUMN scoring_version TEXT DEFAULT '1.0'")
    con.commit()
    con.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A 400-run file of the real shape, alone in its directory."""
    (tmp_path / "live").mkdir()
    return make_db(tmp_path / "live" / "workflow_history.db", 400)


def test_rollback_restores_the_backup_and_keeps_the_replaced_content(
    db: Path, tmp_path: Path
) -> None:
    db.chmod(0o600)
    original = content_hash(db)
    made = backup(db, tmp_path / "out")
    _change(db)
    changed = content_hash(db)
    result = rollback(db, made.path)
    assert content_hash(db) == original
    assert result.proof.startswith("page-identical to the backup")
    assert result.kept_aside.name.startswith("workflow_history.db.before-rollback-")
    assert _asides(db.parent) == [result.kept_aside]  # no temporary file left
    assert content_hash(result.kept_aside) == changed
    assert result.kept_aside.stat().st_mode & 0o777 == 0o600
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert "scoring_version" not in {
        r[1] for r in con.execute("PRAGMA table_info(workflow_history)")
    }
    con.close()


def test_an_open_idle_connection_sees_the_restored_content(tmp_path: Path) -> None:
    """The service keeps its connection open: after the rollback it reads the backup's rows."""
    (tmp_path / "w").mkdir()
    journal = "delete"  # the real file's mode; WAL: see the next test
    db = make_db(tmp_path / "w" / "workflow_history.db", 200, journal=journal)
    made = backup(db, tmp_path / "out")
    _change(db)
    service = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1])\n"
            "q = 'SELECT count(*) FROM tool_calls'\n"
            "print(c.execute(q).fetchone()[0], flush=True)\n"
            "sys.stdin.readline()\n"
            "print(c.execute(q).fetchone()[0], flush=True)\n",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert service.stdin is not None and service.stdout is not None
    assert int(service.stdout.readline()) == 100  # the changed file: half the tool calls
    result = rollback(db, made.path)
    service.stdin.write("\n")
    service.stdin.flush()
    assert int(service.stdout.readline()) == 200
    service.wait(timeout=30)
    assert content_hash(db) == content_hash(made.path)
    assert result.proof.startswith("page-identical")
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == journal
    con.close()


def test_wal_file_with_an_open_connection_is_refused_within_the_bound(tmp_path: Path) -> None:
    """In WAL mode an open connection always holds the file: say so, change nothing."""
    (tmp_path / "w").mkdir()
    db = make_db(tmp_path / "w" / "workflow_history.db", 200, journal="wal")
    made = backup(db, tmp_path / "out")
    _change(db)
    changed = content_hash(db)
    code = "import sqlite3, sys, time\nc = sqlite3.connect(sys.argv[1])\n"
    code += "c.execute('SELECT count(*) FROM tool_calls').fetchone()\n"
    code += "print('open', flush=True)\ntime.sleep(60)\n"
    service = subprocess.Popen(
        [sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert service.stdout is not None and service.stdout.readline().strip() == "open"
        run = wfhist("rollback", db, "--backup", made.path, "--busy-timeout", "1", timeout=30)
    finally:
        service.kill()
        service.wait()
    line = assert_one_clean_line(run)
    assert "WAL mode" in line and "Stop the service" in line, line
    assert run.seconds < 1 + 8
    assert content_hash(db) == changed
    assert _asides(db.parent) == []
    rollback(db, made.path)  # with the service stopped it goes through
    assert content_hash(db) == content_hash(made.path)


def test_rollback_refuses_a_backup_that_no_longer_matches_its_manifest(
    db: Path, tmp_path: Path
) -> None:
    made = backup(db, tmp_path / "out")
    con = sqlite3.connect(made.path)
    con.execute("UPDATE workflow_history SET status = 'failed' WHERE id = 1")
    con.commit()
    con.close()
    live = content_hash(db)
    with pytest.raises(BackupError, match="does not match its manifest"):
        rollback(db, made.path)
    assert content_hash(db) == live
    assert _asides(db.parent) == []


def test_rollback_refuses_a_backup_of_another_database(db: Path, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    other = make_db(tmp_path / "other" / "workflow_history.db", 300, seed="b")
    made = backup(other, tmp_path / "out")
    live = content_hash(db)
    run = wfhist("rollback", db, "--backup", made.path, timeout=60)
    line = assert_one_clean_line(run)
    assert "another database" in line and "0 of its 16 oldest runs" in line, line
    assert content_hash(db) == live and count(db, "SELECT count(*) FROM workflow_history") == 400
    assert _asides(db.parent) == []
    # the same path is not enough: another database put in its place is refused too
    own = backup(db, tmp_path / "out2")
    os.remove(db)
    make_db(db, 500, seed="c")
    with pytest.raises(UsageError, match="another database"):
        rollback(db, own.path)
    assert count(db, "SELECT count(*) FROM workflow_history") == 500


def test_rollback_accepts_its_own_database_with_no_runs_left(db: Path, tmp_path: Path) -> None:
    """A migration that emptied workflow_history is exactly what a rollback is for."""
    made = backup(db, tmp_path / "out")
    con = sqlite3.connect(db)
    con.execute("DELETE FROM workflow_history")
    con.commit()
    con.close()
    rollback(db, made.path)
    assert count(db, "SELECT count(*) FROM workflow_history") == 400
    moved = tmp_path / "moved.db"  # elsewhere and without runs: nothing confirms it
    shutil.copyfile(db, moved)
    con = sqlite3.connect(moved)
    con.execute("DELETE FROM workflow_history")
    con.commit()
    con.close()
    with pytest.raises(UsageError, match="no run in both files"):
        rollback(moved, made.path)


def test_rollback_holds_the_wfhist_lock(db: Path, tmp_path: Path) -> None:
    made = backup(db, tmp_path / "out")
    with migration_lock(db), pytest.raises(LockedError):
        rollback(db, made.path, busy_timeout=0.5)


def test_rollback_waits_a_bounded_time_for_another_process_and_leaves_nothing(
    db: Path, tmp_path: Path
) -> None:
    made = backup(db, tmp_path / "out")
    _change(db)
    changed = content_hash(db)
    holder = LockHolder(db)
    try:
        run = wfhist("rollback", db, "--backup", made.path, "--busy-timeout", "2", timeout=30)
    finally:
        holder.stop()
    line = assert_one_clean_line(run)
    assert "lock" in line and str(db) in line and "2 s" in line, line
    assert run.seconds < 2 + 8, run.seconds
    assert _asides(db.parent) == []  # neither a temporary nor a 0-byte aside copy
    assert content_hash(db) == changed


def _start_writer(db: Path, log: Path, stop: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, str(WRITER), str(db), str(log), str(stop), "7"])
    deadline = time.monotonic() + 30
    while (not log.exists() or len(_committed(log)) < 10) and time.monotonic() < deadline:
        time.sleep(0.05)  # at least 10 inserts committed before the rollback starts
    return proc


def _committed(log: Path) -> list[str]:
    return [line.split()[1] for line in log.read_text().splitlines() if line.startswith("I ")]


def test_rollback_with_a_writer_running_keeps_every_committed_row(db: Path, tmp_path: Path) -> None:
    made = backup(db, tmp_path / "out")
    log, stop = tmp_path / "writer.log", tmp_path / "stop"
    writer = _start_writer(db, log, stop)
    try:
        time.sleep(0.3)
        before = _committed(log)  # committed before rollback was even called
        result = rollback(db, made.path)
        time.sleep(0.3)
    finally:
        stop.touch()
        assert writer.wait(timeout=30) == 0
    inserted = _committed(log)
    assert len(before) >= 10 and len(inserted) > len(before)

    def ids(path: Path) -> set[str]:
        con = sqlite3.connect(path)
        try:
            return {r[0] for r in con.execute("SELECT adw_id FROM workflow_history")}
        finally:
            con.close()

    aside, live = ids(result.kept_aside), ids(db)
    assert set(before) <= aside
    missing = [a for a in inserted if a not in aside and a not in live]
    assert missing == [], f"{len(missing)} committed rows in no file"
    assert not aside & live - ids(made.path)  # nothing committed both before and after

    def messages(path: Path) -> dict[int, str]:
        con = sqlite3.connect(path)
        try:
            sql = "SELECT id, error_message FROM workflow_history WHERE error_message LIKE 'live-%'"
            return dict(con.execute(sql).fetchall())
        finally:
            con.close()

    last = {
        int(p[1]): p[2] for p in (ln.split() for ln in log.read_text().splitlines()) if p[0] == "U"
    }
    kept, now = messages(result.kept_aside), messages(db)
    # rows of the backup exist throughout; an update of a row the writer inserted after the
    # backup and committed after the restore updates nothing (the row is only in the aside copy)
    in_backup = count(made.path, "SELECT max(id) FROM workflow_history")
    last = {i: m for i, m in last.items() if i <= in_backup}
    assert len(last) >= 5
    lost = {i: m for i, m in last.items() if kept.get(i) != m and now.get(i) != m}
    assert lost == {}, f"last committed update of {len(lost)} rows in no file"


def test_kill_9_at_any_moment_never_leaves_a_non_database_under_a_final_name(
    tmp_path: Path,
) -> None:
    (tmp_path / "k").mkdir()
    pristine = make_db(tmp_path / "pristine.db", 6000)
    made = backup(pristine, tmp_path / "out")
    _change(pristine)
    changed, restored = content_hash(pristine), content_hash(made.path)
    db = tmp_path / "k" / "workflow_history.db"
    rng = random.Random(9)
    command = [sys.executable, "-m", "wfhist", "rollback", str(db), "--backup", str(made.path)]
    # kill points spread over one whole run as long as it takes on this machine now
    shutil.copyfile(pristine, db)
    started = time.monotonic()
    subprocess.run(command, capture_output=True, check=True)
    whole = time.monotonic() - started
    deadline = time.monotonic() + 12
    kills = 0
    while time.monotonic() < deadline:
        for p in db.parent.iterdir():
            if "before-rollback" not in p.name:
                p.unlink()
        shutil.copyfile(pristine, db)
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 0.95) * whole)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        con = sqlite3.connect(db)  # a writer's open rolls back a hot journal, as the service's
        con.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        con.close()
        assert content_hash(db) in (changed, restored)
        for aside in _asides(db.parent):
            if not aside.name.startswith("."):
                check = sqlite3.connect(f"{aside.as_uri()}?mode=ro", uri=True)
                assert check.execute("PRAGMA quick_check").fetchone()[0] == "ok", aside
                check.close()
                assert content_hash(aside) == changed
    assert kills >= 3
    shutil.copyfile(pristine, db)
    rollback(db, made.path)  # a later run removes temporaries of killed runs
    assert [p for p in _asides(db.parent) if p.name.startswith(".")] == []


def test_cli_backup_then_rollback(db: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "b"
    assert main(["backup", str(db), "--out", str(out)]) == 0
    made = next(out.glob("*.db"))
    capsys.readouterr()
    _change(db)
    assert main(["rollback", str(db), "--backup", str(made)]) == 0
    assert content_hash(db) == content_hash(made)
    assert "previous content kept in" in capsys.readouterr().out
    assert main(["rollback", str(db)]) == 2  # --backup is required
    os.remove(made.with_suffix(".json"))
    assert main(["rollback", str(db), "--backup", str(made)]) == 1


def _damage(db: Path) -> None:
    """Overwrite one b-tree page in the middle of the file with garbage (page 1 intact)."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    raw = bytearray(db.read_bytes())
    middle = (len(raw) // page // 2) * page
    raw[middle : middle + page] = bytes([0x5A]) * page
    db.write_bytes(bytes(raw))


def test_a_damaged_live_file_is_restored_and_kept_aside_as_it_was(
    db: Path, tmp_path: Path, capsys
) -> None:
    made = backup(db, tmp_path / "out")
    _damage(db)
    assert main(["rollback", str(db), "--backup", str(made.path)]) == 0
    out = capsys.readouterr().out
    assert "note: the replaced content was already damaged" in out
    assert content_hash(db) == content_hash(made.path)
    (aside,) = _asides(db.parent)
    check = sqlite3.connect(f"{aside.as_uri()}?mode=ro", uri=True)
    with pytest.raises(sqlite3.DatabaseError, match="malformed"):
        check.execute("PRAGMA quick_check").fetchall()  # the same damage, kept as it was
    check.close()
