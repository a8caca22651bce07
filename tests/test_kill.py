"""``kill -9`` (and Ctrl-C) of ``wfhist migrate`` at many points, verification included.

Apply and verify run inside one write transaction that commits only after a
PASS, so whenever the process dies the file must be either exactly as before
(same content, no version recorded) or migrated *and* verified (every value of
the original still there, every migration recorded with an ok checksum) --
never "applied, checksum ok" with values gone, as the old runner could leave
it. A second ``migrate`` then completes. The kill points follow the run's own
progress lines (backup, statements, the verifier's tables, the verdict, the
COMMIT) plus plain delays; the loop is bounded in time.
"""

from __future__ import annotations

import hashlib
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import MIGRATIONS, copy_db

from tests.mounts import tmpfs
from wfhist.backup import content_hash
from wfhist.demo import create_sample_db
from wfhist.migrate import MigrationFailed, migrate
from wfhist.status import status
from wfhist.verify import verify

ROOT = MIGRATIONS.parent
#: Seconds the kill loops may take (each run is about one second on a busy 2-core machine).
BUDGET_S = 13.0
BLANK_BUDGET_S = 6.0
VERIFYING = "verify: comparing workflow_history"
#: (progress line to wait for, seconds to wait after it) -- None: a delay from the start.
#: Mid-verification comes first: a loaded machine may run out of the budget before the end.
KILL_POINTS: list[tuple[str | None, float]] = [
    (VERIFYING, 0.0),
    ("write lock held", 0.0),
    ("backup: copying", 0.0),
    ("statement 1/", 0.0),
    ("migrate: verifying", 0.0),
    (VERIFYING, 0.03),
    (VERIFYING, 0.08),
    (VERIFYING, 0.15),
    ("migrate: verification", 0.0),
    ("write lock held", 0.0),
    (None, 0.5),
    (None, 0.8),
    (None, 1.1),
]


@pytest.fixture(scope="module")
def big_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5,000 rows (DELETE journal mode, like the real file): verification takes ~0.3 s."""
    return create_sample_db(tmp_path_factory.mktemp("big") / "workflow_history.db", rows=5000)


@pytest.fixture(scope="module")
def wal_template(big_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same 5,000 rows in WAL mode."""
    db = copy_db(big_template, tmp_path_factory.mktemp("wal") / "workflow_history.db")
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
    finally:
        con.close()
    return db


def _blank_dir(tmp_path: Path) -> Path:
    d = tmp_path / "blank-migrations"
    d.mkdir()
    shutil.copyfile(MIGRATIONS / "006_add_scoring_version.sql", d / "006_add_scoring_version.sql")
    (d / "007_blank_nl_input.sql").write_text("UPDATE workflow_history SET nl_input = NULL;\n")
    return d


def _run_and_kill(
    db: Path, migrations: Path, after: str | None, delay: float, sig: int = signal.SIGKILL
) -> tuple[int, list[str]]:
    """Start ``wfhist migrate``, send ``sig`` at the kill point; (exit code, all stderr lines)."""
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "wfhist", "migrate", str(db), "--migrations", str(migrations)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    seen: list[str] = []
    started = time.monotonic()
    if after is None:
        time.sleep(delay)
    else:
        while time.monotonic() - started < 30:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            seen.append(line)
            if after in line:
                time.sleep(delay)
                break
    proc.send_signal(sig)
    code = proc.wait(timeout=30)
    reader.join(timeout=10)
    while (line := lines.get_nowait() if not lines.empty() else None) is not None:
        seen.append(line)
    return code, seen


def _file_hash(db: Path) -> str:
    return hashlib.sha256(db.read_bytes()).hexdigest()


def _fingerprint(db: Path) -> str:
    """The file's bytes (DELETE mode: untouched means the same bytes), or, in WAL mode, where
    committed pages may still sit in the -wal file, its logical content."""
    with db.open("rb") as fh:
        wal = fh.read(20)[18] == 2  # the header's file format version: 2 = WAL
    if wal:
        return content_hash(db)
    return _file_hash(db)


def _state(db: Path, original: Path, original_hash: str, migrations: Path) -> str:
    """'before' (same bytes / content) or 'migrated' (and verified); anything else fails."""
    con = sqlite3.connect(db)  # a read-write open, as the service's, recovers a hot journal
    try:
        assert con.execute("PRAGMA quick_check").fetchall() == [("ok",)]
    finally:
        con.close()
    st = status(db, migrations)
    if _fingerprint(db) == original_hash:
        assert not st.recorded and st.user_version == 0
        return "before"
    applied = [(m.version, m.checksum) for m in st.migrations if m.state == "applied"]
    assert st.current_version == 7 and st.user_version == 7, st
    assert applied == [(6, "ok"), (7, "ok")], st
    proof = verify(original, db)  # independent of the run: every original value is there
    assert proof.verdict == "PASS", [c for c in proof.checks if c.status == "FAIL"]
    return "migrated"


