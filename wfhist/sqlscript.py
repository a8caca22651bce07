"""Read and run migration SQL the way SQLite does: one tokenizer, one guard, one transaction.

``sqlite3.Connection.executescript`` commits any open transaction first and stops
half-way on an error, leaving the statements before it applied. Cutting a script
with regexes is no better: a comment holding ``/*`` hid the next statement, two
statements on one line failed, and ``;COMMIT;`` slipped past a line-anchored guard.

So everything here starts from :func:`wfhist.sqltokens.tokens`, which follows SQLite's
own ``tokenize.c`` (strings with ``''`` escapes, ``"``/`````/``[]`` identifiers,
``--`` and ``/* */`` comments -- an unterminated one runs to the end of the text
--, blobs, numbers, variables, operators). :func:`statements` cuts the token
stream at a ``;`` only where :func:`sqlite3.complete_statement` agrees, so a
trigger body ``BEGIN … ; … END;`` stays one statement. :func:`check_script` is
the one guard ``plan`` and ``migrate`` both apply before running anything, and
:func:`run_script` runs the statements in one ``BEGIN IMMEDIATE`` under an
authorizer that denies the same things again at run time (defence in depth).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from wfhist.exceptions import MigrationError
from wfhist.model import MIGRATIONS_TABLE
from wfhist.sqltokens import COMMENT, IDENTIFIER, PUNCT, SPACE, STRING, WORD, Token, tokens, unquote

__all__ = [
    "RefusedStatement",
    "Sandbox",
    "ScriptResult",
    "Statement",
    "StatementError",
    "check_script",
    "pragma_refusal",
    "read_script",
    "refusal",
    "renames_in_sql",
    "run_script",
    "run_statements",
    "split_statements",
    "statements",
    "transaction_control",
    "write_targets",
]

_SKIPPED = (SPACE, COMMENT)


@dataclass(frozen=True)
class Statement:
    """One statement of a script, as SQLite's shell would cut it.

    ``text`` runs from the first token that is not a comment through the closing
    ``;`` (comments inside are kept, comments before are not); ``number`` is
    1-based among the statements that hold code; ``line`` is where ``text``
    starts; ``keyword`` is its first word in upper case (``None`` if it starts
    otherwise); ``code`` are its tokens without whitespace and comments.
    """

    text: str
    number: int
    line: int
    keyword: str | None
    code: tuple[Token, ...]


def _complete(text: str) -> bool:
    try:
        return sqlite3.complete_statement(text)
    except ValueError:  # an embedded NUL: never complete (check_script refuses it)
        return False


def statements(sql: str) -> list[Statement]:
    """Cut ``sql`` into statements at each ``;`` token where SQLite says the text is complete.

    ``;`` inside strings, identifiers and comments is no token, so it never cuts;
    a ``;`` inside a trigger body is a token but ``complete_statement`` says the
    ``CREATE TRIGGER`` is not finished until its ``END;``. Empty statements (a
    lone ``;``, comments only) are dropped. A last statement without ``;`` is kept
    so that running it reports SQLite's own error with its number.
    """
    out: list[Statement] = []
    pending: list[Token] = []
    start = 0  # offset where the current statement's text (code and comments) begins

    def close(end: int) -> None:
        code = tuple(t for t in pending if t.kind not in _SKIPPED)
        if code and not (len(code) == 1 and code[0].text == ";"):
            first = code[0]
            text = sql[first.offset : end].rstrip()
            keyword = first.upper if first.kind == WORD else None
            line = sql.count("\n", 0, first.offset) + 1
            out.append(Statement(text, len(out) + 1, line, keyword, code))
        pending.clear()

    for tok in tokens(sql):
        pending.append(tok)
        if tok.kind == PUNCT and tok.text == ";":
            end = tok.offset + 1
            if _complete(sql[start:end]):
                close(end)
                start = end
    close(len(sql))
    return out


def split_statements(sql: str) -> list[str]:
    """The text of each statement of ``sql`` (see :func:`statements`)."""
    return [s.text for s in statements(sql)]


# --- reading statements -------------------------------------------------------------


def _is_name(tok: Token) -> bool:
    return tok.kind in (WORD, IDENTIFIER, STRING)


def _name_at(code: tuple[Token, ...], i: int) -> tuple[str | None, int]:
    """The unquoted object name at ``code[i]`` (after any ``schema.``), and the next index."""
    if i >= len(code) or not _is_name(code[i]):
        return None, i
    if i + 2 < len(code) and code[i + 1].text == "." and _is_name(code[i + 2]):
        return unquote(code[i + 2]), i + 3
    return unquote(code[i]), i + 1


def renames_in_sql(sql: str) -> dict[str, dict[str, str]]:
    """Column renames a script declares: ``{table: {old: new}}``.

    Verification never guesses a rename from similar data; it accepts one only
    when the migration itself says ``ALTER TABLE t RENAME [COLUMN] old TO new``
    (a table rename, ``RENAME TO new``, is not a column rename).
    """
    out: dict[str, dict[str, str]] = {}
    for stmt in statements(sql):
        code = stmt.code
        if stmt.keyword != "ALTER" or len(code) < 2 or code[1].upper != "TABLE":
            continue
        table, i = _name_at(code, 2)
        if table is None or i >= len(code) or code[i].upper != "RENAME":
            continue
        i += 1
        if i < len(code) and code[i].upper == "COLUMN":
            i += 1
        elif i + 2 < len(code) and code[i].upper == "TO" and code[i + 2].upper != "TO":
            continue  # RENAME TO new_table_name
        if i + 2 >= len(code) or code[i + 1].upper != "TO":
            continue
        old, new = code[i], code[i + 2]
        if _is_name(old) and _is_name(new):
            out.setdefault(table, {})[unquote(old)] = unquote(new)
    return out


def _verb(stmt: Statement) -> tuple[str | None, int]:
    """The statement's first keyword after any ``EXPLAIN [QUERY PLAN]``, and its index."""
    code = stmt.code
    i = 0
    if stmt.keyword == "EXPLAIN":
        i = 1
        if len(code) > 2 and code[1].upper == "QUERY" and code[2].upper == "PLAN":
            i = 3
    if i < len(code) and code[i].kind == WORD:
        return code[i].upper, i
    return None, i


