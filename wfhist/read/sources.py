"""What a source is and what the reader learns from it: files, globs, DSNs, attach.

A source is a SQLite file, a glob of them, a ``postgresql://`` DSN, or a folder
written by ``wfhist export``. Each SQLite file is attached **read-only** to the
DuckDB connection; :class:`SourceInfo` records its shape (columns, schema state,
the hour/weekday mapping) and its dirty-value profile, for the view SQL and for
the summary.
"""

from __future__ import annotations

import glob
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from wfhist import files
from wfhist.exceptions import SchemaError, UsageError
from wfhist.files import is_locked_error, locked_error, validate_db_path
from wfhist.read.extensions import sql_literal
from wfhist.schema import CANONICAL_TEMPORAL, STORED_TEMPORAL, TABLE, classify_columns, quote_ident

#: Columns the reader cannot work without (the view derives from them).
REQUIRED_COLUMNS = ("id", "adw_id", "status", "start_time", "created_at")

log = logging.getLogger("wfhist.read")
T = TypeVar("T")
SourceSpec = str | os.PathLike[str]
_GLOB_CHARS = set("*?[")


@dataclass
class SourceInfo:
    """What the reader learned about one attached file, kept for the summary."""

    path: str  # file path, or a DSN with its password masked
    alias: str
    columns: list[tuple[str, str, str]]  # (name, declared type, duckdb type)
    state: str
    mapping: str
    bad_values: dict[str, int] = field(default_factory=dict)  # counted (snapshots)
    #: Columns holding values of the wrong storage class (a superset is safe:
    #: such columns are read through SQLite with those values as NULL).
    dirty_columns: tuple[str, ...] = ()
    journal_mode: str = ""
    user_version: int = 0
    has_scoring_version: bool = False
    label: str = ""  # the ``source`` column's value: file stem unless two stems collide
    kind: str = "sqlite"  # sqlite | postgres | parquet

    @property
    def names(self) -> list[str]:
        return [c[0] for c in self.columns]


def mapping_name(names: list[str]) -> str:
    """How the file's temporal columns become ``hour_of_day`` / ``day_of_week``, in words."""
    stored = [n for n in STORED_TEMPORAL if n in names]
    canonical = [n for n in CANONICAL_TEMPORAL if n in names]
    if stored and canonical:
        return "both stored and canonical names (canonical preferred, stored as fallback)"
    if stored:
        return "submission_hour→hour_of_day, submission_day_of_week→day_of_week"
    if canonical:
        return "identity (file already uses hour_of_day, day_of_week)"
    return "none stored (all hours and weekdays derived from timestamps)"


def sqlite_query(con: duckdb.DuckDBPyConnection, alias: str, sql: str) -> list[tuple[Any, ...]]:
    """Run ``sql`` inside SQLite (not DuckDB) on the attached file ``alias``."""
    return con.execute(
        f"SELECT * FROM sqlite_query({sql_literal(alias)}, {sql_literal(sql)})"
    ).fetchall()


