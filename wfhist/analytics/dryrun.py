"""A dry run's own tables: what each statement did and what each runner would leave behind.

A migration file can be run three ways -- in wfhist's single transaction,
statement by statement stopping at the first error (no transaction), or with
errors ignored (``sqlite3 db < file.sql``) -- and each leaves a different
file. :func:`wfhist.plan.plan_migration` tries them on copies; these tables say
what each would lose, in the verdict line's words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from wfhist.analytics.verification import failed_checks, loss_text


def plan_outcomes_table(doc: Mapping[str, Any]) -> pd.DataFrame:
    """For a dry run: what each way of running the file would leave behind."""
    if doc.get("mode") != "plan":
        return pd.DataFrame(columns=["runner", "outcome", "verdict"])
    rows: list[dict[str, Any]] = []
    err = doc.get("error")
    if err:
        n = err.get("statement_number")
        rows.append(
            {
                "runner": "one transaction (wfhist migrate)",
                "outcome": f"error at statement {n}: {err.get('message')}; everything rolls back",
                "verdict": "unchanged",
            }
        )
        partial = doc.get("partial")
        rows.append(
            {
                "runner": "statement by statement, stops at the error",
                "outcome": _outcome(partial) if partial else "nothing ran before the error",
                "verdict": partial.get("verdict") if partial else "unchanged",
            }
        )
        keep = doc.get("keep_going")
        if keep:
            errors = ", ".join(f"#{e['statement_number']}" for e in keep.get("errors", []))
            rows.append(
                {
                    "runner": "every statement, errors ignored (sqlite3 db < file.sql)",
                    "outcome": f"errors at {errors or 'none'}; " + _outcome(keep["verification"]),
                    "verdict": keep["verification"].get("verdict"),
                }
            )
    else:
        v = doc.get("verification") or {}
        rows.append(  # one row per runner: outcome text and verdict
            {
                "runner": "one transaction (wfhist migrate)",
                "outcome": "applies; " + _outcome(v),
                "verdict": v.get("verdict"),
            }
        )
    return pd.DataFrame(rows, columns=["runner", "outcome", "verdict"])


def _outcome(state: Mapping[str, Any]) -> str:
    """What a verified state lost, in the verdict line's words, plus its warnings."""
    lost = "; ".join(loss_text(c) for c in failed_checks(state)) or "no value lost"
    warned = [c["name"] for c in state.get("checks", []) if c["status"] == "WARN"]
    return lost + (f" (warnings: {', '.join(warned)})" if warned else "")


def statements_table(doc: Mapping[str, Any]) -> pd.DataFrame:
    """For a dry run: what each statement did, as SQLite's authorizer reported it."""
    actions = doc.get("actions") or []
    if not actions:
        return pd.DataFrame(columns=["statement", "actions"])
    grouped: dict[int, list[str]] = {}
    for a in actions:
        grouped.setdefault(int(a["statement"]), []).append(f"{a['action']} {a['object']}")
    err = doc.get("error") or {}
    rows = [{"statement": n, "actions": ", ".join(v)} for n, v in sorted(grouped.items())]
    if err.get("statement_number") and err["statement_number"] not in grouped:
        rows.append(
            {"statement": err["statement_number"], "actions": f"ERROR: {err.get('message')}"}
        )
    return pd.DataFrame(rows).set_index("statement")


def destructive_statements(doc: Mapping[str, Any]) -> pd.DataFrame:
    """The statements of a dry run that drop, alter or delete (``plan.DESTRUCTIVE``)."""
    from wfhist.plan import DESTRUCTIVE

    numbers = {int(a["statement"]) for a in doc.get("actions") or [] if a["action"] in DESTRUCTIVE}
    table = statements_table(doc)
    return table[table.index.isin(numbers)] if len(table) else table
