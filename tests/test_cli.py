"""The CLI: thin wrappers, one-line errors with exit code 2, never a traceback."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from wfhist.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_summary_text_and_json(sample_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["summary", str(sample_db)], capsys)
    assert code == 0
    assert "458" in out and "pre-006" in out and "69" in out and "stored" in out
    code, out, _ = run(["summary", str(sample_db), "--json"], capsys)
    data = json.loads(out)
    assert (data["rows"], data["columns"], data["schema_state"]) == (458, 69, "pre-006")
    assert sum(data["temporal_sources"].values()) == 458


def _not_sqlite(tmp: Path) -> Path:
    p = tmp / "notes.txt"
    p.write_text("not a database")
    return p


def _no_table(tmp: Path) -> Path:
    p = tmp / "other.db"
    with sqlite3.connect(p) as con:
        con.execute("CREATE TABLE t (x)")
    return p


def _thin_table(tmp: Path) -> Path:
    p = tmp / "thin.db"
    with sqlite3.connect(p) as con:
        con.execute("CREATE TABLE workflow_history (id INTEGER PRIMARY KEY, adw_id TEXT)")
    return p


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda t: ["summary", str(t / "nope.db")], "no such file"),
        (lambda t: ["summary", str(t)], "is a directory"),
        (lambda t: ["summary", str(_not_sqlite(t))], "not a SQLite database"),
        (lambda t: ["summary", str(_no_table(t))], "no table 'workflow_history'"),
        (lambda t: ["summary", str(_thin_table(t))], "lacks required column"),
        (lambda t: ["summary", str(_thin_table(t)), "--tz", "Mars/Base"], "not a known time zone"),
        (lambda t: ["demo", "--rows", "0", "--out", str(t / "x.db")], "rows"),
        (lambda t: ["frobnicate"], "invalid choice"),
        (lambda t: ["summary"], "required"),
    ],
)
def test_expected_mistakes_are_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make_args, message: str
) -> None:
    code, out, err = run(make_args(tmp_path), capsys)
    assert code == 2
    assert message in err
    assert err.startswith("wfhist: error: ") and err.count("\n") == 1
    assert "Traceback" not in err + out


def test_demo_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "d.db"
    assert run(["demo", "--rows", "20", "--out", str(target)], capsys)[0] == 0
    before = target.read_bytes()
    code, _, err = run(["demo", "--rows", "20", "--out", str(target)], capsys)
    assert code == 2 and "--force" in err
    assert target.read_bytes() == before


def test_console_script_no_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "wfhist"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "wfhist.cli"]
    proc = subprocess.run(
        [*cmd, "summary", str(tmp_path / "missing.db")], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("wfhist: error:") and "Traceback" not in proc.stderr
    help_proc = subprocess.run([*cmd, "--help"], capture_output=True, text=True)
    assert help_proc.returncode == 0 and "summary" in help_proc.stdout