def first_line(exc: BaseException) -> str:
    """The first line of a driver error (DuckDB's messages run to many lines)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def attach_source(
    con: duckdb.DuckDBPyConnection, path: str | os.PathLike[str], alias: str
) -> SourceInfo:
    """Attach ``path`` read-only as ``alias`` and learn its shape.

    DuckDB's ATTACH takes no bound parameters, so the path is passed as a
    quoted literal -- the one value that cannot be bound. The dirty-value
    profile is added by the caller (:mod:`wfhist.read.profile`).
    """
    p = validate_db_path(path)
    files.check_readable(p)  # the scanner waits 5 s per statement, cannot roll a hot journal back
    try:
        con.execute(
            f"ATTACH {sql_literal(str(p))} AS {quote_ident(alias)} (TYPE sqlite, READ_ONLY)"
        )
    except duckdb.Error as exc:
        raise UsageError(f"{p}: cannot be opened as SQLite ({first_line(exc)})") from exc

    def read_meta() -> tuple[list[tuple[Any, ...]], Any, int]:
        declared = sqlite_query(
            con, alias, f"SELECT name, type FROM pragma_table_info('{TABLE}') ORDER BY cid"
        )
        journal = sqlite_query(con, alias, "PRAGMA journal_mode")[0][0]
        return declared, journal, int(sqlite_query(con, alias, "PRAGMA user_version")[0][0])

    try:
        declared, journal, user_version = retry_locked(str(p), read_meta)
    except duckdb.Error as exc:
        raise _read_error(p, exc) from exc
    if not declared:
        raise SchemaError(
            f"{p}: has no table {TABLE!r}; is this a workflow history database? "
            "('wfhist demo' writes a sample one)"
        )
    names = [str(r[0]) for r in declared]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise SchemaError(
            f"{p}: {TABLE} lacks required column(s) {', '.join(missing)}; "
            "check that this is the service's history file"
        )
    duck_types = dict(
        con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = ? AND table_name = ?",
            [alias, TABLE],
        ).fetchall()
    )
    if not duck_types:  # a VIEW: duckdb_columns() lists tables only, DESCRIBE types views too
        table = f"{quote_ident(alias)}.{quote_ident(TABLE)}"
        duck_types = {r[0]: r[1] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    columns = [(n, str(t or ""), str(duck_types.get(n, "VARCHAR"))) for n, t in declared]
    return SourceInfo(
        path=str(p),
        label=p.stem,
        alias=alias,
        columns=columns,
        state=classify_columns(names),
        mapping=mapping_name(names),
        journal_mode=str(journal),
        user_version=user_version,
        has_scoring_version="scoring_version" in names,
    )


def _read_error(p: Path, exc: BaseException) -> Exception:
    """A locked file gets the lock message; anything else says it cannot be read."""
    if is_locked_error(exc):
        return locked_error(p, None, "read it")
    return UsageError(f"{p}: cannot be read as SQLite ({first_line(exc)})")


def retry_locked(path: str, fn: Callable[[], T]) -> T:
    """``fn()``, retried while another process holds a lock on ``path``, for at most
    :data:`wfhist.files.BUSY_TIMEOUT_S` seconds (then :class:`LockedError`).

    DuckDB's sqlite scanner sets no busy timeout: a file under ``BEGIN
    EXCLUSIVE`` fails at once with "database is locked". The wait is bounded and
    said (``wfhist.read`` INFO), never endless.
    """
    deadline = time.monotonic() + files.BUSY_TIMEOUT_S
    said = False
    while True:
        try:
            return fn()
        except duckdb.Error as exc:
            if not is_locked_error(exc):
                raise
            if time.monotonic() >= deadline:
                raise locked_error(path, None, "read it") from exc
            if not said:
                log.info(
                    "%s: locked by another process; waiting up to %g s", path, files.BUSY_TIMEOUT_S
                )
                said = True
            time.sleep(0.05)


def is_postgres_dsn(text: str) -> bool:
    return text.startswith(("postgresql://", "postgres://"))


def mask_keywords(text: str) -> str:
    """A ``key=value`` connection string with its ``password=`` value replaced by ``***``."""
    return " ".join(
        "password=***" if word.startswith("password=") else word for word in text.split()
    )


def resolve_sources(source: SourceSpec | list[SourceSpec] | tuple[SourceSpec, ...]) -> list[str]:
    """Expand ``source`` into a list: a path, a glob, a list of either, or a DSN.

    A glob that matches nothing is an error (a typo must not read as "no rows").
    """
    items = list(source) if isinstance(source, list | tuple) else [source]
    if not items:
        raise UsageError(
            "no database given; pass a path, a glob such as 'histories/*.db' or a list"
        )
    out: list[str] = []
    for item in items:
        text = os.fspath(item)
        if "password=" in text and not is_postgres_dsn(text):
            raise UsageError(
                f"{mask_keywords(text)}: a libpq keyword connection string is not supported; "
                "give a postgresql://user@host:port/database DSN (password in ~/.pgpass or "
                "PGPASSWORD)"
            )
        if is_postgres_dsn(text) or not _GLOB_CHARS & set(text):
            out.append(text)
            continue
        matches = sorted(glob.glob(os.path.expanduser(text)))
        if not matches:
            raise UsageError(f"{text}: the pattern matches no file; check the folder and pattern")
        out.extend(matches)
    return out


def label_sources(infos: list[SourceInfo]) -> None:
    """Give each source a unique label: file stem, or parent/stem when stems collide."""
    stems: dict[str, int] = {}
    for i in infos:
        stems[i.label] = stems.get(i.label, 0) + 1
    for i in infos:
        if stems[i.label] > 1 and i.kind == "sqlite":
            i.label = f"{Path(i.path).parent.name}/{i.label}"
    seen: set[str] = set()
    for n, i in enumerate(infos):
        if i.label in seen:
            i.label = f"{i.label}#{n}"
        seen.add(i.label)
