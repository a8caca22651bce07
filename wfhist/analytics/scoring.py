"""The scoring-versions report's numbers: honest comparisons of score algorithms.

Three things make a naive comparison of ``scoring_version`` groups lie, and
each is handled here:

* **placeholder zeros** -- ``cost_efficiency_score`` is 0 when the run had no
  cost estimate (``estimated_cost_total`` NULL or 0); such a 0 is "no score",
  so it is counted as a placeholder and left out like a missing value;
* **different periods** -- a new version scores the runs after its release,
  the old one the runs before; medians are compared over the period in which
  both versions scored runs, and the report says when that period is short;
* **different populations** -- even then the runs differ (models, templates,
  outcomes); :func:`population_table` shows how, so a shift is not read as
  the algorithm's alone.

Everything is aggregated in DuckDB on the ``selected`` table; only the values
a bootstrap resamples (at most :data:`BOOTSTRAP_CAP` per group) reach numpy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from wfhist.analytics.common import SELECTED
from wfhist.analytics.temporal import select_runs
from wfhist.exceptions import UsageError
from wfhist.schema import quote_ident

#: Scores the service computes at insert time, each on a 0-100 scale.
SCORE_COLUMNS = (
    "nl_input_clarity_score",
    "cost_efficiency_score",
    "performance_score",
    "quality_score",
)
SCORE_RANGE = (0.0, 100.0)
#: How rows without a ``scoring_version`` (written before migration 006) are labelled.
BEFORE_006 = "before 006"
#: Columns the scoring report reads besides the score columns.
BASE_COLUMNS = (
    "id",
    "status",
    "model_used",
    "scoring_version",
    "estimated_cost_total",
    "actual_cost_total",
    "temporal_source",
    "start_ts",
    "created_ts",
)
#: Values per version a bootstrap resamples at most (a seeded random sample beyond).
BOOTSTRAP_CAP = 20_000
_VERSION = f"coalesce(CAST(scoring_version AS VARCHAR), '{BEFORE_006}')"
_WHEN = "coalesce(start_ts, created_ts)"


def check_score_columns(con: Any, columns: Iterable[str]) -> list[str]:
    """The requested score columns, checked against the history view's columns."""
    known = {r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE history)").fetchall()}
    cols = list(columns)
    unknown = [c for c in cols if c not in known]
    if not cols or unknown:
        raise UsageError(
            f"score_columns: {', '.join(unknown) or 'none given'} not in the history; "
            f"score columns are e.g. {', '.join(SCORE_COLUMNS)}"
        )
    return cols


def select_scores(con: Any, columns: Sequence[str]) -> int:
    """Keep every run with the base and the score columns as table ``selected``."""
    wanted = list(dict.fromkeys([*BASE_COLUMNS, *columns]))
    return select_runs(con, wanted)


def _placeholder(column: str) -> str:
    """SQL: the value of ``column`` is the service's "no score" placeholder."""
    if column == "cost_efficiency_score":
        return f"({quote_ident(column)} = 0 AND coalesce(estimated_cost_total, 0) = 0)"
    return "FALSE"


def _valid(column: str) -> str:
    """SQL: the score when it is a real value within 0-100, else NULL."""
    c = quote_ident(column)
    lo, hi = SCORE_RANGE
    return f"CASE WHEN NOT {_placeholder(column)} AND {c} BETWEEN {lo} AND {hi} THEN {c} END"


def version_order(labels: Iterable[str]) -> list[str]:
    """ "before 006" first, then versions in numeric order where they are numbers."""

    def key(v: str) -> tuple[int, float, str]:
        if v == BEFORE_006:
            return (0, 0.0, v)
        try:
            return (1, float(v), v)
        except ValueError:
            return (2, 0.0, v)

    return sorted(set(labels), key=key)


