"""Facts and tunable constants of the sample: what real runs look like.

The numbers come from ``../shared/reference/workflow_history.md`` ("Real
magnitudes", the column notes); the distributions are the sample's own choice,
documented where they are defined.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

import numpy as np

DEFAULT_ROWS = 458
DEFAULT_SEED = 20251121
#: Zone of the writing host: ``start_time`` and the newer ``created_at`` values are
#: naive wall-clock stamps in this zone.
SOURCE_TZ = "America/Los_Angeles"

#: Six weeks of runs ending on the migration day (local wall clock of the host).
WINDOW_START_LOCAL = datetime(2025, 10, 10, 0, 0)
WINDOW_END_LOCAL = datetime(2025, 11, 21, 12, 0)
#: The 2025-11-27 state has six more days of runs.
WINDOW_END_2025_11_27 = datetime(2025, 11, 27, 12, 0)
#: Local time of the service's commit 87423d6: rows written from then on store the
#: weekday in ``day_of_week`` when the file has it, and never an hour (the column
#: ``hour_of_day`` they write to does not exist before wfhist's 008).
NEW_CODE_FROM_LOCAL = datetime(2025, 11, 21, 10, 5)

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
STATUS_P = (0.86, 0.09, 0.04, 0.01)

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
#: Hook events a workflow's session emits (the CHECK allows four more).
HOOK_EVENTS = ("PreToolUse", "PostToolUse", "UserPromptSubmit", "Stop", "SubagentStop")
SOURCE_APPS = ("main_adw", "build_adw", "test_adw")
#: operation_patterns: (signature, type, confidence, potential monthly savings USD);
#: the first two qualify for ``v_high_value_patterns`` (confidence >= 70, >= $0.50).
PATTERNS: tuple[tuple[str, str, float, float], ...] = (
    ("test:pytest:backend", "test", 86.0, 4.20),
    ("build:typecheck:frontend", "build", 74.5, 1.35),
    ("lint:ruff:backend", "lint", 62.0, 0.80),
    ("deploy:migrate:sqlite", "deploy", 48.0, 0.30),
    ("format:prettier:frontend", "format", 71.0, 0.25),
)
#: The ``optimization_type`` values cost_savings_log's CHECK allows.
SAVINGS = ("tool_call", "input_split", "pattern_offload", "inverted_flow")


Num = TypeVar("Num", float, np.ndarray)


def token_cost(input_tokens: Num, cache_write: Num, cache_read: Num, output_tokens: Num) -> Num:
    """USD for a run's token counts at :data:`PRICES_PER_MTOK` (works on numpy arrays too)."""
    p = PRICES_PER_MTOK
    return (
        input_tokens * p["input"]
        + cache_write * p["cache_write"]
        + cache_read * p["cache_read"]
        + output_tokens * p["output"]
    ) / 1e6


# --- request texts (nl_input) ----------------------------------------------------

ACTIONS = ("Add", "Fix", "Refactor", "Implement", "Improve", "Update", "Remove", "Migrate")
OBJECTS = (
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
DETAILS = (
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
