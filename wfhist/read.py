"""Read the workflow history through DuckDB's SQLite scanner, offline and safely.

Data flows one way: the SQLite file is attached **read-only** to an in-memory
DuckDB connection, and a view ``history`` presents it with the compatibility
mapping applied, so analysts always see ``hour_of_day`` / ``day_of_week``
whatever the file stores:

* ``submission_hour`` / ``submission_day_of_week`` (the real, pre-rename file),
* ``hour_of_day`` / ``day_of_week`` (after migration 008),
* both (a half-applied rename: the canonical column wins where it is not NULL),
* or neither (derived only).

Stored values are NULL-safe: hour 0 and Monday (0) stay 0. The service's
report used ``value or -1``, which turned midnight and Monday into -1;
here unknown stays NULL unless ``legacy_sentinels=True`` asks for the API's -1.

Where nothing is stored -- almost every real row -- hour and weekday are derived
from ``start_time``, else ``created_at``. Two timestamp formats live in the real
file: ``YYYY-MM-DD HH:MM:SS`` (SQLite's ``CURRENT_TIMESTAMP``, UTC) and
``YYYY-MM-DDTHH:MM:SS.ffffff`` (Python's naive ``isoformat()`` on the writing
host, local wall-clock time in ``source_tz``). ``start_time`` is always the
latter. Each row's instant is converted to ``tz`` with DST rules (DuckDB's ICU).
A naive stamp that falls in the repeated hour when DST ends, or in the skipped
hour when it starts, is read in standard time (for Los Angeles: UTC-8), which
is ICU's choice; a naive stamp cannot say which of the two instants it was.
Stored values are the writing host's wall clock too, so when ``tz`` differs
from ``source_tz`` they are shifted by the row's offset difference.

SQLite is dynamically typed: an INTEGER column can hold ``'N/A'``, which makes
DuckDB's scanner stop with "Mismatch Type Error". Every column is profiled once
with ``typeof`` inside SQLite; columns holding values of the wrong storage class
are read through ``sqlite_query`` with those values turned into NULL (counted,
see :func:`summarize`), while clean columns keep the scanner's fast path.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import importlib.util
import json
import os
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from wfhist import __version__
from wfhist.exceptions import ExtensionError, SchemaError, UsageError
from wfhist.files import validate_db_path
from wfhist.schema import (
    CANONICAL_TEMPORAL,
    STORED_TEMPORAL,
    TABLE,
    check_schema,
    classify_columns,
    quote_ident,
)

DEFAULT_SOURCE_TZ = "America/Los_Angeles"

#: Columns the reader cannot work without (the view derives from them).
REQUIRED_COLUMNS = ("id", "adw_id", "status", "start_time", "created_at")

#: ``sort_by`` names accepted by :func:`load_history` (the service API's list).
SORT_COLUMNS = (
    "created_at",
    "updated_at",
    "start_time",
    "end_time",
    "duration_seconds",
    "status",
    "adw_id",
    "issue_number",
    "actual_cost_total",
    "total_tokens",
    "cache_efficiency_percent",
)
#: Sorting by a timestamp column sorts by its parsed instant, not its text.
_SORT_EXPR = {"created_at": "created_ts", "start_time": "start_ts"}

_LOCAL_FORMATS = (
    "['%Y-%m-%dT%H:%M:%S.%f', '%Y-%m-%dT%H:%M:%S', '%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%d %H:%M:%S']"
)
_UTC_FORMATS = "['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M:%S.%f']"

# Storage classes each DuckDB type read by the scanner accepts without error.
_ALLOWED_STORAGE = {
    "BIGINT": ("integer", "null"),
    "DOUBLE": ("integer", "real", "null"),
    "VARCHAR": ("text", "null"),
}


# --- opening files -------------------------------------------------------------


def sql_literal(value: str) -> str:
    """A SQL string literal. Only for statements that take no parameters (ATTACH)."""
    return "'" + value.replace("'", "''") + "'"


def packaged_extension(module: str, name: str) -> Path | None:
    """The DuckDB extension binary a pip package ships (``<module>/extensions/v<duckdb>/``).

    The ``duckdb-extension-*`` wheels carry signed binaries built for exactly one
    duckdb version, which is why the path includes it.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations)))
    path = base / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    return path if path.is_file() else None


def sqlite_scanner_path() -> Path | None:
    """The extension binary shipped by the ``duckdb-extension-sqlite-scanner`` wheel, if any."""
    return packaged_extension("duckdb_extension_sqlite_scanner", "sqlite_scanner")