def version_counts(con: Any, tz: str) -> pd.DataFrame:
    """Rows per scoring version, their share, and the first and last run of each (in ``tz``)."""
    frame = con.execute(
        f"""SELECT {_VERSION} AS version, count(*) AS rows,
                   strftime(min(timezone(?, {_WHEN})), '%Y-%m-%d %H:%M') AS first,
                   strftime(max(timezone(?, {_WHEN})), '%Y-%m-%d %H:%M') AS last
            FROM {SELECTED} GROUP BY ALL""",
        [tz, tz],
    ).df()
    total = max(int(frame["rows"].sum()), 1)
    out = pd.DataFrame(
        {
            "rows": frame["rows"].astype(int).to_numpy(),
            "share": (frame["rows"] / total).to_numpy(),
            f"first run ({tz})": frame["first"].to_numpy(),
            f"last run ({tz})": frame["last"].to_numpy(),
        },
        index=pd.Index(frame["version"].astype(str), name="scoring_version"),
    )
    return out.reindex(version_order(out.index))


def versions_per_week(con: Any, tz: str) -> pd.DataFrame:
    """Runs per week (weeks start on Monday, in ``tz``) by scoring version."""
    frame = con.execute(
        f"""SELECT CAST(date_trunc('week', timezone(?, {_WHEN})) AS DATE) AS week,
                   {_VERSION} AS version, count(*) AS n
            FROM {SELECTED} WHERE {_WHEN} IS NOT NULL GROUP BY ALL""",
        [tz],
    ).df()
    if frame.empty:
        return pd.DataFrame()
    frame["week"] = pd.to_datetime(frame["week"])
    table = frame.pivot_table(index="week", columns="version", values="n", aggfunc="sum")
    weeks = pd.date_range(table.index.min(), table.index.max(), freq="W-MON", name="week")
    table = table.reindex(index=weeks).fillna(0).astype(int)
    return table[version_order(table.columns)]


def score_summary(con: Any, columns: Iterable[str]) -> pd.DataFrame:
    """Per score and version: rows, missing, placeholders, out of range, valid quantiles."""
    parts = []
    for column in columns:
        c, valid = quote_ident(column), _valid(column)
        parts.append(
            con.execute(
                f"""SELECT ? AS score, {_VERSION} AS version, count(*) AS rows,
                       count(*) FILTER (WHERE {c} IS NULL) AS missing,
                       count(*) FILTER (WHERE {_placeholder(column)}) AS placeholder,
                       count(*) FILTER (WHERE {c} IS NOT NULL AND NOT {_placeholder(column)}
                                          AND NOT {c} BETWEEN 0 AND 100) AS "out of range",
                       count({valid}) AS valid,
                       quantile_cont({valid}, 0.05) AS p5,
                       quantile_cont({valid}, 0.25) AS p25,
                       median({valid}) AS median,
                       quantile_cont({valid}, 0.75) AS p75,
                       quantile_cont({valid}, 0.95) AS p95
                    FROM {SELECTED} GROUP BY ALL""",
                [column],
            ).df()
        )
    out = pd.concat(parts, ignore_index=True)
    order = {v: i for i, v in enumerate(version_order(out["version"]))}
    out = out.sort_values(["score", "version"], key=lambda s: s.map(order).fillna(s))
    return out.set_index(["score", "version"])


