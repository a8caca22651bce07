"""The shape of the real ``workflow_history`` database file, as data.

Everything that needs to know what the service's file looks like — the sample
generator, status, the migration runner's baseline detection, ``check_schema``
and the reader — takes it from here, so there is exactly one description of each
state the real file has been in (``../shared/reference/workflow_history.md``):
the table in every state, its indexes, the service's other tables, views and
triggers, and the service's own ``schema_migrations`` records.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from wfhist.exceptions import SchemaError

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

# --- the rest of the real file -------------------------------------------------------

_NOW = "DEFAULT (datetime('now'))"

#: The service's other tables (name -> CREATE TABLE), in the order the service
#: created them. Constraints, CHECKs and foreign keys as in the real file; the
#: children of ``workflow_history(workflow_id)`` reference a non-unique column.
OTHER_TABLES_DDL: dict[str, str] = {
    "schema_migrations": f"""CREATE TABLE schema_migrations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    migration_file TEXT UNIQUE NOT NULL,
    applied_at TEXT {_NOW},
    checksum TEXT
)""",
    "tool_calls": f"""CREATE TABLE tool_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tool_call_id TEXT UNIQUE NOT NULL,
    workflow_id TEXT NOT NULL,
    tool_name TEXT NOT NULL,
    tool_params TEXT,
    called_at TEXT {_NOW},
    completed_at TEXT,
    duration_seconds REAL,
    success INTEGER DEFAULT 0,
    result_data TEXT,
    error_message TEXT,
    tokens_saved INTEGER DEFAULT 0,
    cost_saved_usd REAL DEFAULT 0.0,
    pre_tool_snapshot TEXT,
    post_tool_snapshot TEXT,
    created_at TEXT {_NOW},
    FOREIGN KEY (workflow_id) REFERENCES workflow_history(workflow_id)
)""",
    "operation_patterns": f"""CREATE TABLE operation_patterns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pattern_signature TEXT UNIQUE NOT NULL,
    pattern_type TEXT NOT NULL,
    first_detected TEXT {_NOW},
    last_seen TEXT {_NOW},
    occurrence_count INTEGER DEFAULT 1,
    typical_input_pattern TEXT,
    typical_operations TEXT,
    typical_files_accessed TEXT,
    avg_tokens_with_llm INTEGER DEFAULT 0,
    avg_cost_with_llm REAL DEFAULT 0.0,
    avg_tokens_with_tool INTEGER DEFAULT 0,
    avg_cost_with_tool REAL DEFAULT 0.0,
    potential_monthly_savings REAL DEFAULT 0.0,
    automation_status TEXT DEFAULT 'detected' CHECK(
        automation_status IN
        ('detected', 'candidate', 'approved', 'implemented', 'active', 'deprecated')
    ),
    confidence_score REAL DEFAULT 0.0,
    tool_name TEXT,
    tool_script_path TEXT,
    reviewed_by TEXT,
    reviewed_at TEXT,
    review_notes TEXT,
    created_at TEXT {_NOW},
    updated_at TEXT {_NOW}
)""",
    "pattern_occurrences": f"""CREATE TABLE pattern_occurrences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pattern_id INTEGER NOT NULL,
    workflow_id TEXT NOT NULL,
    similarity_score REAL DEFAULT 0.0,
    matched_characteristics TEXT,
    detected_at TEXT {_NOW},
    FOREIGN KEY (pattern_id) REFERENCES operation_patterns(id),
    FOREIGN KEY (workflow_id) REFERENCES workflow_history(workflow_id)
)""",
    "hook_events": f"""CREATE TABLE hook_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT UNIQUE NOT NULL,
    event_type TEXT NOT NULL CHECK(
        event_type IN ('PreToolUse', 'PostToolUse', 'UserPromptSubmit', 'Stop',
                       'SubagentStop', 'PreCompact', 'SessionStart', 'SessionEnd', 'Notification')
    ),
    source_app TEXT,
    session_id TEXT,
    workflow_id TEXT,
    timestamp TEXT {_NOW},
    payload TEXT NOT NULL,
    tool_name TEXT,
    chat_history TEXT,
    processed INTEGER DEFAULT 0,
    processed_at TEXT,
    created_at TEXT {_NOW},
    FOREIGN KEY (workflow_id) REFERENCES workflow_history(workflow_id)
)""",
    "adw_tools": f"""CREATE TABLE adw_tools (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tool_name TEXT UNIQUE NOT NULL,
    description TEXT NOT NULL,
    tool_schema TEXT NOT NULL,
    script_path TEXT NOT NULL,
    input_patterns TEXT,
    output_format TEXT,
    avg_duration_seconds REAL DEFAULT 0.0,
    avg_tokens_consumed INTEGER DEFAULT 0,
    avg_cost_usd REAL DEFAULT 0.0,
    success_rate REAL DEFAULT 1.0,
    total_invocations INTEGER DEFAULT 0,
    last_invoked TEXT,
    status TEXT DEFAULT 'active' CHECK(status IN ('active', 'deprecated', 'experimental')),
    created_at TEXT {_NOW},
    updated_at TEXT {_NOW}
)""",
    "cost_savings_log": f"""CREATE TABLE cost_savings_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    optimization_type TEXT NOT NULL CHECK(
        optimization_type IN ('tool_call', 'input_split', 'pattern_offload', 'inverted_flow')
    ),
    workflow_id TEXT NOT NULL,
    tool_call_id TEXT,
    pattern_id INTEGER,
    baseline_tokens INTEGER DEFAULT 0,
    actual_tokens INTEGER DEFAULT 0,
    tokens_saved INTEGER DEFAULT 0,
    cost_saved_usd REAL DEFAULT 0.0,
    saved_at TEXT {_NOW},
    notes TEXT,
    FOREIGN KEY (workflow_id) REFERENCES workflow_history(workflow_id),
    FOREIGN KEY (tool_call_id) REFERENCES tool_calls(tool_call_id),
    FOREIGN KEY (pattern_id) REFERENCES operation_patterns(id)
)""",
}

#: ``workflow_history_archive`` (added after the migration day, so only in the
#: 2025-11-27 state): id, original_id, 48 columns of the history table (the
#: temporal ones under their canonical names, DEFAULT -1), archived_at, archive_reason.
ARCHIVE_TABLE = "workflow_history_archive"


def _archive_ddl() -> str:
    """Its columns, in the order of the service's DDL (status keeps its CHECK)."""
    by_name = {c.name: c for c in COLUMNS_PRE_006}
    first = [c.name for c in COLUMNS_PRE_006[1:38]]  # adw_id .. steps_total
    cols = [
        "id INTEGER PRIMARY KEY AUTOINCREMENT",
        "original_id INTEGER NOT NULL",
        *(by_name[n].ddl() for n in first),
        "hour_of_day INTEGER DEFAULT -1",
        "day_of_week INTEGER DEFAULT -1",
        *(
            f"{n} REAL DEFAULT 0.0"
            for n in (
                "nl_input_clarity_score",
                "cost_efficiency_score",
                "performance_score",
                "quality_score",
            )
        ),
        SCORING_VERSION.ddl(),
        "anomaly_flags TEXT",
        "optimization_recommendations TEXT",
        "created_at TEXT NOT NULL",
        "updated_at TEXT NOT NULL",
        "archived_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP",
        "archive_reason TEXT",
    ]
    body = ",\n    ".join(cols)
    return f"CREATE TABLE {ARCHIVE_TABLE} (\n    {body}\n)"


