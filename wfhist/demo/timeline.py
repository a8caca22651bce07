"""When runs happened, and the whole-file plan decided before any row is made.

Timestamps: UTC microsecond instants with the host's weekday/office-hour pattern,
their naive local wall-clock values, and the two text formats the real file mixes.
The plan: everything decided over all rows at once (statuses, which rows are
dirty or store temporal values, distinct ids), from one generator seeded with
``seed``, so each chunk of rows can then be made independently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from wfhist.demo.facts import (
    ACTIONS,
    DETAILS,
    DIRTY_VALUES,
    NEW_CODE_FROM_LOCAL,
    NULL_START_FRACTION,
    OBJECTS,
    OLD_MIX_FRACTION,
    SOURCE_TZ,
    STATUS_P,
    STATUSES,
    STORED_TEMPORAL_ROWS,
    UTC_CREATED_FRACTION,
    WINDOW_END_2025_11_27,
    WINDOW_END_LOCAL,
    WINDOW_START_LOCAL,
)

US = 1_000_000
HOUR_US = 3600 * US
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Workflows (the newest ones) that get rows in the related tables.
RELATED_WORKFLOWS = 300

# --- time stamps -------------------------------------------------------------------


def utc_us_of(local: datetime) -> int:
    """Microseconds since the epoch of a naive local time of the host (``fold`` honoured)."""
    aware = local.replace(tzinfo=ZoneInfo(SOURCE_TZ))
    return (aware - _EPOCH) // timedelta(microseconds=1)


def _hour_weight(hour: int, weekday: int) -> float:
    if 9 <= hour < 18:
        h = 1.0
    elif 7 <= hour < 9 or 18 <= hour < 23:
        h = 0.30
    else:
        h = 0.05
    return h * (1.0 if weekday < 5 else 0.22)


def _hour_grid(window_end: datetime) -> tuple[np.ndarray, np.ndarray]:
    """UTC hour starts over the window and each hour's weight from its local clock.

    Working in UTC hours makes the 2025-11-02 DST change (a 25-hour local day)
    come out right by construction; the offset is constant within a UTC hour.
    """
    zone = ZoneInfo(SOURCE_TZ)
    start, end = utc_us_of(WINDOW_START_LOCAL), utc_us_of(window_end)
    starts = np.arange(start, end, HOUR_US, dtype=np.int64)
    weights = np.empty(len(starts))
    for i, us in enumerate(starts.tolist()):
        local = datetime.fromtimestamp(us // US, zone)
        trend = 0.6 + 0.8 * i / len(starts)  # usage grew over the six weeks
        weights[i] = _hour_weight(local.hour, local.weekday()) * trend
    return starts, weights / weights.sum()


def _offset_us(epoch_s: int, zone: ZoneInfo) -> int:
    offset = datetime.fromtimestamp(epoch_s, zone).utcoffset()
    assert offset is not None  # an aware datetime always has one
    return int(offset.total_seconds()) * US


def _utc_offsets_us(utc_us: np.ndarray) -> np.ndarray:
    """Offset of the source zone at each instant (vectorised via the hour grid)."""
    zone = ZoneInfo(SOURCE_TZ)
    hours = np.unique(utc_us // HOUR_US)
    offsets = np.array([_offset_us(int(h) * 3600, zone) for h in hours.tolist()], dtype=np.int64)
    return offsets[np.searchsorted(hours, utc_us // HOUR_US)]


#: Local instants every sample of at least ``_FIXED_MIN_ROWS`` rows contains, whatever
#: the seed: hour 0 (a Tuesday just after midnight) and weekday 0 (a Monday) for the
#: stored temporal values. (Random draws can also land in the repeated hour
#: 01:00-02:00 of the 2025-11-02 DST end, where a naive ``start_time`` is ambiguous;
#: the default sample has none there.)
FIXED_LOCAL_INSTANTS = (
    datetime(2025, 11, 18, 0, 23, 5, 412_907),
    datetime(2025, 11, 10, 10, 41, 37, 120_554),
)
_FIXED_MIN_ROWS = 20


def _sample_instants(rng: np.random.Generator, rows: int, window_end: datetime) -> np.ndarray:
    """Sorted UTC microsecond instants with the host's weekday/office-hour pattern."""
    starts, p = _hour_grid(window_end)
    picks = rng.choice(len(starts), size=rows, p=p)
    instants = starts[picks] + rng.integers(0, HOUR_US, size=rows)
    if rows >= _FIXED_MIN_ROWS:
        instants[: len(FIXED_LOCAL_INSTANTS)] = [utc_us_of(t) for t in FIXED_LOCAL_INSTANTS]
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
    hour = (local_us // HOUR_US) % 24
    weekday = (local_us // (24 * HOUR_US) + 3) % 7  # 1970-01-01 was a Thursday
    return hour, weekday


# --- global plan: things decided over all rows before the chunks ---------------------


@dataclass
class Plan:
    """Decisions over the whole file, made before any chunk (rows are indexes 0..rows-1)."""

    seed: int
    rows: int
    state: str  # one of wfhist.schema.STATES
    window_end_us: int  # UTC instant the sample's runs end before
    utc_us: np.ndarray
    local_us: np.ndarray
    status: np.ndarray  # index into STATUSES
    null_start: int  # rows [0, null_start) have NULL start_time
    utc_created: int  # rows [0, utc_created) have UTC created_at
    old_mix: int  # rows [0, old_mix) use the older template/model mix
    stored_temporal: np.ndarray  # sorted row indexes
    dirty: dict[int, tuple[str, str]]  # row index -> (column, value)
    related_from: int  # rows [related_from, rows) get related-table rows
    new_code_from: int  # rows [new_code_from, rows) were written after commit 87423d6
    adw_ints: np.ndarray  # distinct 32-bit values behind the 8-hex adw_id
    texts: list[str]  # pool of nl_input texts
    words: list[int]  # their word counts


def make_plan(seed: int, rows: int, state: str = "pre-006") -> Plan:
    """Everything decided over all rows at once, before any chunk is generated.

    The 2025-11-27 state covers six more days; every other state ends on the
    migration day, so pre-006, post-006 and renamed samples of one seed hold the
    same runs.
    """
    window_end = WINDOW_END_2025_11_27 if state == "2025-11-27" else WINDOW_END_LOCAL
    rng = np.random.default_rng(seed)
    utc_us = _sample_instants(rng, rows, window_end)
    local_us = utc_us + _utc_offsets_us(utc_us)
    status = rng.choice(len(STATUSES), size=rows, p=STATUS_P).astype(np.int8)
    null_start = int(rows * NULL_START_FRACTION)
    new_code_from = int(np.searchsorted(utc_us, utc_us_of(NEW_CODE_FROM_LOCAL)))
    stored = _pick_stored_temporal(rng, local_us[:new_code_from], null_start)
    dirty = _pick_dirty(rng, status)
    texts = text_pool(rng, min(rows, 2048))
    return Plan(
        seed=seed,
        rows=rows,
        state=state,
        window_end_us=utc_us_of(window_end),
        utc_us=utc_us,
        local_us=local_us,
        status=status,
        null_start=null_start,
        utc_created=int(rows * UTC_CREATED_FRACTION),
        old_mix=int(rows * OLD_MIX_FRACTION),
        stored_temporal=stored,
        dirty=dirty,
        related_from=max(0, rows - RELATED_WORKFLOWS),
        new_code_from=new_code_from,
        adw_ints=_distinct_uint32(rng, rows),
        texts=texts,
        words=[len(t.split()) for t in texts],
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
    """A few rows with start_time that store hour/weekday; hour 0 and Monday included.

    Only rows written before commit 87423d6 (``local_us`` is cut there): the
    service's newer code never stores them in ``submission_*``.
    """
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


def text_pool(rng: np.random.Generator, size: int) -> list[str]:
    """Request texts of 60-500 characters built from a small vocabulary."""
    out = []
    for _ in range(size):
        head = f"{ACTIONS[rng.integers(len(ACTIONS))]} {OBJECTS[rng.integers(len(OBJECTS))]}."
        k = int(rng.integers(1, 9))
        details = [DETAILS[i] for i in rng.choice(len(DETAILS), size=k, replace=False)]
        text = " ".join([head, *details])
        if len(text) > 500:
            text = text[:500].rsplit(" ", 1)[0]
        out.append(text)
    return out
