"""What every analytics report shares: parameters, JSON sidecars, headline figures.

The headline block is the first thing a reader of an analytics report sees:
how many runs, over which days (in the report's zone), how many succeeded,
what they cost and how reliable the hour/weekday placement is. It is
computed in DuckDB from the ``selected`` table the report built (see
:func:`wfhist.analytics.temporal.select_runs`), so a million rows never become
a million Python objects.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Weekday labels in the service's numbering: Monday = 0 ... Sunday = 6.
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOURS = tuple(range(24))
#: Finished runs: the only ones whose success is decided.
FINISHED = ("completed", "failed")
#: The DuckDB table holding the runs a report selected (only the columns it needs).
SELECTED = "selected"


# --- parameters ---------------------------------------------------------------------


def optional(value: Any) -> Any:
    """``''`` and ``None`` mean "not given": notebook parameters cannot default to None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def parse_list(value: str | Sequence[str] | None) -> list[str]:
    """A comma-separated string or a list, as a list of non-empty stripped names."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(v).strip() for v in items if str(v).strip()]


# --- JSON sidecar ---------------------------------------------------------------------


def write_json(data: Any, path: str | os.PathLike[str] | None) -> Path | None:
    """Write ``data`` as JSON to ``path`` atomically (temp file + rename); None skips.

    Readers (automation, the report command) must never see half a file.
    """
    if path is None or optional(os.fspath(path)) is None:
        return None
    target = Path(path).expanduser().resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(_clean(data), fh, indent=2, default=_json_default, allow_nan=False)
            fh.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is meant to be read
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _clean(value: Any) -> Any:
    """NaN and infinity as null: JSON has no such numbers and strict readers reject them."""
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def finite_or_none(value: Any) -> float | None:
    """A float, or None for NULL / NaN (JSON and tables show it as missing)."""
    return None if value is None or pd.isna(value) else float(value)


# --- headline figures -------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """The figures at the top of an analytics report (and in the index of a report set)."""

    runs: int
    first_day: str | None  # YYYY-MM-DD in ``tz``
    last_day: str | None
    tz: str
    completed: int
    failed: int
    success_rate: float | None  # completed / (completed + failed), 0-1
    cost_total: float  # USD, runs with a recorded cost
    cost_median: float | None  # USD, runs with a recorded cost (> 0: 0.0 is the placeholder)
    runs_with_cost: int
    hours_stored: int  # hour/weekday as the service stored them
    hours_derived: int  # derived from a timestamp
    hours_missing: int
    newest_run: str | None  # "data as of": the newest run, in ``tz``
    read_at: str  # when the file was read, UTC

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def headline(con: Any, tz: str, read_at: str | None = None) -> Headline:
    """Headline figures of the runs in the ``selected`` table, aggregated in DuckDB.

    Cost figures skip NULL and 0.0 (the column's default, written before a
    run is priced), so an unpriced run does not pull the median to zero.
    """
    row = con.execute(
        f"""
        SELECT count(*),
               strftime(min(timezone(?, coalesce(start_ts, created_ts))), '%Y-%m-%d'),
               strftime(max(timezone(?, coalesce(start_ts, created_ts))), '%Y-%m-%d'),
               count(*) FILTER (WHERE status = 'completed'),
               count(*) FILTER (WHERE status = 'failed'),
               coalesce(sum(actual_cost_total) FILTER (WHERE actual_cost_total > 0), 0),
               median(actual_cost_total) FILTER (WHERE actual_cost_total > 0),
               count(*) FILTER (WHERE actual_cost_total > 0),
               count(*) FILTER (WHERE temporal_source = 'stored'),
               count(*) FILTER (WHERE temporal_source = 'derived'),
               count(*) FILTER (WHERE temporal_source = 'missing'),
               strftime(max(timezone(?, coalesce(start_ts, created_ts))), '%Y-%m-%d %H:%M')
        FROM {SELECTED}
        """,
        [tz, tz, tz],
    ).fetchone()
    runs, first, last, done, failed, total, median, priced, stored, derived, missing, newest = row
    decided = done + failed
    return Headline(
        runs=int(runs),
        first_day=first,
        last_day=last,
        tz=tz,
        completed=int(done),
        failed=int(failed),
        success_rate=done / decided if decided else None,
        cost_total=round(float(total), 2),
        cost_median=None if median is None else round(float(median), 2),
        runs_with_cost=int(priced),
        hours_stored=int(stored),
        hours_derived=int(derived),
        hours_missing=int(missing),
        newest_run=newest,
        read_at=read_at or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def snapshot_time(con: Any) -> str:
    """When the data was read: the snapshot's UTC time, or now for a live read."""
    try:
        taken = con.execute("SELECT max(snapshot_taken_at) FROM wfhist_sources").fetchone()[0]
    except Exception:  # a Parquet folder has no snapshot column
        taken = None
    if taken:
        return str(taken).replace("T", " ").replace("+00:00", " UTC")
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def source_table(con: Any) -> pd.DataFrame:
    """Each file read (file name only: a report is mailed around), its schema state and mapping."""
    df = con.execute("SELECT * FROM wfhist_sources").df()
    keep = [
        c
        for c in ("source", "path", "state", "mapping", "journal_mode", "user_version")
        if c in df.columns
    ]
    out = df[keep].copy()
    if "path" in out.columns:
        out["path"] = [Path(str(p)).name if "://" not in str(p) else p for p in out["path"]]
        out = out.rename(columns={"path": "file"})
    return out


def filter_text(filters: Mapping[str, Any]) -> str:
    """``status=completed, since=2025-11-01`` -- or ``all runs`` -- for figure subtitles."""
    given = [f"{k}={v}" for k, v in filters.items() if v is not None]
    return ", ".join(given) if given else "all runs"


def report_zone(tz: str | None) -> str:
    """The zone a report places runs in: ``tz``, or wfhist's one default zone when empty.

    The default is the library's (:data:`wfhist.read.DEFAULT_TZ`), so the CLI,
    the notebooks and ``wfhist.connect`` agree on it.
    """
    from wfhist import read
    from wfhist.read import validate_tz

    return validate_tz(optional(tz) or getattr(read, "DEFAULT_TZ", "UTC"), "tz")
