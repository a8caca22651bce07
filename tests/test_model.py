"""wfhist.model: the one schema model, read from real SQLite files (main and attached)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from wfhist.model import (
    MIGRATIONS_TABLE,
    column_collations,
    normalise_sql,
    read_database,
)

SCHEMA = [
    # Hostile spellings: a quoted name with a doubled quote, a comment holding a
    # comma and "COLLATE", a CHECK with a COLLATE inside, a table constraint.
    'CREATE TABLE "we""ird" (id INTEGER PRIMARY KEY AUTOINCREMENT, '
    "name TEXT COLLATE NOCASE NOT NULL, -- a comment, COLLATE rtrim\n"
    "code TEXT CHECK (code COLLATE RTRIM <> 'x'), [tag] text collate \"RTRIM\", "
    "CONSTRAINT u UNIQUE (code COLLATE NOCASE))",
    "CREATE TABLE wh (id INTEGER PRIMARY KEY, workflow_id TEXT, adw_id TEXT NOT NULL UNIQUE)",
    "CREATE INDEX idx_wf ON wh(workflow_id)",  # not UNIQUE, as in the real file
    "CREATE INDEX idx_part ON wh(adw_id) WHERE workflow_id IS NOT NULL",
    "CREATE TABLE tool_calls (id INTEGER PRIMARY KEY, "
    "workflow_id TEXT NOT NULL REFERENCES wh(workflow_id), g AS (id * 2))",
    "CREATE TABLE pairs (a TEXT, b INTEGER, PRIMARY KEY (a, b)) WITHOUT ROWID",
    "CREATE TABLE s (x INTEGER, y ANY) STRICT",
    "CREATE VIRTUAL TABLE notes USING fts5(title, body)",
    "CREATE VIRTUAL TABLE boxes USING rtree(id, x0, x1)",
    "CREATE VIEW v_wh AS SELECT id FROM wh",
    "CREATE TRIGGER trg AFTER INSERT ON wh BEGIN SELECT 1; END",
    "INSERT INTO \"we\"\"ird\" (name, code) VALUES ('a', 'b')",
    "PRAGMA user_version = 7",
]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "m.db"
    con = sqlite3.connect(path, isolation_level=None)
    for stmt in SCHEMA:
        con.execute(stmt)
    con.close()
    return path


def test_tables_columns_and_collations(db: Path) -> None:
    con = sqlite3.connect(db)
    model = read_database(con)
    weird = model.tables['we"ird']
    assert weird.names == ["id", "name", "code", "tag"]
    assert {c.name: c.collation for c in weird.columns} == {
        "id": "BINARY",
        "name": "NOCASE",
        "code": "BINARY",  # the COLLATE inside CHECK (...) is not the column's
        "tag": "RTRIM",
    }
    name = weird.column("NAME")
    assert name is not None and name.notnull and name.type == "TEXT"
    assert weird.primary_key == ["id"]
    assert model.sequences == {'we"ird': 1}
    assert model.user_version == 7 and model.journal_mode == "delete"
    con.close()


def test_indexes_foreign_keys_and_table_kinds(db: Path) -> None:
    con = sqlite3.connect(db)
    model = read_database(con)
    wh = model.tables["wh"]
    by_name = {i.name: i for i in wh.indexes}
    assert not by_name["idx_wf"].unique and not by_name["idx_wf"].automatic
    assert by_name["idx_part"].partial
    assert any(i.automatic and i.unique and i.origin == "u" for i in wh.indexes)
    fk = model.tables["tool_calls"].foreign_keys[0]
    assert (fk.column, fk.parent, fk.parent_column) == ("workflow_id", "wh", "workflow_id")
    generated = model.tables["tool_calls"].column("g")
    assert generated is not None and generated.hidden in (2, 3)
    assert model.tables["pairs"].without_rowid
    assert model.tables["s"].strict
    con.close()


def test_virtual_tables_and_their_shadow_tables(db: Path) -> None:
    con = sqlite3.connect(db)
    model = read_database(con)
    assert set(model.virtual_tables) == {"notes", "boxes"}
    notes = model.tables["notes"]
    assert notes.module == "fts5" and notes.is_virtual
    assert "notes_content" in notes.shadow_tables
    assert model.tables["boxes"].module == "rtree"
    assert not any(name.startswith(("notes_", "boxes_")) for name in model.tables)
    assert model.shadow_tables["boxes_node"] == "boxes"
    hidden = [c.name for c in notes.columns if c.hidden == 1]
    assert hidden == ["notes", "rank"]
    con.close()


def test_views_triggers_and_normalised_definitions(db: Path) -> None:
    con = sqlite3.connect(db)
    model = read_database(con)
    assert model.views["v_wh"].table == "v_wh"
    assert model.triggers["trg"].table == "wh"
    assert model.views["v_wh"].definition == "create view v_wh as select id from wh"
    con.close()


def test_reads_an_attached_schema_inside_a_write_transaction(db: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    con = sqlite3.connect(other, isolation_level=None)
    con.execute("ATTACH DATABASE ? AS before", (f"{db.as_uri()}?mode=ro",))
    con.execute("BEGIN IMMEDIATE")
    con.execute("CREATE TABLE new_one (x)")
    attached = read_database(con, "before")
    main = read_database(con, "main")
    assert "wh" in attached.tables and "wh" not in main.tables
    assert set(main.tables) == {"new_one"}  # the uncommitted table is seen by its own connection
    assert con.in_transaction
    con.execute("ROLLBACK")
    con.close()


def test_sqlite_internal_tables_and_runner_table() -> None:
    con = sqlite3.connect(":memory:")
    con.execute(f"CREATE TABLE {MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY)")
    model = read_database(con)
    assert list(model.tables) == [MIGRATIONS_TABLE]
    assert model.sequences is None  # no AUTOINCREMENT table, no sqlite_sequence


def test_a_damaged_file_raises_database_error(tmp_path: Path, db: Path) -> None:
    data = bytearray(db.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the schema page
    bad = tmp_path / "bad.db"
    bad.write_bytes(bytes(data))
    con = sqlite3.connect(bad)
    with pytest.raises(sqlite3.DatabaseError):
        read_database(con)
    con.close()


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("CREATE TABLE t (a TEXT COLLATE nocase)", {"a": "NOCASE"}),
        ("CREATE TABLE t (a TEXT /* COLLATE nocase */, b)", {}),
        ("CREATE TABLE t (a TEXT DEFAULT 'x COLLATE y', b COLLATE rtrim)", {"b": "RTRIM"}),
        ('CREATE TABLE t (`a b` COLLATE "NoCase")', {"a b": "NOCASE"}),
        ("CREATE TABLE t (a, PRIMARY KEY (a COLLATE nocase))", {}),
        ("CREATE TABLE t AS SELECT 1", {}),
    ],
)
def test_column_collations(sql: str, expected: dict[str, str]) -> None:
    assert column_collations(sql) == expected


def test_normalise_keeps_literals_and_renames_identifiers() -> None:
    assert normalise_sql("SELECT \"Old\", 'Old' FROM T", {"old": "new"}) == [
        "select",
        "new",
        ",",
        "'Old'",
        "from",
        "t",
    ]


def test_virtual_table_of_an_unknown_module_is_listed_with_its_error(tmp_path: Path) -> None:
    path = tmp_path / "vm.db"
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    con.execute("PRAGMA writable_schema = ON")  # as a file made by another SQLite build
    con.execute(
        "INSERT INTO sqlite_master VALUES "
        "('table', 'vx', 'vx', 0, 'CREATE VIRTUAL TABLE vx USING nosuchmod(a)')"
    )
    con.close()
    con = sqlite3.connect(path)
    model = read_database(con)
    vx = model.tables["vx"]
    assert vx.is_virtual and vx.module == "nosuchmod" and vx.columns == []
    assert vx.error == "no such module: nosuchmod"
    assert model.tables["t"].error is None
    con.close()
