"""wfhist.sqlscript: scripts split as SQLite splits them, the shared guard, the sandboxed runner.

The tokenizer underneath is tests/test_sqltokens.py.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfhist.exceptions import MigrationError
from wfhist.sqlscript import (
    RefusedStatement,
    Sandbox,
    StatementError,
    check_script,
    read_script,
    renames_in_sql,
    run_script,
    run_statements,
    split_statements,
    statements,
    transaction_control,
)
from wfhist.sqltokens import COMMENT

# --- the splitter -------------------------------------------------------------------------

TRIGGER = """CREATE TRIGGER t_au AFTER UPDATE ON t
BEGIN
    UPDATE t SET b = CASE WHEN new.a > 1 THEN 'x;y' ELSE 'z' END WHERE rowid = new.rowid;
    INSERT INTO log VALUES ('a; END;'); -- END; in a comment
END;"""

SPLITS = [
    # (name, script, statements as SQLite's shell cuts them)
    ("comment with star", "-- logs/* importer\nSELECT 1;", ["SELECT 1;"]),
    ("block comment before", "/* header */SELECT 1;", ["SELECT 1;"]),
    ("two on one line", "SELECT 1; SELECT 2;", ["SELECT 1;", "SELECT 2;"]),
    ("hidden commit", "SELECT 1;COMMIT;SELECT 2;", ["SELECT 1;", "COMMIT;", "SELECT 2;"]),
    ("empty statements", ";;SELECT 1;; ;", ["SELECT 1;"]),
    ("string with ;", "SELECT 'a; -- /* b';SELECT 2", ["SELECT 'a; -- /* b';", "SELECT 2"]),
    ("quoted names with ;", 'SELECT [a;b], "c;d", `e;f`;', ['SELECT [a;b], "c;d", `e;f`;']),
    ("comment holds ;", "SELECT 1 -- ; not a cut\n, 2;", ["SELECT 1 -- ; not a cut\n, 2;"]),
    ("unterminated comment", "SELECT 1;\n/* open\nDROP TABLE t;", ["SELECT 1;"]),
    ("no trailing ;", "SELECT 1;\nSELECT 2\n", ["SELECT 1;", "SELECT 2"]),
    ("crlf", "SELECT 1;\r\n-- c\r\nSELECT 2;\r\n", ["SELECT 1;", "SELECT 2;"]),
    ("trigger", TRIGGER + " SELECT 3;", [TRIGGER, "SELECT 3;"]),
    ("temp trigger", "CREATE TEMP TRIGGER x AFTER INSERT ON t BEGIN SELECT 1; END;", None),
    ("comment only", "-- nothing\n/* at all */", []),
]


@pytest.mark.parametrize(("name", "sql", "expected"), SPLITS, ids=[s[0] for s in SPLITS])
def test_split_statements(name: str, sql: str, expected: list[str] | None) -> None:
    got = split_statements(sql)
    if expected is None:
        assert got == [sql]
    else:
        assert got == expected
    for text in got:  # each piece is exactly one statement for SQLite (or its last, unfinished)
        assert sqlite3.complete_statement(text) or text == got[-1]


def test_statement_fields() -> None:
    sql = "-- head\nALTER TABLE t ADD c;\n\n  /* x */ select 1; SELECT 2"
    found = statements(sql)
    assert [(s.number, s.line, s.keyword) for s in found] == [
        (1, 2, "ALTER"),
        (2, 4, "SELECT"),
        (3, 4, "SELECT"),
    ]
    assert all(t.kind not in ("space", COMMENT) for s in found for t in s.code)
    assert found[1].text == "select 1;"


def test_every_split_statement_runs_as_one_statement(tmp_path: Path) -> None:
    """SQLite agrees: each piece executes alone (sqlite3 refuses text with two statements)."""
    con = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    con.execute("CREATE TABLE t (a, b)")
    con.execute("CREATE TABLE log (m)")
    for text in split_statements(f"{TRIGGER}\nINSERT INTO t VALUES (2, 0); UPDATE t SET a = 3;"):
        con.execute(text)
    assert con.execute("SELECT b FROM t").fetchone() == ("x;y",)
    assert con.execute("SELECT m FROM log").fetchone() == ("a; END;",)
    con.close()


# property: statements joined by ';' and cut again come back unchanged
_word = st.sampled_from(["SELECT", "a", "x1", "END", "BEGIN", "CASE", "1", "2.5", "(", ")", ","])
_string = st.text(alphabet="ab;'-*/ \n", max_size=8).map(lambda s: "'" + s.replace("'", "''") + "'")
_quoted = st.text(alphabet='ab;"-*/ ', max_size=6).map(lambda s: '"' + s.replace('"', '""') + '"')
_comment = st.one_of(
    st.text(alphabet="ab;*/ '", max_size=8).map(lambda s: f"-- {s}\n"),
    st.text(alphabet="ab;- '", max_size=8).map(lambda s: f"/* {s} */"),
)
_piece = st.one_of(_word, _string, _quoted, _comment)
_select = st.lists(_piece, min_size=1, max_size=8).map(lambda parts: "SELECT " + " ".join(parts))
_trigger = st.lists(_select, min_size=1, max_size=3).map(
    lambda inner: (
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN "
        + " ".join(b + ("\n;" if b.endswith("\n") else ";") for b in inner)
        + " END"
    )
)
_body = st.one_of(_select, _trigger)


@settings(max_examples=150, deadline=None)
@given(st.lists(_body, min_size=1, max_size=5))
def test_join_then_split_gives_the_statements_back(bodies: list[str]) -> None:
    # a body may end in a line comment: the ';' goes on the next line then
    texts = [b + ("\n;" if b.endswith("\n") else ";") for b in bodies]
    got = statements("\n".join(texts))
    assert [s.text for s in got] == [t.lstrip() for t in texts]
    for s in got:
        assert sqlite3.complete_statement(s.text)
        # no shorter prefix ending at a ';' token is complete (the cut is the first one)
        for tok in s.code[:-1]:
            if tok.text == ";":
                offset = tok.offset - s.code[0].offset + 1
                assert not sqlite3.complete_statement(s.text[:offset])


# --- renames ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("ALTER TABLE t RENAME COLUMN a TO b;", {"t": {"a": "b"}}),
        ("alter table main.t rename a to b", {"t": {"a": "b"}}),
        ('ALTER TABLE "my t" RENAME COLUMN [o l d] TO `n"w`;', {"my t": {"o l d": 'n"w'}}),
        ('ALTER TABLE t RENAME COLUMN "a""b" TO c', {"t": {'a"b': "c"}}),
        ("ALTER TABLE t RENAME TO u;", {}),
        ("-- ALTER TABLE t RENAME COLUMN a TO b;\nSELECT 1;", {}),
        ("SELECT 'ALTER TABLE t RENAME COLUMN a TO b';", {}),
        ("/* x */ALTER TABLE t RENAME COLUMN a TO b; ALTER TABLE t RENAME c TO d", None),
    ],
)
def test_renames_in_sql(sql: str, expected: dict[str, dict[str, str]] | None) -> None:
    got = renames_in_sql(sql)
    assert got == (expected if expected is not None else {"t": {"a": "b", "c": "d"}})


# --- the guard ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "control"),
    [
        ("COMMIT", "COMMIT"),
        ("/*x*/COMMIT;", "COMMIT"),
        ("  commit  transaction ", "COMMIT"),
        ("END;", "END"),
        ("end transaction", "END"),
        ("BEGIN IMMEDIATE;", "BEGIN"),
        ("ROLLBACK;", "ROLLBACK"),
        ("ROLLBACK TRANSACTION;", "ROLLBACK"),
        ("ROLLBACK TO sp;", None),
        ("ROLLBACK TRANSACTION TO SAVEPOINT sp;", None),
        ("SAVEPOINT sp;", None),
        ("RELEASE sp;", None),
        ("EXPLAIN COMMIT;", "COMMIT"),
        ("SELECT 'COMMIT';", None),
        (TRIGGER, None),
    ],
)
def test_transaction_control(sql: str, control: str | None) -> None:
    (stmt,) = statements(sql)
    assert transaction_control(stmt) == control


@pytest.mark.parametrize(
    ("sql", "number", "reason"),
    [
        ("SELECT 1;COMMIT;", 2, "COMMIT controls the transaction"),
        ("-- ;\nSELECT 1; /* ; */ end ;", 2, "END controls the transaction"),
        ("VACUUM;", 1, "VACUUM"),
        ("VACUUM INTO '/tmp/x.db';", 1, "VACUUM"),
        ("ATTACH 'x.db' AS x;", 1, "ATTACH"),
        ("DETACH x;", 1, "DETACH"),
        ("PRAGMA journal_mode = DELETE;", 1, "journal_mode"),
        ("PRAGMA main.journal_mode(WAL);", 1, "journal_mode"),
        ("PRAGMA locking_mode = EXCLUSIVE;", 1, "locking_mode"),
        ("PRAGMA writable_schema = 1;", 1, "writable_schema"),
        ("PRAGMA query_only = 1;", 1, "query_only"),
        ("PRAGMA user_version = 9;", 1, "user_version"),
        ("PRAGMA foreign_keys = OFF;", 1, "defer_foreign_keys"),
        ("PRAGMA wal_checkpoint(TRUNCATE);", 1, "wal_checkpoint"),
        ("DROP TABLE wfhist_migrations;", 1, "wfhist_migrations"),
        ("DELETE FROM main.[wfhist_migrations];", 1, "wfhist_migrations"),
        ("UPDATE OR IGNORE wfhist_migrations SET sha256 = 'x';", 1, "wfhist_migrations"),
        ("INSERT OR REPLACE INTO WFHIST_MIGRATIONS (version) VALUES (9);", 1, "wfhist_migrations"),
        ("ALTER TABLE wfhist_migrations ADD x;", 1, "wfhist_migrations"),
        ("ALTER TABLE t RENAME TO wfhist_migrations;", 1, "wfhist_migrations"),
        ("CREATE TABLE IF NOT EXISTS wfhist_migrations (v);", 1, "wfhist_migrations"),
        ("CREATE INDEX i ON wfhist_migrations (name);", 1, "wfhist_migrations"),
        (
            "CREATE TRIGGER x AFTER INSERT ON t BEGIN DELETE FROM wfhist_migrations; END;",
            1,
            "wfhist_migrations",
        ),
    ],
)
def test_check_script_refuses(sql: str, number: int, reason: str) -> None:
    with pytest.raises(RefusedStatement) as exc:
        check_script(sql, "m.sql")
    assert exc.value.statement_number == number
    message = str(exc.value)
    assert message.startswith(f"m.sql: statement {number} (line ")
    assert reason in message and "\n" not in message
    assert exc.value.exit_code == 1


@pytest.mark.parametrize(
    "sql",
    [
        "PRAGMA table_info(workflow_history);",
        "PRAGMA journal_mode;",  # reading is harmless
        "PRAGMA defer_foreign_keys = ON;",
        "SAVEPOINT a; RELEASE a;",
        "CREATE VIEW v AS SELECT max(version) FROM wfhist_migrations;",  # reading is allowed
        "SELECT * FROM wfhist_migrations;",
        TRIGGER,
    ],
)
def test_check_script_allows(sql: str) -> None:
    assert check_script(sql, "m.sql")


def test_check_script_refuses_nul() -> None:
    with pytest.raises(MigrationError, match=r"m.sql: line 2 holds a NUL"):
        check_script("SELECT 1;\nSELECT '\x00';", "m.sql")


# --- the runner ---------------------------------------------------------------------------


@pytest.fixture
def con(tmp_path: Path):
    c = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)
    c.execute("CREATE TABLE t (a INTEGER, b TEXT)")
    c.execute("INSERT INTO t VALUES (1, 'one')")
    c.execute("CREATE TABLE wfhist_migrations (version INTEGER, name TEXT)")
    yield c
    c.close()


def _rows(con: sqlite3.Connection) -> list[tuple]:
    return con.execute("SELECT * FROM t ORDER BY a").fetchall()


def test_run_script_records_actions_and_commits(con: sqlite3.Connection) -> None:
    result = run_script(con, "ALTER TABLE t ADD c; DELETE FROM t WHERE a = 2;", source="m")
    assert result.statements == ["ALTER TABLE t ADD c;", "DELETE FROM t WHERE a = 2;"]
    assert ("1", "ALTER TABLE", "t") in result.actions
    assert ("2", "DELETE", "t") in result.actions
    assert not con.in_transaction
    assert _rows(con) == [(1, "one", None)]


def test_run_script_error_rolls_back_with_typed_fields(con: sqlite3.Connection) -> None:
    with pytest.raises(StatementError) as exc:
        run_script(con, "UPDATE t SET b = 'x';\nINSERT INTO nope VALUES (1);", source="m.sql")
    err = exc.value
    assert (err.statement_number, err.statement) == (2, "INSERT INTO nope VALUES (1);")
    assert "no such table" in err.sqlite_message
    assert err.partial == ["UPDATE t SET b = 'x';"]
    assert str(err).startswith("m.sql: statement 2 of 2 failed: no such table")
    assert not con.in_transaction and _rows(con) == [(1, "one")]


def test_run_script_end_open_leaves_the_transaction_to_the_caller(
    con: sqlite3.Connection,
) -> None:
    run_script(con, "UPDATE t SET b = 'x';", end="open")
    assert con.in_transaction
    con.execute("INSERT INTO wfhist_migrations VALUES (1, 'm')")  # the sandbox is gone
    con.execute("ROLLBACK")
    assert _rows(con) == [(1, "one")]


def test_run_script_refuses_before_running(con: sqlite3.Connection) -> None:
    with pytest.raises(RefusedStatement):
        run_script(con, "UPDATE t SET b = 'x';COMMIT;")
    assert _rows(con) == [(1, "one")] and not con.in_transaction


_TRIGGER_TRICK = (
    "CREATE TRIGGER tr AFTER INSERT ON t BEGIN DELETE FROM wfhist_migrations; END;"
    " INSERT INTO t VALUES (2, 'y')"
)


@pytest.mark.parametrize(
    ("statement", "why"),
    [
        ("ATTACH '{tmp}/a.db' AS x", "ATTACH"),
        ("VACUUM INTO '{tmp}/v.db'", "VACUUM"),
        ("VACUUM", "VACUUM"),
        ("COMMIT", "COMMIT"),
        ("PRAGMA journal_mode = DELETE", "journal_mode"),
        ("DROP TABLE wfhist_migrations", "wfhist_migrations"),
        (_TRIGGER_TRICK, "wfhist_migrations"),  # a trigger body is authorized when it fires
    ],
)
def test_sandbox_denies_at_run_time(
    con: sqlite3.Connection, tmp_path: Path, statement: str, why: str
) -> None:
    """Defence in depth: the authorizer denies what the guard refuses, had the guard missed it.

    In autocommit, where VACUUM and ATTACH would otherwise work.
    """
    sandbox = Sandbox()
    con.set_authorizer(sandbox)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(sqlite3.DatabaseError, match=r"not authorized|authorization denied"):
        for text in split_statements(statement.format(tmp=tmp_path)):
            con.execute(text)
    con.set_authorizer(None)
    assert sandbox.denied is not None and why in sandbox.denied
    assert con.execute("SELECT count(*) FROM wfhist_migrations").fetchone() == (0,)
    assert con.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_denied_at_run_time_is_a_statement_error(con: sqlite3.Connection) -> None:
    """A trigger already in the file writes the runner's table when the migration fires it."""
    con.execute("CREATE TRIGGER forget AFTER INSERT ON t BEGIN DELETE FROM wfhist_migrations; END")
    con.execute("INSERT INTO wfhist_migrations VALUES (1, 'm')")
    with pytest.raises(StatementError) as exc:
        run_script(con, "UPDATE t SET b = 'x';\nINSERT INTO t VALUES (2, 'two');", source="m")
    err = exc.value
    assert err.statement_number == 2
    assert err.sqlite_message.startswith("not allowed: it writes wfhist_migrations")
    assert str(err).startswith("m: statement 2 of 2 failed: not allowed")
    assert _rows(con) == [(1, "one")] and not con.in_transaction
    assert con.execute("SELECT count(*) FROM wfhist_migrations").fetchone() == (1,)


