"""Time zone names: checked against both Python's tz database and DuckDB's (ICU).

The two disagree at the edges: ``posixrules``, ``right/UTC`` and ``localtime``
are files Python's ``zoneinfo`` opens but ICU does not know, so a name that
passed a Python-only check failed later, half-way through opening a source,
with DuckDB's multi-line error. Checking both sets first makes any zone
problem one line before anything is read.
"""

from __future__ import annotations

import functools
import zoneinfo

import duckdb

from wfhist.exceptions import UsageError

DEFAULT_SOURCE_TZ = "America/Los_Angeles"


@functools.cache
def duckdb_zones() -> frozenset[str]:
    """The zone names DuckDB (ICU) accepts for ``SET TimeZone`` and ``timezone()``."""
    con = duckdb.connect()
    try:
        return frozenset(
            r[0] for r in con.execute("SELECT name FROM pg_timezone_names()").fetchall()
        )
    finally:
        con.close()


def validate_tz(name: object, parameter: str) -> str:
    """``name`` if both Python and DuckDB know it as a zone, else one :class:`UsageError` line.

    ``parameter`` names the option in the message (``tz``, ``--source-tz``, a
    report parameter), so the user knows what to change.
    """
    hint = "use an IANA name such as 'UTC' or 'America/Los_Angeles'"
    if not isinstance(name, str) or not name:
        raise UsageError(f"{parameter}={name!r} is not a time zone name; {hint}")
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:
        raise UsageError(f"{parameter}={name!r} is not a known time zone; {hint}") from exc
    if name not in duckdb_zones():
        raise UsageError(
            f"{parameter}={name!r} is a zone file DuckDB's time zone database (ICU) does not "
            f"know; {hint}"
        )
    return name
