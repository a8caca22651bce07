"""The rest of the real file: the service's other tables, views, triggers and records.

Any tool that backs up, migrates or verifies the file must carry all of it; the
sample generator writes it from here. Facts from "The rest of the real file" of
``../shared/reference/workflow_history.md``; names of indexes as the service
created them.
"""

from __future__ import annotations

from wfhist.schema.history import COLUMNS_PRE_006, SCORING_VERSION, Index

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


def table_ddl(name: str) -> str:
    """CREATE TABLE of one of the other tables."""
    return _archive_ddl() if name == ARCHIVE_TABLE else OTHER_TABLES_DDL[name]


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
