"""``load_history``: the history as a filtered DataFrame, like the service API minus its flaws."""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import duckdb
import pandas as pd

from wfhist.exceptions import UsageError
from wfhist.read.connect import connect
from wfhist.read.sources import SourceSpec, retry_locked
from wfhist.read.zones import DEFAULT_SOURCE_TZ, validate_tz
from wfhist.schema import quote_ident

log = logging.getLogger("wfhist.read")

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
#: The values the table's CHECK constraint allows for ``status`` (tests compare with the DDL).
STATUS_VALUES = ("pending", "running", "completed", "failed")
#: Sorting by a timestamp column sorts by its parsed instant, not its text.
_SORT_EXPR = {"created_at": "created_ts", "start_time": "start_ts"}
_MAX_BIGINT = 2**63 - 1
#: The view columns ``search`` looks in.
SEARCH_COLUMNS = ("adw_id", "nl_input", "github_url")


def _as_bound(value: str | date | datetime, parameter: str, *, end: bool) -> tuple[datetime, str]:
    """A since/until value as (timestamp, comparison operator).

    A bare date as ``until`` -- ``2025-11-21``, ``20251121`` or a ``date`` --
    covers that whole day: it becomes "before the next midnight". The service
    compared dates as text, so ``end_date=2025-11-21`` dropped that day's rows.
    """
    whole_day = isinstance(value, date) and not isinstance(value, datetime)
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    else:
        text = str(value).strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise UsageError(
                f"{parameter}={value!r} is not a date or timestamp; use YYYY-MM-DD or "
                "YYYY-MM-DDTHH:MM:SS"
            ) from exc
        try:
            date.fromisoformat(text)
            whole_day = True
        except ValueError:
            whole_day = False
    if not end:
        return parsed, ">="
    if whole_day:
        try:
            return parsed + timedelta(days=1), "<"
        except OverflowError as exc:
            raise UsageError(
                f"{parameter}={value!r} is the last representable day; leave {parameter} out "
                "to read to the end"
            ) from exc
    return parsed, "<="


def _bound_sql(name: str, value: str | date | datetime, end: bool) -> tuple[str, datetime]:
    bound, op = _as_bound(value, name, end=end)
    zone = "getvariable('wfhist_tz')"  # naive bounds are wall-clock times in tz
    if bound.tzinfo is not None:
        try:
            bound = bound.astimezone(UTC).replace(tzinfo=None)
        except OverflowError as exc:
            raise UsageError(f"{name}={value!r} is out of range; give a date before 9999") from exc
        zone = "'UTC'"
    return f"created_ts {op} timezone({zone}, CAST(? AS TIMESTAMP))", bound


def _check_count(value: object, name: str) -> None:
    if value is None and name == "limit":
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_BIGINT:
        raise UsageError(f"{name}={value!r} must be a whole number from 0 to {_MAX_BIGINT}")


def casefold_udf(con: duckdb.DuckDBPyConnection) -> str:
    """Register (once per connection) Python's ``str.casefold`` as ``wfhist_casefold``.

    DuckDB's ``lower`` maps characters one by one (``İ`` becomes ``i``, ``ß``
    stays ``ß``); ``casefold`` is Unicode's caseless matching, which is what
    "case-insensitive" promises. The view only calls it for non-ASCII text.
    """
    name = "wfhist_casefold"
    exists = con.execute(
        "SELECT count(*) FROM duckdb_functions() WHERE function_name = ?", [name]
    ).fetchone()
    if not exists or not exists[0]:
        con.create_function(name, _casefold, ["VARCHAR"], "VARCHAR")
    return name


def _casefold(text: str) -> str:
    return text.casefold()


def _search_sql(con: duckdb.DuckDBPyConnection) -> str:
    fold = casefold_udf(con)
    tests = []
    for column in SEARCH_COLUMNS:
        q = f"coalesce({quote_ident(column)}, '')"
        # ASCII text: lower() is casefold(); only other text goes through Python.
        folded = f"CASE WHEN strlen({q}) = length({q}) THEN lower({q}) ELSE {fold}({q}) END"
        tests.append(f"strpos({folded}, ?) > 0")
    return "(" + " OR ".join(tests) + ")"


def _closest_hint(con: duckdb.DuckDBPyConnection, column: str, parameter: str, value: str) -> None:
    """Log the closest known values when an open-set filter matched nothing."""
    known = [
        str(r[0])
        for r in con.execute(
            f"SELECT DISTINCT {quote_ident(column)} FROM history WHERE {quote_ident(column)} "
            "IS NOT NULL"
        ).fetchall()
    ]
    close = difflib.get_close_matches(value, known, n=3, cutoff=0.5) or sorted(known)[:3]
    log.warning(
        "%s=%r matched no rows; closest known values: %s",
        parameter,
        value,
        ", ".join(close) or "(none: the column is empty)",
    )


