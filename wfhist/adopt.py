"""Adopt files wfhist did not migrate, and repair the partial 005 the service's runner left.

The real file as it stood on 2025-11-27 is not a state any migration produces:
the service's runner stopped the historic 005 at statement 6 after some of its
statements had stuck, so ``day_of_week`` exists *beside* ``submission_day_of_week``
(no ``hour_of_day``), and the service (from commit 87423d6 on) writes new rows'
weekday into ``day_of_week`` only. Migration 008 cannot run on it (``RENAME
COLUMN submission_day_of_week TO day_of_week``: duplicate column).

:func:`with_repairs` replaces 008 for such a file by a *repair* generated from
the file's own shape, which reaches the same canonical schema without losing a
value: a stored column whose canonical twin does not exist is renamed in place;
when both exist they are merged -- the twin's values fill the stored column
where it is NULL, the twin is dropped, the stored column renamed. A row where
both hold different non-NULL values is a conflict: the repair refuses, listing
the rows, and never picks one. The repair runs through the normal runner
(backup, one transaction, verification, COMMIT on PASS) and is recorded as
version 008 under the name :data:`REPAIR_NAME`, with its renames and merges
(``{"day_of_week": "day_of_week", "submission_day_of_week": "day_of_week"}``:
two old columns, one new) so verification requires every old value in the new
column. Columns wfhist does not know (``phase_number``, ``is_multi_phase``) are
not touched.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wfhist import __version__, files
from wfhist.exceptions import MigrationError, SchemaError, UsageError
from wfhist.lock import migration_lock
from wfhist.migrations import HISTORY_DDL, Migration, read_history
from wfhist.model import MIGRATIONS_TABLE
from wfhist.schema import (
    EXPECTED_BY_STATE,
    STORED_TEMPORAL,
    TABLE,
    TEMPORAL_RENAMES,
    column_names,
    quote_ident,
)

log = logging.getLogger("wfhist.adopt")

#: The migration a repair stands in for, and the name its record carries.
REPAIR_VERSION = 8
REPAIR_NAME = "008_repair_temporal_columns.sql"
#: Conflicting rows named in the refusal (the count is always given in full).
CONFLICTS_SHOWN = 20


@dataclass(frozen=True)
class RepairMigration(Migration):
    """A generated 008: its SQL fits one file's shape; its renames include merges."""

    recorded: dict[str, dict[str, str]] = field(default_factory=dict)
    steps: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return REPAIR_NAME

    def renames(self) -> dict[str, dict[str, str]]:
        # Identity entries (merge targets) first: the runner chains renames in order.
        return self.recorded


@dataclass
class Repair:
    """What the repair of one file does: SQL, renames/merges, one line per step."""

    sql: str
    renames: dict[str, str]
    steps: list[str]


def _indexes_on(con: sqlite3.Connection, column: str, table: str = TABLE) -> list[tuple[str, str]]:
    """(name, CREATE INDEX text) of the named indexes of ``table`` that use ``column``."""
    rows = con.execute(
        "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL ORDER BY name",
        (table,),
    ).fetchall()
    return [
        (name, sql)
        for name, sql in rows
        if column in {r[0] for r in con.execute("SELECT name FROM pragma_index_info(?)", (name,))}
    ]


def _index_names(con: sqlite3.Connection, table: str = TABLE) -> set[str]:
    rows = con.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?", (table,)
    )
    return {r[0] for r in rows}


def conflicts(
    con: sqlite3.Connection, stored: str, canonical: str, table: str = TABLE
) -> tuple[int, list[tuple[Any, ...]]]:
    """Rows where both columns hold a value and the values differ: (count, first rows).

    Different storage classes (``3`` and ``'3'``) differ too: a merge keeps one
    value per row, so it may only merge values that are the same.
    """
    s, c, t = quote_ident(stored), quote_ident(canonical), quote_ident(table)
    where = (
        f"{s} IS NOT NULL AND {c} IS NOT NULL AND ({s} IS NOT {c} OR typeof({s}) <> typeof({c}))"
    )
    key = "adw_id" if "adw_id" in column_names(con, table) else "NULL"
    count = con.execute(f"SELECT count(*) FROM {t} WHERE {where}").fetchone()[0]
    rows = con.execute(
        f"SELECT rowid, {key}, {s}, {c} FROM {t} WHERE {where} ORDER BY rowid LIMIT ?",
        (CONFLICTS_SHOWN,),
    ).fetchall()
    return count, rows


