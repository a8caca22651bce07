"""Rewrite a migration that would lose data by rebuilding a table into one that keeps it all.

``wfhist plan DB MIGRATION.sql --rewrite SAFE.sql``. The historic 005 meant two
column renames and three new indexes, and tried to get there by rebuilding
``workflow_history`` (``CREATE TABLE … AS SELECT`` of 36 names, ``DROP TABLE``,
a new ``CREATE TABLE``, ``INSERT … SELECT``), which drops 50 columns. This module
reads the migration with wfhist's SQLite-faithful tokenizer
(:func:`wfhist.sqlscript.statements`) and keeps its *visible intent*, statement
by statement, against the columns the database really has:

* ``ADD COLUMN new`` followed by ``UPDATE … SET new = old`` (a copy) becomes
  ``RENAME COLUMN old TO new``: the values stay where they are;
* the rebuild (``CREATE TABLE … AS SELECT``, ``DROP TABLE`` of an existing
  table, its re-``CREATE``, ``INSERT … SELECT``, dropping the copy) is left out,
  so every column, index, view, trigger and foreign key it would have dropped
  stays; columns only the new ``CREATE TABLE`` names are not invented;
* ``DROP INDEX`` is kept only for an index on a renamed column (replaced by the
  migration's index under the new name, as 008 does); any other index stays;
* ``CREATE INDEX`` is kept for a new index name whose columns exist after the
  rewrite; one on a column that does not exist, or a name that exists, is left out;
* anything else is kept as written.

The result must prove itself before it is written: its own dry run
(:func:`wfhist.plan.plan_migration`) on a copy of the database must not FAIL.
It is written under a temporary name next to the target and linked into place,
so it never replaces an existing file and never leaves a half-written one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from wfhist import files
from wfhist.adopt import partial_005
from wfhist.exceptions import MigrationError, UsageError
from wfhist.model import read_database
from wfhist.schema import TABLE, quote_ident
from wfhist.sqlscript import Statement, read_script, statements
from wfhist.sqltokens import IDENTIFIER, STRING, WORD, Token
from wfhist.sqltokens import unquote as _unquote

log = logging.getLogger("wfhist.rewrite")


@dataclass
class RewriteResult:
    """The rewrite written (or proposed) and what it left out, with its own dry run's verdict."""

    source: str
    target: str | None
    sql: str
    verdict: str
    kept: list[str] = field(default_factory=list)  # what the rewrite does, one line each
    left_out: list[str] = field(default_factory=list)  # what it does not do, and why

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


# --- reading statements ----------------------------------------------------------------


def _name(tok: Token) -> str | None:
    return _unquote(tok) if tok.kind in (WORD, IDENTIFIER, STRING) else None


def _words(code: tuple[Token, ...], *expected: str) -> bool:
    return len(code) >= len(expected) and all(
        t.upper == w for t, w in zip(code, expected, strict=False)
    )


def _object_after(code: tuple[Token, ...], i: int) -> tuple[str | None, int]:
    """An object name at ``code[i]``, skipping ``IF [NOT] EXISTS`` and a ``schema.`` prefix."""
    if _words(code[i:], "IF", "NOT", "EXISTS"):
        i += 3
    elif _words(code[i:], "IF", "EXISTS"):
        i += 2
    if i + 2 < len(code) and code[i + 1].text == ".":
        i += 2
    return (_name(code[i]) if i < len(code) else None), i + 1


def _add_column(code: tuple[Token, ...]) -> tuple[str, str] | None:
    """``ALTER TABLE t ADD [COLUMN] c …`` -> (t, c)."""
    if not _words(code, "ALTER", "TABLE"):
        return None
    table, i = _object_after(code, 2)
    if table is None or i >= len(code) or code[i].upper != "ADD":
        return None
    i += 1 + (i + 1 < len(code) and code[i + 1].upper == "COLUMN")
    column = _name(code[i]) if i < len(code) else None
    return (table, column) if column else None


def _copies(code: tuple[Token, ...]) -> tuple[str, list[tuple[str, str]]] | None:
    """``UPDATE t SET a = b, c = d`` (every row, column to column) -> (t, [(a, b), (c, d)])."""
    if not code or code[0].upper != "UPDATE":
        return None
    table, i = _object_after(code, 1)
    if table is None or i >= len(code) or code[i].upper != "SET":
        return None
    body = [t for t in code[i + 1 :] if t.text != ";"]
    pairs = []
    while body:
        if len(body) < 3 or body[1].text != "=" or (len(body) > 3 and body[3].text != ","):
            return None  # a WHERE, an expression, a FROM: not a plain copy
        new, old = _name(body[0]), _name(body[2])
        if new is None or old is None or body[2].kind not in (WORD, IDENTIFIER):
            return None
        pairs.append((new, old))
        body = body[4:]
    return table, pairs


