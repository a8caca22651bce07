"""Rows of the service's other tables, for the newest workflows of the sample.

Tool calls, hook events, pattern occurrences and cost savings reference real
``workflow_id``s of ``workflow_history``; ``adw_tools`` and ``operation_patterns``
hold the tools and patterns those rows name, with the statistics the service's
triggers would have kept (computed here: the triggers are created after the
rows, so no ``datetime('now')`` makes the file depend on when it was built).

Written with ``PRAGMA foreign_keys`` OFF, SQLite's default for a new connection:
the parent key ``workflow_history(workflow_id)`` is not unique in the real file,
so with foreign keys ON every write to a child table fails with "foreign key
mismatch" — on the real file the service's own writes would fail the same way.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from typing import Any

import numpy as np

from wfhist.demo.facts import HOOK_EVENTS, PATTERNS, PHASES, SAVINGS, SOURCE_APPS, TOOLS
from wfhist.demo.timeline import US, Plan, utc_space
from wfhist.schema import TABLE

Row = tuple[Any, ...]


def _stamp(us: int) -> str:
    """``datetime('now')``'s format for a microsecond instant."""
    return utc_space(np.array([us], dtype=np.int64))[0]


class _Rows:
    """The rows of each table, collected per workflow in time order."""

    def __init__(self) -> None:
        self.tool_calls: list[Row] = []
        self.hooks: list[Row] = []
        self.occurrences: list[Row] = []
        self.savings: list[Row] = []


def _tool_calls(rng: np.random.Generator, out: _Rows, wf_id: str, t: int) -> int:
    """3-8 tool calls of one workflow; returns the instant after the last one."""
    for _ in range(int(rng.integers(3, 9))):
        t += int(rng.integers(2, 300)) * US
        n = len(out.tool_calls) + 1
        tool = TOOLS[rng.integers(len(TOOLS))]
        duration = round(float(rng.uniform(0.05, 30.0)), 3)
        success = int(rng.random() > 0.03)
        saved = int(rng.integers(0, 4000)) if rng.random() < 0.2 else 0
        phase = PHASES[rng.integers(len(PHASES))]
        out.tool_calls.append(
            (
                f"tc-{n:08d}",
                wf_id,
                tool,
                json.dumps({"phase": phase}),
                _stamp(t),
                _stamp(t + int(duration * US)),
                duration,
                success,
                json.dumps({"ok": bool(success)}),
                None if success else f"{tool} failed: exit status 1",
                saved,
                round(saved * 3.0 / 1e6, 6),
                _stamp(t),
            )
        )
    return t


def _hooks(rng: np.random.Generator, out: _Rows, wf_id: str | None, t: int, session: str) -> int:
    """1-3 hook events (a workflow's, or a session's with ``wf_id`` None)."""
    for _ in range(int(rng.integers(1, 4))):
        t += int(rng.integers(1, 120)) * US
        event = HOOK_EVENTS[rng.integers(len(HOOK_EVENTS))] if wf_id else "SessionStart"
        processed = int(rng.random() < 0.7)
        out.hooks.append(
            (
                f"ev-{len(out.hooks) + 1:08d}",
                event,
                SOURCE_APPS[rng.integers(len(SOURCE_APPS))],
                session,
                wf_id,
                _stamp(t),
                json.dumps({"event": event, "session": session}),
                TOOLS[rng.integers(len(TOOLS))] if "ToolUse" in event else None,
                processed,
                _stamp(t + 60 * US) if processed else None,
                _stamp(t),
            )
        )
    return t


def _pattern_and_saving(rng: np.random.Generator, out: _Rows, wf_id: str, t: int) -> None:
    """Sometimes a detected pattern, sometimes a logged saving (tied to a tool call)."""
    pattern_id = None
    if rng.random() < 0.3:
        pattern_id = int(rng.integers(len(PATTERNS))) + 1
        similarity = round(float(rng.uniform(0.6, 1.0)), 3)
        out.occurrences.append(
            (pattern_id, wf_id, similarity, json.dumps({"similarity": similarity}), _stamp(t))
        )
    if rng.random() < 0.2:
        baseline = int(rng.integers(20_000, 200_000))
        actual = int(baseline * float(rng.uniform(0.5, 0.95)))
        call_id = out.tool_calls[-1][0] if out.tool_calls else None
        kind = SAVINGS[rng.integers(len(SAVINGS))]
        saved = baseline - actual
        out.savings.append(
            (kind, wf_id, call_id, pattern_id, baseline, actual, saved, round(saved * 3.0 / 1e6, 6),
             _stamp(t), f"{kind} on {wf_id}")
        )  # fmt: skip