def _check_zones(con: duckdb.DuckDBPyConnection, tz: str | None, source_tz: str | None) -> None:
    """A connection's zones are fixed when it is opened: a different ``tz`` is an error."""
    for name, value, var in (("tz", tz, "wfhist_tz"), ("source_tz", source_tz, "wfhist_source_tz")):
        if value is None:
            continue
        validate_tz(value, name)
        row = con.execute("SELECT getvariable(?)", [var]).fetchone()
        opened = row[0] if row else None
        if opened != value:
            raise UsageError(
                f"{name}={value!r} differs from the connection's {name}={opened!r}; open another "
                f"connection with connect(..., {name}={value!r}) or leave {name} out"
            )


def load_history(
    source: SourceSpec | list[SourceSpec] | duckdb.DuckDBPyConnection,
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
    tz: str | None = None,
    source_tz: str | None = None,
) -> pd.DataFrame:
    """The history as a DataFrame, filtered like the service's REST API, minus its flaws.

    * ``status``: one of :data:`STATUS_VALUES` (the table's CHECK set); anything
      else is an error listing them. ``model`` / ``template``: exact match; when
      nothing matches, the closest known values are logged (``wfhist.read``).
    * ``search``: case-insensitive *literal* substring of adw_id, nl_input or
      github_url, with Python's ``str.casefold`` semantics; ``%``, ``_`` and
      quotes match themselves.
    * ``since`` / ``until``: compared as instants on ``created_at`` (all of its
      formats), not as text; a date-only ``until`` (``2025-11-21`` or
      ``20251121``) includes that whole day. Naive values are taken in ``tz``.
    * ``sort_by``: one of :data:`SORT_COLUMNS`; timestamps sort by instant.

    Every value is bound as a parameter. ``columns`` limits the DataFrame to
    those view columns. ``source`` may be a path or a connection from
    :func:`connect`; a connection keeps the zones it was opened with, and a
    ``tz``/``source_tz`` that differs from them is an error.
    """
    if sort_by not in SORT_COLUMNS:
        raise UsageError(
            f"sort_by={sort_by!r} is not allowed; use one of {', '.join(SORT_COLUMNS)}"
        )
    _check_count(limit, "limit")
    _check_count(offset, "offset")
    if status is not None and status not in STATUS_VALUES:
        raise UsageError(
            f"status={status!r} is not a status; use one of {', '.join(STATUS_VALUES)}"
        )
    bounds: list[tuple[str, str | date | datetime, bool]] = [
        (n, v, e) for n, v, e in (("since", since, False), ("until", until, True)) if v is not None
    ]
    for name, value, end in bounds:
        _as_bound(value, name, end=end)  # refuse bad dates before opening anything
    query = _Query(status, model, template, search, bounds, sort_by, descending, limit, offset)
    if isinstance(source, duckdb.DuckDBPyConnection):
        _check_zones(source, tz, source_tz)
        return query.run(source, columns)
    con = connect(source, tz=tz or "UTC", source_tz=source_tz or DEFAULT_SOURCE_TZ)
    try:
        return query.run(con, columns)
    finally:
        con.close()


@dataclass
class _Query:
    """The checked filters of one :func:`load_history` call, turned into bound SQL."""

    status: str | None
    model: str | None
    template: str | None
    search: str | None
    bounds: list[tuple[str, str | date | datetime, bool]]
    sort_by: str
    descending: bool
    limit: int | None
    offset: int

    def sql(self, con: duckdb.DuckDBPyConnection, select: str) -> tuple[str, list[object]]:
        where: list[str] = []
        params: list[object] = []
        for column, value in (
            ("status", self.status),
            ("model_used", self.model),
            ("workflow_template", self.template),
        ):
            if value is not None:
                where.append(f"{quote_ident(column)} = ?")
                params.append(value)
        if self.search:
            where.append(_search_sql(con))
            params += [self.search.casefold()] * len(SEARCH_COLUMNS)
        for name, bound_value, end in self.bounds:
            clause, bound = _bound_sql(name, bound_value, end)
            where.append(clause)
            params.append(bound)
        sql = f"SELECT {select} FROM history"
        if where:
            sql += " WHERE " + " AND ".join(where)
        direction = "DESC" if self.descending else "ASC"
        order = _SORT_EXPR.get(self.sort_by, quote_ident(self.sort_by))
        sql += f" ORDER BY {order} {direction} NULLS LAST, id {direction}"
        if self.limit is not None:
            sql += " LIMIT ?"
            params.append(self.limit)
        if self.offset:
            sql += " OFFSET ?"
            params.append(self.offset)
        return sql, params

    def run(
        self, con: duckdb.DuckDBPyConnection, columns: list[str] | tuple[str, ...] | None
    ) -> pd.DataFrame:
        select = "*" if columns is None else _checked_columns(con, columns)
        sql, params = self.sql(con, select)
        frame = retry_locked("the history source", lambda: con.execute(sql, params).df())
        if frame.empty:
            for column, parameter, value in (
                ("model_used", "model", self.model),
                ("workflow_template", "template", self.template),
            ):
                if value is not None:
                    _closest_hint(con, column, parameter, value)
        return frame


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
