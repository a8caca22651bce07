"""Prove, value by value, that a migration kept every value of the database it started from.

The report behind this project claimed "zero data loss" from row and column
counts. Counts miss a blanked column, a changed value, or a column dropped while
another was added. :func:`verify` compares two SQLite files -- BEFORE (the
reference) and AFTER (the migrated file) -- and :func:`verify_connection` two
schemas of one connection (the migration runner's own transaction). Each
finding gets a status:

* ``integrity``: SQLite's ``integrity_check``/``quick_check`` and a per-table
  ``foreign_key_check`` on AFTER (a damaged file is a FAIL with SQLite's
  message, a non-unique parent key a reported mismatch, never a crash);
* ``tables`` / ``rows``: tables in both files (virtual tables such as FTS5 and
  R-Tree through their own rows, their shadow tables ignored), rows per table,
  rows of BEFORE missing from AFTER (FAIL), rows duplicated in a table without
  a key (FAIL: such tables are compared as multisets) and rows only in AFTER
  (reported: a live writer may have added them);
* ``columns_dropped`` / ``columns_added`` / ``columns_renamed``: a dropped column
  holding data is a FAIL, an all-NULL one a WARN; added columns' fill counted;
  renames only when declared or recorded by the runner (never guessed), two old
  columns into one new column as a merge;
* ``schema``: type, default, NOT NULL, collation, primary key, CHECK and
  foreign key changes (WARN);
* ``indexes`` / ``triggers_views``: counted exactly, automatic indexes included;
  a dropped index or trigger is a FAIL, a dropped view or a trigger or view
  redefined under the same name a WARN;
* ``sequences``: a lowered ``sqlite_sequence`` counter is a FAIL (ids reused);
* ``values``: every BEFORE row, matched by primary key (else a NOT NULL unique
  key), has the identical value in AFTER -- storage class, TEXT bytes and the
  sign of a REAL zero included.

All comparing happens inside SQLite, streamed, so memory does not grow with the
table. SQLite rather than DuckDB's scanner does this because the scanner
converts values to DuckDB types (losing the storage class).

Modules: :mod:`.result` (the result type), :mod:`.renames`, :mod:`.introspect`
(schemas compared, from :mod:`wfhist.model`), :mod:`.compare` (values),
:mod:`.integrity`, :mod:`.checks` (findings -> checks), :mod:`.core` (the run).
Text output is :mod:`wfhist.render`, JSON :mod:`wfhist.serialize`.
"""

from __future__ import annotations

from wfhist.verify.core import verify, verify_connection
from wfhist.verify.integrity import FULL_INTEGRITY_MAX_BYTES, INTEGRITY_MODES, integrity_method
from wfhist.verify.introspect import affinity, check_clauses
from wfhist.verify.renames import Renames, merge_renames, parse_renames
from wfhist.verify.result import FAIL, PASS, WARN, Check, VerifyResult

__all__ = [
    "FAIL",
    "FULL_INTEGRITY_MAX_BYTES",
    "INTEGRITY_MODES",
    "PASS",
    "WARN",
    "Check",
    "Renames",
    "VerifyResult",
    "affinity",
    "check_clauses",
    "format_result",
    "integrity_method",
    "merge_renames",
    "parse_renames",
    "verify",
    "verify_connection",
]


def format_result(result: VerifyResult, *, width: int = 100, max_lines: int = 4) -> str:
    """Kept for callers: the text is made by :func:`wfhist.render.render_verify`."""
    from wfhist.render import render_verify  # render imports this package's result type

    return render_verify(result, width=width, max_lines=max_lines)