def transaction_control(stmt: Statement) -> str | None:
    """``BEGIN``/``COMMIT``/``END``/``ROLLBACK`` when ``stmt`` starts or ends a transaction.

    ``ROLLBACK TO`` (a savepoint) and ``SAVEPOINT``/``RELEASE`` are not: inside the
    runner's ``BEGIN`` they nest and cannot end its transaction.
    """
    verb, i = _verb(stmt)
    if verb in ("BEGIN", "COMMIT", "END"):
        return verb
    if verb == "ROLLBACK" and not any(t.upper == "TO" for t in stmt.code[i + 1 :]):
        return verb
    return None


#: Pragmas that only read (with or without an argument): allowed.
READ_PRAGMAS = frozenset(
    {
        *("table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo"),
        *("foreign_key_list", "foreign_key_check", "integrity_check", "quick_check"),
        *("collation_list", "compile_options", "database_list", "function_list", "module_list"),
        *("pragma_list", "freelist_count", "page_count", "data_version"),
    }
)
#: Pragmas that may be set: ``defer_foreign_keys`` lasts only until the runner's COMMIT.
SETTABLE_PRAGMAS = frozenset({"defer_foreign_keys"})
#: Pragmas that act on the file or its journal even when they only "read".
ACTION_PRAGMAS = frozenset({"wal_checkpoint", "incremental_vacuum", "shrink_memory", "optimize"})


def pragma_refusal(name: str, value: str | None) -> str | None:
    """Why ``PRAGMA name [= value]`` may not run in a migration, or ``None`` when it may.

    Setting a pragma changes the file (``journal_mode``, ``page_size``,
    ``user_version`` which the runner owns, ``application_id``), the connection's
    safety (``writable_schema``, ``query_only``, ``ignore_check_constraints``,
    ``locking_mode``), or silently nothing (``foreign_keys`` cannot change inside
    a transaction): none belongs in a migration. Reading is harmless.
    """
    name = name.lower()
    if name in ACTION_PRAGMAS:
        return f"PRAGMA {name} acts on the file outside the transaction"
    if value is None or name in READ_PRAGMAS or name in SETTABLE_PRAGMAS:
        return None
    if name == "foreign_keys":
        return (
            "PRAGMA foreign_keys cannot change inside the runner's transaction; "
            "use PRAGMA defer_foreign_keys = ON"
        )
    return f"PRAGMA {name} = … changes the file or the connection, not the data"


