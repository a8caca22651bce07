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
    return [t[:10] + " " + t[11:] for t in s.tolist()]


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


_PHASE_WEIGHT = np.array([0.12, 0.35, 0.20, 0.13, 0.08, 0.04])  # in PHASES order


def _phase_positions(template: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row and phase: does the template run it, and at which step (0-based)."""
    table = np.array([[p in spec[2] for p in PHASES] for spec in TEMPLATES.values()])
    runs = table[template]
    return runs, np.cumsum(runs, axis=1) - 1


def _phase_split(rng: np.random.Generator, ran: np.ndarray, micros: np.ndarray) -> np.ndarray:
    """``micros`` (integer micro-dollars) spread over the phases that ran (n x 6, PHASES
    order). The last phase that ran takes the remainder, so each row sums exactly."""
    w = _PHASE_WEIGHT * rng.uniform(0.7, 1.3, ran.shape) * ran
    w /= w.sum(axis=1, keepdims=True)
    split = np.floor(micros[:, None] * w).astype(np.int64)
    last = len(PHASES) - 1 - np.argmax(ran[:, ::-1], axis=1)
    rows = np.arange(len(micros))
    split[rows, last] = 0
    split[rows, last] = micros - split.sum(axis=1)
    return split


def _usd(micros: np.ndarray) -> tuple[list[float], list[str]]:
    """Micro-dollar integers as floats (for REAL columns) and as the same decimal text
    (for JSON). ``m / 1e6`` is the double nearest to the decimal, so both agree exactly,
    and integer formatting is several times faster than float repr at 1M rows."""
    whole, frac = np.divmod(micros, _US)
    text = [f"{w}.{f:06d}" for w, f in zip(whole.tolist(), frac.tolist(), strict=True)]
    return (micros / 1e6).tolist(), text


def _pick(values: tuple | list, codes: np.ndarray) -> list:
    """``values[code]`` for each code, as a list (fast categorical columns)."""
    return np.array(values, dtype=object)[codes].tolist()


def _where(mask: np.ndarray, values: list) -> list:
    """``values`` where ``mask`` holds, else NULL."""
    return [v if m else None for v, m in zip(values, mask.tolist(), strict=True)]


def _json_options(options: tuple[str, ...]) -> list[str]:
    """JSON lists ``[]``, ``[options[0]]``, ... indexed by code + 1."""
    return ["[]", *(json.dumps([o]) for o in options)]


_COST_BREAKDOWN = (
    '{"estimated_total": %s, "actual_total": %s, "estimated_per_step": %s, '
    '"actual_per_step": %s, "cost_per_token": %r, "by_phase": {'
    + ", ".join(f'"{p}": %s' for p in PHASES)
    + "}}"
)
_TOKEN_BREAKDOWN = (
    '{"input_tokens": %d, "cache_creation_tokens": %d, "cache_read_tokens": %d, '
    '"output_tokens": %d, "total_tokens": %d}'
)
_STRUCTURED_INPUT = '{"issue_number": %d, "workflow": "%s", "model": "%s", "phases": %s}'
_RETRY_REASONS = (
    "[]",
    '["timeout"]',
    '["timeout", "api_quota"]',
    '["timeout", "api_quota", "api_quota"]',
)


def _chunk_columns(
    rng: np.random.Generator, plan: _Plan, lo: int, hi: int, texts: list[str], words: list[int]
) -> dict[str, list]:
    """Rows ``[lo, hi)`` column by column (name -> list of values), vectorised."""
    n = hi - lo
    idx = np.arange(lo, hi)
    utc_us, local_us = plan.utc_us[lo:hi], plan.local_us[lo:hi]
    status = plan.status[lo:hi]
    n_old = max(0, min(plan.old_mix - lo, n))
    completed = status == 0
    failed = status == 1
    partial = (status == 1) | (status == 2)
    pending = status == 3

    template = _choose(rng, TEMPLATES, n, n_old)
    model = _choose(rng, MODELS, n, n_old)
    runs, pos = _phase_positions(template)
    steps_total = runs.sum(axis=1)
    steps_done = np.where(
        completed, steps_total, np.where(partial, rng.integers(0, 10_000, n) % steps_total, 0)
    )
    # phases that ran (a partial run is inside the phase after its completed ones)
    ran_count = np.minimum(np.where(completed, steps_total, steps_done + 1), steps_total)
    ran = runs & (pos < ran_count[:, None])
    progress = np.where(
        completed, 1.0, np.where(partial, (steps_done + rng.uniform(0.2, 0.9, n)) / steps_total, 0)
    )

    full = _completed_tokens(rng, n)
    inp, write, read, out = (
        np.round(full[k] * progress).astype(np.int64) for k in ("input", "write", "read", "output")
    )
    prompt = inp + write + read
    total = prompt + out
    actual_m = np.round(token_cost(inp, write, read, out) * _US).astype(np.int64)
    actual = actual_m / 1e6
    full_cost = token_cost(full["input"], full["write"], full["read"], full["output"])
    safe_prompt, safe_total = np.maximum(prompt, 1), np.maximum(total, 1)
    efficiency = np.where(prompt > 0, np.round(read / safe_prompt * 100, 2), 0.0)
    cost_per_token = np.where(total > 0, actual / safe_total, 0.0)
    has_estimate = (idx >= int(plan.rows * 0.2)) & (rng.random(n) > 0.1)
    estimate_m = np.where(has_estimate, np.round(full_cost * rng.lognormal(0, 0.15, n) * _US), 0)
    estimate_m = estimate_m.astype(np.int64)
    estimate = estimate_m / 1e6
    safe_estimate = np.where(has_estimate, estimate, 1.0)
    cost_score = np.where(
        has_estimate & (completed | failed),
        np.round(np.clip(100 - np.abs(actual - estimate) / safe_estimate * 100, 0, 100), 1),
        0.0,
    )
    est_total_f, est_total_s = _usd(estimate_m)
    act_total_f, act_total_s = _usd(actual_m)
    est_step_f, est_step_s = _usd(np.round(estimate_m / steps_total).astype(np.int64))
    act_step_f, act_step_s = _usd(np.round(actual_m / steps_total).astype(np.int64))
    by_phase = [_usd(col)[1] for col in _phase_split(rng, ran, actual_m).T]
    last_ran = len(PHASES) - 1 - np.argmax(ran[:, ::-1], axis=1)

    duration = np.round(steps_total * np.exp(rng.normal(np.log(420), 0.45, n))).astype(np.int64)
    elapsed = np.where(completed, duration, (duration * progress).astype(np.int64))
    elapsed_us = (elapsed + rng.integers(5, 120, n)) * _US
    updated_us = np.maximum(np.minimum(utc_us + elapsed_us, _utc_us(WINDOW_END_LOCAL)), utc_us)

    retry = np.where(rng.random(n) < 0.15, rng.integers(1, 4, n), 0)
    port = rng.integers(0, 15, n)
    merged = completed & (rng.random(n) < 0.8)
    ids = rng.bytes(24 * n).hex()
    text_code = rng.integers(0, len(texts), n)
    has_text = ~((idx < int(plan.rows * 0.25)) & (rng.random(n) < 0.5))
    u = rng.random((12, n))
    complexity = rng.integers(0, 3, (2, n))
    wtype = rng.choice(3, size=n, p=(0.6, 0.3, 0.1))
    parent_back = rng.integers(1, 50, n)
    error_code = rng.integers(0, len(ERRORS), n)
    repo = rng.integers(0, len(REPOS), n)
    quality = np.where(completed, rng.normal(95, 2.5, n), rng.normal(60, 15, n))
    performance = rng.normal(82, 9, n)
    issue = 12 + (idx * 0.9).astype(np.int64) + rng.integers(0, 3, n)
    bottleneck_step = (u[9] * steps_total).astype(np.int64)
    bottleneck = np.argmax(runs & (pos == bottleneck_step[:, None]), axis=1)

    adw = [f"{x:08x}" for x in plan.adw_ints[lo:hi].tolist()]
    wf_ids = ["wf-" + ids[48 * j : 48 * j + 32] for j in range(n)]
    text_code_l = text_code.tolist()
    nl_input = _where(has_text, [texts[k] for k in text_code_l])
    nl_input = ["" if t is None else t for t in nl_input]
    word_count = [words[k] if t else 0 for k, t in zip(text_code_l, nl_input, strict=True)]
    issue_l = issue.tolist()
    tpl_names = _pick(list(TEMPLATES), template)
    mdl_names = _pick(list(MODELS), model)
    phases_json = _pick([json.dumps(list(spec[2])) for spec in TEMPLATES.values()], template)
    hour, weekday = local_hour_weekday(local_us)
    stored = np.isin(idx, plan.stored_temporal)
    cur_phase = _where(~pending, _pick(PHASES, last_ran))
    similar_n = (u[1] * 4).astype(np.int64).tolist()
    parent_ok = (u[0] < 0.05) & (np.arange(n) >= parent_back)

    c: dict[str, list] = {
        "id": (idx + 1).tolist(),
        "adw_id": adw,
        "issue_number": issue_l,
        "nl_input": nl_input,
        "github_url": [
            f"https://github.com/{r}/issues/{i}"
            for r, i in zip(_pick(REPOS, repo), issue_l, strict=True)
        ],
        "workflow_template": tpl_names,
        "model_used": mdl_names,
        "status": _pick(STATUSES, status),
        "start_time": _where(idx >= plan.null_start, iso_local(local_us)),
        "end_time": [None] * n,
        "duration_seconds": _where(completed, duration.tolist()),
        "error_message": _where(failed, _pick(list(ERRORS.values()), error_code)),
        "phase_count": steps_total.tolist(),
        "current_phase": cur_phase,
        "success_rate": _where(~pending, np.round(100.0 * steps_done / steps_total, 1).tolist()),
        "retry_count": retry.tolist(),
        "worktree_path": [f"/home/dev/tac-webbuilder/trees/{a}" for a in adw],
        "backend_port": (9100 + port).tolist(),
        "frontend_port": (9200 + port).tolist(),
        "concurrent_workflows": (u[6] * 5).astype(np.int64).tolist(),
        "input_tokens": inp.tolist(),
        "output_tokens": out.tolist(),
        "cached_tokens": write.tolist(),  # cache write
        "cache_hit_tokens": read.tolist(),  # cache read
        "cache_miss_tokens": (inp + write).tolist(),
        "total_tokens": total.tolist(),
        "cache_efficiency_percent": efficiency.tolist(),
        "estimated_cost_total": est_total_f,
        "actual_cost_total": act_total_f,
        "estimated_cost_per_step": est_step_f,
        "actual_cost_per_step": act_step_f,
        "cost_per_token": cost_per_token.tolist(),
        "structured_input": [
            _STRUCTURED_INPUT % row
            for row in zip(issue_l, tpl_names, mdl_names, phases_json, strict=True)
        ],
        "cost_breakdown": [
            _COST_BREAKDOWN % row
            for row in zip(
                est_total_s,
                act_total_s,
                est_step_s,
                act_step_s,
                cost_per_token.tolist(),
                *by_phase,
                strict=True,
            )
        ],
        "token_breakdown": [
            _TOKEN_BREAKDOWN % row
            for row in zip(
                inp.tolist(),
                write.tolist(),
                read.tolist(),
                out.tolist(),
                total.tolist(),
                strict=True,
            )
        ],
        "worktree_reused": (u[7] < 0.3).astype(np.int64).tolist(),
        "steps_completed": steps_done.tolist(),
        "steps_total": steps_total.tolist(),
        "created_at": (
            utc_space(utc_us[: max(0, plan.utc_created - lo)])
            + iso_local(local_us[max(0, plan.utc_created - lo) :])
        ),
        "updated_at": utc_space(updated_us),
        "nl_input_word_count": word_count,
        "nl_input_clarity_score": np.where(has_text, np.round(40 + 60 * u[8], 1), 0.0).tolist(),
        "structured_input_completeness_percent": np.round(50 + 50 * u[9], 1).tolist(),
        "submission_hour": _where(stored, hour.tolist()),
        "submission_day_of_week": _where(stored, weekday.tolist()),
        "pr_merged": merged.astype(np.int64).tolist(),
        "time_to_merge_hours": _where(merged, np.round(0.2 + 47.8 * u[10] ** 2, 2).tolist()),
        "review_cycles": _where(completed, (u[11] * 4).astype(np.int64).tolist()),
        "ci_test_pass_rate": _where(
            runs[:, 2] & (pos[:, 2] < steps_done), np.round(80 + 20 * u[10], 1).tolist()
        ),
        "cost_efficiency_score": cost_score.tolist(),
        "performance_score": np.clip(performance, 0, 100).round(1).tolist(),
        "quality_score": np.clip(quality, 0, 100).round(1).tolist(),
        "similar_workflow_ids": [
            json.dumps(adw[max(0, j - k) : j][::-1]) if k else "[]" for j, k in enumerate(similar_n)
        ],
        "anomaly_flags": _pick(
            _json_options(ANOMALIES),
            np.where(u[2] < 0.06, 1 + (u[3] * len(ANOMALIES)).astype(np.int64), 0),
        ),
        "optimization_recommendations": _pick(
            _json_options(RECOMMENDATIONS),
            np.where(u[4] < 0.4, 1 + (u[5] * len(RECOMMENDATIONS)).astype(np.int64), 0),
        ),
        "idle_time_seconds": (u[2] * 600).astype(np.int64).tolist(),
        "bottleneck_phase": _where(~pending, _pick(PHASES, bottleneck)),
        "error_category": _where(failed, _pick(list(ERRORS), error_code)),
        "retry_reasons": _pick(_RETRY_REASONS, retry),
        "error_phase_distribution": [
            f'{{"{p}": 1}}' if f else "{}" for p, f in zip(cur_phase, failed.tolist(), strict=True)
        ],
        "recovery_time_seconds": _where(retry > 0, (30 + u[3] * 900).astype(np.int64).tolist()),
        "complexity_estimated": _pick(_LEVELS, complexity[0]),
        "complexity_actual": _where(completed, _pick(_LEVELS, complexity[1])),
        "workflow_type": _pick(("planning", "building", "testing"), wtype),
        "parent_workflow_id": [
            wf_ids[j - b] if ok else None
            for j, (b, ok) in enumerate(zip(parent_back.tolist(), parent_ok.tolist(), strict=True))
        ],
        "input_hash": [ids[48 * j + 32 : 48 * j + 48] for j in range(n)],
        "output_summary": [
            f"Opened PR for #{i}: {w} words of spec, {s} phases" if ok else None
            for i, w, s, ok in zip(
                issue_l, word_count, steps_done.tolist(), completed.tolist(), strict=True
            )
        ],
        "workflow_id": wf_ids,
        "gh_issue_state": _where(
            idx >= plan.old_mix // 2, _pick(("open", "closed"), merged.astype(np.int64))
        ),
    }
    for i, (column, value) in plan.dirty.items():
        if lo <= i < hi:
            c[column][i - lo] = value
    return c


_LEVELS = ("low", "medium", "high")
_INSERT_SQL = "INSERT INTO {table} ({cols}) VALUES ({marks})".format(
    table=TABLE,
    cols=", ".join(quote_ident(c.name) for c in COLUMNS_PRE_006),
    marks=", ".join("?" * len(COLUMNS_PRE_006)),
)


def _insert_history(
    con: sqlite3.Connection, rows: int, seed: int, progress: bool
) -> list[tuple[str, int]]:
    """Insert all rows in chunks; return (workflow_id, created instant) of the newest ones."""
    rng = np.random.default_rng(seed)
    plan = _plan(rng, rows)
    texts = _text_pool(rng, min(rows, 2048))
    words = [len(t.split()) for t in texts]
    related: list[tuple[str, int]] = []
    for lo in range(0, rows, _CHUNK):
        hi = min(rows, lo + _CHUNK)
        cols = _chunk_columns(rng, plan, lo, hi, texts, words)
        con.executemany(_INSERT_SQL, zip(*(cols[c.name] for c in COLUMNS_PRE_006), strict=True))
        first = max(lo, plan.related_from)
        related.extend(
            zip(cols["workflow_id"][first - lo :], plan.utc_us[first:hi].tolist(), strict=True)
        )
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
