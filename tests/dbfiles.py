"""Writing small SQLite files for tests: the one helper, instead of one per test module."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def run_sql(path: Path, *statements: str) -> Path:
    """Run each statement on ``path`` in autocommit (the file is created if new); return it."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        for stmt in statements:
            con.execute(stmt)
    finally:
        con.close()
    return path