def _pragma(stmt: Statement, i: int) -> tuple[str, str | None]:
    """Name and value (``None`` when only read) of the PRAGMA starting at ``code[i]``."""
    code = stmt.code
    name, j = _name_at(code, i + 1)
    value = None
    if j < len(code) and code[j].text in ("=", "("):
        value = " ".join(t.text for t in code[j + 1 :] if t.text not in (")", ";"))
    return (name or ""), value


def write_targets(stmt: Statement) -> list[str]:
    """Tables or views ``stmt`` creates, alters, drops or writes rows of (trigger bodies too).

    Read from tokens: the name after ``INTO``, ``UPDATE [OR x]``, ``DELETE FROM``,
    ``TABLE``/``VIEW`` [``IF [NOT] EXISTS``], ``RENAME TO``, and in a ``CREATE``
    statement the first ``ON`` (the table of an index or trigger).
    """
    code = stmt.code
    out: list[str] = []
    seen_on = False
    for i, tok in enumerate(code):
        word = tok.upper if tok.kind == WORD else ""
        j = -1
        before = code[i - 1].upper if i > 0 else ""
        if word == "INTO" or (word, before) in (("TO", "RENAME"), ("FROM", "DELETE")):
            j = i + 1
        elif word == "UPDATE":
            j = i + 3 if i + 1 < len(code) and code[i + 1].upper == "OR" else i + 1
        elif word in ("TABLE", "VIEW"):
            j = i + 1
            while j < len(code) and code[j].upper in ("IF", "NOT", "EXISTS"):
                j += 1
        elif word == "ON" and stmt.keyword == "CREATE" and not seen_on:
            seen_on = True
            j = i + 1
        if j >= 0:
            name, _ = _name_at(code, j)
            if name is not None:
                out.append(name)
    return out


def refusal(stmt: Statement) -> str | None:
    """Why ``stmt`` may not be part of a migration, or ``None``.

    Refused: transaction control (the runner owns the one transaction: a COMMIT
    would make half a migration permanent); ``VACUUM`` (impossible inside a
    transaction, and ``VACUUM INTO`` writes a file anywhere); ``ATTACH``/``DETACH``
    (a migration may change only the file it is applied to); pragmas that change
    the file or connection (:func:`pragma_refusal`); any write to the runner's
    own ``wfhist_migrations``, including from a trigger body.
    """
    verb, i = _verb(stmt)
    control = transaction_control(stmt)
    if control:
        return f"{control} controls the transaction, which the runner owns"
    if verb == "VACUUM":
        return "VACUUM cannot run inside the migration's transaction (VACUUM INTO writes a file)"
    if verb in ("ATTACH", "DETACH"):
        return f"{verb} reaches another database file; a migration changes only its own file"
    if verb == "PRAGMA":
        why = pragma_refusal(*_pragma(stmt, i))
        if why:
            return why
    if any(name.lower() == MIGRATIONS_TABLE for name in write_targets(stmt)):
        return f"it writes {MIGRATIONS_TABLE}, the runner's own record of applied migrations"
    return None


def check_script(sql: str, source: str) -> list[Statement]:
    """The statements of ``sql``, or :class:`RefusedStatement` (exit 1) for the first refused one.

    The one guard of both ``wfhist plan`` and ``wfhist migrate`` (and of
    :func:`run_script`), so the two agree on every file.
    """
    nul = sql.find("\x00")
    if nul >= 0:
        line = sql.count("\n", 0, nul) + 1
        raise MigrationError(f"{source}: line {line} holds a NUL character; remove it")
    found = statements(sql)
    for stmt in found:
        why = refusal(stmt)
        if why:
            raise RefusedStatement(source, stmt, why)
    return found


