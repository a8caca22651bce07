"""What differs between the states the real file has been in, for its rows.

``pre-006``     the 69-column table as the chunk generator makes it.
``post-006``    + ``scoring_version`` (not inserted: every row reads its DEFAULT '1.0',
                exactly as after migration 006's ``ADD COLUMN``).
``2025-11-27``  post-006 + ``phase_number``, ``is_multi_phase``, ``day_of_week`` and
                six more days of runs. Rows written after the service's commit
                87423d6 (2025-11-21 10:05 local) carry the weekday in ``day_of_week``
                and no hour at all (the service drops ``hour_of_day``: no such
                column); older rows keep their few stored ``submission_*`` values,
                and the partial 005's ``UPDATE`` copied those weekdays into
                ``day_of_week`` (equal, never conflicting: see
                :func:`make_temporal_conflict` for a test that needs a conflict).
                The multi-phase feature is newer still: only new-code rows use it.
``renamed``     post-006 after wfhist's 008: the same values under ``hour_of_day``/
                ``day_of_week`` (same seed, same values as the post-006 sample).

None of these files has wfhist's own ``wfhist_migrations`` or a ``user_version``:
pre-006, post-006 and 2025-11-27 predate wfhist, and ``renamed`` stands for a file
renamed like 008 by something that left no wfhist record (``wfhist status``
reports it as the renamed shape without a record; ``wfhist migrate --to 8`` on a
post-006 sample is how to get one with the record).
"""

from __future__ import annotations

import numpy as np

from wfhist.demo.columns import Columns
from wfhist.demo.timeline import Plan, local_hour_weekday
from wfhist.exceptions import UsageError
from wfhist.files import open_writer
from wfhist.schema import (
    COLUMNS_BY_STATE,
    SCORING_VERSION,
    SERVICE_MIGRATIONS_BY_STATE,
    TABLE,
    TEMPORAL_RENAMES,
    column_names,
)

#: Share of new-code rows in the 2025-11-27 state that are one phase of a
#: multi-phase request.
MULTI_PHASE_SHARE = 0.10


def insert_columns(state: str) -> list[str]:
    """Columns the generator fills, in table order (``scoring_version`` takes its default)."""
    return [c.name for c in COLUMNS_BY_STATE[state] if c.name != SCORING_VERSION.name]


def state_columns(plan: Plan, cols: Columns, lo: int, hi: int) -> Columns:
    """``cols`` (pre-006 rows ``[lo, hi)``) as the file in ``plan.state`` holds them."""
    if plan.state == "renamed":
        return {TEMPORAL_RENAMES.get(k, k): v for k, v in cols.items()}
    if plan.state != "2025-11-27":
        return cols
    idx = np.arange(lo, hi)
    new_code = idx >= plan.new_code_from
    _, weekday = local_hour_weekday(plan.local_us[lo:hi])
    copied = cols["submission_day_of_week"]  # the partial 005's UPDATE
    day = [
        w if new and i >= plan.null_start else c
        for w, new, i, c in zip(
            weekday.tolist(), new_code.tolist(), idx.tolist(), copied, strict=True
        )
    ]
    # its own generator, so the pre-006 columns of a seed stay the same in every state
    rng = np.random.default_rng([plan.seed, 3, lo])
    multi = new_code & (rng.random(hi - lo) < MULTI_PHASE_SHARE)
    phase = rng.integers(1, 4, hi - lo)
    return {
        **cols,
        "phase_number": [int(p) if m else None for p, m in zip(phase, multi.tolist(), strict=True)],
        "is_multi_phase": multi.astype(np.int64).tolist(),
        "day_of_week": day,
    }


def service_migration_rows(state: str) -> list[tuple[str, str, None]]:
    """Rows of the service's own ``schema_migrations`` (file, applied_at, checksum NULL)."""
    return [(name, at, None) for name, at in SERVICE_MIGRATIONS_BY_STATE[state]]


def make_temporal_conflict(path: str, row_id: int | None = None) -> int:
    """Give one row of a 2025-11-27 sample a ``day_of_week`` that differs from its
    ``submission_day_of_week`` (the conflict ``migrate --to 8`` must refuse to
    resolve silently); returns that row's id. The sample itself has no conflict.
    """
    con = open_writer(path)
    try:
        if not {"submission_day_of_week", "day_of_week"} <= set(column_names(con)):
            raise UsageError(f"{path}: not a 2025-11-27 file (needs both weekday columns)")
        sql = (
            f"SELECT id FROM {TABLE} WHERE submission_day_of_week IS NOT NULL"
            " AND day_of_week IS NOT NULL AND (? IS NULL OR id = ?) ORDER BY id LIMIT 1"
        )
        row = con.execute(sql, (row_id, row_id)).fetchone()
        if row is None:
            raise UsageError(f"{path}: no row with both weekday columns set (row_id={row_id})")
        con.execute(
            f"UPDATE {TABLE} SET day_of_week = (submission_day_of_week + 1) % 7 WHERE id = ?",
            (row[0],),
        )
        return int(row[0])
    finally:
        con.close()