def new_duckdb() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that never downloads: extension autoinstall/autoload off."""
    return duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )


def load_sqlite_scanner(con: duckdb.DuckDBPyConnection) -> None:
    """Load the sqlite scanner from the pip package by path; never from the network.

    Falls back to ``LOAD sqlite`` (an extension already installed in DuckDB's
    home directory). ``INSTALL sqlite`` is never tried: it downloads, and fails on
    locked-down machines.
    """
    path = sqlite_scanner_path()
    errors = []
    if path is not None:
        try:
            con.load_extension(str(path))
        except duckdb.Error as exc:
            errors.append(f"{path}: {exc}")
        else:
            con.execute("SET sqlite_disable_multithreaded_scans = true")
            return
    try:
        con.execute("LOAD sqlite")
    except duckdb.Error as exc:
        errors.append(f"LOAD sqlite: {exc}".splitlines()[0])
        raise ExtensionError(
            "DuckDB's sqlite scanner is not available offline; run "
            f"'pip install duckdb-extension-sqlite-scanner=={duckdb.__version__}' "
            f"(its version must equal duckdb's) [{'; '.join(errors)}]"
        ) from exc
    con.execute("SET sqlite_disable_multithreaded_scans = true")


def validate_tz(name: str, parameter: str) -> str:
    """An IANA zone name, checked, so a typo is an error and not a silent UTC."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise UsageError(
            f"{parameter}={name!r} is not a known time zone; use an IANA name such as "
            "'UTC' or 'America/Los_Angeles'"
        ) from exc
    return name


# --- what a source file holds ----------------------------------------------------


@dataclass
class SourceInfo:
    """What the reader learned about one attached file, kept for the summary."""

    path: str  # file path, or a DSN with its password masked
    alias: str
    columns: list[tuple[str, str, str]]  # (name, declared type, duckdb type)
    state: str
    mapping: str
    bad_values: dict[str, int] = field(default_factory=dict)
    journal_mode: str = ""
    user_version: int = 0
    has_scoring_version: bool = False
    label: str = ""  # the ``source`` column's value: file stem unless two stems collide
    kind: str = "sqlite"  # sqlite | postgres

    @property
    def names(self) -> list[str]:
        return [c[0] for c in self.columns]


def _mapping_name(names: list[str]) -> str:
    stored = [n for n in STORED_TEMPORAL if n in names]
    canonical = [n for n in CANONICAL_TEMPORAL if n in names]
    if stored and canonical:
        return "both stored and canonical names (canonical preferred, stored as fallback)"
    if stored:
        return "submission_hour→hour_of_day, submission_day_of_week→day_of_week"
    if canonical:
        return "identity (file already uses hour_of_day, day_of_week)"
    return "none stored (all hours and weekdays derived from timestamps)"


def _sqlite_query(con: duckdb.DuckDBPyConnection, alias: str, sql: str) -> list[tuple[Any, ...]]:
    """Run ``sql`` inside SQLite (not DuckDB) on the attached file ``alias``."""
    return con.execute(
        f"SELECT * FROM sqlite_query({sql_literal(alias)}, {sql_literal(sql)})"
    ).fetchall()


def attach_source(
    con: duckdb.DuckDBPyConnection, path: str | os.PathLike[str], alias: str
) -> SourceInfo:
    """Attach ``path`` read-only as ``alias`` and learn its shape and dirty columns.

    DuckDB's ATTACH takes no bound parameters, so the path is passed as a
    quoted literal -- the one value that cannot be bound.
    """
    p = validate_db_path(path)
    try:
        con.execute(
            f"ATTACH {sql_literal(str(p))} AS {quote_ident(alias)} (TYPE sqlite, READ_ONLY)"
        )
    except duckdb.Error as exc:
        raise UsageError(f"{p}: cannot be opened as SQLite ({str(exc).splitlines()[0]})") from exc
    try:
        declared = _sqlite_query(
            con, alias, f"SELECT name, type FROM pragma_table_info('{TABLE}') ORDER BY cid"
        )
    except duckdb.Error as exc:
        raise UsageError(f"{p}: cannot be read as SQLite ({str(exc).splitlines()[0]})") from exc
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
    columns = [(n, str(t or ""), str(duck_types.get(n, "VARCHAR"))) for n, t in declared]
    journal = _sqlite_query(con, alias, "PRAGMA journal_mode")[0][0]
    user_version = int(_sqlite_query(con, alias, "PRAGMA user_version")[0][0])
    info = SourceInfo(
        path=str(p),
        label=p.stem,
        alias=alias,
        columns=columns,
        state=classify_columns(names),
        mapping=_mapping_name(names),
        journal_mode=str(journal),
        user_version=user_version,
        has_scoring_version="scoring_version" in names,
    )
    info.bad_values = _cached_profile(con, info)
    return info


