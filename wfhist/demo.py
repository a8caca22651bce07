"""A realistic, deterministic sample of the real pre-006 ``workflow_history`` file.

Nobody may ship the real database around, yet every tool here (reader, migrations,
backup, verification, notebooks) must be exercised against something that behaves
like it: the 69-column table with its 16 named indexes and related tables, six weeks
of office-hours traffic in the writing host's zone, both ``created_at`` formats,
NULL ``start_time`` on the oldest rows, temporal columns stored on only a few rows
(including the 0 values the report's ``value or -1`` destroyed), consistent tokens
and costs, and a few dirty values that break naive readers. The facts come from
``../shared/reference/workflow_history.md``.

Same seed, same rows: every value is drawn from one ``numpy.random.Generator`` in a
fixed order, so tests can rebuild the file and compare.

Token columns (the service never documented them; this is the mapping used here):

* ``input_tokens``       uncached prompt tokens
* ``cached_tokens``      cache *write* (cache creation) tokens
* ``cache_hit_tokens``   cache *read* tokens
* ``cache_miss_tokens``  ``input_tokens + cached_tokens`` (prompt not served from cache)
* ``output_tokens``      completion tokens
* ``total_tokens``       ``input + cached + cache_hit + output``

``actual_cost_total`` is :func:`token_cost` of those counts (rounded to 6 places),
``cache_efficiency_percent`` is ``cache_hit / (input + cached + cache_hit) * 100``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from wfhist.exceptions import UsageError
from wfhist.schema import (
    COLUMNS_PRE_006,
    RELATED_TABLES_DDL,
    TABLE,
    create_indexes_sql,
    create_table_sql,
    quote_ident,
)

DEFAULT_ROWS = 458
DEFAULT_SEED = 20251121
#: Zone of the writing host: ``start_time`` and the newer ``created_at`` values are
#: naive wall-clock stamps in this zone.
SOURCE_TZ = "America/Los_Angeles"

#: Six weeks of runs ending on the migration day (local wall clock of the host).
WINDOW_START_LOCAL = datetime(2025, 10, 10, 0, 0)
WINDOW_END_LOCAL = datetime(2025, 11, 21, 12, 0)

#: The oldest rows predate the ``start_time`` column being filled.
NULL_START_FRACTION = 0.15
#: The oldest rows got SQLite's ``CURRENT_TIMESTAMP`` (UTC, space); newer ones the
#: host's naive local ISO stamp.
UTC_CREATED_FRACTION = 0.60
#: How many rows store ``submission_hour``/``submission_day_of_week``.
STORED_TEMPORAL_ROWS = 8
#: Dirty values written into numeric columns (column, stored text), one row each.
DIRTY_VALUES: tuple[tuple[str, str], ...] = (
    ("duration_seconds", "N/A"),
    ("duration_seconds", "N/A"),
    ("review_cycles", ""),
    ("time_to_merge_hours", "N/A"),
)

#: USD per million tokens (Claude Sonnet 4.5 list prices); the sample prices every
#: run with them so cost and tokens stay checkable against each other.
PRICES_PER_MTOK = {"input": 3.00, "cache_write": 3.75, "cache_read": 0.30, "output": 15.00}
#: Real completed runs: these bounds hold for every completed row of the sample.
COMPLETED_TOKENS_RANGE = (2_500_000, 9_400_000)
COMPLETED_COST_RANGE = (1.77, 4.91)
CACHE_EFFICIENCY_RANGE = (90.0, 96.0)

PHASES = ("plan", "build", "test", "review", "document", "ship")
STATUSES = ("completed", "failed", "running", "pending")
_STATUS_P = (0.86, 0.09, 0.04, 0.01)

#: template -> (weight on older rows, weight on newer rows, phases it runs)
TEMPLATES: dict[str, tuple[float, float, tuple[str, ...]]] = {
    "adw_sdlc_iso": (0.30, 0.30, ("plan", "build", "test", "review", "document")),
    "adw_sdlc_complete_iso": (0.10, 0.18, PHASES),
    "adw_sdlc_zte_iso": (0.05, 0.12, PHASES),
    "adw_lightweight_iso": (0.10, 0.16, ("plan", "build", "ship")),
    "adw_plan_build_iso": (0.15, 0.14, ("plan", "build")),
    "adw_patch_iso": (0.10, 0.10, ("build", "test", "ship")),
    "sdlc": (0.20, 0.00, ("plan", "build", "test", "review", "document")),
}
#: model -> (weight on older rows, weight on newer rows)
MODELS: dict[str, tuple[float, float]] = {
    "claude-sonnet-4-5": (0.55, 0.0),
    "claude-opus-4-1": (0.15, 0.0),
    "claude-haiku-4-5": (0.08, 0.0),
    "sonnet": (0.15, 0.66),
    "opus": (0.03, 0.20),
    "haiku": (0.02, 0.12),
    "unknown": (0.02, 0.02),
}
#: Fraction of rows (oldest first) that use the older template/model mix.
OLD_MIX_FRACTION = 0.40

REPOS = ("example-org/tac-webbuilder", "example-org/tac-webbuilder", "example-org/portfolio-site")
ERRORS = {
    "syntax_error": "SyntaxError: unexpected indent in generated patch (app/server/routes.py)",
    "timeout": "Phase timed out after 1800s waiting for the test runner",
    "api_quota": "Anthropic API error 429: rate limit exceeded, retry budget exhausted",
    "validation": "Plan validation failed: spec file missing required section 'Acceptance'",
    "unknown": "Process exited with code 1 and no output",
}
ANOMALIES = (
    "Cost 2.1x higher than average for adw_sdlc_iso",
    "Duration 3.4x longer than similar workflows",
    "Retry count above threshold (3)",
)
RECOMMENDATIONS = (
    "Use haiku for the document phase",
    "Split the issue into smaller patches",
    "Reuse the worktree to cut setup time",
    "Cache the plan between retries",
)
TOOLS = ("Read", "Edit", "Write", "Bash", "Grep", "Glob", "TodoWrite", "WebFetch")
HOOK_EVENTS = ("PreToolUse", "PostToolUse", "UserPromptSubmit", "Stop", "SubagentStop")
PATTERNS = ("test-fix-loop", "lint-autofix", "schema-migration", "ui-tweak", "dependency-bump")
SAVINGS = ("model_downgrade", "cache_reuse", "worktree_reuse", "early_stop")

_CHUNK = 50_000
#: Workflows (the newest ones) that get rows in the related tables.
_RELATED_WORKFLOWS = 300

_US = 1_000_000
_HOUR_US = 3600 * _US


def token_cost(input_tokens, cache_write, cache_read, output_tokens):
    """USD for a run's token counts at :data:`PRICES_PER_MTOK` (works on numpy arrays too)."""
    p = PRICES_PER_MTOK
    return (
        input_tokens * p["input"]
        + cache_write * p["cache_write"]
        + cache_read * p["cache_read"]
        + output_tokens * p["output"]
    ) / 1e6


