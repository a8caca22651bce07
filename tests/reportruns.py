"""Report notebooks executed once per test session, shared by the notebook and browser tests.

Executing a notebook costs a kernel start and the package imports (seconds), so
every execution the tests need is started here at once -- ``wfhist report``
subprocesses in parallel, plus one in-process :func:`wfhist.report.render_report`
-- and the produced files are asserted on by several tests. All inputs are real
SQLite files made with :func:`wfhist.demo.create_sample_db`.
"""

from __future__ import annotations

import html
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from conftest import FIXTURES

from wfhist.demo import create_sample_db
from wfhist.migrate import migrate
from wfhist.report import ReportResult, render_report

ROWS = 200
SOURCE_TZ = "America/Los_Angeles"
OTHER_TZ = "Asia/Tokyo"
STATUS = "completed"
#: Rows moved to scoring version 2.0 in the two-version file, and how their scores change.
V2_WHERE = "id % 3 = 0 AND id > 60"
QUALITY_SHIFT = -5.0
OUT_OF_RANGE_ID, MISSING_ID = 99, 120  # both end up in version 2.0 (99 % 3 == 0, 120 % 3 == 0)


@dataclass
class Run:
    """One executed report: the files, the exit code and the command's output."""

    name: str
    out: Path
    stem: str
    db: Path
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    result: ReportResult | None = None
    extra: dict = field(default_factory=dict)

    @property
    def ipynb(self) -> Path:
        return self.out / f"{self.stem}.ipynb"

    @property
    def html(self) -> Path:
        return self.out / f"{self.stem}.html"

    @property
    def json(self) -> Path:
        return self.out / f"{self.stem}.json"


_CACHE: dict[Path, dict[str, Run]] = {}


def make_two_version_db(pre006: Path, target: Path, backups: Path) -> Path:
    """006 applied by the runner, then some rows rescored by a "2.0" algorithm.

    Version 2.0 lowers quality_score by 5 points; one of its rows gets an
    out-of-range score (140) and one a missing one (NULL).
    """
    shutil.copyfile(pre006, target)
    migrate(target, to=6, backup_dir=backups)
    con = sqlite3.connect(target)
    with con:
        con.execute(
            "UPDATE workflow_history SET scoring_version = '2.0', "
            f"quality_score = max(quality_score + ?, 0) WHERE {V2_WHERE}",
            (QUALITY_SHIFT,),
        )
        con.execute(
            "UPDATE workflow_history SET quality_score = 140 WHERE id = ?", (OUT_OF_RANGE_ID,)
        )
        con.execute("UPDATE workflow_history SET quality_score = NULL WHERE id = ?", (MISSING_ID,))
    con.close()
    return target


def migrated_with_backup(pre006: Path, target: Path, backups: Path) -> tuple[Path, Path]:
    """A copy migrated by ``wfhist migrate`` (006, 007) and the verified backup it took."""
    shutil.copyfile(pre006, target)
    result = migrate(target, backup_dir=backups)
    assert result.backup is not None
    return target, result.backup.path


def expected_heatmap(db: Path, tz: str, status: str | None) -> list[list[int]]:
    """Weekday x hour counts derived here with zoneinfo, independently of the DuckDB view.

    ``start_time`` is the writing host's naive wall clock; without it,
    ``created_at`` is UTC when space-separated and host-local with a ``T``. The
    sample's stored hour/weekday values equal the ones derived from its stamps.
    """
    src, dst, utc = ZoneInfo(SOURCE_TZ), ZoneInfo(tz), ZoneInfo("UTC")
    counts = [[0] * 24 for _ in range(7)]
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        sql = "SELECT start_time, created_at FROM workflow_history"
        rows = con.execute(
            sql + (" WHERE status = ?" if status else ""), (status,) if status else ()
        )
        for start, created in rows:
            if start:
                when = datetime.fromisoformat(start).replace(tzinfo=src)
            elif "T" in created:
                when = datetime.fromisoformat(created).replace(tzinfo=src)
            else:
                when = datetime.fromisoformat(created).replace(tzinfo=utc)
            local = when.astimezone(dst)
            counts[local.weekday()][local.hour] += 1
    finally:
        con.close()
    return counts