def _generate(plan: Plan, workflows: list[tuple[str, int]]) -> _Rows:
    """The child rows of each (workflow_id, created instant), from one generator."""
    rng = np.random.default_rng([plan.seed, 2])
    out = _Rows()
    for k, (wf_id, created) in enumerate(workflows):
        session = f"sess-{plan.seed % 10_000:04d}-{k:05d}"
        t = _tool_calls(rng, out, wf_id, created)
        t = _hooks(rng, out, wf_id, t, session)
        _pattern_and_saving(rng, out, wf_id, t)
    for k, (_, created) in enumerate(workflows[:5]):  # events of no workflow
        _hooks(rng, out, None, created, f"sess-{plan.seed % 10_000:04d}-idle{k}")
    return out


#: When 004 created the tool registry (its migration record's time).
_TOOLS_CREATED = "2025-11-14 19:40:51"


def _tool_rows(calls: list[Row]) -> list[Row]:
    """adw_tools with the statistics the triggers keep (invocations, last call, rate)."""
    by_tool: dict[str, list[Row]] = defaultdict(list)
    for call in calls:
        by_tool[call[2]].append(call)
    rows = []
    for tool in TOOLS:
        mine = by_tool.get(tool, [])
        rate = sum(c[7] for c in mine) / len(mine) if mine else 1.0
        last = max((c[4] for c in mine), default=None)
        avg = round(sum(c[6] for c in mine) / len(mine), 3) if mine else 0.0
        schema = json.dumps({"type": "object", "properties": {"path": {"type": "string"}}})
        rows.append(
            (tool, f"The {tool} tool", schema, f"tools/{tool.lower()}.py", avg, rate,
             len(mine), last, _TOOLS_CREATED, last or _TOOLS_CREATED)
        )  # fmt: skip
    return rows


def _pattern_rows(occurrences: list[Row]) -> list[Row]:
    """operation_patterns with their occurrence counts and first/last detection."""
    seen: dict[int, list[str]] = defaultdict(list)
    for pattern_id, _, _, _, at in occurrences:
        seen[pattern_id].append(at)
    rows = []
    for k, (signature, kind, confidence, savings) in enumerate(PATTERNS, start=1):
        stamps = sorted(seen.get(k, [])) or [_TOOLS_CREATED]
        status = "candidate" if confidence >= 70 else "detected"
        rows.append(
            (signature, kind, stamps[0], stamps[-1], len(seen.get(k, [])) or 1, confidence,
             savings, status, stamps[0], stamps[-1])
        )  # fmt: skip
    return rows


_INSERTS = {
    "adw_tools": "tool_name, description, tool_schema, script_path, avg_duration_seconds,"
    " success_rate, total_invocations, last_invoked, created_at, updated_at",
    "operation_patterns": "pattern_signature, pattern_type, first_detected, last_seen,"
    " occurrence_count, confidence_score, potential_monthly_savings, automation_status,"
    " created_at, updated_at",
    "tool_calls": "tool_call_id, workflow_id, tool_name, tool_params, called_at, completed_at,"
    " duration_seconds, success, result_data, error_message, tokens_saved, cost_saved_usd,"
    " created_at",
    "hook_events": "event_id, event_type, source_app, session_id, workflow_id, timestamp,"
    " payload, tool_name, processed, processed_at, created_at",
    "pattern_occurrences": "pattern_id, workflow_id, similarity_score, matched_characteristics,"
    " detected_at",
    "cost_savings_log": "optimization_type, workflow_id, tool_call_id, pattern_id,"
    " baseline_tokens, actual_tokens, tokens_saved, cost_saved_usd, saved_at, notes",
}


def insert_related(con: sqlite3.Connection, plan: Plan) -> None:
    """Fill the other tables for the newest workflows (``foreign_keys`` must be OFF)."""
    ids = con.execute(
        f"SELECT workflow_id FROM {TABLE} WHERE id > ? ORDER BY id", (plan.related_from,)
    ).fetchall()
    created = plan.utc_us[plan.related_from :].tolist()
    rows = _generate(plan, [(wf, us) for (wf,), us in zip(ids, created, strict=True)])
    tables = {
        "adw_tools": _tool_rows(rows.tool_calls),
        "operation_patterns": _pattern_rows(rows.occurrences),
        "tool_calls": rows.tool_calls,
        "hook_events": rows.hooks,
        "pattern_occurrences": rows.occurrences,
        "cost_savings_log": rows.savings,
    }
    for table, data in tables.items():
        columns = _INSERTS[table]
        marks = ", ".join("?" * len(columns.split(",")))
        con.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", data)