def profile_cache_dir() -> Path:
    """Where per-file profiles live: ``$WFHIST_CACHE_DIR`` or ``~/.cache/wfhist``."""
    base = os.environ.get("WFHIST_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "wfhist"
    )
    return Path(base) / "profiles"


def _cached_profile(con: duckdb.DuckDBPyConnection, info: SourceInfo) -> dict[str, int]:
    """The dirty-value profile, reused while the file is unchanged.

    Profiling is one full pass over the table inside SQLite; on a million rows
    it costs about as much as a query. The result only changes when the file
    does, so it is kept under :func:`profile_cache_dir`, keyed by the file's
    identity (path, inode, size, mtime, ``-wal`` state, change counter). A cache
    that cannot be written is simply not used.
    """
    key = _fingerprint([info.path], ["profile", *info.names])
    cache = profile_cache_dir() / f"{key}.json"
    with contextlib.suppress(OSError, ValueError):
        return {str(k): int(v) for k, v in json.loads(cache.read_text()).items()}
    result = _profile_bad_values(con, info)
    with contextlib.suppress(OSError):
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(result))
        os.replace(tmp, cache)
    return result


def _profile_bad_values(con: duckdb.DuckDBPyConnection, info: SourceInfo) -> dict[str, int]:
    """Count, inside SQLite, values whose storage class the scanner would reject."""
    checks = []
    for name, _decl, duck in info.columns:
        allowed = _ALLOWED_STORAGE.get(duck)
        if allowed:
            in_list = ", ".join(f"'{a}'" for a in allowed)
            checks.append((name, f"sum(typeof({quote_ident(name)}) NOT IN ({in_list}))"))
    if not checks:
        return {}
    sql = f"SELECT {', '.join(expr for _, expr in checks)} FROM {quote_ident(TABLE)}"
    row = _sqlite_query(con, info.alias, sql)[0]
    # sqlite_query hands expression results over as text: convert before testing.
    counts = {name: int(n or 0) for (name, _), n in zip(checks, row, strict=True)}
    return {name: n for name, n in counts.items() if n}


# --- the history view -------------------------------------------------------------


def _column_exprs(info: SourceInfo) -> tuple[list[str], str]:
    """Expressions for each column over the raw table (alias ``s``, dirty side ``d``) and FROM."""
    src = f"{quote_ident(info.alias)}.{quote_ident(TABLE)}"
    exprs = []
    dirty_select = []
    for name, _decl, duck in info.columns:
        q = quote_ident(name)
        if name in info.bad_values:
            allowed = ", ".join(f"'{a}'" for a in _ALLOWED_STORAGE[duck])
            # REAL goes through text with 17 significant digits: exact round trip.
            value = f"CASE WHEN typeof({q}) = 'real' THEN printf('%!.17g', {q}) ELSE {q} END"
            dirty_select.append(f"CASE WHEN typeof({q}) IN ({allowed}) THEN {value} END AS {q}")
            exprs.append(f"TRY_CAST(d.{q} AS {duck})")
        else:
            exprs.append(f"s.{q}")
    from_clause = f"{src} AS s"
    if dirty_select:
        inner = f"SELECT id AS _wfhist_id, {', '.join(dirty_select)} FROM {quote_ident(TABLE)}"
        from_clause += (
            f" LEFT JOIN sqlite_query({sql_literal(info.alias)}, {sql_literal(inner)}) AS d"
            " ON d._wfhist_id = s.id"
        )
    return exprs, from_clause