def bootstrap_median_shift(
    baseline: np.ndarray,
    other: np.ndarray,
    *,
    samples: int = 2000,
    level: float = 0.95,
    seed: int = 20251121,
) -> tuple[float, float, float]:
    """(median(other) - median(baseline), CI low, CI high): percentile bootstrap, seeded.

    Each resample draws both groups with replacement; resamples are done in
    batches so memory stays bounded for large groups.
    """
    a, b = np.asarray(baseline, float), np.asarray(other, float)
    if len(a) == 0 or len(b) == 0:
        raise UsageError("bootstrap needs at least one value in each group")
    if samples < 100:
        raise UsageError(f"bootstrap samples={samples!r}: use at least 100")
    rng = np.random.default_rng(seed)
    shifts = np.empty(samples)
    batch = max(1, 4_000_000 // max(len(a), len(b)))
    for lo in range(0, samples, batch):
        n = min(batch, samples - lo)
        ma = np.median(a[rng.integers(0, len(a), (n, len(a)))], axis=1)
        mb = np.median(b[rng.integers(0, len(b), (n, len(b)))], axis=1)
        shifts[lo : lo + n] = mb - ma
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(shifts, [tail, 1.0 - tail])
    return float(np.median(b) - np.median(a)), float(low), float(high)


def overlap(counts: pd.DataFrame, baseline: str, version: str) -> tuple[str, str] | None:
    """The period (first, last run, in the report's zone) both versions scored runs in."""
    first = next(c for c in counts.columns if c.startswith("first run"))
    last = next(c for c in counts.columns if c.startswith("last run"))
    start = max(counts.at[baseline, first], counts.at[version, first])
    end = min(counts.at[baseline, last], counts.at[version, last])
    return (start, end) if start <= end else None


def _values(con: Any, column: str, version: str, period: tuple[str, str], tz: str, seed: int):
    """Valid values of ``column`` for ``version`` within ``period``, at most BOOTSTRAP_CAP."""
    sql = f"""SELECT v FROM (SELECT {_valid(column)} AS v FROM {SELECTED}
                WHERE {_VERSION} = ? AND strftime(timezone(?, {_WHEN}), '%Y-%m-%d %H:%M')
                      BETWEEN ? AND ?) WHERE v IS NOT NULL"""
    params = [version, tz, *period]
    n = int(con.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0])
    if n > BOOTSTRAP_CAP:
        sql += f" USING SAMPLE reservoir({BOOTSTRAP_CAP} ROWS) REPEATABLE ({int(seed)})"
    return con.execute(sql, params).fetchnumpy()["v"].astype(float), n


SHIFT_COLUMNS = [
    "score",
    "version",
    "period compared",
    "n baseline",
    "n version",
    "median baseline",
    "median version",
    "shift",
    "ci low",
    "ci high",
    "significant",
]


def median_shifts(
    con: Any,
    counts: pd.DataFrame,
    columns: Iterable[str],
    baseline_version: str,
    *,
    tz: str,
    samples: int = 2000,
    level: float = 0.95,
    seed: int = 20251121,
) -> pd.DataFrame:
    """Shift of each score's median in every other version vs ``baseline_version``.

    Only valid scores (present, not a placeholder, within 0-100) of runs in the
    period both versions scored take part; groups larger than
    :data:`BOOTSTRAP_CAP` are resampled from a seeded random sample of that
    size (the interval is then a little wider than the full data's).
    """
    rows: list[dict[str, Any]] = []
    versions = [str(v) for v in counts.index]
    if baseline_version not in versions:
        return pd.DataFrame(rows, columns=SHIFT_COLUMNS)
    for column in columns:
        for version in versions:
            period = overlap(counts, baseline_version, version)
            if version == baseline_version or period is None:
                continue
            base, n_base = _values(con, column, baseline_version, period, tz, seed)
            other, n_other = _values(con, column, version, period, tz, seed)
            if len(base) == 0 or len(other) == 0:
                continue
            shift, low, high = bootstrap_median_shift(
                base, other, samples=samples, level=level, seed=seed
            )
            rows.append(
                {
                    "score": column,
                    "version": version,
                    "period compared": f"{period[0]} – {period[1]}",
                    "n baseline": n_base,
                    "n version": n_other,
                    "median baseline": float(np.median(base)),
                    "median version": float(np.median(other)),
                    "shift": shift,
                    "ci low": low,
                    "ci high": high,
                    "significant": bool(low > 0 or high < 0),
                }
            )
    return pd.DataFrame(rows, columns=SHIFT_COLUMNS)


def comparison_note(counts: pd.DataFrame, baseline_version: str) -> str | None:
    """Why no median shift can be shown, in words; None when there is something to compare."""
    versions = [str(v) for v in counts.index]
    listed = ", ".join(f"{v} ({int(n)} rows)" for v, n in counts["rows"].items())
    if len(versions) <= 1:
        only = listed or "no rows"
        return (
            f"This file holds one scoring version only: {only}. There is nothing to compare "
            "it with; the distributions above describe that version."
        )
    if baseline_version not in versions:
        return (
            f"baseline_version {baseline_version!r} is not in this file (versions: {listed}); "
            "run again with one of them as baseline_version."
        )
    if not any(overlap(counts, baseline_version, v) for v in versions if v != baseline_version):
        return (
            f"No other version scored runs in the period {baseline_version} did, so their "
            "medians would compare different periods, not algorithms; no shift is shown."
        )
    return None


