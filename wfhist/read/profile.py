"""Dirty values: text in numeric columns, found once per file state and cached.

SQLite is dynamically typed: an INTEGER column can hold ``'N/A'``, which makes
DuckDB's typed scanner stop with "Mismatch Type Error". Columns holding values
of the wrong storage class are read by the view through ``sqlite_query`` with
those values turned into NULL (counted on demand in ``wfhist_bad_values``, see
:func:`wfhist.read.summarize`), while clean columns keep the scanner's fast path.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import duckdb
import platformdirs

from wfhist.files import private_mode
from wfhist.read.cache.fingerprint import fingerprint
from wfhist.read.extensions import sql_literal
from wfhist.read.sources import SourceInfo
from wfhist.schema import TABLE, quote_ident

log = logging.getLogger("wfhist.read")

#: Storage classes each DuckDB type read by the scanner accepts without error.
ALLOWED_STORAGE = {
    "BIGINT": ("integer", "null"),
    "DOUBLE": ("integer", "real", "null"),
    "VARCHAR": ("text", "null"),
}


def profile_cache_dir() -> Path:
    """Where per-file profiles live: ``$WFHIST_CACHE_DIR`` or the platform's user cache dir."""
    base = os.environ.get("WFHIST_CACHE_DIR") or platformdirs.user_cache_dir("wfhist")
    return Path(base) / "profiles"


def _profile_files(info: SourceInfo) -> tuple[Path, Path]:
    """(this file state's profile, the last profile of this path) under the cache dir."""
    key = fingerprint([info.path], ["profile-v2", *info.names])
    folder = profile_cache_dir()
    return folder / f"{key}.json", folder / (
        f"{hashlib.sha256(info.path.encode()).hexdigest()}.last.json"
    )


def _read_list(path: Path) -> list[str] | None:
    with contextlib.suppress(OSError, ValueError, TypeError):
        return [str(c) for c in json.loads(path.read_text())]
    return None


def cached_profile(
    con: duckdb.DuckDBPyConnection, info: SourceInfo, *, trial: bool = True
) -> tuple[tuple[str, ...], Callable[[], None]]:
    """The dirty columns of ``info``'s file, reused while the file is unchanged.

    Kept under :func:`profile_cache_dir`, keyed by the file's identity
    (:func:`fingerprint`, taken before reading); the last result for the same
    path is the starting guess when the file has changed. ``trial=False``
    returns that guess unchecked, for a caller whose own full typed pass checks
    it (a snapshot refresh); it then calls the returned function to store the
    verified result. A cache that cannot be written is simply not used; it is
    written no more readable than the source file.
    """
    cache, hint_file = _profile_files(info)
    cached = _read_list(cache)
    if cached is not None:
        return tuple(cached), lambda: None
    hint = _read_list(hint_file) or []

    def remember(columns: tuple[str, ...] | None = None) -> None:
        text = json.dumps(list(info.dirty_columns if columns is None else columns))
        for target in (cache, hint_file):
            _write_private(target, text, Path(info.path))

    if not trial:
        return tuple(hint), remember
    log.info("%s: checking numeric columns for text values (cached afterwards)", info.path)
    result = find_dirty_columns(con, info, hint)
    remember(result)
    return result, lambda: None


def _write_private(path: Path, text: str, source: Path) -> None:
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(tmp, flags, private_mode(source))
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)


def mismatch_column(exc: duckdb.Error) -> str | None:
    """The column a scanner "Mismatch Type Error" names (``... in column "NAME": ...``)."""
    text = str(exc)
    marker = 'Invalid type in column "'
    if marker not in text:
        return None
    return text.split(marker, 1)[1].split('": ', 1)[0]


#: How SQLite renders a value of an allowed storage class as text (``sqlite_all_varchar``):
#: an INTEGER as digits; a REAL with ``%!.15g`` (always a ``.`` or an exponent) or ``Inf``.
_CLEAN_TEXT = {
    "BIGINT": "^-?[0-9]+$",
    "DOUBLE": "^-?([0-9]+(\\.[0-9]+)?(e[+-][0-9]+)?|Inf)$",
}