#: Indexes of the other tables (table -> named indexes; UNIQUE columns add
#: SQLite's automatic indexes on top).
OTHER_INDEXES: dict[str, tuple[Index, ...]] = {
    "tool_calls": (
        Index("idx_tool_calls_workflow", "workflow_id"),
        Index("idx_tool_calls_tool_name", "tool_name"),
        Index("idx_tool_calls_called_at", "called_at"),
        Index("idx_tool_calls_success", "success"),
    ),
    "operation_patterns": (
        Index("idx_operation_patterns_type", "pattern_type"),
        Index("idx_operation_patterns_status", "automation_status"),
        Index("idx_operation_patterns_confidence", "confidence_score"),
        Index("idx_operation_patterns_occurrence", "occurrence_count"),
    ),
    "pattern_occurrences": (
        Index("idx_pattern_occurrences_pattern", "pattern_id"),
        Index("idx_pattern_occurrences_workflow", "workflow_id"),
        Index("idx_pattern_occurrences_detected", "detected_at"),
    ),
    "hook_events": (
        Index("idx_hook_events_type", "event_type"),
        Index("idx_hook_events_session", "session_id"),
        Index("idx_hook_events_workflow", "workflow_id"),
        Index("idx_hook_events_processed", "processed"),
        Index("idx_hook_events_timestamp", "timestamp"),
        Index("idx_hook_events_source_app", "source_app"),
    ),
    "adw_tools": (
        Index("idx_adw_tools_name", "tool_name"),
        Index("idx_adw_tools_status", "status"),
    ),
    "cost_savings_log": (
        Index("idx_cost_savings_type", "optimization_type"),
        Index("idx_cost_savings_workflow", "workflow_id"),
        Index("idx_cost_savings_saved_at", "saved_at"),
    ),
    ARCHIVE_TABLE: (
        Index("idx_archive_issue_number", "issue_number"),
        Index("idx_archive_adw_id", "adw_id"),
        Index("idx_archive_archived_at", "archived_at", True),
    ),
}