def plan_repair(con: sqlite3.Connection, table: str = TABLE) -> Repair | None:
    """The repair for a file where a canonical temporal column exists beside its stored one.

    None when there is nothing to repair (no leftover of a partial 005: the
    shipped 008 applies as it is).
    """
    names = set(column_names(con, table))
    pairs = [(s, c) for s, c in TEMPORAL_RENAMES.items() if s in names]
    if not any(c in names for _, c in pairs):
        return None
    t = quote_ident(table)
    sql: list[str] = []
    steps: list[str] = []
    renames: dict[str, str] = {}
    existing = _index_names(con, table)
    for stored, canonical in pairs:
        s, c = quote_ident(stored), quote_ident(canonical)
        recreate: list[tuple[str, str]] = []
        if canonical in names:
            renames[canonical] = canonical  # merge target: its old values must stay in it
            recreate = _indexes_on(con, canonical, table)
            sql.append(f"UPDATE {t} SET {s} = {c} WHERE {s} IS NULL AND {c} IS NOT NULL;")
            sql += [f"DROP INDEX {quote_ident(name)};" for name, _ in recreate]
            sql.append(f"ALTER TABLE {t} DROP COLUMN {c};")
            steps.append(f"merge {stored} and {canonical} into {canonical}")
        else:
            steps.append(f"rename {stored} to {canonical}")
        sql.append(f"ALTER TABLE {t} RENAME COLUMN {s} TO {c};")
        renames[stored] = canonical
        sql += [f"{create};" for _, create in recreate]
        old_index, new_index = f"idx_{stored}", f"idx_{canonical}"
        if old_index in existing:
            sql.append(f"DROP INDEX {quote_ident(old_index)};")
        if new_index not in {name for name, _ in recreate}:
            sql.append(f"CREATE INDEX IF NOT EXISTS {quote_ident(new_index)} ON {t}({c});")
    header = (
        "-- 008 (repair, generated by wfhist from this file's shape): the canonical renamed\n"
        "-- schema of 008 reached from a partially applied 005; every value kept.\n"
    )
    return Repair(sql=header + "\n".join(sql) + "\n", renames=renames, steps=steps)


def check_conflicts(db: Path, con: sqlite3.Connection, table: str = TABLE) -> None:
    """Refuse (MigrationError, exit 1) when a merge would have to choose between two values."""
    names = set(column_names(con, table))
    for stored, canonical in TEMPORAL_RENAMES.items():
        if stored not in names or canonical not in names:
            continue
        count, rows = conflicts(con, stored, canonical, table)
        if count:
            shown = "; ".join(
                f"rowid {r[0]} adw_id {r[1]}: {stored}={r[2]!r} {canonical}={r[3]!r}" for r in rows
            )
            more = f" (+{count - len(rows)} more)" if count > len(rows) else ""
            raise MigrationError(
                f"{db}: cannot merge {stored} and {canonical}: {count} rows hold different "
                f"values in both: {shown}{more}; decide each row's value (UPDATE one of the "
                "columns) and run again -- wfhist never picks one"
            )


