"""Inserting the ``workflow_history`` rows: chunk by chunk, optionally in two processes.

Each chunk of :data:`CHUNK` rows has its own generator (seeded by seed and the
chunk number), so chunks can be made in any process and the rows are still the
same for the same seed. For large files a forked helper process generates the
newest chunks into a side file while the main process makes the oldest; the
main process then copies them with one native ``INSERT ... SELECT``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sqlite3
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wfhist.demo.columns import chunk_columns
from wfhist.demo.states import insert_columns, state_columns
from wfhist.demo.timeline import Plan
from wfhist.files import remove_quietly, sqlite_files
from wfhist.schema import TABLE, history_table_statements, quote_ident

log = logging.getLogger("wfhist.demo")

CHUNK = 50_000
#: Share of the chunks the main process generates itself when a helper process
#: makes the rest: half, so both finish generating at the same time (merging and
#: indexing can only start when every row exists).
MAIN_SHARE = 0.5
#: Below this many rows one process is fast enough.
PARALLEL_MIN_ROWS = 150_000

BUILD_PRAGMAS = (
    # The temp file is thrown away on any failure, so building without a rollback
    # journal or fsyncs is safe; create_sample_db fsyncs the finished file.
    "PRAGMA journal_mode=OFF",
    "PRAGMA synchronous=OFF",
    "PRAGMA cache_size=-131072",
    # Each CREATE INDEX scans the whole table; reading it through a memory map
    # instead of copying pages into the cache halves that time at 1M rows.
    "PRAGMA mmap_size=4294967296",
)


def n_chunks(plan: Plan) -> int:
    """How many chunks of :data:`CHUNK` rows the file has."""
    return -(-plan.rows // CHUNK)


def _insert_chunk(con: sqlite3.Connection, plan: Plan, k: int) -> int:
    """Generate and insert chunk ``k``; return how many rows it had.

    The rows are streamed from ``zip`` (which reuses its tuple) straight into SQLite.
    """
    lo, hi = k * CHUNK, min(plan.rows, (k + 1) * CHUNK)
    cols = chunk_columns(np.random.default_rng([plan.seed, 1, k]), plan, lo, hi)
    cols = state_columns(plan, cols, lo, hi)
    names = insert_columns(plan.state)
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        TABLE, ", ".join(quote_ident(c) for c in names), ", ".join("?" * len(names))
    )
    con.executemany(sql, zip(*(cols[c] for c in names), strict=True))
    return hi - lo


def create_history_table(con: sqlite3.Connection, plan: Plan) -> None:
    """``workflow_history`` of the plan's state, without indexes (they come after the rows)."""
    for sql in history_table_statements(plan.state):
        con.execute(sql)


@dataclass
class Part:
    """Chunks ``[first_chunk, n_chunks)`` written by a helper process into ``path``."""

    first_chunk: int
    path: Path
    future: Future[None]


_FORKED_PLAN: Plan | None = None


def _write_part(first_chunk: int, path: str) -> None:
    """Helper process: the newest chunks into a separate SQLite file (no indexes)."""
    plan = _FORKED_PLAN
    assert plan is not None
    con = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in BUILD_PRAGMAS:
            con.execute(pragma)
        con.execute("BEGIN")
        create_history_table(con, plan)
        for k in range(first_chunk, n_chunks(plan)):
            _insert_chunk(con, plan, k)
        con.execute("COMMIT")
    finally:
        con.close()


@contextmanager
def helper_part(plan: Plan, tmp: Path) -> Iterator[Part | None]:
    """For large files, a forked helper generates the newest rows in parallel.

    Generating and binding values in Python costs more than SQLite's own work, so
    with two cores the helper writes its share into a side file. The side file is
    always removed. ``None`` when one process is enough or fork is unavailable.
    """
    n = n_chunks(plan)
    if plan.rows < PARALLEL_MIN_ROWS or (os.cpu_count() or 1) < 2 or sys.platform != "linux":
        yield None
        return
    global _FORKED_PLAN
    _FORKED_PLAN = plan  # inherited by the forked helper, never pickled
    path = tmp.with_name(tmp.name + ".part")
    remove_quietly(*sqlite_files(path))
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    try:
        first = max(1, round(n * MAIN_SHARE))
        yield Part(first, path, pool.submit(_write_part, first, str(path)))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _FORKED_PLAN = None
        remove_quietly(*sqlite_files(path))


def insert_history(con: sqlite3.Connection, plan: Plan, part: Part | None) -> None:
    """Create the table and insert every row (id order), merging the helper's part."""
    n = n_chunks(plan)
    mine = part.first_chunk if part else n
    con.execute("BEGIN")
    create_history_table(con, plan)
    done = 0
    for k in range(mine):
        done += _insert_chunk(con, plan, k)
        log.info("demo: %s/%s rows", f"{done:,}", f"{plan.rows:,}")
    con.execute("COMMIT")
    if part is None:
        return
    log.info("demo: waiting for the other %s rows from the helper process", f"{plan.rows - done:,}")
    part.future.result()
    con.execute("ATTACH DATABASE ? AS part", (str(part.path),))
    try:
        con.execute(f"INSERT INTO main.{TABLE} SELECT * FROM part.{TABLE}")
    finally:
        con.execute("DETACH DATABASE part")