#: Tables whose ``workflow_id`` references ``workflow_history(workflow_id)``.
RELATED_TABLES = ("tool_calls", "pattern_occurrences", "hook_events", "cost_savings_log")


def other_tables(state: str) -> tuple[str, ...]:
    """Names of the tables besides ``workflow_history`` a file in ``state`` has."""
    names = tuple(OTHER_TABLES_DDL)
    return (*names, ARCHIVE_TABLE) if state == "2025-11-27" else names


VIEWS: dict[str, str] = {
    "v_high_value_patterns": """CREATE VIEW v_high_value_patterns AS
SELECT
    p.*,
    p.potential_monthly_savings * 12 AS annual_savings_usd,
    (SELECT COUNT(*) FROM pattern_occurrences po WHERE po.pattern_id = p.id) AS total_occurrences
FROM operation_patterns p
WHERE p.automation_status IN ('detected', 'candidate')
AND p.confidence_score >= 70
AND p.potential_monthly_savings >= 0.50
ORDER BY p.potential_monthly_savings DESC""",
    "v_tool_performance": """CREATE VIEW v_tool_performance AS
SELECT
    t.tool_name,
    t.total_invocations,
    t.success_rate * 100 AS success_rate_percent,
    t.avg_duration_seconds,
    t.avg_cost_usd,
    (SELECT COUNT(*) FROM tool_calls tc
     WHERE tc.tool_name = t.tool_name AND tc.success = 1) AS successful_calls,
    (SELECT COUNT(*) FROM tool_calls tc
     WHERE tc.tool_name = t.tool_name AND tc.success = 0) AS failed_calls,
    (SELECT SUM(cost_saved_usd) FROM tool_calls tc
     WHERE tc.tool_name = t.tool_name) AS total_cost_saved
FROM adw_tools t
WHERE t.status = 'active'
ORDER BY t.total_invocations DESC""",
    "v_cost_savings_summary": """CREATE VIEW v_cost_savings_summary AS
SELECT
    optimization_type,
    COUNT(*) AS optimization_count,
    SUM(tokens_saved) AS total_tokens_saved,
    SUM(cost_saved_usd) AS total_cost_saved_usd,
    AVG(cost_saved_usd) AS avg_cost_saved_per_use,
    MIN(saved_at) AS first_saving,
    MAX(saved_at) AS latest_saving
FROM cost_savings_log
GROUP BY optimization_type
ORDER BY total_cost_saved_usd DESC""",
    "v_hook_events_daily": """CREATE VIEW v_hook_events_daily AS
SELECT
    DATE(timestamp) AS event_date,
    event_type,
    source_app,
    COUNT(*) AS event_count,
    SUM(CASE WHEN processed = 1 THEN 1 ELSE 0 END) AS processed_count,
    SUM(CASE WHEN processed = 0 THEN 1 ELSE 0 END) AS pending_count
FROM hook_events
GROUP BY DATE(timestamp), event_type, source_app
ORDER BY event_date DESC, event_count DESC""",
}

