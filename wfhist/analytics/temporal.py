"""The temporal report's numbers: when runs happen, how often they succeed, what they cost.

The runs a report looks at are selected once with :func:`wfhist.load_history`
(the service's filters, bound parameters) -- only the few columns the figures
use -- and kept as the DuckDB table ``selected``; every table below is one
aggregate query on it. Hours and weekdays are the history view's, placed in
the zone the connection was opened with; weekdays are Monday first, as the
service's ``weekday()`` numbers them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from wfhist.analytics.common import (
    FINISHED,
    HOURS,
    SELECTED,
    WEEKDAYS,
    finite_or_none,
)
from wfhist.exceptions import UsageError

#: The view columns the temporal report reads: a million rows of all 74
#: columns would be gigabytes of pandas objects.
TEMPORAL_COLUMNS = (
    "status",
    "hour_of_day",
    "day_of_week",
    "temporal_source",
    "start_ts",
    "created_ts",
    "actual_cost_total",
    "duration_seconds",
)


def select_runs(con: Any, columns: Sequence[str] = TEMPORAL_COLUMNS, **filters: Any) -> int:
    """Keep the runs matching ``filters`` (load_history's) as DuckDB table ``selected``.

    Returns how many runs were selected. Without a filter the columns go from
    the view straight into DuckDB's columnar storage; with one, the rows come
    through :func:`wfhist.load_history` (the service's filter semantics, bound
    parameters) and the pandas copy is dropped at once. Either way only
    ``columns`` are read.
    """
    import wfhist
    from wfhist.schema import quote_ident

    if not any(v is not None for v in filters.values()):
        known = {r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE history)").fetchall()}
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise UsageError(f"columns {', '.join(unknown)} are not in the history view")
        picked = ", ".join(quote_ident(c) for c in columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {SELECTED} AS SELECT {picked} FROM history")
    else:
        frame = wfhist.load_history(con, **filters, columns=list(columns))
        con.register("wfhist_selected_frame", frame)
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {SELECTED} AS SELECT * FROM wfhist_selected_frame"
            )
        finally:
            con.unregister("wfhist_selected_frame")
        del frame
    return int(con.execute(f"SELECT count(*) FROM {SELECTED}").fetchone()[0])


def total_runs(
    con: Any, filters: Mapping[str, Any] | None = None, selected: int | None = None
) -> int:
    """Every run in the history, before any filter (no second scan when nothing was filtered)."""
    if selected is not None and not any(v is not None for v in (filters or {}).values()):
        return selected
    return int(con.execute("SELECT count(*) FROM history").fetchone()[0])


def _grid(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    """A weekday (rows, Monday first) x hour (columns 0-23) grid of ``value``; gaps are 0."""
    table = frame.pivot_table(index="day", columns="hour", values=value, aggfunc="sum")
    table = table.reindex(index=range(7), columns=HOURS, fill_value=0).fillna(0)
    table.index = pd.Index(WEEKDAYS, name="weekday")
    table.columns = pd.Index(HOURS, name="hour")
    return table.astype(int)


def _weekday_hour(con: Any, where: str = "TRUE") -> pd.DataFrame:
    return con.execute(
        f"SELECT day_of_week AS day, hour_of_day AS hour, count(*) AS n FROM {SELECTED} "
        f"WHERE hour_of_day IS NOT NULL AND day_of_week IS NOT NULL AND ({where}) GROUP BY ALL"
    ).df()


def hour_weekday_counts(con: Any) -> pd.DataFrame:
    """Runs per weekday (rows, Monday first) and hour (columns 0-23); unknown hours left out."""
    return _grid(_weekday_hour(con), "n")


def success_rate_matrix(con: Any, min_runs: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(success rate in %, finished runs) per weekday x hour.

    Success = completed / (completed + failed): running and pending runs are
    not decided yet. Cells with fewer than ``min_runs`` finished runs are NaN,
    not 0 %, so that one failed run at 3 a.m. does not paint a red hour.
    """
    if min_runs < 1:
        raise UsageError(f"min_runs={min_runs!r} must be at least 1")
    runs = _grid(_weekday_hour(con, f"status IN {FINISHED!r}"), "n")
    wins = _grid(_weekday_hour(con, "status = 'completed'"), "n")
    rate = 100.0 * wins / runs.where(runs > 0)
    return rate.where(runs >= min_runs), runs


_TIMED = "status = 'completed' AND duration_seconds IS NOT NULL"


def median_by_hour(con: Any, min_runs: int = 5) -> pd.DataFrame:
    """Per hour: runs, median cost (USD, runs with a cost > 0) and duration (minutes, completed).

    ``thin`` marks hours with fewer than ``min_runs`` runs behind a median.
    """
    frame = con.execute(
        f"""
        SELECT hour_of_day AS hour, count(*) AS runs,
               median(actual_cost_total) FILTER (WHERE actual_cost_total > 0) AS cost,
               count(*) FILTER (WHERE actual_cost_total > 0) AS costed,
               median(duration_seconds / 60.0) FILTER (WHERE {_TIMED}) AS dur,
               count(*) FILTER (WHERE {_TIMED}) AS timed
        FROM {SELECTED} WHERE hour_of_day IS NOT NULL GROUP BY ALL
        """
    ).df()
    frame = frame.set_index("hour").reindex(HOURS)
    out = pd.DataFrame(index=pd.Index(HOURS, name="hour"))
    out["runs"] = frame["runs"].fillna(0).astype(int)
    out["median cost (USD)"] = frame["cost"].astype(float)
    out["median duration (min)"] = frame["dur"].astype(float)
    out["runs with cost"] = frame["costed"].fillna(0).astype(int)
    out["completed with duration"] = frame["timed"].fillna(0).astype(int)
    out["thin"] = out["runs"] < min_runs
    return out


def runs_per_day(con: Any, tz: str) -> pd.DataFrame:
    """Runs per calendar day in ``tz`` (rows, gaps filled with 0) by status (columns)."""
    frame = con.execute(
        f"SELECT CAST(timezone(?, coalesce(start_ts, created_ts)) AS DATE) AS day, status, "
        f"count(*) AS n FROM {SELECTED} WHERE coalesce(start_ts, created_ts) IS NOT NULL "
        "GROUP BY ALL",
        [tz],
    ).df()
    if frame.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="day"))
    frame["day"] = pd.to_datetime(frame["day"])
    frame["status"] = frame["status"].fillna("unknown")
    table = frame.pivot_table(index="day", columns="status", values="n", aggfunc="sum")
    days = pd.date_range(table.index.min(), table.index.max(), freq="D", name="day")
    order = [s for s in ("completed", "failed", "running", "pending") if s in table.columns]
    order += [s for s in table.columns if s not in order]
    return table.reindex(index=days).fillna(0).astype(int)[order]


