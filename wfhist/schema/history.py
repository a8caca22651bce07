"""``workflow_history`` itself: its columns and named indexes in each state of the file.

The facts are ``../shared/reference/workflow_history.md``: 69 columns before 006,
``scoring_version`` after it, three more columns on 2025-11-27 (partial 005 and a
later service feature), and the canonical names after wfhist's 008.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

TABLE = "workflow_history"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    constraint: str = ""  # DEFAULT / NOT NULL / CHECK ... as written in the DDL

    def ddl(self) -> str:
        """As the service wrote it: bare names (every one is a plain identifier)."""
        return f"{self.name} {self.type} {self.constraint}".strip()


def _c(name: str, type_: str, constraint: str = "") -> Column:
    return Column(name, type_, constraint)


_TOKENS = [
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "cache_hit_tokens",
    "cache_miss_tokens",
    "total_tokens",
]
_COSTS = [
    "estimated_cost_total",
    "actual_cost_total",
    "estimated_cost_per_step",
    "actual_cost_per_step",
    "cost_per_token",
]

#: The 69 columns of the table before migration 006, in physical order.
COLUMNS_PRE_006: tuple[Column, ...] = (
    _c("id", "INTEGER", "PRIMARY KEY AUTOINCREMENT"),
    _c("adw_id", "TEXT", "NOT NULL UNIQUE"),
    _c("issue_number", "INTEGER"),
    _c("nl_input", "TEXT"),
    _c("github_url", "TEXT"),
    _c("workflow_template", "TEXT"),
    _c("model_used", "TEXT"),
    _c(
        "status",
        "TEXT",
        "NOT NULL CHECK(status IN ('pending', 'running', 'completed', 'failed'))",
    ),
    _c("start_time", "TEXT"),
    _c("end_time", "TEXT"),
    _c("duration_seconds", "INTEGER"),
    _c("error_message", "TEXT"),
    _c("phase_count", "INTEGER"),
    _c("current_phase", "TEXT"),
    _c("success_rate", "REAL"),
    _c("retry_count", "INTEGER", "DEFAULT 0"),
    _c("worktree_path", "TEXT"),
    _c("backend_port", "INTEGER"),
    _c("frontend_port", "INTEGER"),
    _c("concurrent_workflows", "INTEGER", "DEFAULT 0"),
    *(_c(n, "INTEGER", "DEFAULT 0") for n in _TOKENS),
    _c("cache_efficiency_percent", "REAL", "DEFAULT 0.0"),
    *(_c(n, "REAL", "DEFAULT 0.0") for n in _COSTS),
    _c("structured_input", "TEXT"),
    _c("cost_breakdown", "TEXT"),
    _c("token_breakdown", "TEXT"),
    _c("worktree_reused", "INTEGER", "DEFAULT 0"),
    _c("steps_completed", "INTEGER", "DEFAULT 0"),
    _c("steps_total", "INTEGER", "DEFAULT 0"),
    _c("created_at", "TEXT", "NOT NULL DEFAULT CURRENT_TIMESTAMP"),
    _c("updated_at", "TEXT", "NOT NULL DEFAULT CURRENT_TIMESTAMP"),
    _c("nl_input_word_count", "INTEGER"),
    _c("nl_input_clarity_score", "REAL"),
    _c("structured_input_completeness_percent", "REAL"),
    _c("submission_hour", "INTEGER"),
    _c("submission_day_of_week", "INTEGER"),
    _c("pr_merged", "INTEGER", "DEFAULT 0"),
    _c("time_to_merge_hours", "REAL"),
    _c("review_cycles", "INTEGER"),
    _c("ci_test_pass_rate", "REAL"),
    _c("cost_efficiency_score", "REAL"),
    _c("performance_score", "REAL"),
    _c("quality_score", "REAL"),
    _c("similar_workflow_ids", "TEXT"),
    _c("anomaly_flags", "TEXT"),
    _c("optimization_recommendations", "TEXT"),
    _c("idle_time_seconds", "INTEGER"),
    _c("bottleneck_phase", "TEXT"),
    _c("error_category", "TEXT"),
    _c("retry_reasons", "TEXT"),
    _c("error_phase_distribution", "TEXT"),
    _c("recovery_time_seconds", "INTEGER"),
    _c("complexity_estimated", "TEXT"),
    _c("complexity_actual", "TEXT"),
    _c("workflow_type", "TEXT", "DEFAULT 'planning'"),
    _c("parent_workflow_id", "TEXT"),
    _c("input_hash", "TEXT"),
    _c("output_summary", "TEXT"),
    _c("workflow_id", "TEXT"),
    _c("gh_issue_state", "TEXT"),
)
assert len(COLUMNS_PRE_006) == 69

#: Added by migration 006.
SCORING_VERSION = _c("scoring_version", "TEXT", "DEFAULT '1.0'")
COLUMNS_POST_006: tuple[Column, ...] = (*COLUMNS_PRE_006, SCORING_VERSION)

#: Stored names of the temporal columns and the names application code uses.
STORED_TEMPORAL = ("submission_hour", "submission_day_of_week")
CANONICAL_TEMPORAL = ("hour_of_day", "day_of_week")
TEMPORAL_RENAMES = dict(zip(STORED_TEMPORAL, CANONICAL_TEMPORAL, strict=True))

#: Appended after ``scoring_version`` in the file as it stood on 2025-11-27: two
#: columns of a later feature of the service, then ``day_of_week`` left by the
#: partially applied 005 (``hour_of_day`` does not exist there).
COLUMNS_2025_11_27_EXTRA: tuple[Column, ...] = (
    _c("phase_number", "INTEGER"),
    _c("is_multi_phase", "BOOLEAN", "DEFAULT 0"),
    _c("day_of_week", "INTEGER"),
)
COLUMNS_2025_11_27: tuple[Column, ...] = (*COLUMNS_POST_006, *COLUMNS_2025_11_27_EXTRA)
#: The canonical table after wfhist's 008: the temporal columns renamed in place.
COLUMNS_RENAMED: tuple[Column, ...] = tuple(
    Column(TEMPORAL_RENAMES.get(c.name, c.name), c.type, c.constraint) for c in COLUMNS_POST_006
)

#: The states the real file has been in, oldest first.
STATES = ("pre-006", "post-006", "2025-11-27", "renamed")
COLUMNS_BY_STATE: dict[str, tuple[Column, ...]] = {
    "pre-006": COLUMNS_PRE_006,
    "post-006": COLUMNS_POST_006,
    "2025-11-27": COLUMNS_2025_11_27,
    "renamed": COLUMNS_RENAMED,
}


class Index(NamedTuple):
    """A one-column index as the service (or a migration) created it."""

    name: str
    column: str
    desc: bool = False

    def ddl(self, table: str = TABLE) -> str:
        order = " DESC" if self.desc else ""
        return f"CREATE INDEX {self.name} ON {table}({self.column}{order})"


#: Named indexes of ``workflow_history`` before 006. All plain: in the real file
#: ``idx_workflow_history_workflow_id`` is NOT unique, so the foreign keys of the
#: other tables point at a non-unique parent key and SQLite reports them as a
#: "foreign key mismatch" (``PRAGMA foreign_key_check`` raises); the sample keeps that.
INDEXES_PRE_006: tuple[Index, ...] = (
    Index("idx_adw_id", "adw_id"),
    Index("idx_status", "status"),
    Index("idx_created_at", "created_at", True),
    Index("idx_issue_number", "issue_number"),
    Index("idx_model_used", "model_used"),
    Index("idx_workflow_template", "workflow_template"),
    Index("idx_submission_hour", "submission_hour"),
    Index("idx_submission_day_of_week", "submission_day_of_week"),
    Index("idx_pr_merged", "pr_merged"),
    Index("idx_cost_efficiency_score", "cost_efficiency_score"),
    Index("idx_performance_score", "performance_score"),
    Index("idx_quality_score", "quality_score"),
    Index("idx_workflow_history_workflow_type", "workflow_type"),
    Index("idx_workflow_history_parent_id", "parent_workflow_id"),
    Index("idx_workflow_history_input_hash", "input_hash"),
    Index("idx_workflow_history_workflow_id", "workflow_id"),
)
assert len(INDEXES_PRE_006) == 16


def _indexes_2025_11_27() -> tuple[Index, ...]:
    """The partial 005 dropped ``idx_submission_day_of_week`` and created two indexes."""
    kept = tuple(i for i in INDEXES_PRE_006 if i.name != "idx_submission_day_of_week")
    return (
        *kept,
        Index("idx_day_of_week", "day_of_week"),
        Index("idx_workflow_type", "workflow_type"),
    )


def _indexes_renamed() -> tuple[Index, ...]:
    """008 renames the columns and recreates their indexes under matching names."""
    kept = tuple(i for i in INDEXES_PRE_006 if i.column not in TEMPORAL_RENAMES)
    return (*kept, Index("idx_hour_of_day", "hour_of_day"), Index("idx_day_of_week", "day_of_week"))


INDEXES_BY_STATE: dict[str, tuple[Index, ...]] = {
    "pre-006": INDEXES_PRE_006,
    "post-006": INDEXES_PRE_006,
    "2025-11-27": _indexes_2025_11_27(),
    "renamed": _indexes_renamed(),
}


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (SQLite and DuckDB share the double-quote rule)."""
    return '"' + name.replace('"', '""') + '"'