_FRAGMENTS = (
    *(" ", "\n", ";", "'", '"', "`", "[", "]", "--", "/*", "*/", "(", ")", "x", "1", "t"),
    *("SELECT ", "COMMIT", "BEGIN ", "END", "CREATE TRIGGER r AFTER INSERT ON t "),
    *("ATTACH ':memory:' AS a", "VACUUM", "PRAGMA user_version=1", "INSERT INTO t VALUES(1,2)"),
)
_SQLISH = st.lists(st.sampled_from(_FRAGMENTS), max_size=12).map("".join)


@settings(max_examples=200, deadline=None)
@given(_SQLISH)
def test_any_text_is_run_or_refused_never_a_crash(text: str) -> None:
    """Whatever the text: it runs, or one MigrationError with a statement number; no traceback."""
    con = sqlite3.connect(":memory:", isolation_level=None)
    con.execute("CREATE TABLE t (a, b)")
    try:
        run_script(con, text, source="fuzz.sql")
    except (RefusedStatement, StatementError) as exc:
        assert str(exc).startswith("fuzz.sql: statement ")
        assert not con.in_transaction
    assert con.execute("PRAGMA user_version").fetchone() == (0,)
    assert con.execute("PRAGMA database_list").fetchall() == [(0, "main", "")]
    con.close()


