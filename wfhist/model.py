"""One typed model of a SQLite database, read from a connection and a schema name.

Every part of wfhist that needs to know what a file holds -- verify, backup,
migrate, status -- asks :func:`read_database` instead of querying
``sqlite_master`` and the ``pragma_*`` functions its own way. The model is read
through the table-valued pragmas with the schema as a bound parameter, so it
works on ``main`` and on any attached database of the same connection, inside
whatever transaction the caller holds (it only reads).

Column collations are not exposed by any pragma: they are read from the
``CREATE TABLE`` text with :func:`wfhist.sqltokens.tokens`, the tokenizer that
reads SQL the way SQLite does. Dependency-free (sqlite3 and wfhist.sqltokens
only) on purpose: the backup and migration paths must not import DuckDB or
pandas.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wfhist.sqltokens import COMMENT, IDENTIFIER, SPACE, WORD, tokens

#: The migration runner's own bookkeeping table (versions, checksums, renames).
MIGRATIONS_TABLE = "wfhist_migrations"


def sql_tokens(sql: str) -> list[str]:
    """The code tokens of ``sql`` (no whitespace, no comments), as SQLite reads them."""
    return [t.text for t in tokens(sql) if t.kind not in (SPACE, COMMENT)]


def unquote(token: str) -> str:
    """An identifier token without its quotes (``"a""b"`` -> ``a"b``, ``[x]`` -> ``x``)."""
    if len(token) >= 2 and token[0] in '"`[':
        body = token[1:-1]
        return body if token[0] == "[" else body.replace(token[0] * 2, token[0])
    return token


def normalise_sql(sql: str, renames: Mapping[str, str] | None = None) -> list[str]:
    """Tokens with case, quoting, spacing and comments normalised; identifiers renamed.

    Two definitions that SQLite parses identically (``CREATE VIEW v AS SELECT a``
    vs ``create view "v" as select A``) give the same list; string and blob
    literals keep their case and bytes.
    """
    low = {k.lower(): v.lower() for k, v in (renames or {}).items()}
    out = []
    for tok in tokens(sql):
        if tok.kind in (SPACE, COMMENT):
            continue
        text = tok.text
        if tok.kind in (WORD, IDENTIFIER):
            text = unquote(text).lower()
            text = low.get(text, text)
        out.append(text)
    return out


@dataclass(frozen=True)
class Column:
    """One column as ``pragma_table_xinfo`` and the CREATE TABLE text describe it."""

    name: str
    type: str
    notnull: bool
    default: str | None
    pk: int  # position in the primary key, 0 = not part of it
    hidden: int  # 0 normal, 1 hidden (virtual table), 2/3 generated
    collation: str = "BINARY"


@dataclass(frozen=True)
class Index:
    """One index, SQLite's automatic ones (UNIQUE / PRIMARY KEY) included."""

    name: str
    table: str
    unique: bool
    origin: str  # c = CREATE INDEX, u = UNIQUE constraint, pk = PRIMARY KEY
    partial: bool
    columns: tuple[tuple[str | None, bool], ...]  # (column or None for an expression, desc)
    sql: str | None

    @property
    def automatic(self) -> bool:
        return self.origin != "c"

    def describe(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "name": self.name,
            "columns": [c if c is not None else "<expr>" for c, _ in self.columns],
            "unique": self.unique,
            "automatic": self.automatic,
        }


@dataclass(frozen=True)
class ForeignKey:
    column: str
    parent: str
    parent_column: str  # "" when the parent's primary key is meant


@dataclass
class Table:
    """A table (ordinary or virtual). Shadow tables of virtual tables are listed apart."""

    name: str
    sql: str
    columns: list[Column]
    indexes: list[Index] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    without_rowid: bool = False
    strict: bool = False
    is_virtual: bool = False
    module: str | None = None  # fts5, rtree, ... for a virtual table
    shadow_tables: list[str] = field(default_factory=list)
    #: Why the columns could not be read (a virtual table whose module this SQLite
    #: lacks: "no such module: ..."); None when the table was read.
    error: str | None = None

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column | None:
        """The column called ``name``, case-insensitively (as SQLite resolves names)."""
        low = name.lower()
        return next((c for c in self.columns if c.name.lower() == low), None)

    @property
    def primary_key(self) -> list[str]:
        return [c.name for c in sorted((c for c in self.columns if c.pk), key=lambda c: c.pk)]


@dataclass(frozen=True)
class SchemaObject:
    """A view or a trigger: its name, the table it belongs to and its definition."""

    kind: str  # "view" or "trigger"
    name: str
    table: str
    sql: str

    @property
    def definition(self) -> str:
        """The CREATE statement normalised (case, quoting, spacing, comments)."""
        return " ".join(normalise_sql(self.sql))


@dataclass
class Database:
    """Everything :func:`read_database` found in one schema of a connection."""

    schema: str
    tables: dict[str, Table]
    views: dict[str, SchemaObject]
    triggers: dict[str, SchemaObject]
    shadow_tables: dict[str, str]  # shadow table -> its virtual table
    user_version: int
    journal_mode: str
    sequences: dict[str, int] | None  # sqlite_sequence, None when the file has none

    @property
    def virtual_tables(self) -> dict[str, Table]:
        return {n: t for n, t in self.tables.items() if t.is_virtual}


def read_database(con: sqlite3.Connection, schema: str = "main") -> Database:
    """The model of schema ``schema`` ("main", "temp" or an attached name) of ``con``.

    Only reads; raises ``sqlite3.DatabaseError`` when the file cannot be read.
    ``sqlite_*`` tables are internal and left out (``sqlite_sequence`` is read
    into :attr:`Database.sequences`).
    """
    q = _quote(schema)
    master = con.execute(f"SELECT type, name, tbl_name, sql FROM {q}.sqlite_master").fetchall()
    sql_of = {name: sql or "" for kind, name, _t, sql in master if kind in ("table", "index")}
    listed = con.execute(
        "SELECT name, type, wr, strict FROM pragma_table_list WHERE schema = ?", (schema,)
    ).fetchall()
    virtual = {n for n, kind, _w, _s in listed if kind == "virtual"}
    shadows: dict[str, str] = {}
    for n, kind, _w, _s in listed:
        owner = _owner(n, virtual) if kind == "shadow" else None
        if owner is not None:
            shadows[n] = owner
    tables: dict[str, Table] = {}
    for name, kind, wr, strict in listed:
        if name.startswith("sqlite_") or kind not in ("table", "virtual") or name in shadows:
            continue
        sql = sql_of.get(name, "")
        if kind == "table":
            tables[name] = _read_table(con, schema, name, sql, bool(wr), bool(strict))
            continue
        try:
            table = _read_table(con, schema, name, sql, bool(wr), bool(strict))
        except sqlite3.OperationalError as exc:  # its module is not in this SQLite
            table = Table(name=name, sql=sql, columns=[], error=str(exc))
        table.is_virtual = True
        table.module = _module(sql)
        table.shadow_tables = sorted(s for s, o in shadows.items() if o == name)
        tables[name] = table
    objects = {
        kind: {
            name: SchemaObject(kind, name, tbl, sql or "")
            for k, name, tbl, sql in master
            if k == kind
        }
        for kind in ("view", "trigger")
    }
    has_seq = any(name == "sqlite_sequence" for kind, name, _t, _s in master if kind == "table")
    sequences = (
        {n: s for n, s in con.execute(f"SELECT name, seq FROM {q}.sqlite_sequence")}
        if has_seq
        else None
    )
    return Database(
        schema=schema,
        tables=tables,
        views=objects["view"],
        triggers=objects["trigger"],
        shadow_tables=shadows,
        user_version=con.execute(f"PRAGMA {q}.user_version").fetchone()[0],
        journal_mode=con.execute(f"PRAGMA {q}.journal_mode").fetchone()[0],
        sequences=sequences,
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _owner(shadow: str, virtual: set[str]) -> str | None:
    """The virtual table a shadow table belongs to (``docs_content`` -> ``docs``)."""
    owners = [v for v in virtual if shadow.startswith(v + "_")]
    return max(owners, key=len) if owners else None


def _module(create_sql: str) -> str | None:
    """``fts5`` from ``CREATE VIRTUAL TABLE t USING fts5(...)``."""
    toks = normalise_sql(create_sql)
    return toks[toks.index("using") + 1] if "using" in toks[:-1] else None


def _read_table(
    con: sqlite3.Connection, schema: str, name: str, sql: str, without_rowid: bool, strict: bool
) -> Table:
    collations = column_collations(sql)
    columns = [
        Column(n, t or "", bool(nn), d, pk, hidden, collations.get(n.lower(), "BINARY"))
        for n, t, nn, d, pk, hidden in con.execute(
            'SELECT name, type, "notnull", dflt_value, pk, hidden '
            "FROM pragma_table_xinfo(?, ?) ORDER BY cid",
            (name, schema),
        )
    ]
    fks = [
        ForeignKey(frm, parent, to or "")
        for frm, parent, to in con.execute(
            'SELECT "from", "table", "to" FROM pragma_foreign_key_list(?, ?)', (name, schema)
        )
    ]
    return Table(
        name=name,
        sql=sql,
        columns=columns,
        indexes=_read_indexes(con, schema, name),
        foreign_keys=fks,
        without_rowid=without_rowid,
        strict=strict,
    )


def _read_indexes(con: sqlite3.Connection, schema: str, table: str) -> list[Index]:
    sql_of = dict(
        con.execute(
            f"SELECT name, sql FROM {_quote(schema)}.sqlite_master WHERE type = 'index'"
        ).fetchall()
    )
    out = []
    for name, unique, origin, partial in con.execute(
        'SELECT name, "unique", origin, partial FROM pragma_index_list(?, ?) ORDER BY name',
        (table, schema),
    ).fetchall():
        cols = tuple(
            (col, bool(desc))
            for col, desc in con.execute(
                "SELECT name, desc FROM pragma_index_xinfo(?, ?) WHERE key = 1 ORDER BY seqno",
                (name, schema),
            )
        )
        out.append(Index(name, table, bool(unique), origin, bool(partial), cols, sql_of.get(name)))
    return out


_CONSTRAINT_WORDS = {"constraint", "primary", "unique", "check", "foreign"}


def column_collations(create_sql: str) -> dict[str, str]:
    """Explicit ``COLLATE`` of each column definition (lower-case name -> upper-case collation).

    Reads the top-level comma-separated definitions of ``CREATE TABLE name (...)``;
    table constraints (PRIMARY KEY, UNIQUE, CHECK, FOREIGN KEY, CONSTRAINT) are
    skipped. Columns without a COLLATE clause are absent (SQLite's default is
    BINARY).
    """
    toks = sql_tokens(create_sql)
    try:
        start = toks.index("(")
    except ValueError:
        return {}
    out: dict[str, str] = {}
    depth, item = 0, list[str]()
    for tok in toks[start + 1 :]:
        if tok == "(":
            depth += 1
        elif tok == ")":
            if depth == 0:
                _collation_of(item, out)
                break
            depth -= 1
        elif tok == "," and depth == 0:
            _collation_of(item, out)
            item = []
            continue
        item.append(tok)
    return out


def _collation_of(item: list[str], out: dict[str, str]) -> None:
    if not item or item[0].lower() in _CONSTRAINT_WORDS:
        return
    depth = 0
    for i, tok in enumerate(item):
        depth += {"(": 1, ")": -1}.get(tok, 0)
        if depth == 0 and tok.lower() == "collate" and i + 1 < len(item):
            out[unquote(item[0]).lower()] = unquote(item[i + 1]).upper()
