"""Shared fixtures: real SQLite files made by wfhist's own sample generator."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from wfhist.demo import create_sample_db

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MIGRATIONS = ROOT / "migrations"


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the reader's profile cache out of the user's home during tests."""
    os.environ["WFHIST_CACHE_DIR"] = str(tmp_path_factory.mktemp("wfhist-cache"))


@pytest.fixture(scope="session")
def sample_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default 458-row pre-006 sample, made once per test session. Do not write to it."""
    path = tmp_path_factory.mktemp("template") / "workflow_history.db"
    return create_sample_db(path)


def copy_db(src: Path, dst: Path) -> Path:
    """Copy a SQLite file that has no open writer (checkpointed), with any -wal/-shm files."""
    shutil.copyfile(src, dst)
    for suffix in ("-wal", "-shm"):
        side = Path(str(src) + suffix)
        if side.exists():
            shutil.copyfile(side, Path(str(dst) + suffix))
    return dst


@pytest.fixture
def sample_db(sample_db_template: Path, tmp_path: Path) -> Path:
    """A fresh, writable copy of the 458-row sample for one test."""
    return copy_db(sample_db_template, tmp_path / "workflow_history.db")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With WFHIST_NO_SKIP=1 (CI), a skipped test fails the run.

    Browser and PostgreSQL tests skip with a visible reason on machines without
    Chromium or a PostgreSQL server; CI installs both, so there a skip means a
    broken set-up, not a missing optional tool.
    """
    if os.environ.get("WFHIST_NO_SKIP") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        for report in skipped:
            reporter.write_line(f"WFHIST_NO_SKIP: skipped {report.nodeid}: {report.longrepr}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
