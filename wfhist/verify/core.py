"""The comparison: two schemas of one connection, table by table, then the checks.

:func:`verify_connection` is the core: it compares two schemas already attached
to one connection and runs inside the caller's transaction (the migration
runner holds its write transaction on the migrated ``main`` with the
pre-migration state attached as ``before``, and COMMITs only on PASS).
:func:`verify` opens two files read-only and calls the same core.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from wfhist.exceptions import UsageError, WfhistError
from wfhist.files import (
    check_readable,
    is_locked_error,
    locked_error,
    open_readonly,
    readonly_uri,
    validate_db_path,
)
from wfhist.model import MIGRATIONS_TABLE, Database, Table, read_database
from wfhist.verify.checks import Findings, checks
from wfhist.verify.compare import (
    Pairing,
    Sides,
    added_entries,
    added_sums,
    compare_multiset,
    compare_sequences,
    compare_values,
    lenient_text,
    prepare,
    rows_and_nonnull,
)
from wfhist.verify.integrity import integrity_check, integrity_method, integrity_of_files
from wfhist.verify.introspect import (
    choose_key,
    comparable,
    diff_indexes,
    diff_objects,
    file_info,
    map_columns,
    merge_groups,
    schema_changes,
)
from wfhist.verify.renames import Renames, merge_renames, recorded_renames, renames_for
from wfhist.verify.result import FAIL, Check, VerifyResult

log = logging.getLogger("wfhist.verify")

#: Name under which AFTER is attached to the BEFORE connection ("after" is a keyword).
_AFTER = "after_db"
#: verify reads both files once, front to back. Through a memory map every page read
#: counts in the process's RSS: on the 1M-row pair 2.9 GiB peak (21 s) against 162 MiB
#: (28 s) with read() calls, both runs under a load average of 15 and both faster than
#: sqldiff in the same run (51 s / 42 s). Flat memory is the promise; keep read().
NO_MMAP = "PRAGMA mmap_size = 0"
#: Cap on (dropped, added) column pairs compared for a rename hint.
_HINT_PAIRS = 200


def verify(
    before: str | Path,
    after: str | Path,
    *,
    renames: Renames | None = None,
    tables: list[str] | None = None,
    integrity: str = "auto",
) -> VerifyResult:
    """Compare AFTER with BEFORE, value by value; both files are opened read-only.

    ``renames`` maps old column names to new ones, either flat (``{"old": "new"}``,
    for every table that has ``old``) or per table (``{"table": {"old": "new"}}``);
    two old columns mapped to one new column are a merge. ``None`` reads the
    renames the migration runner recorded in AFTER's ``wfhist_migrations`` for
    versions BEFORE does not have; ``{}`` declares that nothing was renamed.
    ``tables`` limits the table comparisons (integrity is always checked for the
    whole file). ``integrity`` is ``full`` (``integrity_check``), ``quick``
    (``quick_check``) or ``auto``: see :func:`integrity_method`.
    """
    started = time.perf_counter()
    before_path = validate_db_path(before)
    after_path = validate_db_path(after)
    for path in (before_path, after_path):  # a hot journal or a lock: one line, not a FAIL
        check_readable(path)
    method = integrity_method(after_path, integrity)
    # integrity_check reads every page of AFTER: let it run on its own connection
    # (sqlite3 releases the GIL) while this thread compares values.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(integrity_of_files, before_path, after_path, method)
        con = open_readonly(before_path)
        try:
            con.execute(NO_MMAP)
            con.text_factory = lenient_text
            prepare(con)
            try:
                con.execute(f"ATTACH DATABASE ? AS {_AFTER}", (readonly_uri(after_path),))
            except sqlite3.DatabaseError as exc:
                result = VerifyResult(before=file_info(con, "main", str(before_path)), after={})
                _after_unreadable(result, str(after_path), exc)
            else:
                con.execute("BEGIN")  # one read snapshot of both files for every query
                try:
                    result = _compare(
                        con, Sides("main", _AFTER), renames, tables, (before_path, after_path)
                    )
                finally:
                    con.execute("ROLLBACK")
        finally:
            con.close()
        check, report = pending.result()
    result.checks.insert(0, check)
    result.integrity = report
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def verify_connection(
    con: sqlite3.Connection,
    *,
    before: str = "before",
    after: str = "main",
    renames: Renames | None = None,
    tables: list[str] | None = None,
    integrity: str = "quick",
    before_label: str | None = None,
    after_label: str | None = None,
) -> VerifyResult:
    """Compare schema ``after`` with schema ``before`` of one open connection.

    Runs entirely inside whatever transaction the caller holds: it never issues
    BEGIN, COMMIT, ROLLBACK, ATTACH or DETACH, and only reads. Integrity is
    ``PRAGMA <after>.quick_check`` (or ``integrity_check`` for ``"full"``) and a
    per-table ``foreign_key_check`` on the same connection; a "foreign key
    mismatch" is reported, never raised. For the duration of the call the
    connection's ``text_factory`` shows invalid UTF-8 with escapes (restored
    afterwards) and a deterministic function ``wfhist_signbit`` is registered.
    ``before_label``/``after_label`` name the sides in the result (default: the
    attached file's path). Other arguments as in :func:`verify`.
    """
    started = time.perf_counter()
    with _lenient_text(con):
        files = {name: file for _seq, name, file in con.execute("PRAGMA database_list")}
        for schema in (before, after):
            if schema not in files:
                raise UsageError(
                    f"verify_connection: no schema {schema!r} on this connection "
                    f"(attached: {', '.join(files)})"
                )
        method = integrity_method(Path(files[after]) if files[after] else None, integrity)
        prepare(con)
        result = _compare(con, Sides(before, after), renames, tables, (before_label, after_label))
        check, report = integrity_check(con, after, before, method)
    result.checks.insert(0, check)
    result.integrity = report
    result.seconds = round(time.perf_counter() - started, 3)
    return result


@contextlib.contextmanager
def _lenient_text(con: sqlite3.Connection) -> Iterator[None]:
    saved = con.text_factory
    con.text_factory = lenient_text
    try:
        yield
    finally:
        con.text_factory = saved


def _after_unreadable(result: VerifyResult, label: str, exc: Exception) -> None:
    if is_locked_error(exc):  # not a verdict: another process kept its lock past the bound
        raise locked_error(label, None, "read it") from exc
    result.after = {"path": label, "error": str(exc)}
    result.checks.append(Check("tables", FAIL, f"AFTER cannot be read: {exc}"))


def _compare(
    con: sqlite3.Connection,
    sides: Sides,
    renames: Renames | None,
    tables: list[str] | None,
    labels: tuple[Any, Any],
) -> VerifyResult:
    before_label = str(labels[0]) if labels[0] is not None else None
    after_label = str(labels[1]) if labels[1] is not None else None
    try:
        before_db = read_database(con, sides.before)
    except sqlite3.DatabaseError as exc:
        if is_locked_error(exc):
            raise locked_error(before_label or sides.before, None, "read it") from exc
        raise WfhistError(
            f"{before_label or sides.before}: BEFORE cannot be read ({exc}); "
            "verify needs an intact reference file"
        ) from exc
    result = VerifyResult(before=file_info(con, sides.before, before_label), after={})
    try:
        after_db = read_database(con, sides.after)
    except sqlite3.DatabaseError as exc:
        _after_unreadable(result, after_label or sides.after, exc)
        return result
    result.after = file_info(con, sides.after, after_label)
    if renames is None:
        renames = recorded_renames(con, sides.before, sides.after)
        source = MIGRATIONS_TABLE
    else:
        source = "argument"
    renames = merge_renames(renames)  # validates the shape early, with a clear message
    result.before["renames_source"] = source if renames else None
    found = _compare_tables(con, sides, before_db, after_db, renames, tables, result)
    result.checks.extend(checks(result, found))
    return result


def _compare_tables(
    con: sqlite3.Connection,
    sides: Sides,
    before: Database,
    after: Database,
    renames: Renames,
    tables: list[str] | None,
    result: VerifyResult,
) -> Findings:
    found = Findings()
    names_b = set(before.tables) - {MIGRATIONS_TABLE}
    names_a = set(after.tables) - {MIGRATIONS_TABLE}
    if tables:
        unknown = [t for t in tables if t not in names_b | names_a]
        if unknown:
            raise UsageError(
                f"--table {', '.join(unknown)}: not in either file; tables are "
                f"{', '.join(sorted(names_b | names_a))}"
            )
    selected = set(tables) if tables else names_b | names_a
    if MIGRATIONS_TABLE in after.tables:
        state = "present" if MIGRATIONS_TABLE in before.tables else "added"
        result.tables[MIGRATIONS_TABLE] = {"status": f"{state} (migration history, not compared)"}
    for name in sorted(selected):
        bt, at = before.tables.get(name), after.tables.get(name)
        log.info("verify: comparing %s", name)
        unreadable = [t.error for t in (bt, at) if t is not None and t.error]
        if unreadable:
            found.read_errors.append(f"{name}: {unreadable[0]}")
            result.tables[name] = {"status": "unreadable", "error": unreadable[0]}
            continue
        try:
            if bt and at:
                bt, at = comparable(bt), comparable(at)
                _compare_pair(con, sides, bt, at, renames_for(bt, renames), result, found)
            elif bt:
                rows = rows_and_nonnull(con, sides.table("b", name), [])[0]
                result.tables[name] = {"status": "dropped", "rows_before": rows, "rows_after": None}
                found.dropped_tables.append({"table": name, "rows": rows})
                result.indexes_dropped += [i.describe() for i in bt.indexes]
            elif at:
                rows = rows_and_nonnull(con, sides.table("a", name), [])[0]
                result.tables[name] = {"status": "added", "rows_before": None, "rows_after": rows}
                found.added_tables.append({"table": name, "rows": rows})
                result.indexes_added += [i.describe() for i in at.indexes]
        except sqlite3.DatabaseError as exc:
            found.read_errors.append(f"{name}: {exc}")
            result.tables.setdefault(name, {}).update(status="unreadable", error=str(exc))
    result.triggers_views = diff_objects(before, after, renames)
    result.sequences = compare_sequences(
        before.sequences, after.sequences, selected & set(after.tables)
    )
    for side, db in (("before", before), ("after", after)):
        idx = [i for t in selected if t in db.tables for i in db.tables[t].indexes]
        found.index_counts[side] = Counter(
            "automatic" if i.automatic else "named" for i in idx
        ) + Counter({"total": len(idx)})
        found.index_counts[side + "_automatic"] = Counter(i.name for i in idx if i.automatic)
    return found


def _compare_pair(
    con: sqlite3.Connection,
    sides: Sides,
    bt: Table,
    at: Table,
    renames: dict[str, str],
    result: VerifyResult,
    found: Findings,
) -> None:
    mapping, dropped, applied, warnings = map_columns(bt, at, renames)
    result.columns_renamed += applied
    found.rename_warnings += warnings
    targets = {v.lower() for v in mapping.values()}
    added = [c.name for c in at.columns if c.name.lower() not in targets]
    result.schema_changes += schema_changes(bt, at, mapping, renames)

    dropped_idx, added_idx, renamed_idx, changed_idx = diff_indexes(at.name, bt, at, renames)
    result.indexes_dropped += [i.describe() for i in dropped_idx]
    result.indexes_added += [i.describe() for i in added_idx]
    result.indexes_renamed += renamed_idx
    result.schema_changes += [{"change": "index changed", **c} for c in changed_idx]

    counts = rows_and_nonnull(con, sides.table("b", bt.name), dropped)
    rows_before = counts[0]
    nonnull = dict(zip(dropped, counts[1:], strict=True))
    for name in dropped:
        col = bt.column(name)
        result.columns_dropped.append(
            {
                "table": bt.name,
                "column": name,
                "type": col.type if col else "",
                "non_null": nonnull[name],
            }
        )
    rows_after = rows_and_nonnull(con, sides.table("a", at.name), [])[0]
    info: dict[str, Any] = {
        "status": "compared",
        "rows_before": rows_before,
        "rows_after": rows_after,
        "columns_before": len(bt.columns),
        "columns_after": len(at.columns),
    }
    result.tables[bt.name] = info
    key = choose_key(bt, at, mapping)
    if key is not None and key.is_rowid and bt.is_virtual and at.is_virtual:
        # A virtual table's rowid is its documents' identity (fts5 rowid, rtree id).
        key.label = "rowid (virtual table)"
    elif key is None or key.is_rowid:
        _compare_keyless(con, sides, bt, at, mapping, added, info, result, found, key is None)
        return
    info["key"] = key.label
    hint_pairs = [(d, a) for d in dropped if nonnull[d] for a in added][:_HINT_PAIRS]
    pairing = Pairing(sides, bt, at, key, mapping, merge_groups(mapping))
    values = compare_values(con, pairing, (rows_before, rows_after), hint_pairs, added)
    result.columns_added += added_entries(at, added, rows_after, values.added_sums)
    info.update(
        rows_missing=values.rows_missing,
        rows_only_after=values.rows_only_after,
        columns_compared=len(mapping),
        missing_samples=values.missing_samples,
        only_after_samples=values.only_after_samples,
    )
    result.values_changed += values.changed
    result.merge_conflicts += values.conflicts
    result.rename_hints += values.hints


def _compare_keyless(
    con: sqlite3.Connection,
    sides: Sides,
    bt: Table,
    at: Table,
    mapping: dict[str, str],
    added: list[str],
    info: dict[str, Any],
    result: VerifyResult,
    found: Findings,
    no_rowid: bool,
) -> None:
    """A table without a key: compared as a multiset of rows (rowids may be renumbered).

    Matching by rowid would call every row of a rebuilt table changed, and would
    not see a row inserted twice; WITHOUT ROWID tables without a common key
    cannot be matched at all (a FAIL: nothing proves their values).
    """
    info["key"] = None
    if no_rowid:
        found.value_notes.append(f"{bt.name}: no key common to both files; values not compared")
    else:
        values = compare_multiset(con, sides, bt, at, mapping)
        info.update(
            key="multiset (no key: every row counted by its values)",
            rows_missing=values.rows_missing,
            rows_only_after=values.rows_only_after,
            rows_duplicated=values.rows_duplicated,
            columns_compared=len(mapping),
            missing_samples=values.missing_samples,
            only_after_samples=values.only_after_samples,
            duplicated_samples=values.duplicated_samples,
        )
    if added:
        sums = con.execute(
            f"SELECT {', '.join(added_sums(at, added))} FROM {sides.table('a', at.name)} AS a"
        ).fetchone()
        result.columns_added += added_entries(at, added, info["rows_after"], list(sums))