#: name -> (table it is on, CREATE TRIGGER).
TRIGGERS: dict[str, tuple[str, str]] = {
    "trigger_update_pattern_timestamp": (
        "operation_patterns",
        """CREATE TRIGGER trigger_update_pattern_timestamp
AFTER UPDATE ON operation_patterns
FOR EACH ROW
BEGIN
    UPDATE operation_patterns SET updated_at = datetime('now') WHERE id = NEW.id;
END""",
    ),
    "trigger_update_tool_timestamp": (
        "adw_tools",
        """CREATE TRIGGER trigger_update_tool_timestamp
AFTER UPDATE ON adw_tools
FOR EACH ROW
BEGIN
    UPDATE adw_tools SET updated_at = datetime('now') WHERE id = NEW.id;
END""",
    ),
    "trigger_increment_tool_invocations": (
        "tool_calls",
        """CREATE TRIGGER trigger_increment_tool_invocations
AFTER INSERT ON tool_calls
FOR EACH ROW
BEGIN
    UPDATE adw_tools
    SET total_invocations = total_invocations + 1, last_invoked = datetime('now')
    WHERE tool_name = NEW.tool_name;
END""",
    ),
    "trigger_update_tool_success_rate": (
        "tool_calls",
        """CREATE TRIGGER trigger_update_tool_success_rate
AFTER UPDATE OF success ON tool_calls
FOR EACH ROW
WHEN NEW.success IS NOT NULL
BEGIN
    UPDATE adw_tools
    SET success_rate = (
        SELECT CAST(SUM(CASE WHEN success = 1 THEN 1 ELSE 0 END) AS REAL) / COUNT(*)
        FROM tool_calls
        WHERE tool_name = NEW.tool_name
    )
    WHERE tool_name = NEW.tool_name;
END""",
    ),
}