def _kill_loop(
    big_template: Path,
    tmp_path: Path,
    migrations: Path,
    points: list[tuple[str | None, float]],
    budget: float,
) -> list[tuple[str, str]]:
    original = copy_db(big_template, tmp_path / "original.db")
    original_hash = _fingerprint(original)
    outcomes: list[tuple[str, str]] = []
    deadline = time.monotonic() + budget
    for n, (after, delay) in enumerate(points):
        if time.monotonic() > deadline:
            break
        (tmp_path / f"run{n}").mkdir()
        db = copy_db(big_template, tmp_path / f"run{n}" / "workflow_history.db")
        code, seen = _run_and_kill(db, migrations, after, delay)
        text = "\n".join(seen)
        assert "Traceback" not in text, text
        where = (
            "verifying"
            if "migrate: verifying" in text and "migrate: verification" not in text
            else "finished"
            if code in (0, 1)
            else "other"
        )
        outcomes.append((where, _state(db, original, original_hash, migrations)))
        last = db
    # the kernel released the wfhist lock with the process: the next run completes
    result = migrate(last, migrations_dir=migrations) if migrations == MIGRATIONS else None
    if result is not None:
        assert result.up_to_date or (result.verdict == "PASS" and result.committed)
        assert _state(last, original, original_hash, migrations) == "migrated"
    return outcomes


def test_kill_9_at_many_points_leaves_before_or_migrated_and_verified(
    big_template: Path, tmp_path: Path
) -> None:
    outcomes = _kill_loop(big_template, tmp_path, MIGRATIONS, KILL_POINTS, BUDGET_S)
    assert len(outcomes) >= 3, outcomes
    assert ("verifying", "before") in outcomes, outcomes  # killed during verification: as before
    assert {state for _, state in outcomes} <= {"before", "migrated"}


def test_kill_9_in_wal_mode_leaves_before_or_migrated_and_verified(
    wal_template: Path, tmp_path: Path
) -> None:
    points = [(VERIFYING, 0.0), ("statement 1/", 0.0), (VERIFYING, 0.02), ("write lock held", 0.0)]
    outcomes = _kill_loop(wal_template, tmp_path, MIGRATIONS, points, 6.0)
    assert len(outcomes) >= 2 and ("verifying", "before") in outcomes, outcomes


def test_kill_9_of_a_data_losing_migration_never_leaves_it_applied(
    big_template: Path, tmp_path: Path
) -> None:
    blank = _blank_dir(tmp_path)
    points = [p for p in KILL_POINTS if p[0] in ("statement 1/", VERIFYING)] + [(None, 0.9)]
    outcomes = _kill_loop(big_template, tmp_path, blank, points, BLANK_BUDGET_S)
    assert ("verifying", "before") in outcomes, outcomes
    assert {state for _, state in outcomes} == {"before"}, outcomes
    db = tmp_path / "run0" / "workflow_history.db"
    with pytest.raises(MigrationFailed, match="verification FAILED"):
        migrate(db, migrations_dir=blank)
    assert not status(db, blank).recorded


def test_ctrl_c_during_verification_rolls_back_with_one_line(
    big_template: Path, tmp_path: Path
) -> None:
    db = copy_db(big_template, tmp_path / "workflow_history.db")
    before = _file_hash(db)
    code, seen = _run_and_kill(db, MIGRATIONS, VERIFYING, 0.0, sig=signal.SIGINT)
    errors = [line for line in seen if line.startswith("wfhist:")]
    assert code == 130, seen
    assert len(errors) == 1 and "interrupted (Ctrl-C)" in errors[0], seen
    assert "unchanged at version 005" in errors[0]
    assert _file_hash(db) == before
    assert "migrate: verification" not in "\n".join(seen)  # it really stopped mid-verification


CRASHING_WRITER = """\
import os, signal, sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA cache_size = 10")  # spill: the file holds uncommitted pages, -journal is hot
con.execute("BEGIN")
con.execute("UPDATE workflow_history SET nl_input = 'half-written'")
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_hot_journal_left_by_a_killed_writer_is_rolled_back_and_migrate_completes(
    sample_db: Path,
) -> None:
    subprocess.run([sys.executable, "-c", CRASHING_WRITER, str(sample_db)], timeout=60)
    assert Path(f"{sample_db}-journal").stat().st_size > 0
    result = migrate(sample_db)
    assert result.verdict == "PASS" and result.committed
    con = sqlite3.connect(sample_db)
    try:
        assert con.execute(
            "SELECT count(*) FROM workflow_history WHERE nl_input = 'half-written'"
        ).fetchone() == (0,)  # the crashed writer's uncommitted change was rolled back
    finally:
        con.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs (needs root to mount; skipped elsewhere): a disk that can fill up."""
    with tmpfs(tmp_path / "small-disk", "size=3m") as where:
        yield where


@pytest.mark.parametrize("full_at", ["lock file", "journal"])
def test_a_full_disk_leaves_the_file_intact_and_says_so(
    small_disk: Path, tmp_path: Path, full_at: str
) -> None:
    db = create_sample_db(small_disk / "workflow_history.db", rows=300)
    before = _file_hash(db)
    if full_at == "journal":  # a previous run's lock file keeps its disk block
        Path(f"{db}.wfhist-lock").write_text("pid 1\n")
    filler = small_disk / "filler"
    st = os.statvfs(small_disk)
    filler.write_bytes(b"\0" * (st.f_bavail * st.f_frsize))  # not one block left
    done = subprocess.run(
        [sys.executable, "-m", "wfhist", "migrate", str(db), "--backup-dir", str(tmp_path / "b")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    errors = [line for line in done.stderr.splitlines() if line.startswith("wfhist:")]
    assert done.returncode in (1, 2) and len(errors) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert ("No space left" if full_at == "lock file" else "full") in errors[0], errors
    filler.unlink()
    assert _file_hash(db) == before
    assert migrate(db, backup_dir=tmp_path / "b").committed  # with space again, it completes
