"""Read the workflow history through DuckDB's SQLite scanner, offline and safely.

Data flows one way: each source (SQLite file, PostgreSQL DSN) is attached
**read-only** to a DuckDB connection, and a view ``history`` presents it with
the compatibility mapping applied (:mod:`wfhist.read.viewsql`). The modules:

* :mod:`~wfhist.read.extensions` -- DuckDB and its scanners, loaded offline;
* :mod:`~wfhist.read.zones` -- zone names both Python and DuckDB accept;
* :mod:`~wfhist.read.sources` -- files, globs, DSNs; attaching; what a file holds;
* :mod:`~wfhist.read.profile` -- text in numeric columns, found once per file state;
* :mod:`~wfhist.read.viewsql` -- the view's SQL (mapping, timestamps, derived hours);
* :mod:`~wfhist.read.connect` -- ``connect`` (live, in-memory snapshot, Parquet);
* :mod:`~wfhist.read.cache` -- snapshot cache files and their fingerprints;
* :mod:`~wfhist.read.query` -- ``load_history`` and its filters;
* :mod:`~wfhist.read.summary` -- ``summarize`` / ``format_summary``.
"""

from __future__ import annotations

from wfhist.read.connect import connect, connect_parquet
from wfhist.read.extensions import (
    load_sqlite_scanner,
    new_duckdb,
    packaged_extension,
    sql_literal,
    sqlite_scanner_path,
)
from wfhist.read.profile import ALLOWED_STORAGE, profile_cache_dir
from wfhist.read.query import SORT_COLUMNS, STATUS_VALUES, load_history
from wfhist.read.sources import (
    REQUIRED_COLUMNS,
    SourceInfo,
    SourceSpec,
    attach_source,
    is_postgres_dsn,
    mapping_name,
    resolve_sources,
)
from wfhist.read.summary import format_summary, summarize
from wfhist.read.viewsql import history_select
from wfhist.read.zones import DEFAULT_SOURCE_TZ, validate_tz

__all__ = [
    "ALLOWED_STORAGE",
    "DEFAULT_SOURCE_TZ",
    "REQUIRED_COLUMNS",
    "SORT_COLUMNS",
    "STATUS_VALUES",
    "SourceInfo",
    "SourceSpec",
    "attach_source",
    "connect",
    "connect_parquet",
    "format_summary",
    "history_select",
    "is_postgres_dsn",
    "load_history",
    "load_sqlite_scanner",
    "mapping_name",
    "new_duckdb",
    "packaged_extension",
    "profile_cache_dir",
    "resolve_sources",
    "sql_literal",
    "sqlite_scanner_path",
    "summarize",
    "validate_tz",
]
