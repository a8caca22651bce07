"""Every bad input an operator can hand the CLI: one line, a known exit code, nothing written.

Table-driven: each row builds a hostile file (or argument), runs the real command in a
child process, and checks the README's contract -- exit 2 (or 1 where the operation ran
and failed), exactly one ``wfhist: error:`` line naming the problem, never a traceback,
the input file byte-identical afterwards and no new file left next to it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.clirun import assert_one_clean_line, wfhist
from tests.mounts import tmpfs

ROOT = Path(__file__).resolve().parent.parent
MIGRATION_006 = ROOT / "migrations" / "006_add_scoring_version.sql"


def _empty(d: Path, _sample: Path) -> Path:
    p = d / "empty.db"
    p.write_bytes(b"")
    return p


def _text(d: Path, _sample: Path) -> Path:
    p = d / "history.csv"
    p.write_text("id,adw_id,status\n1,c80e348c,completed\n")
    return p


def _short(d: Path, _sample: Path) -> Path:
    p = d / "short.db"
    p.write_bytes(b"SQLite format 3\x00" + b"\x01" * 40)
    return p


def _view(d: Path, sample: Path) -> Path:
    """``workflow_history`` is a VIEW over another table (same columns)."""
    p = d / "view.db"
    shutil.copyfile(sample, p)
    con = sqlite3.connect(p)
    con.execute("ALTER TABLE workflow_history RENAME TO wh_data")
    con.execute("CREATE VIEW workflow_history AS SELECT * FROM wh_data")
    con.commit()
    con.close()
    return p


def _hot_journal(d: Path, sample: Path) -> Path:
    """A writer killed mid-transaction in DELETE mode left a hot ``-journal``."""
    p = d / "hot.db"
    shutil.copyfile(sample, p)
    con = sqlite3.connect(p)
    mode = con.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    con.close()
    assert mode == "delete"
    code = (
        "import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('PRAGMA cache_size = 1')\n"
        "c.execute('BEGIN')\n"
        "c.execute(\"UPDATE workflow_history SET nl_input = nl_input || 'x'\")\n"
        "print('dirty', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(p)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "dirty"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert Path(f"{p}-journal").stat().st_size > 0
    return p


BAD_FILES: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    "empty": (_empty, "empty file"),
    "text": (_text, "not a SQLite database"),
    "truncated": (_short, "truncated"),
    "hot_journal": (_hot_journal, "hot journal"),
}

COMMANDS: dict[str, Callable[[Path, Path], list[str | Path]]] = {
    "summary": lambda db, d: ["summary", db],
    "status": lambda db, d: ["status", db],
    "backup": lambda db, d: ["backup", db, "--out", d / "backups"],
    "plan": lambda db, d: ["plan", db, MIGRATION_006],
    "migrate": lambda db, d: ["migrate", db, "--backup-dir", d / "backups"],
    "verify_after": lambda db, d: ["verify", d / "good.db", db],
    "export": lambda db, d: ["export", db, "--parquet", d / "parquet"],
}


def _listing(d: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(d)): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(d.rglob("*"))
        if not p.name.startswith("good.db")
    }


#: ``migrate`` is a writer, as the service is: it rolls a hot journal back itself (below).
CASES = [
    (bad, command)
    for bad in sorted(BAD_FILES)
    for command in sorted(COMMANDS)
    if (bad, command) != ("hot_journal", "migrate")
]


@pytest.mark.parametrize(("bad", "command"), CASES)
def test_bad_database_file(
    bad: str, command: str, sample_db_template: Path, tmp_path: Path
) -> None:
    build, fragment = BAD_FILES[bad]
    shutil.copyfile(sample_db_template, tmp_path / "good.db")
    db = build(tmp_path, sample_db_template)
    before = _listing(tmp_path)
    run = wfhist(*COMMANDS[command](db, tmp_path), timeout=60)
    line = assert_one_clean_line(run, codes=(2,))
    assert fragment in line, line
    assert _listing(tmp_path) == before, "a refused command changed or left files"


def test_migrate_rolls_a_hot_journal_back_and_says_so(
    sample_db_template: Path, tmp_path: Path
) -> None:
    db = _hot_journal(tmp_path, sample_db_template)
    run = wfhist("migrate", db, "--backup-dir", tmp_path / "backups", timeout=90)
    assert run.code == 0 and "Traceback" not in run.err, run.err
    assert "crashed writer" in run.err, run.err
    assert not Path(f"{db}-journal").exists()
    query = "SELECT id, nl_input FROM workflow_history ORDER BY id"
    with contextlib.closing(sqlite3.connect(db)) as con:
        rows = con.execute(query).fetchall()
    with contextlib.closing(sqlite3.connect(sample_db_template)) as con:
        assert rows == con.execute(query).fetchall()  # the killed writer's UPDATE was undone


@pytest.mark.parametrize("command", ["summary", "export"])
def test_workflow_history_as_a_view(command: str, sample_db_template: Path, tmp_path: Path) -> None:
    """A VIEW is read like the table, its text-in-integer values included (read as NULL)."""
    db = _view(tmp_path, sample_db_template)
    args = [*COMMANDS[command](db, tmp_path), "--json"]
    run = wfhist(*args, timeout=60)
    assert run.code == 0 and "Traceback" not in run.err, run.err
    data = json.loads(run.out)
    assert data["rows"] == 458
    if command == "summary":
        assert data["bad_values"], "the view's text-in-integer values were not found"


@pytest.mark.parametrize("zone", ["posixrules", "right/UTC", "localtime", "Mars/Olympus"])
def test_zones_duckdb_rejects_are_refused_before_reading(
    zone: str, sample_db_template: Path, tmp_path: Path
) -> None:
    run = wfhist("summary", sample_db_template, "--tz", zone, timeout=60)
    line = assert_one_clean_line(run)
    assert zone in line


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://reader:s3cretpw@[::1/db",
        "postgresql://reader:s3cretpw@127.0.0.1:1/service",
        "postgresql://reader@127.0.0.1:1/service?password=s3cretpw",
        "host=127.0.0.1 port=1 user=reader password=s3cretpw dbname=service",
    ],
    ids=["malformed", "refused", "query_password", "keyword_form"],
)
def test_postgres_dsn_errors_never_print_the_password(dsn: str) -> None:
    run = wfhist("summary", dsn, timeout=60)
    assert "s3cretpw" not in run.out + run.err
    assert_one_clean_line(run, codes=(1, 2))


def test_unknown_option_values_are_one_line(sample_db_template: Path) -> None:
    run = wfhist("verify", sample_db_template, sample_db_template, "--integrity", "sometimes")
    assert_one_clean_line(run)
    run = wfhist("demo", "--rows", "-5", "--out", "/nonexistent/x.db")
    assert_one_clean_line(run)
    for value in ("-1", "nan", "inf", "soon"):
        run = wfhist("status", sample_db_template, "--busy-timeout", value)
        assert "--busy-timeout" in assert_one_clean_line(run) and value in run.err


@pytest.fixture
def read_only_wal(tmp_path: Path) -> Iterator[Path]:
    """A WAL database with committed frames in its ``-wal`` and no ``-shm``, on a read-only
    filesystem: SQLite can neither create the ``-shm`` nor write the ``-wal`` (root included)."""
    from wfhist.demo import create_sample_db

    with tmpfs(tmp_path / "ro", "size=4m") as where:
        db = create_sample_db(where / "wal.db", rows=50, wal=True)
        code = (
            "import os, sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('PRAGMA wal_autocheckpoint = 0')\n"
            "c.execute(\"UPDATE workflow_history SET nl_input = nl_input || 'y'\")\n"
            "os._exit(0)\n"  # no checkpoint at close: the frames stay in the -wal
        )
        subprocess.run([sys.executable, "-c", code, str(db)], check=True)
        assert Path(f"{db}-wal").stat().st_size > 0
        Path(f"{db}-shm").unlink()
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        yield db


@pytest.mark.parametrize("command", [*sorted(COMMANDS), "verify_before"])
def test_wal_database_on_a_read_only_filesystem(
    command: str, read_only_wal: Path, sample_db_template: Path, tmp_path: Path
) -> None:
    """Read, or one line naming the file; never a traceback, nothing written anywhere."""
    shutil.copyfile(sample_db_template, tmp_path / "good.db")
    if command == "verify_before":
        args: list[str | Path] = ["verify", read_only_wal, tmp_path / "good.db"]
    else:
        args = COMMANDS[command](read_only_wal, tmp_path)
    before = {p.name: p.read_bytes() for p in read_only_wal.parent.iterdir()}
    run = wfhist(*args, timeout=60)
    assert "Traceback" not in run.err + run.out, run.err
    if command.startswith("verify") and run.code == 1 and not run.lines:
        assert "cannot be read" in run.out  # a FAIL verdict that names the unreadable side
    elif run.code != 0:
        assert_one_clean_line(run, codes=(1, 2))
    assert {p.name: p.read_bytes() for p in read_only_wal.parent.iterdir()} == before
    for out in ("backups", "parquet"):
        assert not (tmp_path / out).exists() or not any((tmp_path / out).rglob("*.db"))


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """An empty read-only filesystem (a tmpfs remounted ro): no write succeeds, root's neither."""
    with tmpfs(tmp_path / "ro", "size=1m,ro") as where:
        yield where


