"""The SQL of the ``history`` view: the compatibility mapping and the derived hours.

Analysts always see ``hour_of_day`` / ``day_of_week`` whatever the file stores:

* ``submission_hour`` / ``submission_day_of_week`` (the real, pre-rename file),
* ``hour_of_day`` / ``day_of_week`` (after migration 008),
* both, or one of each (a half-applied rename: the canonical column wins where
  it is not NULL, the stored one fills in),
* or neither (derived only).

Stored values are NULL-safe: hour 0 and Monday (0) stay 0. The service's report
used ``value or -1``, which turned midnight and Monday into -1; here unknown
stays NULL unless ``legacy_sentinels=True`` asks for the API's -1.

Where nothing is stored, hour and weekday are derived from ``start_time``, else
``created_at``. Timestamp formats in the real file: ``YYYY-MM-DD HH:MM:SS``
(SQLite's ``CURRENT_TIMESTAMP``, UTC), ``YYYY-MM-DDTHH:MM:SS[.ffffff]`` (Python's
naive ``isoformat()`` on the writing host: wall-clock time in ``source_tz``),
and either with a trailing ``Z`` (UTC, whatever the zone settings). Each row's
instant is converted to ``tz`` with DST rules (DuckDB's ICU). A naive stamp in
the repeated or skipped hour of a DST change is read in standard time (ICU's
choice; a naive stamp cannot say which instant it was). Stored values are the
writing host's wall clock, so when ``tz`` differs from ``source_tz`` they are
shifted by the row's offset difference -- at the row's instant, or, when no
timestamp of the row can be parsed, at a fixed reference date (2024-01-01), so
a row is classified (``temporal_source``) the same in every ``tz``.
"""

from __future__ import annotations

from wfhist.read.extensions import sql_literal
from wfhist.read.profile import ALLOWED_STORAGE
from wfhist.read.sources import SourceInfo
from wfhist.schema import CANONICAL_TEMPORAL, STORED_TEMPORAL, TABLE, quote_ident

LOCAL_FORMATS = (
    "['%Y-%m-%dT%H:%M:%S.%f', '%Y-%m-%dT%H:%M:%S', '%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%d %H:%M:%S']"
)
UTC_FORMATS = "['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M:%S.%f']"
ZULU_FORMATS = (
    "['%Y-%m-%dT%H:%M:%S.%fZ', '%Y-%m-%dT%H:%M:%SZ', '%Y-%m-%d %H:%M:%S.%fZ', '%Y-%m-%d %H:%M:%SZ']"
)
_TZ = "getvariable('wfhist_tz')"
_STZ = "getvariable('wfhist_source_tz')"


def column_exprs(
    info: SourceInfo, id_ranges: list[tuple[int, int]] | None = None
) -> tuple[list[str], str]:
    """Expressions for each column over the raw table (alias ``s``, dirty side ``d``) and FROM.

    ``id_ranges`` reads only rows whose id is in one of the inclusive ranges,
    through one ``sqlite_query`` (SQLite seeks them by rowid; the scanner would
    read the whole table): how a snapshot refresh re-reads changed chunks.
    """
    src = f"{quote_ident(info.alias)}.{quote_ident(TABLE)}"
    if id_ranges is not None:
        return _range_exprs(info, id_ranges)
    exprs = []
    dirty_select = []
    for name, _decl, duck in info.columns:
        q = quote_ident(name)
        if name in info.dirty_columns:
            dirty_select.append(f"{_as_text(q, duck)} AS {q}")
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


def _as_text(q: str, duck: str) -> str:
    """SQLite expression: the value as text if its storage class is allowed, else NULL.

    REAL goes through text with 17 significant digits: an exact round trip.
    """
    allowed = ", ".join(f"'{a}'" for a in ALLOWED_STORAGE.get(duck, ("text", "null")))
    return (
        f"CASE WHEN typeof({q}) = 'real' AND typeof({q}) IN ({allowed}) "
        f"THEN printf('%!.17g', {q}) WHEN typeof({q}) IN ({allowed}) THEN CAST({q} AS TEXT) END"
    )


def _range_exprs(info: SourceInfo, id_ranges: list[tuple[int, int]]) -> tuple[list[str], str]:
    """Every column as text from one ``sqlite_query`` over the id ranges, cast back exactly.

    ``sqlite_query`` infers each result column's type, which a handful of rows
    (all NULL, say) can get wrong; text is exact for every storage class.
    """
    inner_cols = [
        f"{_as_text(quote_ident(n), duck)} AS {quote_ident(n)}" for n, _d, duck in info.columns
    ]
    exprs = [f"TRY_CAST(s.{quote_ident(n)} AS {duck or 'VARCHAR'})" for n, _d, duck in info.columns]
    where = " OR ".join(f"id BETWEEN {int(lo)} AND {int(hi)}" for lo, hi in id_ranges) or "0"
    inner = f"SELECT {', '.join(inner_cols)} FROM {quote_ident(TABLE)} WHERE {where}"
    return exprs, f"sqlite_query({sql_literal(info.alias)}, {sql_literal(inner)}) AS s"