def visible_text(path: Path) -> str:
    """What a reader sees of an HTML report: tags, styles and scripts removed, spaces squeezed."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"<(style|script)\b.*?</\1>", " ", text, flags=re.S | re.I)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def broken_history(path: Path) -> Path:
    """A SQLite file with a workflow_history table the reader cannot map (no required columns).

    It passes the checks made before a kernel starts, so the notebook fails in a cell.
    """
    con = sqlite3.connect(path)
    with con:
        con.execute("CREATE TABLE workflow_history (note TEXT)")
        con.execute("INSERT INTO workflow_history VALUES ('x')")
    con.close()
    return path


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "wfhist.cli", "report", *args]


def executed_reports(base: Path) -> dict[str, Run]:
    """Run every report the tests need (once per session) and return what each left."""
    if base in _CACHE:
        return _CACHE[base]
    work = base / "report-runs"
    work.mkdir(parents=True, exist_ok=True)
    out = work / "reports"
    pre006 = create_sample_db(work / "pre006.db", rows=ROWS)
    two = make_two_version_db(pre006, work / "two_versions.db", work / "backups-two")
    migrated, backup = migrated_with_backup(pre006, work / "migrated.db", work / "backups")
    damaged, damaged_backup = migrated_with_backup(pre006, work / "damaged.db", work / "backups-d")
    con = sqlite3.connect(damaged)
    with con:  # what a faulty migration might do: three values rewritten
        con.execute("UPDATE workflow_history SET model_used = 'opus' WHERE id IN (1, 2, 3)")
    con.close()
    broken = broken_history(work / "broken.db")

    runs = {
        "temporal": Run("temporal_analytics", out, "temporal_tokyo", pre006),
        "scoring_two": Run("scoring_versions", out, "scoring_two", two),
        "verify_pass": Run("verify_migration", out, "verify_pass", migrated),
        "verify_plan_fail": Run("verify_migration", out, "verify_plan_fail", pre006),
        "empty": Run("temporal_analytics", out, "empty", pre006),
        # same stem as "temporal": a run failing in a cell must leave that report untouched
        "cell_fails": Run("temporal_analytics", out, "temporal_tokyo", broken),
    }
    args = {
        "temporal": ["-p", "tz", OTHER_TZ, "-p", "status", STATUS, "-p", "min_runs", "3"],
        "scoring_two": ["-p", "bootstrap_samples", "400", "-p", "baseline_version", "1.0"],
        "verify_pass": ["-p", "backup_path", str(backup), "-p", "title", "Demo 006+007"],
        "verify_plan_fail": [
            "-p",
            "migration_path",
            str(FIXTURES / "005_restricted_to_existing_columns.sql"),
        ],
        "empty": ["-p", "since", "2031-01-01"],
        "cell_fails": [],
    }
    # One kernel at a time: jupyter_client picks a kernel's ports by binding and
    # releasing them, so kernels started at the same moment can race for a port
    # and one dies at start-up (seen here with 8 at once: the run hung).
    for key, run in runs.items():
        if key == "cell_fails":
            run.extra["before"] = {p.name: p.read_bytes() for p in _outputs(runs["temporal"])}
        cmd = _cli(run.name, "--db", str(run.db), "--out", str(out), "--stem", run.stem)
        cmd += args[key]
        if key in ("temporal", "empty", "verify_plan_fail"):
            cmd.append("--no-input")
        proc = subprocess.run(
            cmd, capture_output=True, text=True, cwd=work, timeout=600, check=False
        )
        run.returncode, run.stdout, run.stderr = proc.returncode, proc.stdout, proc.stderr
    # And in this process: a done migration whose result lost values.
    done_fail = Run("verify_migration", out, "verify_done_fail", damaged)
    done_fail.result = render_report(
        "verify_migration",
        damaged,
        {"backup_path": str(damaged_backup)},
        out_dir=out,
        stem=done_fail.stem,
        no_input=True,
    )
    runs["verify_done_fail"] = done_fail
    # The set of analytics reports of the pre-006 file (one scoring version) with its index.
    every = Run("scoring_versions", work / "all", "scoring_versions", pre006)
    proc = subprocess.run(
        [*_cli("--all", "--db", str(pre006), "--out", str(every.out))],
        capture_output=True,
        text=True,
        cwd=work,
        timeout=600,
        check=False,
    )
    every.returncode, every.stdout, every.stderr = proc.returncode, proc.stdout, proc.stderr
    runs["all"] = every
    runs["verify_pass"].extra["backup"] = backup
    _CACHE[base] = runs
    return runs


def _outputs(run: Run) -> list[Path]:
    return [run.ipynb, run.html, run.json]
