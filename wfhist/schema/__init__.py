"""The shape of the real ``workflow_history`` database file, as data.

Everything that needs to know what the service's file looks like — the sample
generator, status, the migration runner's baseline detection, ``check_schema``
and the reader — takes it from here, so there is exactly one description of each
state the real file has been in (``../shared/reference/workflow_history.md``):
``history`` (the table in every state and its indexes), ``service`` (the other
tables, views, triggers and the service's own ``schema_migrations`` records), and
here the DDL of a state and the detection of the state a file is in.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from wfhist.exceptions import SchemaError
from wfhist.schema.history import (
    CANONICAL_TEMPORAL,
    COLUMNS_2025_11_27,
    COLUMNS_2025_11_27_EXTRA,
    COLUMNS_BY_STATE,
    COLUMNS_POST_006,
    COLUMNS_PRE_006,
    COLUMNS_RENAMED,
    INDEXES_BY_STATE,
    INDEXES_PRE_006,
    SCORING_VERSION,
    STATES,
    STORED_TEMPORAL,
    TABLE,
    TEMPORAL_RENAMES,
    Column,
    Index,
    quote_ident,
)
from wfhist.schema.service import (
    ARCHIVE_TABLE,
    OTHER_INDEXES,
    OTHER_TABLES_DDL,
    RELATED_TABLES,
    SERVICE_MIGRATIONS_BY_STATE,
    TRIGGERS,
    VIEWS,
    other_tables,
    table_ddl,
)

__all__ = [
    "ARCHIVE_TABLE",
    "CANONICAL_TEMPORAL",
    "COLUMNS_2025_11_27",
    "COLUMNS_2025_11_27_EXTRA",
    "COLUMNS_BY_STATE",
    "COLUMNS_POST_006",
    "COLUMNS_PRE_006",
    "COLUMNS_RENAMED",
    "EXPECTED_BY_STATE",
    "INDEXES_BY_STATE",
    "INDEXES_PRE_006",
    "OTHER_INDEXES",
    "OTHER_TABLES_DDL",
    "RELATED_TABLES",
    "SCORING_VERSION",
    "SERVICE_MIGRATIONS_BY_STATE",
    "STATES",
    "STORED_TEMPORAL",
    "TABLE",
    "TEMPORAL_RENAMES",
    "TRIGGERS",
    "VIEWS",
    "Column",
    "Index",
    "check_schema",
    "classify_columns",
    "column_names",
    "create_indexes_sql",
    "create_table_sql",
    "history_table_statements",
    "other_tables",
    "other_tables_statements",
    "quote_ident",
    "schema_statements",
    "shape_differences",
    "table_ddl",
]


# --- DDL of a state --------------------------------------------------------------------


def _check_state(state: str) -> None:
    if state not in COLUMNS_BY_STATE:
        raise SchemaError(f"unknown schema state {state!r}; use one of {', '.join(STATES)}")


def create_table_sql(columns: tuple[Column, ...] = COLUMNS_PRE_006) -> str:
    """``CREATE TABLE workflow_history`` with ``columns`` (the pre-006 table by default)."""
    body = ",\n    ".join(c.ddl() for c in columns)
    return f"CREATE TABLE {TABLE} (\n    {body}\n)"


def history_table_statements(state: str = "pre-006") -> list[str]:
    """``workflow_history`` of ``state`` the way it came to be: the pre-006 CREATE
    then the ALTERs that followed, so ``sqlite_master`` holds the same text a real
    file in that state holds (ADD COLUMN appends, RENAME COLUMN rewrites in place)."""
    _check_state(state)
    out = [create_table_sql(COLUMNS_PRE_006)]
    later = COLUMNS_2025_11_27 if state == "2025-11-27" else COLUMNS_POST_006
    if state != "pre-006":
        out += [f"ALTER TABLE {TABLE} ADD COLUMN {c.ddl()}" for c in later[69:]]
    if state == "renamed":
        out += [
            f"ALTER TABLE {TABLE} RENAME COLUMN {old} TO {new}"  # bare, as 008 writes it
            for old, new in TEMPORAL_RENAMES.items()
        ]
    return out


def create_indexes_sql(state: str = "pre-006") -> list[str]:
    """The named indexes of ``workflow_history`` in ``state``."""
    _check_state(state)
    return [i.ddl() for i in INDEXES_BY_STATE[state]]


def other_tables_statements(state: str = "pre-006") -> list[str]:
    """CREATE TABLE and CREATE INDEX of every other table of ``state``."""
    _check_state(state)
    out = []
    for name in other_tables(state):
        out.append(table_ddl(name))
        out += [i.ddl(name) for i in OTHER_INDEXES.get(name, ())]
    return out


def schema_statements(state: str = "pre-006") -> list[str]:
    """Every statement that creates an empty file in ``state``: tables, indexes, views,
    triggers (the service's ``schema_migrations`` rows are data, not schema)."""
    return [
        *history_table_statements(state),
        *create_indexes_sql(state),
        *other_tables_statements(state),
        *VIEWS.values(),
        *(sql for _, sql in TRIGGERS.values()),
    ]


# --- shape detection ---------------------------------------------------------


def column_names(con: sqlite3.Connection, table: str = TABLE) -> list[str]:
    """Column names of ``table`` in physical order (empty if there is no such table)."""
    rows = con.execute("SELECT name FROM pragma_table_info(?)", (table,)).fetchall()
    return [r[0] for r in rows]


EXPECTED_BY_STATE: dict[str, list[str]] = {
    state: [c.name for c in columns] for state, columns in COLUMNS_BY_STATE.items()
}


def classify_columns(names: list[str]) -> str:
    """Name the state a column list is in: one of :data:`STATES`, or ``unknown``.

    ``2025-11-27`` is post-006 plus ``phase_number``, ``is_multi_phase`` and the
    ``day_of_week`` of the partial 005; ``renamed`` is post-006 after migration
    008 (temporal columns under their canonical names). Decided from the exact
    column set, never guessed.
    """
    have = set(names)
    for state, expected in EXPECTED_BY_STATE.items():
        if have == set(expected):
            return state
    return "unknown"


def shape_differences(names: list[str], expected: list[str]) -> tuple[list[str], list[str]]:
    """(missing, extra) column names of ``names`` against ``expected``, in table order."""
    have = set(names)
    want = set(expected)
    return [n for n in expected if n not in have], [n for n in names if n not in want]


def check_schema(path: str | Path, expected: str | list[str] | None = None) -> str:
    """Fail fast when ``path``'s table is not a shape wfhist knows.

    ``expected`` is a state name (``pre-006``, ``post-006``, ``renamed``), a list
    of column names, or ``None`` (any known state). Returns the detected state.
    Raises :class:`SchemaError` listing missing and extra columns and the
    version recorded in the file, so an operator sees at once what differs.
    """
    from wfhist.files import open_sqlite_readonly

    with open_sqlite_readonly(path) as con:
        names = column_names(con)
        if not names:
            raise SchemaError(f"{path}: no table {TABLE!r}; is this a workflow history database?")
        user_version = con.execute("PRAGMA user_version").fetchone()[0]
    state = classify_columns(names)
    if expected is None:
        if state != "unknown":
            return state
        candidates = list(EXPECTED_BY_STATE.items())
    elif isinstance(expected, str):
        if expected not in EXPECTED_BY_STATE:
            raise SchemaError(
                f"unknown expected schema {expected!r}; use one of {', '.join(EXPECTED_BY_STATE)}"
            )
        if state == expected:
            return state
        candidates = [(expected, EXPECTED_BY_STATE[expected])]
    else:
        if set(names) == set(expected):
            return state
        candidates = [("expected", list(expected))]
    # report against the closest known shape
    best_name, best = min(candidates, key=lambda kv: sum(map(len, shape_differences(names, kv[1]))))
    missing, extra = shape_differences(names, best)
    raise SchemaError(
        f"{path}: {TABLE} does not match the {best_name} schema "
        f"(user_version {user_version}): missing columns "
        f"[{', '.join(missing) or '-'}], extra columns [{', '.join(extra) or '-'}]"
    )
