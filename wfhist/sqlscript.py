"""Run a migration script the safe way: statement by statement, in one transaction.

``sqlite3.Connection.executescript`` commits any open transaction first and
stops half-way on an error, leaving the statements before it applied -- exactly
how the historic migration 005 would have left a partial table behind. Here a
script is split with SQLite's own ``complete_statement`` (so semicolons inside
strings and triggers are handled the way SQLite handles them), every statement
runs inside one ``BEGIN IMMEDIATE`` ... ``COMMIT``, and an error names the file,
the statement number and SQLite's message after rolling everything back.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from wfhist.exceptions import MigrationError

_RENAME_COLUMN = re.compile(
    r"""ALTER\s+TABLE\s+(?P<table>"(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\]|[\w.]+)\s+
        RENAME\s+(?:COLUMN\s+)?(?P<old>"(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\]|\w+)\s+
        TO\s+(?P<new>"(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\]|\w+)""",
    re.IGNORECASE | re.VERBOSE,
)


def _unquote(name: str) -> str:
    if name[:1] == '"' and name[-1:] == '"':
        return name[1:-1].replace('""', '"')
    if name[:1] in "`[" and name[-1:] in "`]":
        return name[1:-1]
    return name.split(".")[-1]


def split_statements(sql: str) -> list[str]:
    """Split a script into complete statements, as SQLite's parser sees them.

    Comments and blank text between statements are dropped; a trailing
    incomplete statement is returned too, so that executing it reports SQLite's
    own syntax error with its statement number.
    """
    statements: list[str] = []
    buf = ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            stmt = buf.strip()
            if _has_code(stmt):
                statements.append(stmt)
            buf = ""
    if _has_code(buf):
        statements.append(buf.strip())
    return statements


def _has_code(text: str) -> bool:
    """True when ``text`` holds more than comments, whitespace and semicolons."""
    no_block = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    no_line = re.sub(r"--[^\n]*", "", no_block)
    return bool(no_line.replace(";", "").strip())


def renames_in_sql(sql: str) -> dict[str, dict[str, str]]:
    """Column renames a script declares: ``{table: {old: new}}``.

    Verification never guesses a rename from similar data; it accepts one only
    when the migration itself says ``ALTER TABLE t RENAME COLUMN old TO new``.
    """
    out: dict[str, dict[str, str]] = {}
    for stmt in split_statements(sql):
        m = _RENAME_COLUMN.search(stmt)
        if m:
            table = _unquote(m.group("table"))
            out.setdefault(table, {})[_unquote(m.group("old"))] = _unquote(m.group("new"))
    return out


@dataclass
class ScriptResult:
    """What running a script did: statements run, and what the authorizer saw."""

    statements: list[str]
    actions: list[tuple[str, str, str]] = field(default_factory=list)  # (stmt#, action, object)


# Authorizer action codes that change structure or remove data.
_WATCHED = {
    sqlite3.SQLITE_DROP_TABLE: "DROP TABLE",
    sqlite3.SQLITE_DROP_INDEX: "DROP INDEX",
    sqlite3.SQLITE_DROP_TRIGGER: "DROP TRIGGER",
    sqlite3.SQLITE_DROP_VIEW: "DROP VIEW",
    sqlite3.SQLITE_CREATE_TABLE: "CREATE TABLE",
    sqlite3.SQLITE_CREATE_INDEX: "CREATE INDEX",
    sqlite3.SQLITE_ALTER_TABLE: "ALTER TABLE",
    sqlite3.SQLITE_DELETE: "DELETE",
    sqlite3.SQLITE_UPDATE: "UPDATE",
    sqlite3.SQLITE_INSERT: "INSERT",
}


def run_script(
    con: sqlite3.Connection,
    sql: str,
    *,
    source: str = "<script>",
    on_statement: Callable[[int, str], None] | None = None,
    end: str = "commit",
) -> ScriptResult:
    """Execute ``sql`` on ``con`` inside one ``BEGIN IMMEDIATE`` transaction.

    ``con`` must be in autocommit mode (``isolation_level=None``) so that this
    function, not the sqlite3 module, decides where the transaction begins and
    ends. On any error everything is rolled back and :class:`MigrationError`
    names ``source``, the 1-based statement number and SQLite's message; the
    exception's ``partial`` attribute lists the statements that had succeeded
    (what a runner without a transaction would have left behind).

    ``end`` says what happens on success: ``"commit"``; ``"rollback"`` (a dry
    run that only wants the authorizer's record); or ``"open"``, leaving the
    transaction open so the caller can record the migration in the same
    transaction and then COMMIT (or ROLLBACK) itself.
    """
    if con.isolation_level is not None:
        raise ValueError("run_script needs a connection opened with isolation_level=None")
    if end not in ("commit", "rollback", "open"):
        raise ValueError(f"end must be commit, rollback or open, not {end!r}")
    statements = split_statements(sql)
    result = ScriptResult(statements=statements)
    current = {"n": 0}

    def authorizer(action: int, arg1: str | None, arg2: str | None, db: str | None, _t: object):
        name = _WATCHED.get(action)
        if name and not (arg1 or "").startswith("sqlite_"):
            # ALTER TABLE reports (database, table); the others (object, table).
            obj = arg2 if action == sqlite3.SQLITE_ALTER_TABLE else arg1
            entry = (str(current["n"]), name, obj or "")
            if entry not in result.actions:
                result.actions.append(entry)
        return sqlite3.SQLITE_OK

    con.set_authorizer(authorizer)
    con.execute("BEGIN IMMEDIATE")
    try:
        for n, stmt in enumerate(statements, start=1):
            current["n"] = n
            if on_statement:
                on_statement(n, stmt)
            try:
                con.execute(stmt)
            except sqlite3.Error as exc:
                first_line = " ".join(stmt.split())[:120]
                err = MigrationError(
                    f"{source}: statement {n} of {len(statements)} failed: {exc} "
                    f"[{first_line}]; nothing was changed (rolled back)"
                )
                err.statement_number = n  # type: ignore[attr-defined]
                err.statement = stmt  # type: ignore[attr-defined]
                err.sqlite_message = str(exc)  # type: ignore[attr-defined]
                err.partial = statements[: n - 1]  # type: ignore[attr-defined]
                err.actions = list(result.actions)  # type: ignore[attr-defined]
                raise err from exc
        if end == "commit":
            con.execute("COMMIT")
        elif end == "rollback":
            con.execute("ROLLBACK")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.set_authorizer(None)
    return result


def read_script(path: str | Path) -> str:
    """Read a migration file, with a clear error when it is not there."""
    p = Path(path)
    if not p.is_file():
        raise MigrationError(f"{p}: migration file not found; check the path")
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MigrationError(f"{p}: not UTF-8 text ({exc}); save it as UTF-8") from exc