def test_writing_to_a_read_only_filesystem_is_one_line(
    read_only_dir: Path, sample_db_template: Path
) -> None:
    """Raised deep inside DuckDB or the notebook runner, caught at the CLI's last line of defence;
    WFHIST_DEBUG=1 shows the traceback behind the same failure."""
    args = ["export", str(sample_db_template), "--parquet", str(read_only_dir / "pq")]
    line = assert_one_clean_line(wfhist(*args, timeout=60), codes=(1, 2))
    assert "Read-only file system" in line, line
    run = wfhist("report", "verify_migration", "--db", sample_db_template, "--out", read_only_dir)
    assert "Read-only file system" in assert_one_clean_line(run, codes=(1, 2))
    debug = subprocess.run(
        [sys.executable, "-m", "wfhist", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WFHIST_DEBUG": "1"},
    )
    assert debug.returncode == 1 and "Traceback" in debug.stderr, debug.stderr
    assert not any(read_only_dir.iterdir())


@pytest.fixture
def foreign_wal(sample_db_template: Path) -> Iterator[tuple[Path, Path]]:
    """A root-owned WAL database whose ``-wal`` (with committed frames) and ``-shm`` another
    user cannot write, and a folder that user may write to. Needs root and setpriv."""
    import tempfile

    from wfhist.demo import create_sample_db

    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run a command as another user")
    top = Path(tempfile.mkdtemp(prefix="wfhist-foreign-", dir="/tmp"))
    try:
        top.chmod(0o755)
        (top / "db").mkdir(mode=0o755)
        out = top / "out"
        out.mkdir(mode=0o777)
        out.chmod(0o777)
        db = create_sample_db(top / "db" / "wal.db", rows=50, wal=True)
        code = (
            "import os, sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('PRAGMA wal_autocheckpoint = 0')\n"
            "c.execute('DELETE FROM workflow_history WHERE id IN "
            "(SELECT id FROM workflow_history ORDER BY id LIMIT 10)')\n"
            "os._exit(0)\n"
        )
        subprocess.run([sys.executable, "-c", code, str(db)], check=True)
        for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            p.chmod(0o644)
        assert Path(f"{db}-wal").stat().st_size > 0
        yield db, out
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_a_reader_who_cannot_write_the_wal_reads_and_migrate_refuses(
    foreign_wal: tuple[Path, Path],
) -> None:
    db, out = foreign_wal
    before = {p.name: p.read_bytes() for p in db.parent.iterdir()}
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    env = {**os.environ, "HOME": str(out), "WFHIST_CACHE_DIR": str(out / "cache")}

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        cmd = [*as_nobody, sys.executable, "-m", "wfhist", *map(str, args)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=90, env=env, cwd=out)

    for args in (
        ["summary", db, "--json"],
        ["status", db],
        ["backup", db, "--out", out / "backups"],
        ["export", db, "--parquet", out / "parquet"],
    ):
        done = run(*args)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (args, done.stderr)
    assert json.loads(run("summary", db, "--json").stdout)["rows"] == 40  # -wal read
    done = run("migrate", db, "--backup-dir", out / "b2")
    errors = [line for line in done.stderr.splitlines() if line.startswith("wfhist: error:")]
    assert done.returncode == 2 and len(errors) == 1 and "Permission denied" in errors[0]
    assert "Traceback" not in done.stderr
    assert {p.name: p.read_bytes() for p in db.parent.iterdir()} == before


def test_a_live_writers_journal_is_not_a_hot_journal(
    sample_db_template: Path, tmp_path: Path
) -> None:
    """Mid-transaction (RESERVED lock, non-empty ``-journal``) the file is read as committed."""
    db = tmp_path / "live.db"
    shutil.copyfile(sample_db_template, db)
    code = (
        "import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('BEGIN')\n"
        "c.execute(\"UPDATE workflow_history SET nl_input = 'z' WHERE id = 1\")\n"
        "print('dirty', flush=True)\n"
        "time.sleep(120)\n"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "dirty"
        assert Path(f"{db}-journal").stat().st_size > 0
        for args in (["summary", db], ["verify", sample_db_template, db]):
            run = wfhist(*args, "--busy-timeout", "2", timeout=90)
            assert run.code == 0 and "hot journal" not in run.err, run.err
    finally:
        writer.kill()
        writer.wait()