def population_table(con: Any, counts: pd.DataFrame, baseline: str, tz: str) -> pd.DataFrame:
    """Who each version scored within its overlap with the baseline: the populations differ."""
    rows = []
    for version in [str(v) for v in counts.index]:
        period = overlap(counts, baseline, version) if baseline in counts.index else None
        if period is None:
            continue
        row = con.execute(
            f"""SELECT count(*),
                       avg(CASE WHEN status = 'completed' THEN 1.0 ELSE 0 END),
                       median(actual_cost_total) FILTER (WHERE actual_cost_total > 0),
                       mode(model_used)
                FROM {SELECTED} WHERE {_VERSION} = ?
                AND strftime(timezone(?, {_WHEN}), '%Y-%m-%d %H:%M') BETWEEN ? AND ?""",
            [version, tz, *period],
        ).fetchone()
        rows.append(
            {
                "version": version,
                "period": f"{period[0]} – {period[1]}",
                "runs": int(row[0]),
                "completed": row[1],
                "median cost (USD)": row[2],
                "most common model": row[3],
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "version",
            "period",
            "runs",
            "completed",
            "median cost (USD)",
            "most common model",
        ],
    )


def score_problems(con: Any, columns: Iterable[str], limit: int = 500) -> pd.DataFrame:
    """Up to ``limit`` rows with a score that is missing, a placeholder or outside 0-100."""
    parts = []
    for column in columns:
        c, ph = quote_ident(column), _placeholder(column)
        parts.append(
            f"""SELECT id, status, {_VERSION} AS version, '{column}' AS score,
                       {c} AS value,
                       CASE WHEN {c} IS NULL THEN 'missing' WHEN {ph} THEN 'placeholder'
                            ELSE 'out of range' END AS problem
                FROM {SELECTED}
                WHERE {c} IS NULL OR {ph} OR NOT {c} BETWEEN 0 AND 100"""
        )
    sql = " UNION ALL ".join(parts) + " ORDER BY score, id LIMIT ?"
    return con.execute(sql, [int(limit)]).df()


def problem_counts(summary: pd.DataFrame) -> pd.DataFrame:
    """Per score column: missing, placeholder and out-of-range values (from score_summary)."""
    kinds = ["missing", "placeholder", "out of range"]
    return summary[kinds].groupby(level="score", sort=False).sum().astype(int)