def history_select(info: SourceInfo, *, legacy_sentinels: bool = False) -> str:
    """The SELECT that defines ``history`` for one attached source.

    Time zones come from the session variables ``wfhist_tz`` and
    ``wfhist_source_tz`` (set with bound parameters by :func:`connect`), so the
    view text holds no user value.
    """
    names = info.names
    exprs, from_clause = _column_exprs(info)
    by_name = dict(zip(names, exprs, strict=True))

    def temporal(stored: str, canonical: str) -> str:
        parts = [f"raw_{n}" for n in (canonical, stored) if n in names]
        return f"coalesce({', '.join(parts)})" if parts else "CAST(NULL AS BIGINT)"

    raw_cols = []
    out_cols = []  # final column list, in the file's order
    placed = set()
    for name in names:
        if name in STORED_TEMPORAL or name in CANONICAL_TEMPORAL:
            raw_cols.append(f"{by_name[name]} AS raw_{name}")
            canonical = (
                name
                if name in CANONICAL_TEMPORAL
                else CANONICAL_TEMPORAL[STORED_TEMPORAL.index(name)]
            )
            if canonical not in placed:
                out_cols.append(canonical)
                placed.add(canonical)
            continue
        raw_cols.append(f"{by_name[name]} AS {quote_ident(name)}")
        out_cols.append(quote_ident(name))
    for canonical in CANONICAL_TEMPORAL:
        if canonical not in placed:
            out_cols.append(canonical)
    if not info.has_scoring_version:
        raw_cols.append("CAST(NULL AS VARCHAR) AS scoring_version")
        out_cols.append("scoring_version")

    hour_raw = temporal(*[STORED_TEMPORAL[0], CANONICAL_TEMPORAL[0]])
    day_raw = temporal(*[STORED_TEMPORAL[1], CANONICAL_TEMPORAL[1]])
    sentinel = (lambda e: f"coalesce({e}, -1)") if legacy_sentinels else (lambda e: e)
    final = []
    for col in out_cols:
        if col == "hour_of_day":
            final.append(f"{sentinel('_hour')} AS hour_of_day")
        elif col == "day_of_week":
            final.append(f"{sentinel('_day')} AS day_of_week")
        else:
            final.append(col)

    tz = "getvariable('wfhist_tz')"
    stz = "getvariable('wfhist_source_tz')"
    return f"""
WITH raw AS (
    SELECT {", ".join(raw_cols)},
           {sql_literal(info.label)} AS source
    FROM {from_clause}
), typed AS (
    SELECT *,
        CASE WHEN {hour_raw} BETWEEN 0 AND 23 THEN {hour_raw} END AS _stored_hour,
        CASE WHEN {day_raw} BETWEEN 0 AND 6 THEN {day_raw} END AS _stored_day,
        timezone({stz}, try_strptime(start_time, {_LOCAL_FORMATS})) AS start_ts,
        CASE WHEN contains(created_at, 'T')
             THEN timezone({stz}, try_strptime(created_at, {_LOCAL_FORMATS}))
             ELSE timezone('UTC', try_strptime(created_at, {_UTC_FORMATS}))
        END AS created_ts
    FROM raw
), placed AS (
    SELECT *,
        coalesce(start_ts, created_ts) AS _instant,
        CASE WHEN {tz} = {stz} THEN 0
             ELSE epoch(timezone({tz}, coalesce(start_ts, created_ts)))
                  - epoch(timezone({stz}, coalesce(start_ts, created_ts)))
        END AS _shift_s
    FROM typed
), derived AS (
    SELECT *,
        -- a stored wall-clock value, moved from source_tz to tz (2024-01-01 is a Monday)
        TIMESTAMP '2024-01-01'
            + to_days(CAST(coalesce(_stored_day, 0) AS INTEGER))
            + to_hours(CAST(coalesce(_stored_hour,
                                     hour(timezone({stz}, _instant)), 0) AS BIGINT))
            + to_seconds(CAST(_shift_s AS BIGINT)) AS _stored_in_tz,
        timezone({tz}, _instant) AS _local
    FROM placed
), mapped AS (
    SELECT *,
        CASE WHEN _stored_hour IS NOT NULL AND _shift_s IS NOT NULL THEN hour(_stored_in_tz)
             ELSE hour(_local) END AS _hour,
        CASE WHEN _stored_day IS NOT NULL AND _shift_s IS NOT NULL
             THEN isodow(_stored_in_tz) - 1
             ELSE isodow(_local) - 1 END AS _day,
        CASE WHEN _stored_hour IS NOT NULL AND _stored_day IS NOT NULL
                  AND _shift_s IS NOT NULL THEN 'stored'
             WHEN _local IS NULL AND (_stored_hour IS NULL OR _shift_s IS NULL)
                  AND (_stored_day IS NULL OR _shift_s IS NULL) THEN 'missing'
             ELSE 'derived' END AS temporal_source
    FROM derived
)
SELECT {", ".join(final)}, temporal_source, start_ts, created_ts, source
FROM mapped"""