def temporal_source_counts(con: Any) -> pd.DataFrame:
    """Rows whose hour/weekday was stored, derived from a timestamp, or is unknown."""
    found = dict(
        con.execute(f"SELECT temporal_source, count(*) FROM {SELECTED} GROUP BY ALL").fetchall()
    )
    total = max(sum(found.values()), 1)
    rows = [
        {"hour/weekday": k, "rows": int(found.get(k, 0)), "share": found.get(k, 0) / total}
        for k in ("stored", "derived", "missing")
    ]
    return pd.DataFrame(rows).set_index("hour/weekday")


def selection_table(
    filters: Mapping[str, Any], selected: int, total: int, *, tz: str, source_tz: str
) -> pd.DataFrame:
    """The settings a temporal report was made with, one per row."""
    rows: list[tuple[str, Any]] = [
        ("runs selected", f"{selected} of {total}"),
        ("time zone of hours, weekdays, days", tz),
        ("zone of the file's naive local stamps", source_tz),
    ]
    rows += [(f"filter {k}", v if v is not None else "all") for k, v in filters.items()]
    return pd.DataFrame(rows, columns=["setting", "value"])


def temporal_key_figures(
    counts: pd.DataFrame,
    rate: pd.DataFrame,
    sources: pd.DataFrame,
    *,
    tz: str,
    filters: Mapping[str, Any],
    rows_total: int,
    rows_selected: int,
    min_runs: int,
    headline: Mapping[str, Any],
) -> dict[str, Any]:
    """What the temporal notebook found, as JSON-ready data (the report's sidecar)."""
    heat_total = int(counts.to_numpy().sum())
    return {
        "report": "temporal_analytics",
        "headline": dict(headline),
        "tz": tz,
        "filters": {k: v for k, v in filters.items() if v is not None},
        "rows_total": int(rows_total),
        "rows_selected": int(rows_selected),
        "rows_without_hour_or_weekday": int(rows_selected) - heat_total,
        "temporal_sources": {str(k): int(v) for k, v in sources["rows"].items() if v},
        "heatmap": {
            "weekdays": list(WEEKDAYS),
            "hours": list(HOURS),
            "counts": counts.to_numpy().tolist(),
            "total": heat_total,
        },
        "success_rate": {
            "min_runs": int(min_runs),
            "percent": [[finite_or_none(v) for v in row] for row in rate.to_numpy()],
        },
    }