def with_repairs(
    db: Path, con: sqlite3.Connection, migrations: list[Migration], to: int | None
) -> list[Migration]:
    """``migrations`` with 008 replaced by this file's repair where the file needs one.

    A file whose history records the repair gets a stand-in with the recorded
    checksum (so drift checks pass); a file with leftovers of a partial 005 and
    008 not yet applied gets the generated repair, after the conflict check when
    this run goes as far as 008 (``to`` >= 8). Called by the runner under its
    lock, on the connection it migrates with, and by ``status``.
    """
    history = read_history(con) or []
    recorded = next((r for r in history if r.version == REPAIR_VERSION), None)
    if recorded is not None:
        if recorded.name != REPAIR_NAME:
            return migrations
        stand_in = RepairMigration(
            version=REPAIR_VERSION,
            path=Path(REPAIR_NAME),
            sql="",
            sha256=recorded.sha256 or "",
        )
        return [stand_in if m.version == REPAIR_VERSION else m for m in migrations]
    if not any(m.version == REPAIR_VERSION for m in migrations):
        return migrations
    repair = plan_repair(con)
    if repair is None:
        return migrations
    if to is not None and to >= REPAIR_VERSION:
        check_conflicts(db, con)
    shipped = next(m for m in migrations if m.version == REPAIR_VERSION)
    generated = RepairMigration(
        version=REPAIR_VERSION,
        path=shipped.path.with_name(REPAIR_NAME),
        sql=repair.sql,
        sha256=hashlib.sha256(repair.sql.encode()).hexdigest(),
        opt_in=(
            "repairs the partially applied 005 (" + "; ".join(repair.steps) + "); the service's "
            "code from commit 87423d6 on needs it"
        ),
        recorded={TABLE: repair.renames},
        steps=tuple(repair.steps),
    )
    if to is not None and to >= REPAIR_VERSION:  # this run applies it: say what it does
        log.info("adopt: 008 replaced by a repair of the partial 005: %s", "; ".join(repair.steps))
    return [generated if m.version == REPAIR_VERSION else m for m in migrations]


def partial_005(names: list[str]) -> list[str]:
    """The leftovers of a partially applied 005 in a column list (canonical beside stored)."""
    have = set(names)
    return [c for s, c in TEMPORAL_RENAMES.items() if s in have and c in have]


#: ``--baseline N``: the known shape a file at version N has (besides extra columns).
BASELINE_STATES = {5: "pre-006", 6: "post-006", 8: "renamed"}


def record_baseline(db: str | Path, version: int) -> str:
    """Flyway-style baseline: record that ``db`` is at ``version`` although its shape has extras.

    For a file wfhist never migrated whose table is a known shape plus columns
    wfhist does not know (kept as they are): it must have every column of that
    shape (missing ones are listed, SchemaError), and no history yet. Writes only
    the runner's table, ``PRAGMA user_version`` and the baseline row, in one
    transaction under the migration lock; no row of the service's data changes.
    Returns the recorded name.
    """
    if version not in BASELINE_STATES:
        known = ", ".join(f"{v} ({s})" for v, s in BASELINE_STATES.items())
        raise UsageError(f"--baseline {version}: use one of {known}")
    path = files.validate_db_path(db)
    state = BASELINE_STATES[version]
    with migration_lock(path):
        con = files.open_writer(path)
        try:
            con.execute("BEGIN IMMEDIATE")
            if read_history(con):
                raise UsageError(
                    f"{path}: already has a {MIGRATIONS_TABLE} history; --baseline is only for a "
                    "file wfhist never migrated"
                )
            names = column_names(con)
            missing = [c for c in EXPECTED_BY_STATE[state] if c not in names]
            if not names or missing:
                raise SchemaError(
                    f"{path}: cannot baseline at {version:03d} ({state}): {TABLE} lacks "
                    f"{', '.join(missing) or 'everything'}; restore it from a backup"
                )
            extra = [c for c in names if c not in EXPECTED_BY_STATE[state]]
            name = f"{version:03d}-equivalent baseline (--baseline {version}): {state}" + (
                f" plus {', '.join(extra)}" if extra else ""
            )
            con.execute(HISTORY_DDL)
            con.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (version, name, sha256, applied_at, duration_ms, "
                "wfhist_version, kind, renames) VALUES (?, ?, NULL, ?, NULL, ?, 'baseline', NULL)",
                (version, name, datetime.now(UTC).isoformat(timespec="milliseconds"), __version__),
            )
            con.execute(f"PRAGMA user_version = {int(version)}")
            con.execute("COMMIT")
        finally:
            if con.in_transaction:
                con.execute("ROLLBACK")
            con.close()
    log.info("adopt: recorded %s", name)
    return name


__all__ = [
    "BASELINE_STATES",
    "REPAIR_NAME",
    "REPAIR_VERSION",
    "STORED_TEMPORAL",
    "Repair",
    "RepairMigration",
    "check_conflicts",
    "conflicts",
    "partial_005",
    "plan_repair",
    "record_baseline",
    "with_repairs",
]