def scoring_key_figures(
    counts: pd.DataFrame,
    shifts: pd.DataFrame,
    problems: pd.DataFrame,
    *,
    columns: Sequence[str],
    baseline_version: str,
    headline: dict[str, Any],
) -> dict[str, Any]:
    """What the scoring notebook found, as JSON-ready data (the report's sidecar)."""
    return {
        "report": "scoring_versions",
        "headline": headline,
        "score_columns": list(columns),
        "baseline_version": baseline_version,
        "versions": {str(k): int(v) for k, v in counts["rows"].items()},
        "median_shifts": [
            {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in shifts.to_dict(orient="records")
        ],
        "problems": {
            str(k): {kk: int(vv) for kk, vv in v.items()}
            for k, v in problems.to_dict(orient="index").items()
        },
    }


_FAMILIES = ("opus", "sonnet", "haiku")


def data_quality(con: Any) -> pd.DataFrame:
    """Findings a reader must know before trusting a figure.

    Placeholder zeros (cost columns default to 0.0 before a run is priced;
    ``cost_efficiency_score`` is 0 without an estimate) and model names that
    mean the same model (``sonnet`` and ``claude-sonnet-4-5``, which split every
    per-model figure) are counted in the ``selected`` runs; columns that hold no
    value at all (``end_time``) in the whole history -- see :func:`empty_columns`.
    """
    names = {r[0] for r in con.execute(f"SELECT column_name FROM (DESCRIBE {SELECTED})").fetchall()}
    checks = {
        "estimated_cost_total = 0": "estimated_cost_total = 0",
        "actual_cost_total = 0": "actual_cost_total = 0",
        "cost_efficiency_score = 0 without an estimate": _placeholder("cost_efficiency_score"),
    }
    usable = {k: v for k, v in checks.items() if k.split(" ")[0] in names}
    if "estimated_cost_total" not in names:
        usable.pop("cost_efficiency_score = 0 without an estimate", None)
    out: list[dict[str, Any]] = []
    if usable:
        selects = ", ".join(f"count(*) FILTER (WHERE {sql})" for sql in usable.values())
        flags = con.execute(f"SELECT {selects} FROM {SELECTED}").fetchone()
        out += [
            _finding("placeholder zero", k, n, "counted as missing, not as a value")
            for k, n in zip(usable, flags, strict=True)
            if n
        ]
    total = int(con.execute(f"SELECT count(*) FROM {SELECTED}").fetchone()[0])
    out += [
        _finding("no value in any row", c, total, "every row is NULL: nothing can be shown")
        for c in empty_columns(con)
    ]
    if "model_used" in names:
        models = con.execute(f"SELECT model_used, count(*) FROM {SELECTED} GROUP BY ALL").fetchall()
        for family in _FAMILIES:
            same = sorted((str(m), int(n)) for m, n in models if m and family in str(m).lower())
            if len(same) > 1:
                note = " = ".join(f"{m} ({n})" for m, n in same) + ": one model, several names"
                out.append(_finding("model aliases", "model_used", sum(n for _, n in same), note))
    return pd.DataFrame(out, columns=["finding", "column", "rows", "note"])


def _finding(finding: str, column: str, rows: int, note: str) -> dict[str, Any]:
    return {"finding": finding, "column": column, "rows": int(rows), "note": note}


#: Rows read to find the columns that might hold no value at all.
_PROBE_ROWS = 20_000


def empty_columns(con: Any) -> list[str]:
    """Columns of the history table that are NULL in every row of every source.

    SQLite files are asked directly (read-only): the first :data:`_PROBE_ROWS`
    rows rule out almost every column, and only the few still empty there are
    counted over the whole table -- one cheap pass instead of converting ~74
    columns of a million rows through the history view. Other sources
    (PostgreSQL, Parquet) are counted through the view.
    """
    sources = con.execute("SELECT kind, path FROM wfhist_sources").fetchall()
    if not sources or any(kind != "sqlite" for kind, _ in sources):
        return _empty_in_view(con)
    empty: set[str] | None = None
    for _, path in sources:
        found = set(_empty_in_sqlite(str(path)))
        empty = found if empty is None else empty & found
    return sorted(empty or ())


def _empty_in_sqlite(path: str) -> list[str]:
    from contextlib import closing

    from wfhist.files import open_readonly
    from wfhist.schema import TABLE

    table = quote_ident(TABLE)
    with closing(open_readonly(path)) as raw:
        # a memory-mapped gigabyte would count as this report's memory; one pass needs no map
        raw.execute("PRAGMA mmap_size = 0")
        names = [r[1] for r in raw.execute(f"PRAGMA table_info({table})")]
        counts = ", ".join(f"count({quote_ident(n)})" for n in names)
        probe = raw.execute(f"SELECT {counts} FROM (SELECT * FROM {table} LIMIT ?)", (_PROBE_ROWS,))
        candidates = [n for n, k in zip(names, probe.fetchone(), strict=True) if k == 0]
        if not candidates:
            return []
        full = raw.execute(
            f"SELECT {', '.join(f'count({quote_ident(n)})' for n in candidates)} FROM {table}"
        ).fetchone()
    return [n for n, k in zip(candidates, full, strict=True) if k == 0]


def _empty_in_view(con: Any) -> list[str]:
    names = [r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE history)").fetchall()]
    names = [n for n in names if n not in ("source", "start_ts", "created_ts")]
    row = con.execute(
        f"SELECT {', '.join(f'count({quote_ident(n)})' for n in names)} FROM history"
    ).fetchone()
    return [n for n, k in zip(names, row, strict=True) if k == 0]