class RefusedStatement(MigrationError):
    """A statement :func:`check_script` will not run; nothing was run."""

    def __init__(self, source: str, stmt: Statement, reason: str) -> None:
        self.source = source
        self.statement_number = stmt.number
        self.statement = stmt.text
        self.reason = reason
        head = " ".join(stmt.text.split())[:80]
        super().__init__(
            f"{source}: statement {stmt.number} (line {stmt.line}) refused: {reason} "
            f"[{head}]; remove it from the migration"
        )


class StatementError(MigrationError):
    """A statement failed (or was denied) while running; everything was rolled back."""

    def __init__(
        self,
        message: str,
        *,
        statement_number: int,
        statement: str,
        sqlite_message: str,
        partial: list[str],
        actions: list[tuple[str, str, str]],
    ) -> None:
        super().__init__(message)
        self.statement_number = statement_number
        self.statement = statement
        self.sqlite_message = sqlite_message
        #: the statements that had succeeded (what a runner without a transaction leaves)
        self.partial = partial
        self.actions = actions


# --- running ------------------------------------------------------------------------


@dataclass
class ScriptResult:
    """What running a script did: statements run, and what the authorizer saw."""

    statements: list[str]
    actions: list[tuple[str, str, str]] = field(default_factory=list)  # (stmt#, action, object)


# Authorizer action codes that change structure or remove data (recorded for the report).
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
# Actions naming the table in arg1; the others name an object in arg1 and its table in arg2.
_ROW_WRITES = {sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE}
_TABLE_IN_ARG1 = _ROW_WRITES | {sqlite3.SQLITE_DROP_TABLE, sqlite3.SQLITE_CREATE_TABLE}
_TABLE_IN_ARG1 |= {sqlite3.SQLITE_DROP_VIEW, sqlite3.SQLITE_CREATE_VIEW}
_TABLE_IN_ARG2 = {
    sqlite3.SQLITE_ALTER_TABLE,
    sqlite3.SQLITE_CREATE_INDEX,
    sqlite3.SQLITE_DROP_INDEX,
}
_TABLE_IN_ARG2 |= {sqlite3.SQLITE_CREATE_TRIGGER, sqlite3.SQLITE_DROP_TRIGGER}


class Sandbox:
    """The authorizer every migration statement runs under (``plan`` and ``migrate`` alike).

    It denies at run time what :func:`refusal` refuses from the text -- transaction
    statements, ``ATTACH``/``DETACH`` (SQLite reports ``VACUUM`` and ``VACUUM
    INTO`` as an ATTACH too), refused pragmas, writes to ``wfhist_migrations`` --
    so a statement the tokenizer misread still cannot escape. It also records
    which statement drops, creates, alters or writes what, for the report.

    ``read_only`` names attached schemas the statements may only read (a runner's
    view of the file as it was before, attached for verification).
    """

    def __init__(self, read_only: tuple[str, ...] = ()) -> None:
        self.statement_number = 0
        self.actions: list[tuple[str, str, str]] = []
        self.denied: str | None = None
        self.read_only = read_only

    def __call__(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, _src: str | None
    ) -> int:
        why = self._denial(action, arg1, arg2)
        if db in self.read_only and action not in (sqlite3.SQLITE_READ, sqlite3.SQLITE_SELECT):
            why = f"it changes {db!r}, which the runner attached read-only"
        if why:
            self.denied = why
            return sqlite3.SQLITE_DENY
        name = _WATCHED.get(action)
        if name and not (arg1 or "").startswith("sqlite_"):
            obj = arg2 if action == sqlite3.SQLITE_ALTER_TABLE else arg1
            entry = (str(self.statement_number), name, obj or "")
            if entry not in self.actions:
                self.actions.append(entry)
        return sqlite3.SQLITE_OK

    @staticmethod
    def _denial(action: int, arg1: str | None, arg2: str | None) -> str | None:
        if action == sqlite3.SQLITE_TRANSACTION:
            return f"{arg1} controls the transaction, which the runner owns"
        if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
            return "ATTACH, DETACH and VACUUM reach another file; not allowed in a migration"
        if action == sqlite3.SQLITE_PRAGMA:
            return pragma_refusal(arg1 or "", arg2)
        table = arg1 if action in _TABLE_IN_ARG1 else arg2 if action in _TABLE_IN_ARG2 else None
        if table is not None and table.lower() == MIGRATIONS_TABLE:
            return f"it writes {MIGRATIONS_TABLE}, the runner's own record of applied migrations"
        return None


