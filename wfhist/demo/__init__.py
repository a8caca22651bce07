"""A realistic, deterministic sample of the real ``workflow_history`` file, in any of its states.

Nobody may ship the real database around, yet every tool here (reader, migrations,
backup, verification, status, notebooks) must be exercised against something that
behaves like it: the file of ``../shared/reference/workflow_history.md`` with
every table, index (the non-unique ``workflow_id`` one included, so foreign keys
are "mismatched" as in the real file), view and trigger, the service's own
``schema_migrations`` records, DELETE journal mode, six weeks of office-hours
traffic in the writing host's zone, both ``created_at`` formats, NULL
``start_time`` on the oldest rows, temporal columns stored on only a few rows
(including the 0 values the report's ``value or -1`` destroyed), consistent tokens
and costs, and a few dirty values that break naive readers.

``state`` picks one of :data:`wfhist.schema.STATES` (see :mod:`wfhist.demo.states`).
Same seed and state, same file contents: the whole-file decisions come from one
generator seeded with ``seed`` (:mod:`~wfhist.demo.timeline`), each chunk of rows
from its own (:mod:`~wfhist.demo.columns`, :mod:`~wfhist.demo.rows`), the other
tables from a third (:mod:`~wfhist.demo.related`).

Token columns (the service never documented them; this is the mapping used here):

* ``input_tokens``       uncached prompt tokens
* ``cached_tokens``      cache *write* (cache creation) tokens
* ``cache_hit_tokens``   cache *read* tokens
* ``cache_miss_tokens``  ``input_tokens + cached_tokens`` (prompt not served from cache)
* ``output_tokens``      completion tokens
* ``total_tokens``       ``input + cached + cache_hit + output``

``actual_cost_total`` is :func:`token_cost` of those counts rounded to whole
micro-dollars (``estimated_*`` and ``*_per_step`` too, per step = total / steps_total),
``cost_per_token`` is ``actual / total_tokens``, ``cache_efficiency_percent`` is
``cache_hit / (input + cached + cache_hit) * 100`` rounded to 2 places, and
``cost_breakdown.by_phase`` adds up exactly (in micro-dollars) to the actual cost.
"""

from __future__ import annotations

import logging
import numbers
import os
import sqlite3
from pathlib import Path

from wfhist.demo import related, rows
from wfhist.demo.facts import (
    COMPLETED_COST_RANGE,
    COMPLETED_TOKENS_RANGE,
    DEFAULT_ROWS,
    DEFAULT_SEED,
    DIRTY_VALUES,
    ERRORS,
    MODELS,
    PHASES,
    SOURCE_TZ,
    STORED_TEMPORAL_ROWS,
    TEMPLATES,
    token_cost,
)
from wfhist.demo.states import make_temporal_conflict, service_migration_rows
from wfhist.demo.timeline import Plan, make_plan
from wfhist.exceptions import UsageError
from wfhist.files import fsync_path, remove_quietly, sqlite_files
from wfhist.schema import (
    STATES,
    TRIGGERS,
    VIEWS,
    create_indexes_sql,
    other_tables_statements,
)

__all__ = [
    "COMPLETED_COST_RANGE",
    "COMPLETED_TOKENS_RANGE",
    "DEFAULT_ROWS",
    "DEFAULT_SEED",
    "DIRTY_VALUES",
    "ERRORS",
    "MODELS",
    "PHASES",
    "SOURCE_TZ",
    "STATES",
    "STORED_TEMPORAL_ROWS",
    "TEMPLATES",
    "create_sample_db",
    "make_temporal_conflict",
    "token_cost",
]

log = logging.getLogger("wfhist.demo")


def _check_arguments(target: Path, rows: object, state: str, force: bool) -> int:
    """One clear line for each way the arguments can be wrong; the row count."""
    if isinstance(rows, bool) or not isinstance(rows, numbers.Integral) or rows < 1:
        raise UsageError(f"rows must be a positive integer (got {rows!r}); pass --rows 1 or more")
    if state not in STATES:
        raise UsageError(f"unknown state {state!r}; pass --state one of {', '.join(STATES)}")
    if target.is_dir():
        raise UsageError(f"{target} is a directory; pass a file path to write")
    if target.exists() and not force:
        raise UsageError(f"{target} exists; pass --force to replace it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create directory {target.parent}: {exc.strerror}") from exc
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise UsageError(f"directory {target.parent} is not writable; choose another --out")
    return int(rows)


def create_sample_db(
    path: str | Path,
    rows: int = DEFAULT_ROWS,
    seed: int = DEFAULT_SEED,
    *,
    state: str = "pre-006",
    wal: bool = False,
    force: bool = False,
) -> Path:
    """Write a sample database in ``state`` to ``path`` and return its resolved path.

    Journal mode DELETE like the real file, or WAL with ``wal=True``. The file is
    built under a temporary name in the same directory and moved into place only
    when complete, so an interrupted run never leaves a half-written database at
    ``path``. Progress goes to the ``wfhist.demo`` logger.
    """
    target = Path(path).expanduser().resolve()
    n = _check_arguments(target, rows, state, force)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    remove_quietly(*sqlite_files(tmp))
    try:
        _build(tmp, make_plan(seed, n, state), wal)
        fsync_path(tmp)
        # A stale -wal of the replaced file would be replayed onto the new one.
        remove_quietly(*sqlite_files(target))
        os.replace(tmp, target)
        fsync_path(target.parent)
    except BaseException:
        remove_quietly(*sqlite_files(tmp))
        raise
    return target


def _build(tmp: Path, plan: Plan, wal: bool) -> None:
    """Schema and data in ``tmp``: rows first, then indexes (one sort per index instead
    of 16 B-tree updates per row), the other tables and their rows, the service's
    migration records, and views and triggers last (so no trigger fires on the
    sample's own inserts)."""
    with rows.helper_part(plan, tmp) as part:  # forks before any connection is open
        con = sqlite3.connect(tmp, isolation_level=None)
        try:
            for pragma in rows.BUILD_PRAGMAS:
                con.execute(pragma)
            rows.insert_history(con, plan, part)
            log.info("demo: building indexes and the other tables")
            con.execute("BEGIN")
            for sql in (*create_indexes_sql(plan.state), *other_tables_statements(plan.state)):
                con.execute(sql)
            related.insert_related(con, plan)
            con.executemany(
                "INSERT INTO schema_migrations (migration_file, applied_at, checksum)"
                " VALUES (?, ?, ?)",
                service_migration_rows(plan.state),
            )
            for sql in (*VIEWS.values(), *(sql for _, sql in TRIGGERS.values())):
                con.execute(sql)
            con.execute("COMMIT")
        finally:
            con.close()
    _set_journal_mode(tmp, wal)


def _set_journal_mode(path: Path, wal: bool) -> None:
    """DELETE like the real file, or WAL checkpointed into the file.

    On a fresh connection: after ``ALTER TABLE ... RENAME COLUMN`` (the renamed
    state) the building connection's checkpoint fails with "database table is
    locked".
    """
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute(f"PRAGMA journal_mode={'WAL' if wal else 'DELETE'}").fetchall()
        if wal:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        con.close()