# --- public entry point ------------------------------------------------------------


def create_sample_db(
    path: str | Path,
    rows: int = DEFAULT_ROWS,
    seed: int = DEFAULT_SEED,
    *,
    force: bool = False,
    progress: bool = False,
) -> Path:
    """Write a sample pre-006 database to ``path`` and return its resolved path.

    The file is built under a temporary name in the same directory and moved into
    place only when complete, so an interrupted run never leaves a half-written
    database at ``path``. ``progress`` prints a progress line to stderr.
    """
    target = Path(path).expanduser().resolve()
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise UsageError(f"rows must be a positive integer (got {rows!r}); pass --rows 1 or more")
    if target.is_dir():
        raise UsageError(f"{target} is a directory; pass a file path to write")
    if target.exists() and not force:
        raise UsageError(f"{target} exists; pass --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)

    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    _remove_sqlite_files(tmp)
    try:
        _build(tmp, rows, seed, progress)
        _fsync(tmp)
        # A stale -wal of the replaced file would be replayed onto the new one.
        _remove_sqlite_files(target)
        os.replace(tmp, target)
        _fsync(target.parent)
    except BaseException:
        _remove_sqlite_files(tmp)
        raise
    return target


def _remove_sqlite_files(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        p.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _build(tmp: Path, rows: int, seed: int, progress: bool) -> None:
    """Create schema and data in ``tmp``; fast pragmas while building, WAL at the end.

    The temp file is thrown away on any failure, so building without a rollback
    journal is safe and roughly halves the I/O for large ``rows``.
    """
    con = sqlite3.connect(tmp, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        con.execute("PRAGMA cache_size=-131072")
        con.execute("BEGIN")
        # The statements of schema.schema_statements(), in its order, but the indexes
        # after the rows: one sort per index instead of 16 B-tree updates per row.
        con.execute(create_table_sql())
        related = _insert_history(con, rows, seed, progress)
        for sql in (*create_indexes_sql(), *RELATED_TABLES_DDL):
            con.execute(sql)
        _insert_related(con, related, seed)
        con.execute("COMMIT")
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()


# --- time stamps -------------------------------------------------------------------


def _utc_us(local: datetime) -> int:
    aware = local.replace(tzinfo=ZoneInfo(SOURCE_TZ))
    return int(aware.timestamp()) * _US


def _hour_weight(hour: int, weekday: int) -> float:
    if 9 <= hour < 18:
        h = 1.0
    elif 7 <= hour < 9 or 18 <= hour < 23:
        h = 0.30
    else:
        h = 0.05
    return h * (1.0 if weekday < 5 else 0.22)


def _hour_grid() -> tuple[np.ndarray, np.ndarray]:
    """UTC hour starts over the window and each hour's weight from its local clock.

    Working in UTC hours makes the 2025-11-02 DST change (a 25-hour local day)
    come out right by construction; the offset is constant within a UTC hour.
    """
    zone = ZoneInfo(SOURCE_TZ)
    start, end = _utc_us(WINDOW_START_LOCAL), _utc_us(WINDOW_END_LOCAL)
    starts = np.arange(start, end, _HOUR_US, dtype=np.int64)
    weights = np.empty(len(starts))
    for i, us in enumerate(starts.tolist()):
        local = datetime.fromtimestamp(us // _US, zone)
        trend = 0.6 + 0.8 * i / len(starts)  # usage grew over the six weeks
        weights[i] = _hour_weight(local.hour, local.weekday()) * trend
    return starts, weights / weights.sum()


def _utc_offsets_us(utc_us: np.ndarray) -> np.ndarray:
    """Offset of the source zone at each instant (vectorised via the hour grid)."""
    zone = ZoneInfo(SOURCE_TZ)
    hours = np.unique(utc_us // _HOUR_US)
    offsets = np.array(
        [
            int(datetime.fromtimestamp(int(h) * 3600, zone).utcoffset().total_seconds()) * _US
            for h in hours.tolist()
        ],
        dtype=np.int64,
    )
    return offsets[np.searchsorted(hours, utc_us // _HOUR_US)]


def _sample_instants(rng: np.random.Generator, rows: int) -> np.ndarray:
    """Sorted UTC microsecond instants with the host's weekday/office-hour pattern.

    Two fixed instants guarantee stored temporal rows with hour 0 (a Tuesday just
    after midnight) and weekday 0 (a Monday morning) whatever the seed.
    """
    starts, p = _hour_grid()
    picks = rng.choice(len(starts), size=rows, p=p)
    instants = starts[picks] + rng.integers(0, _HOUR_US, size=rows)
    if rows >= 20:
        instants[0] = _utc_us(datetime(2025, 11, 18, 0, 23, 5)) + 412_907
        instants[1] = _utc_us(datetime(2025, 11, 10, 10, 41, 37)) + 120_554
    instants.sort()
    return instants


def iso_local(us: np.ndarray) -> list[str]:
    """``YYYY-MM-DDTHH:MM:SS.ffffff`` for microsecond epoch values (the naive format)."""
    return np.datetime_as_string(us.astype("datetime64[us]"), unit="us").tolist()


def utc_space(us: np.ndarray) -> list[str]:
    """``YYYY-MM-DD HH:MM:SS`` (SQLite ``CURRENT_TIMESTAMP``) for microsecond epoch values."""
    s = np.datetime_as_string(us.astype("datetime64[us]"), unit="s")
    return np.char.replace(s, "T", " ").tolist()


def local_hour_weekday(local_us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wall-clock hour and weekday (Monday = 0) of naive local microsecond values."""
    hour = (local_us // _HOUR_US) % 24
    weekday = (local_us // (24 * _HOUR_US) + 3) % 7  # 1970-01-01 was a Thursday
    return hour, weekday


# --- global plan: things decided over all rows before the chunks ---------------------


@dataclass
class _Plan:
    rows: int
    utc_us: np.ndarray
    local_us: np.ndarray
    status: np.ndarray  # index into STATUSES
    null_start: int  # rows [0, null_start) have NULL start_time
    utc_created: int  # rows [0, utc_created) have UTC created_at
    old_mix: int  # rows [0, old_mix) use the older template/model mix
    stored_temporal: np.ndarray  # sorted row indexes
    dirty: dict[int, tuple[str, str]]  # row index -> (column, value)
    related_from: int  # rows [related_from, rows) get related-table rows
    adw_ints: np.ndarray  # distinct 32-bit values behind the 8-hex adw_id


def _plan(rng: np.random.Generator, rows: int) -> _Plan:
    utc_us = _sample_instants(rng, rows)
    local_us = utc_us + _utc_offsets_us(utc_us)
    status = rng.choice(len(STATUSES), size=rows, p=_STATUS_P).astype(np.int8)
    null_start = int(rows * NULL_START_FRACTION)
    stored = _pick_stored_temporal(rng, local_us, null_start)
    dirty = _pick_dirty(rng, status)
    return _Plan(
        rows=rows,
        utc_us=utc_us,
        local_us=local_us,
        status=status,
        null_start=null_start,
        utc_created=int(rows * UTC_CREATED_FRACTION),
        old_mix=int(rows * OLD_MIX_FRACTION),
        stored_temporal=stored,
        dirty=dirty,
        related_from=max(0, rows - _RELATED_WORKFLOWS),
        adw_ints=_distinct_uint32(rng, rows),
    )


def _distinct_uint32(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct random 32-bit values in draw order (adw_id is UNIQUE; at 1M rows
    plain draws would collide about a hundred times)."""
    draws = rng.integers(0, 2**32, n + n // 50 + 16, dtype=np.uint64)
    _, first = np.unique(draws, return_index=True)
    while len(first) < n:  # practically never: top up and retry
        draws = np.concatenate([draws, rng.integers(0, 2**32, n, dtype=np.uint64)])
        _, first = np.unique(draws, return_index=True)
    return draws[np.sort(first)[:n]]


def _pick_stored_temporal(
    rng: np.random.Generator, local_us: np.ndarray, null_start: int
) -> np.ndarray:
    """A few rows with start_time that store hour/weekday; hour 0 and Monday included."""
    eligible = np.arange(null_start, len(local_us))
    if len(eligible) == 0:
        return eligible
    hour, weekday = local_hour_weekday(local_us[eligible])
    chosen: list[int] = []
    for mask in (hour == 0, (weekday == 0) & (hour != 0)):
        if mask.any():
            chosen.append(int(rng.choice(eligible[mask])))
    rest = np.setdiff1d(eligible, chosen)
    extra = min(STORED_TEMPORAL_ROWS - len(chosen), len(rest))
    chosen.extend(rng.choice(rest, size=extra, replace=False).tolist())
    return np.array(sorted(chosen), dtype=np.int64)


def _pick_dirty(rng: np.random.Generator, status: np.ndarray) -> dict[int, tuple[str, str]]:
    """Rows (completed where possible) that get text in a numeric column."""
    completed = np.flatnonzero(status == 0)
    pool = completed if len(completed) >= len(DIRTY_VALUES) else np.arange(len(status))
    n = min(len(DIRTY_VALUES), len(pool))
    rows = sorted(rng.choice(pool, size=n, replace=False).tolist())
    return {int(r): DIRTY_VALUES[i] for i, r in enumerate(rows)}


# --- texts -------------------------------------------------------------------------

_ACTIONS = ("Add", "Fix", "Refactor", "Implement", "Improve", "Update", "Remove", "Migrate")
_OBJECTS = (
    "the workflow history panel",
    "cost tracking for ADW runs",
    "the WebSocket reconnect logic",
    "the issue intake form",
    "pagination on /api/workflow-history",
    "dark mode for the dashboard",
    "the snake_case to camelCase mapping in the API client",
    "retry handling for GitHub webhooks",
    "the token usage chart",
    "CSV export of workflow analytics",
    "the worktree cleanup job",
    "error messages shown when a phase fails",
)
_DETAILS = (
    "It should keep the existing filters working.",
    "Include unit tests for the new endpoint and update the docs.",
    "The current behaviour drops rows when the date filter ends on today.",
    "Make sure 100% of the existing e2e tests still pass.",
    "Users report that the page freezes with more than 400 workflows.",
    "Don't change the database schema in this issue.",
    "Use the existing design tokens; no new colours.",
    "Log a warning instead of crashing when the value is missing.",
    "The API must stay backward compatible with the mobile client.",
    "Add a loading state and an empty state.",
    "Check the 'Cost' column: it shows $0.00 for runs that cost money.",
    "Keep the change small enough to review in one sitting.",
    "Sort by created_at descending by default.",
    "Hour and weekday should come from the start time, not the update time.",
)


def _text_pool(rng: np.random.Generator, size: int) -> list[str]:
    """Request texts of 60-500 characters built from a small vocabulary."""
    out = []
    for _ in range(size):
        head = f"{_ACTIONS[rng.integers(len(_ACTIONS))]} {_OBJECTS[rng.integers(len(_OBJECTS))]}."
        k = int(rng.integers(1, 9))
        details = [_DETAILS[i] for i in rng.choice(len(_DETAILS), size=k, replace=False)]
        text = " ".join([head, *details])
        if len(text) > 500:
            text = text[:500].rsplit(" ", 1)[0]
        out.append(text)
    return out


# --- the workflow_history rows ------------------------------------------------------


def _weights(table: dict, old: bool) -> np.ndarray:
    w = np.array([v[0 if old else 1] for v in table.values()], dtype=float)
    return w / w.sum()


def _choose(rng: np.random.Generator, table: dict, n: int, n_old: int) -> np.ndarray:
    """Codes into ``table`` for ``n`` rows whose first ``n_old`` use the older mix."""
    old = rng.choice(len(table), size=n_old, p=_weights(table, True))
    new = rng.choice(len(table), size=n - n_old, p=_weights(table, False))
    return np.concatenate([old, new])


def _completed_tokens(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Token counts of a full run, drawn until tokens, cost and efficiency are real-sized."""
    lo_t, hi_t = COMPLETED_TOKENS_RANGE
    lo_c, hi_c = COMPLETED_COST_RANGE
    lo_e, hi_e = (x / 100 for x in CACHE_EFFICIENCY_RANGE)
    out = {k: np.zeros(n, dtype=np.int64) for k in ("input", "write", "read", "output")}
    todo = np.arange(n)
    while len(todo):
        m = len(todo)
        total = np.exp(rng.uniform(np.log(lo_t), np.log(hi_t), m))
        output = np.round(total * rng.uniform(0.003, 0.012, m)).astype(np.int64)
        prompt = np.round(total).astype(np.int64) - output
        read = np.round(prompt * rng.uniform(lo_e + 0.001, hi_e - 0.001, m)).astype(np.int64)
        rest = prompt - read
        write = np.round(rest * rng.uniform(0.75, 0.95, m)).astype(np.int64)
        inp = rest - write
        tot = inp + write + read + output
        cost = token_cost(inp, write, read, output)
        eff = read / (inp + write + read)
        ok = (
            (tot >= lo_t) & (tot <= hi_t) & (cost >= lo_c) & (cost <= hi_c)
            & (eff >= lo_e) & (eff <= hi_e)
        )  # fmt: skip
        for key, arr in (("input", inp), ("write", write), ("read", read), ("output", output)):
            out[key][todo[ok]] = arr[ok]
        todo = todo[~ok]
    return out


def _phase_split(
    rng: np.random.Generator, phases: tuple[str, ...], done: int, amount: float
) -> dict[str, float]:
    """``amount`` spread over the phases that ran; keys for all six phases, sums to amount."""
    base = {"plan": 0.12, "build": 0.35, "test": 0.20, "review": 0.13, "document": 0.08}
    ran = [p for p in phases[: max(done, 1)]]
    w = np.array([base.get(p, 0.04) for p in ran]) * rng.uniform(0.7, 1.3, len(ran))
    w = w / w.sum()
    split = dict.fromkeys(PHASES, 0.0)
    acc = 0.0
    for p, frac in zip(ran[:-1], w[:-1], strict=True):
        split[p] = round(amount * float(frac), 6)
        acc += split[p]
    split[ran[-1]] = round(amount - acc, 6)
    return split


def _chunk_rows(
    rng: np.random.Generator, plan: _Plan, lo: int, hi: int, texts: list[str], words: list[int]
) -> tuple[list[tuple], list[tuple[str, int]]]:
    """Rows ``[lo, hi)`` as tuples in column order, plus (workflow_id, created_us) of the
    rows that will get related-table entries."""
    n = hi - lo
    idx = np.arange(lo, hi)
    utc_us, local_us = plan.utc_us[lo:hi], plan.local_us[lo:hi]
    status = plan.status[lo:hi]
    n_old = max(0, min(plan.old_mix - lo, n))

    template = _choose(rng, TEMPLATES, n, n_old)
    model = _choose(rng, MODELS, n, n_old)
    tpl_names = list(TEMPLATES)
    tpl_phases = [TEMPLATES[t][2] for t in tpl_names]
    steps_total = np.array([len(tpl_phases[t]) for t in template], dtype=np.int64)
    completed = status == 0
    partial = (status == 1) | (status == 2)
    steps_done = np.where(
        completed, steps_total, np.where(partial, rng.integers(0, 10_000, n) % steps_total, 0)
    )
    progress_frac = np.where(
        completed,
        1.0,
        np.where(partial, (steps_done + rng.uniform(0.2, 0.9, n)) / steps_total, 0.0),
    )

    full = _completed_tokens(rng, n)
    toks = {k: np.round(v * progress_frac).astype(np.int64) for k, v in full.items()}
    prompt = toks["input"] + toks["write"] + toks["read"]
    total = prompt + toks["output"]
    actual = np.round(token_cost(toks["input"], toks["write"], toks["read"], toks["output"]), 6)
    full_cost = token_cost(full["input"], full["write"], full["read"], full["output"])
    with np.errstate(invalid="ignore", divide="ignore"):
        eff = np.where(prompt > 0, np.round(toks["read"] / prompt * 100, 2), 0.0)
        cpt = np.where(total > 0, actual / total, 0.0)
    has_estimate = (idx >= int(plan.rows * 0.2)) & (rng.random(n) > 0.1)
    estimate = np.where(has_estimate, np.round(full_cost * rng.lognormal(0, 0.15, n), 6), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ce_score = np.where(
            has_estimate & (status <= 1),
            np.round(np.clip(100 - np.abs(actual - estimate) / estimate * 100, 0, 100), 1),
            0.0,
        )

    duration = np.round(steps_total * np.exp(rng.normal(np.log(420), 0.45, n))).astype(np.int64)
    window_end = _utc_us(WINDOW_END_LOCAL)
    elapsed_us = (
        np.where(completed, duration * _US, (duration * progress_frac).astype(np.int64) * _US)
        + rng.integers(5, 120, n) * _US
    )
    updated_us = np.maximum(np.minimum(utc_us + elapsed_us, window_end), utc_us)

    retry = np.where(rng.random(n) < 0.15, rng.integers(1, 4, n), 0)
    ports = rng.integers(0, 15, n)
    merged = completed & (rng.random(n) < 0.8)
    rand_bytes = rng.bytes(24 * n)
    text_idx = rng.integers(0, len(texts), n)
    empty_text = (idx < int(plan.rows * 0.25)) & (rng.random(n) < 0.5)
    u = rng.random((n, 12))  # misc uniforms
    complexity = rng.integers(0, 3, (n, 2))
    wtype = rng.choice(3, size=n, p=(0.6, 0.3, 0.1))
    parent_pick = rng.integers(1, 50, n)
    error_cat = rng.integers(0, len(ERRORS), n)
    repo = rng.integers(0, len(REPOS), n)
    quality = np.where(
        completed,
        np.clip(rng.normal(95, 2.5, n), 0, 100),
        np.clip(rng.normal(60, 15, n), 0, 100),
    ).round(1)
    performance = np.clip(rng.normal(82, 9, n), 0, 100).round(1)
    issue = 12 + (idx * 0.9).astype(np.int64) + rng.integers(0, 3, n)

    start_str = iso_local(local_us)
    created_local = start_str
    created_utc = utc_space(utc_us)
    updated_str = utc_space(updated_us)
    hour, weekday = local_hour_weekday(local_us)
    stored = {int(k) for k in plan.stored_temporal if lo <= k < hi}

    model_names = list(MODELS)
    err_names = list(ERRORS)
    levels = ("low", "medium", "high")
    wtypes = ("planning", "building", "testing")
    adw_ids = [f"{x:08x}" for x in plan.adw_ints[lo:hi].tolist()]
    hexes = rand_bytes.hex()

    rows: list[tuple] = []
    related: list[tuple[str, int]] = []
    for j in range(n):
        i = lo + j
        st = STATUSES[status[j]]
        phases = tpl_phases[template[j]]
        done = int(steps_done[j])
        n_steps = int(steps_total[j])
        adw = adw_ids[j]
        wf_id = "wf-" + hexes[48 * j : 48 * j + 32]
        input_hash = hexes[48 * j + 32 : 48 * j + 48]
        tpl = tpl_names[template[j]]
        mdl = model_names[model[j]]
        n_issue = int(issue[j])
        is_completed = bool(completed[j])
        is_failed = st == "failed"
        text = "" if empty_text[j] else texts[text_idx[j]]
        n_words = 0 if not text else words[text_idx[j]]
        act = float(actual[j])
        est = float(estimate[j])
        cur_phase = (
            phases[-1] if is_completed else (phases[min(done, n_steps - 1)] if partial[j] else None)
        )
        by_phase = _phase_split(rng, phases, done + (0 if is_completed else 1), act)
        inp, wr, rd, out = (int(toks[k][j]) for k in ("input", "write", "read", "output"))
        tot = int(total[j])
        merged_j = bool(merged[j])
        parent = None
        if u[j, 0] < 0.05 and j >= parent_pick[j]:
            parent = "wf-" + hexes[48 * (j - parent_pick[j]) : 48 * (j - parent_pick[j]) + 32]
        similar = [adw_ids[j - k] for k in range(1, 1 + int(u[j, 1] * 4)) if j - k >= 0]
        anomalies = [ANOMALIES[int(u[j, 3] * len(ANOMALIES))]] if u[j, 2] < 0.06 else []
        recs = [RECOMMENDATIONS[int(u[j, 5] * len(RECOMMENDATIONS))]] if u[j, 4] < 0.4 else []
        err = err_names[error_cat[j]] if is_failed else None
        retries = int(retry[j])
        row = [
            i + 1,  # id
            adw,
            n_issue,
            text,
            f"https://github.com/{REPOS[repo[j]]}/issues/{n_issue}",
            tpl,
            mdl,
            st,
            start_str[j] if i >= plan.null_start else None,
            None,  # end_time
            int(duration[j]) if is_completed else None,
            ERRORS[err] if err else None,
            n_steps,
            cur_phase,
            round(100.0 * done / n_steps, 1) if st != "pending" else None,
            retries,
            f"/home/dev/tac-webbuilder/trees/{adw}",
            9100 + int(ports[j]),
            9200 + int(ports[j]),
            int(u[j, 6] * 5),
            inp,
            out,
            wr,  # cached_tokens = cache write
            rd,  # cache_hit_tokens = cache read
            inp + wr,  # cache_miss_tokens
            tot,
            float(eff[j]),
            est,
            act,
            round(est / n_steps, 6),
            round(act / n_steps, 6),
            float(cpt[j]),
            json.dumps(
                {"issue_number": n_issue, "workflow": tpl, "model": mdl, "phases": list(phases)}
            ),
            json.dumps(
                {
                    "estimated_total": est,
                    "actual_total": act,
                    "estimated_per_step": round(est / n_steps, 6),
                    "actual_per_step": round(act / n_steps, 6),
                    "cost_per_token": float(cpt[j]),
                    "by_phase": by_phase,
                }
            ),
            json.dumps(
                {
                    "input_tokens": inp,
                    "cache_creation_tokens": wr,
                    "cache_read_tokens": rd,
                    "output_tokens": out,
                    "total_tokens": tot,
                }
            ),
            int(u[j, 7] < 0.3),
            done,
            n_steps,
            created_utc[j] if i < plan.utc_created else created_local[j],
            updated_str[j],
            n_words,
            round(40 + 60 * float(u[j, 8]), 1) if text else 0.0,
            round(50 + 50 * float(u[j, 9]), 1),
            int(hour[j]) if i in stored else None,
            int(weekday[j]) if i in stored else None,
            int(merged_j),
            round(0.2 + 47.8 * float(u[j, 10]) ** 2, 2) if merged_j else None,
            int(u[j, 11] * 4) if is_completed else None,
            round(80 + 20 * float(u[j, 10]), 1) if "test" in phases[:done] else None,
            float(ce_score[j]),
            float(performance[j]),
            float(quality[j]),
            json.dumps(similar),
            json.dumps(anomalies),
            json.dumps(recs),
            int(u[j, 2] * 600),
            phases[int(u[j, 9] * len(phases))] if st != "pending" else None,
            err,
            json.dumps(["timeout"] * min(retries, 1) + ["api_quota"] * max(retries - 1, 0)),
            json.dumps({cur_phase: 1} if is_failed else {}),
            int(30 + u[j, 3] * 900) if retries else None,
            levels[complexity[j, 0]],
            levels[complexity[j, 1]] if is_completed else None,
            wtypes[wtype[j]],
            parent,
            input_hash,
            f"Opened PR for #{n_issue}: {n_words} words of spec, {done} phases"
            if is_completed
            else None,
            wf_id,
            ("closed" if merged_j else "open") if i >= plan.old_mix // 2 else None,
        ]
        if i in plan.dirty:
            col, value = plan.dirty[i]
            row[_COLUMN_INDEX[col]] = value
        rows.append(tuple(row))
        if i >= plan.related_from:
            related.append((wf_id, int(utc_us[j])))
    return rows, related


_COLUMN_INDEX = {c.name: k for k, c in enumerate(COLUMNS_PRE_006)}


def _insert_history(
    con: sqlite3.Connection, rows: int, seed: int, progress: bool
) -> list[tuple[str, int]]:
    rng = np.random.default_rng(seed)
    plan = _plan(rng, rows)
    texts = _text_pool(rng, min(rows, 2048))
    words = [len(t.split()) for t in texts]
    cols = ", ".join(quote_ident(c.name) for c in COLUMNS_PRE_006)
    marks = ", ".join("?" * len(COLUMNS_PRE_006))
    sql = f"INSERT INTO {TABLE} ({cols}) VALUES ({marks})"
    related: list[tuple[str, int]] = []
    for lo in range(0, rows, _CHUNK):
        hi = min(rows, lo + _CHUNK)
        batch, rel = _chunk_rows(rng, plan, lo, hi, texts, words)
        con.executemany(sql, batch)
        related.extend(rel)
        if progress:
            print(f"\rdemo: {hi:,}/{rows:,} rows", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return related


# --- related tables -----------------------------------------------------------------


def _insert_related(con: sqlite3.Connection, workflows: list[tuple[str, int]], seed: int) -> None:
    """Tool calls, hook events, pattern hits and savings for the newest workflows."""
    rng = np.random.default_rng([seed, 1])
    tool_calls, hooks, patterns, savings = [], [], [], []
    for wf_id, created in workflows:
        t = created
        for _ in range(int(rng.integers(3, 9))):
            t += int(rng.integers(2, 300)) * _US
            tool_calls.append(
                (
                    wf_id,
                    TOOLS[rng.integers(len(TOOLS))],
                    PHASES[rng.integers(len(PHASES))],
                    int(rng.integers(5, 30_000)),
                    int(rng.random() > 0.03),
                    _stamp(t),
                )
            )
        for _ in range(int(rng.integers(1, 4))):
            t += int(rng.integers(1, 120)) * _US
            event = HOOK_EVENTS[rng.integers(len(HOOK_EVENTS))]
            hooks.append((wf_id, event, json.dumps({"event": event}), _stamp(t)))
        if rng.random() < 0.3:
            patterns.append(
                (
                    PATTERNS[rng.integers(len(PATTERNS))],
                    wf_id,
                    round(float(rng.uniform(0.6, 1.0)), 3),
                    _stamp(t),
                )
            )
        if rng.random() < 0.2:
            baseline = round(float(rng.uniform(2.0, 5.0)), 4)
            actual = round(baseline * float(rng.uniform(0.5, 0.95)), 4)
            savings.append(
                (
                    wf_id,
                    SAVINGS[rng.integers(len(SAVINGS))],
                    baseline,
                    actual,
                    round(baseline - actual, 4),
                    _stamp(t),
                )
            )
    # session-level hook events belong to no workflow
    for k in range(min(5, len(workflows))):
        hooks.append((None, "SessionStart", json.dumps({"session": k}), _stamp(workflows[k][1])))
    con.executemany(
        "INSERT INTO tool_calls (workflow_id, tool_name, phase, duration_ms, success, called_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        tool_calls,
    )
    con.executemany(
        "INSERT INTO hook_events (workflow_id, event_type, payload, created_at)"
        " VALUES (?, ?, ?, ?)",
        hooks,
    )
    con.executemany(
        "INSERT INTO pattern_occurrences (pattern_id, workflow_id, similarity_score, detected_at)"
        " VALUES (?, ?, ?, ?)",
        patterns,
    )
    con.executemany(
        "INSERT INTO cost_savings_log (workflow_id, optimization_type, baseline_cost,"
        " actual_cost, saved_usd, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
        savings,
    )


def _stamp(us: int) -> str:
    return utc_space(np.array([us], dtype=np.int64))[0]
