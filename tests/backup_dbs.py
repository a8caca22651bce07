"""Small databases shaped like the real file, for the backup and rollback tests.

The real file's related tables reference ``workflow_history(workflow_id)``, which
has a plain (not UNIQUE) index, so SQLite's ``foreign_key_check`` raises
"foreign key mismatch" on them; it is in DELETE journal mode. Text values may be
invalid UTF-8 or hold NUL characters (the service stores what it is given).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

SCHEMA = """
CREATE TABLE workflow_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, adw_id TEXT NOT NULL UNIQUE, workflow_id TEXT,
    status TEXT NOT NULL DEFAULT 'completed', error_message TEXT, retry_count INTEGER DEFAULT 0,
    nl_input TEXT, cost REAL);
CREATE INDEX idx_workflow_history_workflow_id ON workflow_history(workflow_id);
CREATE TABLE tool_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id TEXT NOT NULL REFERENCES workflow_history(workflow_id), tool_name TEXT NOT NULL);
CREATE TABLE operation_patterns (id INTEGER PRIMARY KEY AUTOINCREMENT, sig TEXT UNIQUE);
CREATE TABLE pattern_occurrences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pattern_id INTEGER NOT NULL REFERENCES operation_patterns(id), note TEXT);
"""


def make_db(path: Path, rows: int = 300, *, seed: str = "a", journal: str = "delete") -> Path:
    """A file of the real shape with ``rows`` runs; ``seed`` makes the run ids its own."""
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA journal_mode={journal}")
    con.executescript(SCHEMA)
    bad_text = "CAST(x'41ff00fe42' AS TEXT)"  # invalid UTF-8 with an embedded NUL
    for i in range(rows):
        con.execute(
            "INSERT INTO workflow_history (adw_id, workflow_id, nl_input, cost) "
            "VALUES (?, ?, ?, ?)",
            (f"{seed}{i:07x}", f"wf-{seed}{i}", "request " * 40, i / 7),
        )
        con.execute(
            "INSERT INTO tool_calls (workflow_id, tool_name) VALUES (?, 'Read')", (f"wf-{seed}{i}",)
        )
    con.execute(f"UPDATE workflow_history SET error_message = {bad_text} WHERE id % 50 = 2")
    con.execute("INSERT INTO operation_patterns (sig) VALUES ('p1')")
    con.execute("INSERT INTO pattern_occurrences (pattern_id, note) VALUES (1, 'x'), (7, 'orphan')")
    con.commit()
    con.close()
    return path


def count(db: Path, sql: str) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute(sql).fetchone()[0])
    finally:
        con.close()


class LockHolder:
    """Another process holding ``BEGIN EXCLUSIVE`` on a database until stopped."""

    def __init__(self, db: Path) -> None:
        code = (
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "time.sleep(60)\n"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "locked"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