def test_sandbox_keeps_a_read_only_schema_read_only(
    con: sqlite3.Connection, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "before.db")
    other.execute("CREATE TABLE t (a)")
    other.execute("INSERT INTO t VALUES (1)")
    other.commit()
    other.close()
    con.execute("ATTACH DATABASE ? AS before", (str(tmp_path / "before.db"),))
    sandbox = Sandbox(read_only=("before",))
    con.execute("BEGIN IMMEDIATE")
    with pytest.raises(StatementError) as exc:
        run_statements(
            con,
            ["INSERT INTO main.t SELECT a, 'copied' FROM before.t;", "DELETE FROM before.t;"],
            source="m",
            sandbox=sandbox,
        )
    con.execute("ROLLBACK")
    assert exc.value.statement_number == 2  # reading it (statement 1) was fine
    assert "'before', which the runner attached read-only" in exc.value.sqlite_message
    assert con.execute("SELECT count(*) FROM before.t").fetchone() == (1,)


def test_read_script_drops_a_byte_order_mark_and_refuses_other_encodings(tmp_path: Path) -> None:
    bom = tmp_path / "bom.sql"
    bom.write_bytes(b"\xef\xbb\xbfCOMMIT;\r\n")
    text = read_script(bom)
    assert text == "COMMIT;\n"  # universal newlines, as before
    with pytest.raises(RefusedStatement, match="COMMIT controls the transaction"):
        check_script(text, str(bom))
    latin = tmp_path / "latin.sql"
    latin.write_bytes("SELECT 'café';".encode("latin-1"))
    with pytest.raises(MigrationError, match=r"latin\.sql: not UTF-8 text"):
        read_script(latin)
    with pytest.raises(MigrationError, match="migration file not found"):
        read_script(tmp_path)