def _store_source_info(
    con: duckdb.DuckDBPyConnection, infos: list[SourceInfo], snapshot_taken_at: str | None
) -> None:
    """Keep what was learned inside DuckDB (``wfhist_sources``, ``wfhist_bad_values``)."""
    con.execute(
        "CREATE OR REPLACE TABLE wfhist_sources (source VARCHAR, kind VARCHAR, path VARCHAR,"
        " alias VARCHAR, state VARCHAR, mapping VARCHAR, columns INTEGER, journal_mode VARCHAR,"
        " user_version INTEGER, has_scoring_version BOOLEAN, snapshot_taken_at VARCHAR)"
    )
    con.execute(
        "CREATE OR REPLACE TABLE wfhist_bad_values (source VARCHAR, column_name VARCHAR,"
        " bad_values BIGINT)"
    )
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
        for col, n in i.bad_values.items():
            con.execute("INSERT INTO wfhist_bad_values VALUES (?, ?, ?)", [i.label, col, n])


SourceSpec = str | os.PathLike[str]
_GLOB_CHARS = set("*?[")


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
        if is_postgres_dsn(text) or not _GLOB_CHARS & set(text):
            out.append(text)
            continue
        matches = sorted(glob.glob(os.path.expanduser(text)))
        if not matches:
            raise UsageError(f"{text}: the pattern matches no file; check the folder and pattern")
        out.extend(matches)
    return out


def is_postgres_dsn(text: str) -> bool:
    return text.startswith(("postgresql://", "postgres://"))


def _label_sources(infos: list[SourceInfo]) -> None:
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


def _fingerprint(paths: list[str], settings: list[str]) -> str:
    """Identity of the sources for the snapshot cache: size, mtime and change counter.

    ``PRAGMA data_version`` only compares within one connection, so across
    processes the file's own change counter (header bytes 24-27, bumped on each
    commit in rollback-journal mode) plus size and mtime of the file and its
    ``-wal`` (where WAL-mode commits land) identify a state instead.
    """
    parts = [__version__, *settings]
    for text in paths:
        if is_postgres_dsn(text):
            parts.append(f"{text}:uncacheable:{datetime.now(UTC).isoformat()}")
            continue
        p = Path(text).resolve()
        for f in (p, Path(f"{p}-wal")):
            if f.exists():
                st = f.stat()
                parts.append(f"{f}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}")
        with contextlib.suppress(OSError), p.open("rb") as fh:
            fh.seek(24)
            parts.append(fh.read(4).hex())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _attach_all(con: duckdb.DuckDBPyConnection, sources: list[str]) -> list[SourceInfo]:
    infos = []
    for n, text in enumerate(sources):
        alias = "src" if n == 0 else f"src{n}"
        if is_postgres_dsn(text):
            from wfhist.postgres import attach_postgres

            infos.append(attach_postgres(con, text, alias))
        else:
            infos.append(attach_source(con, text, alias))
    _label_sources(infos)
    return infos


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
    cache file, rebuilt only when a source file changes. ``wfhist_sources``
    says when the snapshot was taken. ``False`` reads live each time.

    ``expected_schema`` (``"pre-006"``, ``"post-006"``, ``"renamed"`` or a column
    list) makes opening fail fast, through :func:`wfhist.check_schema`, when a
    SQLite source is in another shape -- for code that must not run against a
    schema it was not written for. By default any shape with the required
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
    if len(sources) == 1 and Path(sources[0]).is_dir() and not is_postgres_dsn(sources[0]):
        return connect_parquet(sources[0], tz=tz)
    cache: Path | None = None
    if snapshot not in (True, False):
        cache = Path(os.fspath(snapshot))  # type: ignore[arg-type]
    settings = [tz, source_tz, str(legacy_sentinels)]
    key = _fingerprint(sources, settings) if cache else None
    if cache is not None and key is not None:
        con = _open_cache(cache, key, tz, source_tz)
        if con is not None:
            return con
    con = duckdb.connect(str(cache)) if cache else new_duckdb()
    try:
        if cache:
            con.execute("SET autoinstall_known_extensions = false")
            con.execute("SET autoload_known_extensions = false")
        _set_zones(con, tz, source_tz)
        load_sqlite_scanner(con)
        infos = _attach_all(con, sources)
        selects = [history_select(i, legacy_sentinels=legacy_sentinels) for i in infos]
        live = "\nUNION ALL BY NAME\n".join(f"({sql})" for sql in selects)
        con.execute(f"CREATE OR REPLACE TEMP VIEW history_live AS {live}")
        taken = None
        if snapshot is not False:
            taken = datetime.now(UTC).isoformat(timespec="seconds")
            con.execute("CREATE OR REPLACE TABLE history_snapshot AS SELECT * FROM history_live")
            con.execute("CREATE OR REPLACE TEMP VIEW history AS SELECT * FROM history_snapshot")
        else:
            con.execute("CREATE OR REPLACE TEMP VIEW history AS SELECT * FROM history_live")
        _store_source_info(con, infos, taken)
        if cache and key:
            con.execute("CREATE OR REPLACE TABLE wfhist_snapshot_key AS SELECT ? AS key", [key])
            con.execute("CHECKPOINT")
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
    files = sorted(root.rglob("*.parquet"))
    if not files:
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
        _set_zones(con, tz, meta.get("wfhist_source_tz", DEFAULT_SOURCE_TZ))
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
        _store_source_info(con, infos, meta.get("wfhist_exported_at"))
    except BaseException:
        con.close()
        raise
    return con