def _create_index(code: tuple[Token, ...]) -> tuple[str, str, list[str]] | None:
    """``CREATE [UNIQUE] INDEX [IF NOT EXISTS] n ON t (c [ASC|DESC], …)`` -> (n, t, columns)."""
    i = 2 if _words(code, "CREATE", "UNIQUE", "INDEX") else 1
    if not _words(code, "CREATE") or i >= len(code) or code[i].upper != "INDEX":
        return None
    name, i = _object_after(code, i + 1)
    if name is None or i + 2 >= len(code) or code[i].upper != "ON":
        return None
    table = _name(code[i + 1])
    columns: list[str] = []
    depth, expect_name = 0, True
    for tok in code[i + 2 :]:
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth -= 1
            if depth == 0:
                break
        elif depth == 1 and tok.text == ",":
            expect_name = True
        elif depth == 1 and expect_name:
            columns.append(_name(tok) or "")
            expect_name = False
    return (name, table, columns) if table else None


def _verb_object(code: tuple[Token, ...]) -> tuple[str, str | None]:
    """("DROP TABLE", t), ("DROP INDEX", i), ("CREATE TABLE AS", t), ("CREATE TABLE", t),
    ("INSERT SELECT", t) or ("", None)."""
    if _words(code, "DROP", "TABLE") or _words(code, "DROP", "INDEX"):
        return f"DROP {code[1].upper}", _object_after(code, 2)[0]
    if _words(code, "CREATE", "TABLE") or _words(code, "CREATE", "TEMP", "TABLE"):
        start = 3 if code[1].upper == "TEMP" else 2
        name, i = _object_after(code, start)
        is_copy = i < len(code) and code[i].upper == "AS"
        return ("CREATE TABLE AS" if is_copy else "CREATE TABLE"), name
    if code and code[0].upper in ("INSERT", "REPLACE"):
        i = next((k for k, t in enumerate(code) if t.upper == "INTO"), -1)
        if i >= 0 and any(t.upper == "SELECT" for t in code):
            return "INSERT SELECT", _object_after(code, i + 1)[0]
    return "", None


# --- the database's shape ---------------------------------------------------------------


def _shape(db: Path) -> tuple[dict[str, list[str]], dict[str, tuple[str, list[str]]]]:
    """({table: columns}, {index: (table, columns)}) of ``db``, read-only, from the schema model."""
    con = files.open_readonly(db)
    try:
        model = read_database(con)
    except sqlite3.Error as exc:
        raise files.explain_sqlite_error(db, exc) from exc
    finally:
        con.close()
    tables = {name: table.names for name, table in model.tables.items()}
    indexes = {
        i.name: (name, [c or "" for c, _desc in i.columns])
        for name, table in model.tables.items()
        for i in table.indexes
    }
    return tables, indexes


def rebuilds(sql: str, tables: set[str]) -> list[str]:
    """The statements of ``sql`` that drop an existing table (a rebuild), for the plan's hint."""
    out = []
    for stmt in statements(sql):
        verb, obj = _verb_object(stmt.code)
        if verb == "DROP TABLE" and obj in tables:
            out.append(f"#{stmt.number} DROP TABLE {obj}")
    return out


# --- the rewrite ------------------------------------------------------------------------


def safe_sql(sql: str, source: str, db: Path) -> RewriteResult:
    """The rewrite of ``sql`` for ``db``'s shape (not yet proven; see :func:`rewrite`)."""
    tables, indexes = _shape(db)
    found = statements(sql)
    added = {a for s in found if (a := _add_column(s.code))}
    # new column <- old column, when the migration adds `new` and copies an existing `old`
    renames: dict[tuple[str, str], str] = {}
    for s in found:
        copy = _copies(s.code)
        for new, old in copy[1] if copy else []:
            table = copy[0] if copy else ""
            have = tables.get(table, [])
            if (table, new) in added and old in have and new not in have:
                renames[(table, new)] = old
    dropped = {obj for s in found for v, obj in [_verb_object(s.code)] if v == "DROP TABLE" and obj}
    rebuilt = {t for t in dropped if t in tables}
    created = {
        obj
        for s in found
        for v, obj in [_verb_object(s.code)]
        if v.startswith("CREATE TABLE") and obj
    }
    rebuilt |= created & dropped  # the rebuild's temporary copies
    after = {t: set(cols) for t, cols in tables.items()}
    for (table, new), old in renames.items():
        after[table] = (after[table] - {old}) | {new}
    result = RewriteResult(source=source, target=None, sql="", verdict="")
    out: list[str] = []
    for s in found:
        out += _rewrite_one(s, renames, rebuilt, indexes, after, result)
    header = (
        f"-- Safe rewrite of {Path(source).name}, written by `wfhist plan --rewrite`: its visible\n"
        "-- intent without its table rebuild; every column, index, view, trigger and foreign key\n"
        "-- stays. Proven by its own dry run before it was written.\n"
    )
    result.sql = header + "\n".join(out) + ("\n" if out else "")
    return result