def find_dirty_columns(
    con: duckdb.DuckDBPyConnection, info: SourceInfo, hint: list[str]
) -> tuple[str, ...]:
    """The numeric columns the typed scanner cannot read, found by letting it try.

    One typed DuckDB pass over the numeric columns (not ``typeof`` on every
    value inside SQLite, which cost 12 s on a million rows); ``hint`` (the
    last result for this path) is assumed dirty from the start, so a file
    whose dirty columns did not change needs that one pass. If the scanner
    stops at a value of the wrong storage class, one more pass reads the
    remaining numeric columns as SQLite's text (``sqlite_all_varchar``) and
    finds every dirty column at once. Text columns are not checked: TEXT
    affinity stores numbers as text, so only a BLOB could surprise the
    scanner there, and that is an error, never a misread.
    """
    numeric = {n: duck for n, _decl, duck in info.columns if duck in _CLEAN_TEXT}
    dirty = {c for c in hint if c in numeric}
    table = f"{quote_ident(info.alias)}.{quote_ident(TABLE)}"
    clean = [c for c in numeric if c not in dirty]
    if clean:
        try:
            con.execute(
                f"SELECT {', '.join(f'count({quote_ident(c)})' for c in clean)} FROM {table}"
            )
        except duckdb.Error as exc:
            if mismatch_column(exc) not in clean:
                raise
            dirty |= _dirty_as_text(con, table, {c: numeric[c] for c in clean})
    return tuple(c for c in numeric if c in dirty)


def _dirty_as_text(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str]) -> set[str]:
    """The ``columns`` holding a value whose SQLite text is not that of an allowed class."""
    checks = ", ".join(
        f"bool_or({quote_ident(c)} IS NOT NULL AND NOT regexp_matches({quote_ident(c)},"
        f" {sql_literal(_CLEAN_TEXT[duck])}))"
        for c, duck in columns.items()
    )
    con.execute("SET sqlite_all_varchar = true")
    try:
        row = con.execute(f"SELECT {checks} FROM {table}").fetchone()
    finally:
        con.execute("SET sqlite_all_varchar = false")
    return {c for c, bad in zip(columns, row or (), strict=False) if bad}


def bad_values_sql(infos: list[SourceInfo]) -> str:
    """A SELECT of (source, column_name, bad_values), counted inside SQLite when queried.

    Live connections keep it as a view, so opening a file does not pay for
    counting; snapshots store its result.
    """
    parts = [
        "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS column_name, NULL::BIGINT AS "
        "bad_values WHERE false"
    ]
    for info in infos:
        checks = []
        for name, _decl, duck in info.columns:
            allowed = ALLOWED_STORAGE.get(duck)
            if allowed and name in info.dirty_columns:
                in_list = ", ".join(f"'{a}'" for a in allowed)
                checks.append((name, f"sum(typeof({quote_ident(name)}) NOT IN ({in_list}))"))
        if not checks:
            continue
        inner = ", ".join(f"{expr} AS {quote_ident(name)}" for name, expr in checks)
        counted = (
            f"sqlite_query({sql_literal(info.alias)}, "
            f"{sql_literal(f'SELECT {inner} FROM {quote_ident(TABLE)}')})"
        )
        as_text = ", ".join(
            f"CAST({quote_ident(n)} AS VARCHAR) AS {quote_ident(n)}" for n, _ in checks
        )
        parts.append(
            f"SELECT {sql_literal(info.label)} AS source, column_name,"
            f" CAST(bad_values AS BIGINT) AS bad_values FROM (UNPIVOT (SELECT {as_text}"
            f" FROM {counted}) ON COLUMNS(*) INTO NAME column_name VALUE bad_values)"
        )
    union = " UNION ALL ".join(parts)
    return f"SELECT * FROM ({union}) WHERE bad_values > 0"