def instant_sql(column: str, *, naive_utc_with_space: bool) -> str:
    """The instant a text timestamp denotes: ``Z`` is UTC; a naive stamp is ``source_tz``.

    ``naive_utc_with_space``: ``created_at`` without a ``T`` is SQLite's
    ``CURRENT_TIMESTAMP`` (UTC); ``start_time`` is always the host's wall clock.
    """
    zulu = f"timezone('UTC', try_strptime({column}, {ZULU_FORMATS}))"
    local = f"timezone({_STZ}, try_strptime({column}, {LOCAL_FORMATS}))"
    if naive_utc_with_space:
        utc = f"timezone('UTC', try_strptime({column}, {UTC_FORMATS}))"
        local = f"CASE WHEN contains({column}, 'T') THEN {local} ELSE {utc} END"
    return f"CASE WHEN ends_with({column}, 'Z') THEN {zulu} ELSE {local} END"


def _select_lists(
    info: SourceInfo, legacy_sentinels: bool, exprs: list[str]
) -> tuple[list[str], list[str]]:
    """(raw column expressions, final column list) in the file's column order."""
    by_name = dict(zip(info.names, exprs, strict=True))
    raw_cols: list[str] = []
    out_cols: list[str] = []
    placed: set[str] = set()
    for name in info.names:
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
    out_cols += [c for c in CANONICAL_TEMPORAL if c not in placed]
    if not info.has_scoring_version:
        raw_cols.append("CAST(NULL AS VARCHAR) AS scoring_version")
        out_cols.append("scoring_version")
    sentinel = (lambda e: f"coalesce({e}, -1)") if legacy_sentinels else (lambda e: e)
    final = {
        "hour_of_day": f"{sentinel('_hour')} AS hour_of_day",
        "day_of_week": f"{sentinel('_day')} AS day_of_week",
    }
    return raw_cols, [final.get(c, c) for c in out_cols]


def history_select(
    info: SourceInfo,
    *,
    legacy_sentinels: bool = False,
    id_ranges: list[tuple[int, int]] | None = None,
) -> str:
    """The SELECT that defines ``history`` for one attached source.

    Time zones come from the session variables ``wfhist_tz`` and
    ``wfhist_source_tz`` (set with bound parameters by ``connect``), so the
    view text holds no user value. ``id_ranges``: see :func:`column_exprs`.
    """
    names = info.names
    exprs, from_clause = column_exprs(info, id_ranges)
    raw_cols, final = _select_lists(info, legacy_sentinels, exprs)

    def temporal(stored: str, canonical: str) -> str:
        parts = [f"raw_{n}" for n in (canonical, stored) if n in names]
        return f"coalesce({', '.join(parts)})" if parts else "CAST(NULL AS BIGINT)"

    hour_raw = temporal(STORED_TEMPORAL[0], CANONICAL_TEMPORAL[0])
    day_raw = temporal(STORED_TEMPORAL[1], CANONICAL_TEMPORAL[1])
    # A stored wall-clock value sits on a reference week (2024-01-01 is a Monday)
    # and moves from source_tz to tz by the offset difference at the row's instant.
    return f"""
WITH raw AS (
    SELECT {", ".join(raw_cols)},
           {sql_literal(info.label)} AS source
    FROM {from_clause}
), typed AS (
    SELECT *,
        CASE WHEN {hour_raw} BETWEEN 0 AND 23 THEN {hour_raw} END AS _stored_hour,
        CASE WHEN {day_raw} BETWEEN 0 AND 6 THEN {day_raw} END AS _stored_day,
        {instant_sql("start_time", naive_utc_with_space=False)} AS start_ts,
        {instant_sql("created_at", naive_utc_with_space=True)} AS created_ts
    FROM raw
), placed AS (
    SELECT *,
        coalesce(start_ts, created_ts) AS _instant,
        CASE WHEN {_TZ} = {_STZ} THEN 0
             ELSE epoch(timezone({_TZ}, coalesce(start_ts, created_ts,
                                                 timezone({_STZ}, TIMESTAMP '2024-01-01'))))
                  - epoch(timezone({_STZ}, coalesce(start_ts, created_ts,
                                                    timezone({_STZ}, TIMESTAMP '2024-01-01'))))
        END AS _shift_s
    FROM typed
), derived AS (
    SELECT *,
        TIMESTAMP '2024-01-01'
            + to_days(CAST(coalesce(_stored_day, 0) AS INTEGER))
            + to_hours(CAST(coalesce(_stored_hour,
                                     hour(timezone({_STZ}, _instant)), 0) AS BIGINT))
            + to_seconds(CAST(_shift_s AS BIGINT)) AS _stored_in_tz,
        timezone({_TZ}, _instant) AS _local
    FROM placed
), mapped AS (
    SELECT *,
        CASE WHEN _stored_hour IS NOT NULL THEN hour(_stored_in_tz)
             ELSE hour(_local) END AS _hour,
        CASE WHEN _stored_day IS NOT NULL THEN isodow(_stored_in_tz) - 1
             ELSE isodow(_local) - 1 END AS _day,
        CASE WHEN _stored_hour IS NOT NULL AND _stored_day IS NOT NULL THEN 'stored'
             WHEN _local IS NULL AND _stored_hour IS NULL AND _stored_day IS NULL
                  THEN 'missing'
             ELSE 'derived' END AS temporal_source
    FROM derived
)
SELECT {", ".join(final)}, temporal_source, start_ts, created_ts, source
FROM mapped"""
