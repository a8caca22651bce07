"""Dirty values: text in numeric columns, found once per file state and cached.

SQLite is dynamically typed: an INTEGER column can hold ``'N/A'``, which makes
DuckDB's typed scanner stop with "Mismatch Type Error". Columns holding values
of the wrong storage class are read by the view through ``sqlite_query`` with
those values turned into NULL (counted, see :func:`wfhist.read.summarize`),
while clean columns keep the scanner's fast path.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path

import duckdb
import platformdirs

from wfhist.files import private_mode
from wfhist.read.cache.fingerprint import fingerprint
from wfhist.read.sources import SourceInfo, sqlite_query
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


def cached_profile(con: duckdb.DuckDBPyConnection, info: SourceInfo) -> dict[str, int]:
    """The dirty-value profile of ``info``'s file, reused while the file is unchanged.

    Profiling is one full pass over the table; the result only changes when the
    file does, so it is kept under :func:`profile_cache_dir`, keyed by the
    file's identity (:func:`fingerprint`). A cache that cannot be written is
    simply not used; it is written no more readable than the source file.
    """
    key = fingerprint([info.path], ["profile", *info.names])
    cache = profile_cache_dir() / f"{key}.json"
    with contextlib.suppress(OSError, ValueError):
        return {str(k): int(v) for k, v in json.loads(cache.read_text()).items()}
    log.info("%s: profiling numeric columns for text values (cached afterwards)", info.path)
    result = profile_bad_values(con, info)
    with contextlib.suppress(OSError):
        cache.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(
            tmp,
            os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW,
            private_mode(Path(info.path)),
        )
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(result))
        os.replace(tmp, cache)
    return result


def profile_bad_values(con: duckdb.DuckDBPyConnection, info: SourceInfo) -> dict[str, int]:
    """Count, inside SQLite, values whose storage class the scanner would reject."""
    checks = []
    for name, _decl, duck in info.columns:
        allowed = ALLOWED_STORAGE.get(duck)
        if allowed:
            in_list = ", ".join(f"'{a}'" for a in allowed)
            checks.append((name, f"sum(typeof({quote_ident(name)}) NOT IN ({in_list}))"))
    if not checks:
        return {}
    sql = f"SELECT {', '.join(expr for _, expr in checks)} FROM {quote_ident(TABLE)}"
    row = sqlite_query(con, info.alias, sql)[0]
    # sqlite_query hands expression results over as text: convert before testing.
    counts = {name: int(n or 0) for (name, _), n in zip(checks, row, strict=True)}
    return {name: n for name, n in counts.items() if n}