def _set_zones(con: duckdb.DuckDBPyConnection, tz: str, source_tz: str) -> None:
    con.execute("SET VARIABLE wfhist_tz = ?", [tz])
    con.execute("SET VARIABLE wfhist_source_tz = ?", [source_tz])
    con.execute("SET TimeZone = ?", [tz])


def _open_cache(cache: Path, key: str, tz: str, source_tz: str) -> duckdb.DuckDBPyConnection | None:
    """The cached snapshot if it was taken from exactly these source states, else None."""
    if not cache.exists():
        return None
    try:
        con = duckdb.connect(
            str(cache),
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
        )
    except duckdb.Error as exc:
        raise UsageError(
            f"{cache}: snapshot cache cannot be opened ({str(exc).splitlines()[0]}); "
            "close the other session using it or delete the file"
        ) from exc
    try:
        row = con.execute("SELECT key FROM wfhist_snapshot_key").fetchone()
    except duckdb.Error:
        row = None
    if not row or row[0] != key:
        con.close()
        cache.unlink()
        return None
    _set_zones(con, tz, source_tz)
    con.execute("CREATE OR REPLACE TEMP VIEW history AS SELECT * FROM history_snapshot")
    return con


# --- filtered reads -----------------------------------------------------------------


def _as_bound(value: str | date | datetime, parameter: str, *, end: bool) -> tuple[datetime, str]:
    """A since/until value as (timestamp, comparison operator).

    A bare date as ``until`` covers that whole day: it becomes "before the next
    midnight". The service compared dates as text, so ``end_date=2025-11-21``
    dropped that day's rows.
    """
    whole_day = isinstance(value, date) and not isinstance(value, datetime)
    if isinstance(value, datetime):
        parsed = value
    elif whole_day:
        parsed = datetime.combine(value, time())  # type: ignore[arg-type]
    else:
        text = str(value).strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise UsageError(
                f"{parameter}={value!r} is not a date or timestamp; use YYYY-MM-DD or "
                "YYYY-MM-DDTHH:MM:SS"
            ) from exc
        whole_day = len(text) == 10
    if not end:
        return parsed, ">="
    if whole_day:
        return parsed + timedelta(days=1), "<"
    return parsed, "<="


