"""``connect``: open the sources read-only in DuckDB and define the ``history`` view."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import duckdb

from wfhist.exceptions import UsageError
from wfhist.read.cache import snapshot as snap
from wfhist.read.cache.chunks import changed_ranges, chunk_hashes_sql, ranges_sql
from wfhist.read.cache.fingerprint import fingerprint
from wfhist.read.extensions import load_sqlite_scanner, new_duckdb, sql_literal
from wfhist.read.profile import bad_values_sql, cached_profile, mismatch_column
from wfhist.read.sources import (
    SourceInfo,
    SourceSpec,
    attach_source,
    is_postgres_dsn,
    label_sources,
    resolve_sources,
    retry_locked,
)
from wfhist.read.viewsql import history_select
from wfhist.read.zones import DEFAULT_SOURCE_TZ, validate_tz
from wfhist.schema import check_schema

log = logging.getLogger("wfhist.read")


def set_zones(con: duckdb.DuckDBPyConnection, tz: str, source_tz: str) -> None:
    """The zones the view reads (session variables) and the session's display zone."""
    con.execute("SET VARIABLE wfhist_tz = ?", [tz])
    con.execute("SET VARIABLE wfhist_source_tz = ?", [source_tz])
    con.execute("SET TimeZone = ?", [tz])


def store_source_info(
    con: duckdb.DuckDBPyConnection,
    infos: list[SourceInfo],
    snapshot_taken_at: str | None,
    *,
    live: bool = False,
) -> None:
    """Keep what was learned inside DuckDB (``wfhist_sources``, ``wfhist_bad_values``).

    ``live``: ``wfhist_bad_values`` is a view counting inside SQLite when asked
    (opening pays nothing for it); otherwise the counts are stored with the snapshot.
    """
    con.execute(
        "CREATE OR REPLACE TABLE wfhist_sources (source VARCHAR, kind VARCHAR, path VARCHAR,"
        " alias VARCHAR, state VARCHAR, mapping VARCHAR, columns INTEGER, journal_mode VARCHAR,"
        " user_version INTEGER, has_scoring_version BOOLEAN, snapshot_taken_at VARCHAR)"
    )
    kind = "TEMP VIEW" if live else "TABLE"
    con.execute(f"CREATE OR REPLACE {kind} wfhist_bad_values AS {bad_values_sql(infos)}")
    for i in infos:
        con.execute(
            "INSERT INTO wfhist_sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                i.label,
                i.kind,
                i.path,
                i.alias,
                i.state,
                i.mapping,
                len(i.columns),
                i.journal_mode,
                i.user_version,
                i.has_scoring_version,
                snapshot_taken_at,
            ],
        )


def attach_all(
    con: duckdb.DuckDBPyConnection, sources: list[str], *, trial: bool = True
) -> tuple[list[SourceInfo], list[Callable[[], None]]]:
    """Attach every source (SQLite files' dirty columns found or recalled) and label them.

    Returns the infos and, with ``trial=False``, the functions that store each
    file's unchecked dirty-column guess once the caller's own pass verified it.
    """
    infos = []
    remember = []
    for n, text in enumerate(sources):
        alias = "src" if n == 0 else f"src{n}"
        if is_postgres_dsn(text):
            from wfhist.postgres import attach_postgres

            infos.append(attach_postgres(con, text, alias))
        else:
            info = attach_source(con, text, alias)
            dirty, store = retry_locked(info.path, partial(cached_profile, con, info, trial=trial))
            info.dirty_columns = dirty
            infos.append(info)
            remember.append(store)
    label_sources(infos)
    return infos, remember


def define_live_view(
    con: duckdb.DuckDBPyConnection, sources: list[str], legacy_sentinels: bool
) -> list[SourceInfo]:
    """Attach the sources and create ``history_live`` over them (one UNION ALL BY NAME)."""
    load_sqlite_scanner(con)
    infos, _ = attach_all(con, sources)
    create_live_view(con, infos, legacy_sentinels)
    return infos


def create_live_view(
    con: duckdb.DuckDBPyConnection, infos: list[SourceInfo], legacy_sentinels: bool
) -> None:
    selects = [history_select(i, legacy_sentinels=legacy_sentinels) for i in infos]
    live = "\nUNION ALL BY NAME\n".join(f"({sql})" for sql in selects)
    con.execute(f"CREATE OR REPLACE TEMP VIEW history_live AS {live}")


