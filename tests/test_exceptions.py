"""wfhist.exceptions: each expected failure, caused for real through the CLI, is its own
class (seen with WFHIST_DEBUG=1), one ``wfhist: error:`` line and that class's exit code."""

from __future__ import annotations

import inspect
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from backup_dbs import make_db

from wfhist import exceptions
from wfhist.cli import main
from wfhist.exceptions import (
    BackupError,
    ExtensionError,
    LockedError,
    MigrationError,
    SchemaError,
    UsageError,
    WfhistError,
)
from wfhist.lock import migration_lock

#: The contract scripts rely on: 1 = the operation ran and refused or failed safely,
#: 2 = the input, the file's shape or the environment must change first.
EXIT_CODES = {
    WfhistError: 2,
    UsageError: 2,
    SchemaError: 2,
    ExtensionError: 2,
    LockedError: 2,
    BackupError: 1,
    MigrationError: 1,
}


def test_every_error_class_has_its_documented_exit_code() -> None:
    defined = {
        obj
        for _, obj in inspect.getmembers(exceptions, inspect.isclass)
        if issubclass(obj, WfhistError) and obj.__module__ == exceptions.__name__
    }
    assert defined == set(EXIT_CODES), "a new error class needs its exit code stated here"
    for cls, code in EXIT_CODES.items():
        assert cls.exit_code == code, cls.__name__


def _unknown_shape(tmp: Path) -> list[str]:
    db = tmp / "odd.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE workflow_history (id INTEGER PRIMARY KEY, colour TEXT)")
    con.commit()
    con.close()
    return ["migrate", str(db)]


def _backup_without_manifest(tmp: Path) -> list[str]:
    db = make_db(tmp / "wf.db", rows=5)
    stray = make_db(tmp / "stray.db", rows=5, seed="b")  # a database, but no wfhist manifest
    return ["rollback", str(db), "--backup", str(stray)]


def _badly_named_migration(tmp: Path) -> list[str]:
    db = make_db(tmp / "wf.db", rows=5)
    (tmp / "m").mkdir()
    (tmp / "m" / "six.sql").write_text("SELECT 1;")
    return ["migrate", str(db), "--migrations", str(tmp / "m")]


CASES: dict[str, tuple[type[WfhistError], Callable[[Path], list[str]], str]] = {
    "missing file": (UsageError, lambda t: ["summary", str(t / "nope.db")], "no such file"),
    "bad option": (
        UsageError,
        lambda t: ["summary", str(make_db(t / "wf.db", rows=5)), "--tz", "Mars/Olympus"],
        "Mars/Olympus",
    ),
    "unknown shape": (SchemaError, _unknown_shape, "colour"),
    "no manifest": (BackupError, _backup_without_manifest, "manifest not found"),
    "bad migration name": (MigrationError, _badly_named_migration, "NNN_description.sql"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_real_failure_is_its_class_one_line_and_its_exit_code(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cls, make_args, needle = CASES[case]
    args = make_args(tmp_path)
    monkeypatch.setenv("WFHIST_DEBUG", "1")
    with pytest.raises(WfhistError) as info:
        main(args)
    assert type(info.value) is cls and needle in str(info.value)
    monkeypatch.delenv("WFHIST_DEBUG")
    capsys.readouterr()
    assert main(args) == cls.exit_code
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("wfhist: error: ") and needle in err[-1]
    assert not any(line.startswith("Traceback") for line in err)


def test_a_held_wfhist_lock_is_a_locked_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = make_db(tmp_path / "wf.db", rows=5)
    backup = tmp_path / "b.db"
    with migration_lock(db):
        with pytest.raises(LockedError, match="another wfhist migrate/rollback is running"):
            from wfhist.rollback import rollback

            rollback(db, backup, busy_timeout=0.1)
        assert main(["rollback", str(db), "--backup", str(backup), "--busy-timeout", "0.1"]) == (
            LockedError.exit_code
        )
    assert capsys.readouterr().err.count("wfhist: error:") == 1


def test_a_missing_scanner_is_an_extension_error(tmp_path: Path) -> None:
    """The scanner wheel hidden and an empty DuckDB home: the one line says what to install."""
    db = make_db(tmp_path / "wf.db", rows=5)
    code = (
        "import sys; sys.modules['duckdb_extension_sqlite_scanner'] = None\n"
        "from wfhist.cli import main; sys.exit(main(['summary', sys.argv[1]]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(db)],
        env={**os.environ, "HOME": str(tmp_path), "WFHIST_DEBUG": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == ExtensionError.exit_code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install duckdb-extension-sqlite-scanner==" in lines[0]
