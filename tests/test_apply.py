"""wfhist.apply: the one transaction ``plan`` and ``migrate`` share, and the bound on it.

* every hostile file gets the same verdict and exit code from ``wfhist plan`` and
  ``wfhist migrate`` (they run the same :func:`wfhist.apply.apply_verified`);
* a statement that never ends does not make ``plan`` run forever: ``--max-seconds``
  stops it (exit 1, one line), Ctrl-C stops it (exit 130, one line), and no
  ``wfhist-plan-*`` directory is left behind -- real processes, real signals.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.clirun import StderrLines
from tests.hostile_cases import CASES, PASS, REFUSED, HostileCase, files_under, materialize
from wfhist.backup import content_hash
from wfhist.cli import main
from wfhist.schema import TABLE

ROOT = Path(__file__).resolve().parent.parent

#: Statements that never end: a recursive CTE without a limit, read or inserted.
NEVER_ENDS = {
    "select_count": (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c;\n"
    ),
    "insert_from_cte": (
        "CREATE TABLE counter (x INTEGER);\n"
        "INSERT INTO counter WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) "
        "SELECT x FROM c;\n"
    ),
    # The transactional run fails at statement 1; the keep-going run (a runner that
    # ignores errors) then reaches the endless statement: it is bounded too.
    "after_an_error": (
        "UPDATE no_such_table SET x = 1;\n"
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c;\n"
    ),
}


def _columns(db: Path) -> list[str]:
    import sqlite3

    con = sqlite3.connect(db)
    try:
        return [r[1] for r in con.execute(f"PRAGMA table_info({TABLE})")]
    finally:
        con.close()


@pytest.mark.parametrize("case", CASES, ids=[c.fixture for c in CASES])
def test_plan_and_migrate_give_every_hostile_file_the_same_verdict(
    case: HostileCase, sample_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``wfhist plan DB FILE`` and ``wfhist migrate DB --migrations DIR``: same exit, same verdict.

    migrate's own promises on the way: a refusal comes before any backup, a failure
    leaves the live file unchanged, and nothing appears outside (VACUUM INTO, ATTACH).
    """
    migrations = tmp_path / "hostile"
    migrations.mkdir()
    out_dir = tmp_path / "outside"
    out_dir.mkdir()
    target = migrations / f"006_{case.path.stem}.sql"
    materialize(case, target, live_db=sample_db, out_dir=out_dir)
    before = content_hash(sample_db)

    plan_code = main(["plan", str(sample_db), str(target), "--json", "-"])
    plan_out, plan_err = capsys.readouterr()
    assert content_hash(sample_db) == before  # plan never writes the live file
    migrate_code = main(["migrate", str(sample_db), "--migrations", str(migrations), "--json"])
    migrate_out, migrate_err = capsys.readouterr()

    assert "Traceback" not in plan_err + migrate_err
    expected = {PASS: 0, REFUSED: 1}.get(case.outcome, 1)
    assert (plan_code, migrate_code) == (expected, expected), (plan_err, migrate_err)
    if case.outcome == REFUSED:
        for err in (plan_err, migrate_err):
            (line,) = [x for x in err.splitlines() if x.startswith("wfhist: error:")]
            assert f"statement {case.statement} (line " in line and case.says in line
        assert plan_out == migrate_out == ""
        assert not (sample_db.parent / "backups").exists()
    else:
        plan_verdict = json.loads(plan_out)["verdict"]
        migrate_verdict = json.loads(migrate_out)["verdict"]
        if case.outcome == PASS:
            assert plan_verdict == migrate_verdict == PASS
            assert set(case.columns_added) <= set(_columns(sample_db))
        else:
            # plan's verdict is FAIL; migrate rolled back (a failed statement has no
            # verification, a lossy result verifies FAIL) and says the file is unchanged
            assert plan_verdict == "FAIL" and migrate_verdict in ("FAIL", None)
            assert "unchanged at version 005" in migrate_err and case.says in migrate_err
            if case.statement is not None:
                assert f"statement {case.statement}" in migrate_err
    if case.outcome != PASS:
        assert content_hash(sample_db) == before
    assert files_under(out_dir) == {}


def _plan_process(db: Path, sql: Path, tmp: Path, *extra: str) -> subprocess.Popen[str]:
    """``python -m wfhist plan`` with its temporary directory under ``tmp`` (TMPDIR)."""
    return subprocess.Popen(
        [sys.executable, "-u", "-m", "wfhist", "plan", str(db), str(sql), *extra],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(tmp)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr
    return [line for line in stderr.splitlines() if line.startswith("wfhist:")]


@pytest.mark.parametrize("name", sorted(NEVER_ENDS))
def test_max_seconds_stops_a_statement_that_never_ends(
    name: str, sample_db: Path, tmp_path: Path
) -> None:
    sql = tmp_path / f"{name}.sql"
    sql.write_text(NEVER_ENDS[name], encoding="utf-8")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    before = content_hash(sample_db)
    started = time.monotonic()
    proc = _plan_process(sample_db, sql, tmp, "--max-seconds", "1")
    try:
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # the bound did not hold: do not leave it running
            proc.kill()
            proc.wait()
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, err
    (line,) = _error_lines(err)
    assert f"{sql}: the dry run took longer than --max-seconds 1" in line
    assert 1 <= elapsed < 1 + 15, elapsed  # the bound, plus start-up on a loaded machine
    assert list(tmp.iterdir()) == []  # no wfhist-plan-* directory left
    assert content_hash(sample_db) == before


@pytest.mark.parametrize("name", ["select_count", "insert_from_cte"])
def test_ctrl_c_stops_plan_with_one_line_and_exit_130(
    name: str, sample_db: Path, tmp_path: Path
) -> None:
    """SIGINT while the endless statement runs (no --max-seconds bound reached: default 600)."""
    sql = tmp_path / f"{name}.sql"
    sql.write_text(NEVER_ENDS[name], encoding="utf-8")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    before = content_hash(sample_db)
    proc = _plan_process(sample_db, sql, tmp)
    lines = StderrLines(proc)
    try:
        last = NEVER_ENDS[name].count(";")
        lines.wait_for(f"statement {last}/{last}")
        time.sleep(0.5)  # inside the statement
        assert [p.name[:12] for p in tmp.iterdir()] == ["wfhist-plan-"]
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = lines.drain()
    assert proc.returncode == 130, err
    (line,) = _error_lines(err)
    assert f"{sql}: dry run interrupted (Ctrl-C)" in line
    assert list(tmp.iterdir()) == []  # the temporary directory is removed
    assert content_hash(sample_db) == before
