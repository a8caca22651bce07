"""The shape of the real ``workflow_history`` database, as data.

Everything that needs to know what the service's table looks like — the sample
generator, the migration runner's baseline detection, ``check_schema`` and the
reader — takes it from here, so there is exactly one description of the
69-column pre-006 table (``../shared/reference/workflow_history.md``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from wfhist.exceptions import SchemaError

TABLE = "workflow_history"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    constraint: str = ""  # DEFAULT / NOT NULL / CHECK ... as written in the DDL

    def ddl(self) -> str:
        return f"{quote_ident(self.name)} {self.type} {self.constraint}".strip()


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

#: Named indexes of the pre-006 table: (name, column, descending).
#: ``idx_workflow_history_workflow_id`` is UNIQUE in the sample: SQLite only
#: enforces (and ``foreign_key_check`` only accepts) a foreign key whose parent
#: key is unique, and the related tables reference ``workflow_id``.
INDEXES_PRE_006: tuple[tuple[str, str, bool], ...] = (
    ("idx_adw_id", "adw_id", False),
    ("idx_status", "status", False),
    ("idx_created_at", "created_at", True),
    ("idx_issue_number", "issue_number", False),
    ("idx_model_used", "model_used", False),
    ("idx_workflow_template", "workflow_template", False),
    ("idx_submission_hour", "submission_hour", False),
    ("idx_submission_day_of_week", "submission_day_of_week", False),
    ("idx_pr_merged", "pr_merged", False),
    ("idx_cost_efficiency_score", "cost_efficiency_score", False),
    ("idx_performance_score", "performance_score", False),
    ("idx_quality_score", "quality_score", False),
    ("idx_workflow_history_workflow_type", "workflow_type", False),
    ("idx_workflow_history_parent_id", "parent_workflow_id", False),
    ("idx_workflow_history_input_hash", "input_hash", False),
    ("idx_workflow_history_workflow_id", "workflow_id", False),
)
UNIQUE_INDEXES = frozenset({"idx_workflow_history_workflow_id"})
assert len(INDEXES_PRE_006) == 16

#: Other tables of the same file that reference ``workflow_history(workflow_id)``.
RELATED_TABLES_DDL: tuple[str, ...] = (
    """CREATE TABLE tool_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id TEXT NOT NULL REFERENCES workflow_history(workflow_id),
    tool_name TEXT NOT NULL,
    phase TEXT,
    duration_ms INTEGER,
    success INTEGER DEFAULT 1,
    called_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)""",
    """CREATE TABLE hook_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id TEXT REFERENCES workflow_history(workflow_id),
    event_type TEXT NOT NULL,
    payload TEXT,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)""",
    """CREATE TABLE pattern_occurrences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pattern_id TEXT NOT NULL,
    workflow_id TEXT NOT NULL REFERENCES workflow_history(workflow_id),
    similarity_score REAL,
    detected_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)""",
    """CREATE TABLE cost_savings_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id TEXT REFERENCES workflow_history(workflow_id),
    optimization_type TEXT NOT NULL,
    baseline_cost REAL,
    actual_cost REAL,
    saved_usd REAL,
    recorded_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)""",
)
RELATED_TABLES = ("tool_calls", "hook_events", "pattern_occurrences", "cost_savings_log")


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (SQLite and DuckDB share the double-quote rule)."""
    return '"' + name.replace('"', '""') + '"'


def create_table_sql(columns: tuple[Column, ...] = COLUMNS_PRE_006) -> str:
    body = ",\n    ".join(c.ddl() for c in columns)
    return f"CREATE TABLE {TABLE} (\n    {body}\n)"


def create_indexes_sql() -> list[str]:
    out = []
    for name, column, desc in INDEXES_PRE_006:
        unique = "UNIQUE " if name in UNIQUE_INDEXES else ""
        order = " DESC" if desc else ""
        out.append(
            f"CREATE {unique}INDEX {quote_ident(name)} ON {TABLE}({quote_ident(column)}{order})"
        )
    return out


def schema_statements() -> list[str]:
    """Every statement that creates the pre-006 file (table, indexes, related tables)."""
    return [create_table_sql(), *create_indexes_sql(), *RELATED_TABLES_DDL]


# --- shape detection ---------------------------------------------------------

SCHEMA_STATES = ("pre-006", "post-006", "renamed", "unknown")


def column_names(con: sqlite3.Connection, table: str = TABLE) -> list[str]:
    rows = con.execute("SELECT name FROM pragma_table_info(?)", (table,)).fetchall()
    return [r[0] for r in rows]


def classify_columns(names: list[str]) -> str:
    """Name the schema state a column list is in: pre-006, post-006, renamed or unknown.

    ``renamed`` is the post-006 table after migration 008 (temporal columns under
    their canonical names). Decided from the exact column set, never guessed.
    """
    have = set(names)
    pre = {c.name for c in COLUMNS_PRE_006}
    post = pre | {SCORING_VERSION.name}
    renamed = (post - set(STORED_TEMPORAL)) | set(CANONICAL_TEMPORAL)
    if have == pre:
        return "pre-006"
    if have == post:
        return "post-006"
    if have == renamed:
        return "renamed"
    return "unknown"


def shape_differences(names: list[str], expected: list[str]) -> tuple[list[str], list[str]]:
    """(missing, extra) column names of ``names`` against ``expected``, in table order."""
    have = set(names)
    want = set(expected)
    return [n for n in expected if n not in have], [n for n in names if n not in want]


EXPECTED_BY_STATE = {
    "pre-006": [c.name for c in COLUMNS_PRE_006],
    "post-006": [c.name for c in COLUMNS_POST_006],
    "renamed": [TEMPORAL_RENAMES.get(c.name, c.name) for c in COLUMNS_POST_006],
}


def check_schema(path: str | Path, expected: str | list[str] | None = None) -> str:
    """Fail fast when ``path``'s table is not a shape wfhist knows.

    ``expected`` is a state name (``pre-006``, ``post-006``, ``renamed``), a list
    of column names, or ``None`` (any known state). Returns the detected state.
    Raises :class:`SchemaError` listing missing and extra columns and the
    version recorded in the file, so an operator sees at once what differs.
    """
    from wfhist.files import open_sqlite_readonly

    with open_sqlite_readonly(path) as con:
        names = column_names(con)
        if not names:
            raise SchemaError(f"{path}: no table {TABLE!r}; is this a workflow history database?")
        user_version = con.execute("PRAGMA user_version").fetchone()[0]
    state = classify_columns(names)
    if expected is None:
        if state != "unknown":
            return state
        candidates = list(EXPECTED_BY_STATE.items())
    elif isinstance(expected, str):
        if expected not in EXPECTED_BY_STATE:
            raise SchemaError(
                f"unknown expected schema {expected!r}; use one of {', '.join(EXPECTED_BY_STATE)}"
            )
        if state == expected:
            return state
        candidates = [(expected, EXPECTED_BY_STATE[expected])]
    else:
        if set(names) == set(expected):
            return state
        candidates = [("expected", list(expected))]
    # report against the closest known shape
    best_name, best = min(candidates, key=lambda kv: sum(map(len, shape_differences(names, kv[1]))))
    missing, extra = shape_differences(names, best)
    raise SchemaError(
        f"{path}: {TABLE} does not match the {best_name} schema "
        f"(user_version {user_version}): missing columns "
        f"[{', '.join(missing) or '-'}], extra columns [{', '.join(extra) or '-'}]"
    )