def connect(
    source: SourceSpec | list[SourceSpec] | tuple[SourceSpec, ...],
    *,
    tz: str = "UTC",
    source_tz: str = DEFAULT_SOURCE_TZ,
    legacy_sentinels: bool = False,
    snapshot: bool | str | os.PathLike[str] = False,
    expected_schema: str | list[str] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the history read-only in DuckDB and define the ``history`` view.

    ``source`` is a SQLite file, a glob (``"histories/*.db"``), a list of files
    (one view with a ``source`` column; each file mapped according to its own
    schema state), a ``postgresql://`` DSN, or a folder written by
    ``wfhist export`` (Hive-partitioned Parquet).

    ``tz`` is the zone hours and weekdays are reported in (and the session's
    TimeZone, so timestamps display in it); ``source_tz`` is the zone the
    writing host's naive local stamps are in.

    ``snapshot``: every query on the live view re-scans the SQLite files (DuckDB
    pushes no filters into SQLite). ``True`` reads the mapped history once into
    DuckDB's columnar storage in memory; a path keeps that snapshot in a DuckDB
    cache file wfhist creates and marks (any other existing file is refused),
    refreshed when a source file changes. ``wfhist_sources`` says when the
    snapshot was taken. ``False`` reads live each time.

    ``expected_schema`` (``"pre-006"``, ``"post-006"``, ``"renamed"`` or a column
    list) makes opening fail fast, through :func:`wfhist.check_schema`, when a
    SQLite source is in another shape. By default any shape with the required
    columns is read and the mapping adapts.

    The connection also holds ``wfhist_sources`` and ``wfhist_bad_values``.

    >>> con = connect("demo/workflow_history.db", tz="America/Los_Angeles")  # doctest: +SKIP
    >>> con.sql("SELECT hour_of_day, count(*) FROM history GROUP BY 1").df()  # doctest: +SKIP
    """
    validate_tz(tz, "tz")
    validate_tz(source_tz, "source_tz")
    sources = resolve_sources(source)
    if expected_schema is not None:
        for text in sources:
            if not is_postgres_dsn(text) and not Path(text).is_dir():
                check_schema(text, expected_schema)
    if len(sources) == 1 and not is_postgres_dsn(sources[0]) and Path(sources[0]).is_dir():
        return connect_parquet(sources[0], tz=tz)
    if snapshot is True or snapshot is False:
        return _connect_memory(sources, tz, source_tz, legacy_sentinels, snapshot)
    return _connect_cached(
        Path(os.fspath(snapshot)).expanduser(), sources, tz, source_tz, legacy_sentinels
    )


def _connect_memory(
    sources: list[str], tz: str, source_tz: str, legacy_sentinels: bool, snapshot: bool
) -> duckdb.DuckDBPyConnection:
    con = new_duckdb()
    try:
        set_zones(con, tz, source_tz)
        infos = define_live_view(con, sources, legacy_sentinels)
        taken = None
        if snapshot:
            taken = datetime.now(UTC).isoformat(timespec="seconds")
            con.execute("CREATE TABLE history_snapshot AS SELECT * FROM history_live")
            con.execute("CREATE OR REPLACE TEMP VIEW history AS SELECT * FROM history_snapshot")
        else:
            con.execute("CREATE OR REPLACE TEMP VIEW history AS SELECT * FROM history_live")
        store_source_info(con, infos, taken, live=not snapshot)
    except BaseException:
        con.close()
        raise
    return con


def _shape(infos: list[SourceInfo], settings: list[str]) -> str:
    """What must be unchanged for a cache to be refreshed rather than rebuilt."""
    return json.dumps([settings, [[i.label, i.kind, i.path, i.alias, i.columns] for i in infos]])


def _build_cache(cache: Path, sources: list[str], settings: list[str], key: str) -> None:
    """Write a complete new cache file (history, chunk hashes, source info) and move it in."""
    tz, source_tz, legacy = settings
    log.info("%s: building the snapshot cache", cache)
    with snap.new_cache_file(cache, snap.cache_mode(sources)) as build:
        set_zones(build, tz, source_tz)
        infos = define_live_view(build, sources, legacy == "True")
        build.execute("SET preserve_insertion_order = false")
        build.execute("CREATE TABLE history_snapshot AS SELECT * FROM history_live")
        build.execute(f"CREATE TABLE wfhist_chunks AS {chunk_hashes_sql(infos)}")
        store_source_info(build, infos, datetime.now(UTC).isoformat(timespec="seconds"))
        snap.set_key(build, key, _shape(infos, settings))


def _refresh_cache(
    con: duckdb.DuckDBPyConnection, sources: list[str], settings: list[str], shape: str | None
) -> bool:
    """Bring an opened cache up to date by re-reading only changed chunks; False if it cannot.

    Everything is replaced inside one DuckDB transaction, so an interrupted
    refresh leaves the previous, consistent snapshot (with its old key).
    """
    tz, source_tz, legacy = settings
    set_zones(con, tz, source_tz)
    con.execute("SET memory_limit = ?", [snap.BUILD_MEMORY])
    load_sqlite_scanner(con)
    # The last dirty-column sets are trusted here: the hash pass reads every
    # column typed, so a newly dirty one stops it, is added, and the pass reruns.
    infos, remember = attach_all(con, sources, trial=False)
    if shape != _shape(infos, settings):
        return False
    log.info("comparing chunk hashes with the sources")
    while True:
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE wfhist_new_chunks AS {chunk_hashes_sql(infos)}"
            )
            break
        except duckdb.Error as exc:
            name = mismatch_column(exc)
            grown = [i for i in infos if name in i.names and name not in i.dirty_columns]
            if name is None or not grown:
                raise
            for i in grown:
                i.dirty_columns = (*i.dirty_columns, name)
    for store in remember:
        store()
    create_live_view(con, infos, legacy == "True")
    con.execute("BEGIN TRANSACTION")
    try:
        for info in infos:
            ranges = changed_ranges(con, info.label)
            if not ranges:
                continue
            log.info("%s: re-reading %d changed id range(s)", info.path, len(ranges))
            con.execute(
                f"DELETE FROM history_snapshot WHERE source = ? AND ({ranges_sql(ranges)})",
                [info.label],
            )
            select = history_select(info, legacy_sentinels=legacy == "True", id_ranges=ranges)
            con.execute(f"INSERT INTO history_snapshot BY NAME {select}")
        con.execute("DELETE FROM wfhist_chunks")
        con.execute("INSERT INTO wfhist_chunks SELECT * FROM wfhist_new_chunks")
        store_source_info(con, infos, datetime.now(UTC).isoformat(timespec="seconds"))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return True


def _connect_cached(
    cache: Path, sources: list[str], tz: str, source_tz: str, legacy_sentinels: bool
) -> duckdb.DuckDBPyConnection:
    """Reopen the marked cache file; refresh it if a source changed; build it if new."""
    exists = snap.check_target(cache, sources)
    settings = [tz, source_tz, str(legacy_sentinels)]
    key = fingerprint(sources, settings)
    if exists:
        con, stored_key, shape = snap.open_cache(cache)
        try:
            if stored_key != key:
                with snap.private_umask():
                    refreshed = _refresh_cache(con, sources, settings, shape)
                if refreshed:
                    snap.set_key(con, key, shape or "")
                    con.execute("CHECKPOINT")
                else:
                    con.close()
                    _build_cache(cache, sources, settings, key)
                    con, _, _ = snap.open_cache(cache)
        except BaseException:
            con.close()
            raise
        return _snapshot_view(con, tz, source_tz)
    _build_cache(cache, sources, settings, key)
    con, stored_key, _ = snap.open_cache(cache)
    if stored_key != key:  # replaced by another process in the meantime
        con.close()
        raise UsageError(f"{cache}: snapshot cache changed while it was written; try again")
    return _snapshot_view(con, tz, source_tz)


def _snapshot_view(
    con: duckdb.DuckDBPyConnection, tz: str, source_tz: str
) -> duckdb.DuckDBPyConnection:
    """``history`` over the cache's table, in the caller's zones (``con`` closed on error)."""
    try:
        set_zones(con, tz, source_tz)
        con.execute("CREATE OR REPLACE TEMP VIEW history AS SELECT * FROM history_snapshot")
    except BaseException:
        con.close()
        raise
    return con


def connect_parquet(
    folder: str | os.PathLike[str], *, tz: str = "UTC"
) -> duckdb.DuckDBPyConnection:
    """The ``history`` view over a folder written by ``wfhist export`` (Hive-partitioned).

    The export stores the mapped history, with hours and weekdays already in the
    zone it was written for (kept in the files' key-value metadata as
    ``wfhist_tz``); asking for another zone is refused rather than silently
    mixing zones.
    """
    root = Path(folder).expanduser()
    if not any(root.rglob("*.parquet")):
        raise UsageError(
            f"{root}: is a directory without Parquet files; give a SQLite file, or a folder "
            "written by 'wfhist export'"
        )
    con = new_duckdb()
    try:
        pattern = sql_literal(str(root.resolve() / "**" / "*.parquet"))
        meta = dict(
            (bytes(k).decode(), bytes(v).decode())
            for k, v in con.execute(
                f"SELECT DISTINCT key, value FROM parquet_kv_metadata({pattern})"
            ).fetchall()
        )
        exported_tz = meta.get("wfhist_tz")
        if exported_tz is None:
            raise UsageError(f"{root}: these Parquet files were not written by 'wfhist export'")
        if exported_tz != tz:
            raise UsageError(
                f"{root}: exported with tz={exported_tz!r}; pass tz={exported_tz!r} or export "
                f"again with --tz {tz}"
            )
        set_zones(con, tz, meta.get("wfhist_source_tz", DEFAULT_SOURCE_TZ))
        con.execute(
            "CREATE OR REPLACE TEMP VIEW history AS SELECT * EXCLUDE (year, month) FROM "
            f"read_parquet({pattern}, hive_partitioning = true, union_by_name = true)"
        )
        sources = con.execute("SELECT DISTINCT source FROM history ORDER BY 1").fetchall()
        infos = [
            SourceInfo(
                path=str(root),
                label=str(src),
                alias="parquet",
                columns=[(c, "", "") for c in meta.get("wfhist_columns", "").split(",") if c],
                state=meta.get("wfhist_state", "exported"),
                mapping="applied at export",
                kind="parquet",
            )
            for (src,) in sources
        ]
        store_source_info(con, infos, meta.get("wfhist_exported_at"))
    except BaseException:
        con.close()
        raise
    return con