def load_history(
    source: str | os.PathLike[str] | duckdb.DuckDBPyConnection,
    *,
    status: str | None = None,
    model: str | None = None,
    template: str | None = None,
    search: str | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    sort_by: str = "created_at",
    descending: bool = True,
    limit: int | None = None,
    offset: int = 0,
    columns: list[str] | tuple[str, ...] | None = None,
    tz: str = "UTC",
    source_tz: str = DEFAULT_SOURCE_TZ,
) -> pd.DataFrame:
    """The history as a DataFrame, filtered like the service's REST API, minus its flaws.

    * ``status`` / ``model`` / ``template``: exact match.
    * ``search``: case-insensitive *literal* substring of adw_id, nl_input or
      github_url; ``%``, ``_`` and quotes match themselves.
    * ``since`` / ``until``: compared as instants on ``created_at`` (both of its
      formats), not as text; a date-only ``until`` includes that whole day.
      Naive values are taken in ``tz``.
    * ``sort_by``: one of :data:`SORT_COLUMNS`; timestamps sort by instant.

    Every value is bound as a parameter. ``columns`` limits the DataFrame to
    those view columns (a million rows of all 74 columns is gigabytes of pandas
    objects; a report needs a handful). ``source`` may be a path or a
    connection from :func:`connect` (then ``tz``/``source_tz`` are the
    connection's).
    """
    if sort_by not in SORT_COLUMNS:
        raise UsageError(
            f"sort_by={sort_by!r} is not allowed; use one of {', '.join(SORT_COLUMNS)}"
        )
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise UsageError(f"limit={limit!r} must be a whole number >= 0")
    if not isinstance(offset, int) or offset < 0:
        raise UsageError(f"offset={offset!r} must be a whole number >= 0")
    where, params = [], []
    for column, value in (
        ("status", status),
        ("model_used", model),
        ("workflow_template", template),
    ):
        if value is not None:
            where.append(f"{quote_ident(column)} = ?")
            params.append(value)
    if search:
        # strpos is a literal substring test: no LIKE wildcards to escape.
        where.append(
            "(strpos(lower(adw_id), lower(?)) > 0"
            " OR strpos(lower(coalesce(nl_input, '')), lower(?)) > 0"
            " OR strpos(lower(coalesce(github_url, '')), lower(?)) > 0)"
        )
        params += [search, search, search]
    for name, value, end in (("since", since, False), ("until", until, True)):
        if value is not None:
            bound, op = _as_bound(value, name, end=end)
            zone = "getvariable('wfhist_tz')"  # naive bounds are wall-clock times in tz
            if bound.tzinfo is not None:
                bound, zone = bound.astimezone(UTC).replace(tzinfo=None), "'UTC'"
            where.append(f"created_ts {op} timezone({zone}, CAST(? AS TIMESTAMP))")
            params.append(bound)
    order = _SORT_EXPR.get(sort_by, quote_ident(sort_by))
    select = "*" if columns is None else None

    def run(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        picked = select or _checked_columns(con, columns or [])
        return con.execute(sql.replace("SELECT *", f"SELECT {picked}", 1), params).df()

    sql = "SELECT * FROM history"
    if where:
        sql += " WHERE " + " AND ".join(where)
    direction = "DESC" if descending else "ASC"
    sql += f" ORDER BY {order} {direction} NULLS LAST, id {direction}"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    if offset:
        sql += " OFFSET ?"
        params.append(offset)

    if isinstance(source, duckdb.DuckDBPyConnection):
        return run(source)
    con = connect(source, tz=tz, source_tz=source_tz)
    try:
        return run(con)
    finally:
        con.close()


def _checked_columns(con: duckdb.DuckDBPyConnection, columns: list[str] | tuple[str, ...]) -> str:
    """A quoted SELECT list of ``columns``, all of which must exist in ``history``."""
    known = [r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE history)").fetchall()]
    unknown = [c for c in columns if c not in known]
    if unknown or not columns:
        raise UsageError(
            f"columns={list(columns)!r}: unknown {', '.join(unknown) or '(none given)'}; "
            f"the history view has {', '.join(known)}"
        )
    return ", ".join(quote_ident(c) for c in columns)


# --- summary -------------------------------------------------------------------------


def summarize(
    source: SourceSpec | list[SourceSpec],
    *,
    tz: str = "UTC",
    source_tz: str = DEFAULT_SOURCE_TZ,
    snapshot: bool | str | os.PathLike[str] = False,
) -> dict[str, Any]:
    """Everything an operator checks before trusting a file (or files), as plain data."""
    con = connect(source, tz=tz, source_tz=source_tz, snapshot=snapshot)
    try:
        sources = con.execute(
            "SELECT source, kind, path, state, mapping, columns, journal_mode, user_version,"
            " snapshot_taken_at FROM wfhist_sources ORDER BY rowid"
        ).df()
        # On a live view every query re-scans the SQLite files: read the six
        # columns the summary needs once, then count from that.
        con.execute(
            "CREATE TEMP TABLE wfhist_summary AS SELECT source, adw_id, status,"
            " temporal_source, scoring_version, created_ts FROM history"
        )
        rows = con.execute(
            "SELECT count(*), min(created_ts)::VARCHAR, max(created_ts)::VARCHAR"
            " FROM wfhist_summary"
        ).fetchone()

        def counts(expr: str) -> dict[Any, int]:
            sql = f"SELECT {expr}, count(*) FROM wfhist_summary GROUP BY 1 ORDER BY 1"
            return {k: int(v) for k, v in con.execute(sql).fetchall()}

        per_source = counts("source")
        temporal = counts("temporal_source")
        status = counts("status")
        versions = counts("coalesce(scoring_version, 'NULL (before 006)')")
        bad = con.execute(
            "SELECT source, column_name, bad_values FROM wfhist_bad_values ORDER BY ALL"
        ).fetchall()
        duplicates = con.execute(
            "SELECT adw_id, list(DISTINCT source ORDER BY source) FROM wfhist_summary"
            " GROUP BY adw_id"
            " HAVING count(DISTINCT source) > 1 ORDER BY adw_id"
        ).fetchall()
    finally:
        con.close()
    first = sources.iloc[0]
    bad_total: dict[str, int] = {}
    for _src, col, n in bad:
        bad_total[col] = bad_total.get(col, 0) + int(n)
    return {
        "path": str(first["path"]) if len(sources) == 1 else [str(p) for p in sources["path"]],
        "rows": int(rows[0]),
        "columns": int(first["columns"]),
        "journal_mode": str(first["journal_mode"]),
        "user_version": int(first["user_version"]),
        "schema_state": str(first["state"]),
        "mapping": str(first["mapping"]),
        "tz": tz,
        "source_tz": source_tz,
        "snapshot_taken_at": first["snapshot_taken_at"] or None,
        "temporal_sources": {k: int(temporal.get(k, 0)) for k in ("stored", "derived", "missing")},
        "bad_values": bad_total,
        "created_at_range": [rows[1], rows[2]],
        "status_counts": {k: int(v) for k, v in status.items()},
        "scoring_versions": {k: int(v) for k, v in versions.items()},
        "sources": [
            {
                "source": str(r["source"]),
                "kind": str(r["kind"]),
                "path": str(r["path"]),
                "rows": int(per_source.get(r["source"], 0)),
                "columns": int(r["columns"]),
                "schema_state": str(r["state"]),
                "mapping": str(r["mapping"]),
                "user_version": int(r["user_version"]),
                "bad_values": {c: int(n) for s_, c, n in bad if s_ == r["source"]},
            }
            for _, r in sources.iterrows()
        ],
        "duplicate_adw_ids": [{"adw_id": a, "sources": list(s_)} for a, s_ in duplicates],
    }


def format_summary(info: dict[str, Any]) -> str:
    """The summary as a short, aligned text block for the terminal."""
    t = info["temporal_sources"]
    bad = info["bad_values"]
    multi = len(info["sources"]) > 1
    lines = [
        ("file", info["path"] if not multi else f"{len(info['sources'])} sources"),
        ("rows", f"{info['rows']}"),
    ]
    if multi:
        for s_ in info["sources"]:
            lines.append(
                (
                    f"  {s_['source']}",
                    f"{s_['rows']} rows, {s_['columns']} columns, {s_['schema_state']}, "
                    f"{s_['kind']} {s_['path']}",
                )
            )
        dups = info["duplicate_adw_ids"]
        lines.append(
            (
                "duplicate adw_id",
                "none"
                if not dups
                else f"{len(dups)} ids in more than one source (kept, not merged), e.g. "
                + ", ".join(f"{d['adw_id']} in {'+'.join(d['sources'])}" for d in dups[:3]),
            )
        )
    else:
        lines += [
            ("columns", f"{info['columns']}"),
            ("journal mode", info["journal_mode"]),
            ("schema state", f"{info['schema_state']} (user_version {info['user_version']})"),
            ("mapping", info["mapping"]),
        ]
    lines += [
        (
            "hour/weekday",
            f"stored {t['stored']}, derived {t['derived']}, missing {t['missing']} "
            f"(in {info['tz']}; naive stamps read as {info['source_tz']})",
        ),
        (
            "bad values",
            ", ".join(f"{k}: {v}" for k, v in bad.items()) + " (read as NULL)" if bad else "none",
        ),
        ("created_at", f"{info['created_at_range'][0]} … {info['created_at_range'][1]}"),
        ("status", ", ".join(f"{k} {v}" for k, v in info["status_counts"].items())),
        ("scoring_version", ", ".join(f"{k}: {v}" for k, v in info["scoring_versions"].items())),
        ("snapshot", info["snapshot_taken_at"] or "none (live read)"),
    ]
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in lines)