def _rewrite_one(
    s: Statement,
    renames: dict[tuple[str, str], str],
    rebuilt: set[str],
    indexes: dict[str, tuple[str, list[str]]],
    after: dict[str, set[str]],
    result: RewriteResult,
) -> list[str]:
    """The statements one statement of the migration becomes (none, itself, or renames)."""
    code = s.code
    add = _add_column(code)
    if add is not None and add in renames:
        return []  # becomes the RENAME at the copy
    copy = _copies(code)
    if copy is not None and all((copy[0], new) in renames for new, _ in copy[1]):
        table = copy[0]
        lines = []
        for new, old in copy[1]:
            lines.append(
                f"ALTER TABLE {quote_ident(table)} RENAME COLUMN {quote_ident(old)} "
                f"TO {quote_ident(new)};"
            )
            result.kept.append(f"#{s.number}: {table}.{new} = {old} becomes RENAME COLUMN")
        return lines
    verb, obj = _verb_object(code)
    if verb == "DROP INDEX":
        on = indexes.get(obj or "")
        renamed_olds = {(t, old) for (t, _), old in renames.items()}
        if on is None or any((on[0], c) in renamed_olds for c in on[1]):
            return [s.text]  # replaced by the migration's index under the new column name
        result.left_out.append(f"#{s.number}: DROP INDEX {obj} (the index stays)")
        return []
    if (
        verb in ("DROP TABLE", "CREATE TABLE", "CREATE TABLE AS", "INSERT SELECT")
        and obj in rebuilt
    ):
        result.left_out.append(f"#{s.number}: {verb} {obj} (part of the rebuild that loses data)")
        return []
    index = _create_index(code)
    if index is not None:
        name, table, columns = index
        if name in indexes:
            result.left_out.append(f"#{s.number}: index {name} exists already")
            return []
        missing = [c for c in columns if c not in after.get(table, set())]
        if missing:
            result.left_out.append(
                f"#{s.number}: index {name} on {table}({', '.join(missing)}): no such column"
            )
            return []
        result.kept.append(f"#{s.number}: new index {name} on {table}({', '.join(columns)})")
    return [s.text]


def rewrite(
    db: str | Path,
    migration: str | Path,
    target: str | Path,
    *,
    workdir: str | Path | None = None,
) -> RewriteResult:
    """Write the safe rewrite of ``migration`` to ``target`` once its own dry run passes.

    Refuses (UsageError, exit 2) when ``target`` exists; raises MigrationError
    (exit 1) when the rewrite's dry run FAILs, writing nothing.
    """
    from wfhist.plan import plan_migration
    from wfhist.render import render

    out = Path(target)
    if out.exists() or out.is_symlink():
        raise UsageError(f"{out}: exists; --rewrite never overwrites, give a new file name")
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent}: no such directory for --rewrite; create it first")
    db_path = files.validate_db_path(db)
    source = Path(migration)
    result = safe_sql(read_script(source), str(source), db_path)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    fd = files.create_new(tmp, files.private_mode(source))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(result.sql)
            fh.flush()
            os.fsync(fh.fileno())
        proof = plan_migration(db_path, tmp, workdir=workdir)
        result.verdict = proof.verdict
        if proof.verdict == "FAIL":
            hint = ""
            if partial_005(_shape(db_path)[0].get(TABLE, [])):
                hint = (
                    f"\nthis file has a partially applied 005; 'wfhist migrate {db_path} --to 8' "
                    "repairs it (wfhist.adopt)"
                )
            raise MigrationError(
                f"{source}: its rewrite did not pass its own dry run, nothing written:\n"
                + render(proof)
                + hint
            )
        try:
            os.link(tmp, out)  # never over an existing name, never half-written
        except FileExistsError as exc:
            raise UsageError(f"{out}: exists; --rewrite never overwrites") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    result.target = str(out)
    log.info("rewrite: wrote %s (its own dry run: %s)", out, result.verdict)
    return result