#: The service's own migration runner's records (``schema_migrations``), per
#: state: (file, applied_at in UTC as ``datetime('now')`` writes it); checksum is
#: never filled. Its 001 is not a file (the base schema is created by code); its
#: 005 failed at statement 6 and was never recorded. wfhist's own 006-008 live in
#: ``wfhist_migrations``, not here.
_SERVICE_MIGRATIONS = (
    ("002_add_performance_metrics.sql", "2025-10-08 21:14:02"),
    ("003_add_analytics_metrics.sql", "2025-10-08 21:14:02"),
    ("004_add_observability_and_pattern_learning.sql", "2025-11-14 19:40:51"),
)
_SERVICE_006 = ("006_add_scoring_version.sql", "2025-11-21 18:31:07")
SERVICE_MIGRATIONS_BY_STATE: dict[str, tuple[tuple[str, str], ...]] = {
    "pre-006": _SERVICE_MIGRATIONS,
    "post-006": (*_SERVICE_MIGRATIONS, _SERVICE_006),
    "2025-11-27": (*_SERVICE_MIGRATIONS, _SERVICE_006),
    # 008 is wfhist's: the renamed file has the post-006 records, nothing more.
    "renamed": (*_SERVICE_MIGRATIONS, _SERVICE_006),
}


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (SQLite and DuckDB share the double-quote rule)."""
    return '"' + name.replace('"', '""') + '"'


# --- DDL of a state --------------------------------------------------------------------


def _check_state(state: str) -> None:
    if state not in COLUMNS_BY_STATE:
        raise SchemaError(f"unknown schema state {state!r}; use one of {', '.join(STATES)}")


def create_table_sql(columns: tuple[Column, ...] = COLUMNS_PRE_006) -> str:
    body = ",\n    ".join(c.ddl() for c in columns)
    return f"CREATE TABLE {TABLE} (\n    {body}\n)"


def history_table_statements(state: str = "pre-006") -> list[str]:
    """``workflow_history`` of ``state`` the way it came to be: the pre-006 CREATE
    then the ALTERs that followed, so ``sqlite_master`` holds the same text a real
    file in that state holds (ADD COLUMN appends, RENAME COLUMN rewrites in place)."""
    _check_state(state)
    out = [create_table_sql(COLUMNS_PRE_006)]
    later = COLUMNS_2025_11_27 if state == "2025-11-27" else COLUMNS_POST_006
    if state != "pre-006":
        out += [f"ALTER TABLE {TABLE} ADD COLUMN {c.ddl()}" for c in later[69:]]
    if state == "renamed":
        out += [
            f"ALTER TABLE {TABLE} RENAME COLUMN {quote_ident(old)} TO {quote_ident(new)}"
            for old, new in TEMPORAL_RENAMES.items()
        ]
    return out


def create_indexes_sql(state: str = "pre-006") -> list[str]:
    """The named indexes of ``workflow_history`` in ``state``."""
    _check_state(state)
    return [i.ddl() for i in INDEXES_BY_STATE[state]]


def other_tables_statements(state: str = "pre-006") -> list[str]:
    """CREATE TABLE and CREATE INDEX of every other table of ``state``."""
    _check_state(state)
    out = []
    for name in other_tables(state):
        out.append(_archive_ddl() if name == ARCHIVE_TABLE else OTHER_TABLES_DDL[name])
        out += [i.ddl(name) for i in OTHER_INDEXES.get(name, ())]
    return out


def schema_statements(state: str = "pre-006") -> list[str]:
    """Every statement that creates an empty file in ``state``: tables, indexes, views,
    triggers (the service's ``schema_migrations`` rows are data, not schema)."""
    return [
        *history_table_statements(state),
        *create_indexes_sql(state),
        *other_tables_statements(state),
        *VIEWS.values(),
        *(sql for _, sql in TRIGGERS.values()),
    ]


# --- shape detection ---------------------------------------------------------


def column_names(con: sqlite3.Connection, table: str = TABLE) -> list[str]:
    rows = con.execute("SELECT name FROM pragma_table_info(?)", (table,)).fetchall()
    return [r[0] for r in rows]


EXPECTED_BY_STATE: dict[str, list[str]] = {
    state: [c.name for c in columns] for state, columns in COLUMNS_BY_STATE.items()
}


def classify_columns(names: list[str]) -> str:
    """Name the state a column list is in: one of :data:`STATES`, or ``unknown``.

    ``2025-11-27`` is post-006 plus ``phase_number``, ``is_multi_phase`` and the
    ``day_of_week`` of the partial 005; ``renamed`` is post-006 after migration
    008 (temporal columns under their canonical names). Decided from the exact
    column set, never guessed.
    """
    have = set(names)
    for state, expected in EXPECTED_BY_STATE.items():
        if have == set(expected):
            return state
    return "unknown"


def shape_differences(names: list[str], expected: list[str]) -> tuple[list[str], list[str]]:
    """(missing, extra) column names of ``names`` against ``expected``, in table order."""
    have = set(names)
    want = set(expected)
    return [n for n in expected if n not in have], [n for n in names if n not in want]


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