def run_script(
    con: sqlite3.Connection,
    sql: str,
    *,
    source: str = "<script>",
    on_statement: Callable[[int, str], None] | None = None,
    end: str = "commit",
) -> ScriptResult:
    """Execute ``sql`` on ``con`` in one ``BEGIN IMMEDIATE`` transaction under :class:`Sandbox`.

    ``con`` must be in autocommit mode (``isolation_level=None``) so that this
    function, not the sqlite3 module, decides where the transaction begins and
    ends. The script first passes :func:`check_script` (nothing runs otherwise).
    On any error -- SQLite's or the sandbox's denial -- everything is rolled back
    and :class:`StatementError` names ``source``, the 1-based statement number
    and the reason.

    ``end`` says what happens on success: ``"commit"``; ``"rollback"`` (a dry
    run that only wants the authorizer's record); or ``"open"``, leaving the
    transaction open so the caller can record the migration in the same
    transaction and then COMMIT (or ROLLBACK) itself. The sandbox is removed
    before returning, so the caller's own statements are not restricted.
    """
    if con.isolation_level is not None:
        raise ValueError("run_script needs a connection opened with isolation_level=None")
    if end not in ("commit", "rollback", "open"):
        raise ValueError(f"end must be commit, rollback or open, not {end!r}")
    texts = [s.text for s in check_script(sql, source)]
    con.execute("BEGIN IMMEDIATE")
    try:
        sandbox = run_statements(con, texts, source=source, on_statement=on_statement)
        if end == "commit":
            con.execute("COMMIT")
        elif end == "rollback":
            con.execute("ROLLBACK")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    return ScriptResult(statements=texts, actions=sandbox.actions)


def run_statements(
    con: sqlite3.Connection,
    texts: list[str],
    *,
    source: str,
    sandbox: Sandbox | None = None,
    on_statement: Callable[[int, str], None] | None = None,
) -> Sandbox:
    """Run checked statements one by one in the caller's open transaction, under ``sandbox``.

    The loop ``run_script`` (so ``plan``) uses; a runner that owns its transaction
    (``migrate``) can call it directly to get the same sandbox and the same
    :class:`StatementError`. The caller rolls back on error. Returns the sandbox,
    whose ``actions`` record what each statement did.
    """
    sandbox = sandbox or Sandbox()
    con.set_authorizer(sandbox)
    try:
        for n, stmt in enumerate(texts, start=1):
            sandbox.statement_number = n
            sandbox.denied = None
            if on_statement:
                on_statement(n, stmt)
            try:
                con.execute(stmt)
            except sqlite3.Error as exc:
                raise _statement_error(source, n, texts, exc, sandbox) from exc
    finally:
        con.set_authorizer(None)
    return sandbox


def _statement_error(
    source: str, n: int, texts: list[str], exc: sqlite3.Error, sandbox: Sandbox
) -> StatementError:
    message = str(exc)
    if sandbox.denied:
        message = f"not allowed: {sandbox.denied}"
    head = " ".join(texts[n - 1].split())[:120]
    return StatementError(
        f"{source}: statement {n} of {len(texts)} failed: {message} [{head}]; "
        "nothing was changed (rolled back)",
        statement_number=n,
        statement=texts[n - 1],
        sqlite_message=message,
        partial=texts[: n - 1],
        actions=list(sandbox.actions),
    )


def read_script(path: str | Path) -> str:
    """Read a migration file, with a clear error when it is not there.

    A UTF-8 byte-order mark (what some Windows editors write first) is dropped:
    SQLite would read it as part of the first keyword and fail on valid SQL.
    """
    p = Path(path)
    if not p.is_file():
        raise MigrationError(f"{p}: migration file not found; check the path")
    try:
        return p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MigrationError(f"{p}: not UTF-8 text ({exc}); save it as UTF-8") from exc
