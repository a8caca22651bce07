"""The numbers behind the report notebooks, as plain DataFrames and dicts.

Notebooks hold narrative, tables and figures; everything they compute comes
from here, so it is tested like any other code and a notebook cell stays one
readable line. Three groups:

* **verification** -- run :func:`wfhist.verify.verify` (a done migration:
  backup vs. migrated file) or :func:`wfhist.plan.plan_migration` (a dry run of
  a migration file) and cut the result into the tables a reader scans: files,
  checks, schema diff, per-column value preservation, added-column fill,
  index diff, integrity;
* **temporal** -- hour x weekday counts (Monday first, as the service's
  ``weekday()`` numbers them), success rate with too-thin cells masked instead
  of shown as 0 %, median cost and duration by hour, runs per day;
* **scoring versions** -- rows per ``scoring_version`` (NULL = rows written
  before migration 006), score distributions, the shift of medians against a
  baseline version with seeded bootstrap confidence intervals, and the rows
  whose scores are missing or outside 0-100.

Hours, weekdays and days are in the zone the history view was opened with
(``wfhist.connect(..., tz=...)``); every function that places runs in time
says so through its ``tz`` argument or the frame it is given.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wfhist.exceptions import UsageError

#: Weekday labels in the service's numbering: Monday = 0 ... Sunday = 6.
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOURS = tuple(range(24))
#: Scores the service computes at insert time, each on a 0-100 scale.
SCORE_COLUMNS = (
    "nl_input_clarity_score",
    "cost_efficiency_score",
    "performance_score",
    "quality_score",
)
SCORE_RANGE = (0.0, 100.0)
#: How rows without a ``scoring_version`` (written before migration 006) are labelled.
BEFORE_006 = "before 006"
#: Finished runs: the only ones whose success is decided.
FINISHED = ("completed", "failed")


# --- parameters ---------------------------------------------------------------------


def optional(value: Any) -> Any:
    """``''`` and ``None`` mean "not given": notebook parameters cannot default to None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def parse_renames(value: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``"old=new,old2=new2"`` (or ``old:new``, or a dict) as a rename mapping; ``''`` is None.

    None lets verification read the renames the migration runner recorded; a
    rename is never guessed, so a typo here must be an error, not a silent skip.
    ``old:new`` exists because papermill cannot document a parameter whose help
    text contains ``=``.
    """
    if isinstance(value, Mapping):
        return dict(value)
    if optional(value) is None:
        return None
    out: dict[str, str] = {}
    for part in str(value).split(","):
        old, sep, new = part.partition("=" if "=" in part else ":")
        if not sep or not old.strip() or not new.strip():
            raise UsageError(
                f"renames={value!r}: {part.strip()!r} is not OLD=NEW (or OLD:NEW); write e.g. "
                "'submission_hour=hour_of_day,submission_day_of_week=day_of_week'"
            )
        out[old.strip()] = new.strip()
    return out


def parse_list(value: str | Sequence[str] | None) -> list[str]:
    """A comma-separated string or a list, as a list of non-empty stripped names."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(v).strip() for v in items if str(v).strip()]


def write_json(data: Any, path: str | os.PathLike[str] | None) -> Path | None:
    """Write ``data`` as JSON to ``path`` atomically (temp file + rename); None skips.

    Readers (automation, the report command) must never see half a file.
    """
    if optional(path) is None:
        return None
    target = Path(path).expanduser().resolve()  # type: ignore[arg-type]
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(_clean(data), fh, indent=2, default=_json_default, allow_nan=False)
            fh.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is meant to be read
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _clean(value: Any) -> Any:
    """NaN and infinity as null: JSON has no such numbers and strict readers reject them."""
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def _finite_or_none(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


# --- verification -------------------------------------------------------------------


def run_verification(
    db_path: str | os.PathLike[str],
    *,
    backup_path: str | os.PathLike[str] | None = None,
    migration_path: str | os.PathLike[str] | None = None,
    renames: str | Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Verify a done migration (``backup_path`` given) or dry-run ``migration_path``.

    Returns the engine's JSON document with ``mode`` ("verify" or "plan") and the
    inputs added, so the sidecar file says what was compared. With a backup,
    BEFORE is the backup and AFTER is ``db_path``; a dry run never writes
    ``db_path``.
    """
    backup_path, migration_path = optional(backup_path), optional(migration_path)
    rename_map = parse_renames(renames)
    inputs = {  # absolute, so the JSON says which files were compared wherever it is read
        "db_path": os.path.abspath(db_path),
        "backup_path": os.path.abspath(backup_path) if backup_path else None,
        "migration_path": os.path.abspath(migration_path) if migration_path else None,
        "renames": rename_map,
    }
    if backup_path:
        from wfhist.verify import verify

        doc = verify(backup_path, db_path, renames=rename_map).to_dict()
        return {"mode": "verify", **inputs, **doc}
    if migration_path:
        from wfhist.plan import plan_migration

        doc = plan_migration(db_path, migration_path, renames=rename_map).to_dict()
        return {"mode": "plan", **inputs, **doc}
    raise UsageError(
        "give backup_path (verify a done migration: the backup is BEFORE, db_path AFTER) "
        "or migration_path (dry run of a migration file on a copy of db_path)"
    )


def shown_state(doc: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The verification result the detail tables describe, and what it is.

    A done migration has one. A dry run has the migrated copy's result; when the
    migration errored, the state a runner without a transaction would have
    left behind (the statements before the error, committed) is the one that
    shows what goes wrong.
    """
    if doc.get("mode") == "verify":
        return dict(doc), "the migrated file compared with its backup"
    if doc.get("verification"):
        return doc["verification"], "the migrated temporary copy compared with the file"
    if doc.get("partial"):
        n = (doc.get("error") or {}).get("statement_number") or 1
        return doc["partial"], (
            f"statements 1-{n - 1} committed without a transaction, compared with the file "
            "(in wfhist's transaction they roll back)"
        )
    return None, "nothing: the migration failed at its first statement"


def verdict_text(doc: Mapping[str, Any]) -> str:
    """The verdict in one short line: "PASS — no value lost" or "FAIL — what was lost"."""
    if doc.get("verdict") == "PASS":
        return "PASS — no value lost"
    if doc.get("error"):
        err = doc["error"]
        return (
            f"FAIL — the migration errors at statement {err.get('statement_number')} "
            f"({err.get('message')})"
        )
    state, _ = shown_state(doc)
    return "FAIL — " + ("; ".join(_loss(c) for c in _failed(state)) or "verification failed")


#: Lost data is named before broken structure in the verdict line.
_LOSS_FIRST = {"tables": 0, "rows": 1, "columns_dropped": 2, "values": 3, "integrity": 4}


def verdict_detail(doc: Mapping[str, Any]) -> str:
    """The failed checks' own findings, clipped: the line under the verdict banner."""
    state, _ = shown_state(doc)
    return " · ".join(f"{c['name']}: {_clip(c['detail'], 160)}" for c in _failed(state))


def _failed(state: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The FAIL checks, lost data (tables, rows, columns, values) before broken structure."""
    failed = [c for c in (state or {}).get("checks", []) if c["status"] == "FAIL"]
    return sorted(failed, key=lambda c: _LOSS_FIRST.get(c["name"], len(_LOSS_FIRST)))


def _loss(check: Mapping[str, Any]) -> str:
    """A failed check as a few words with its numbers, for the verdict line."""
    n = check.get("numbers") or {}
    name = check["name"]
    if name == "columns_dropped":
        return f"{n.get('dropped')} columns dropped holding {n.get('non_null_values')} values"
    if name == "values":
        return f"{n.get('values_changed', 0) + n.get('values_lost', 0)} values changed or lost"
    if name == "rows":
        missing = sum((n.get("rows_missing") or {}).values())
        return f"{missing} rows missing"
    if name == "tables":
        return f"{n.get('dropped')} tables dropped"
    if name == "integrity":
        if n.get("mismatches") or n.get("orphans") or n.get("new_orphans"):
            return "foreign keys broken"
        return "integrity_check failed"
    return f"{name} failed"


def _clip(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def mode_text(doc: Mapping[str, Any]) -> str:
    """What was compared, in one line."""
    if doc.get("mode") == "verify":
        return f"done migration: BEFORE = {doc.get('backup_path')}, AFTER = {doc.get('db_path')}"
    return (
        f"dry run of {doc.get('migration_path')} on a temporary copy of {doc.get('db_path')} "
        "(the file itself is not written)"
    )


def files_table(doc: Mapping[str, Any]) -> pd.DataFrame:
    """The files compared: role, path, size, journal mode, schema state and version."""
    rows = []
    state, _ = shown_state(doc)
    for role, key in (("BEFORE", "before"), ("AFTER", "after")):
        info = (state or {}).get(key) or {}
        if not info:
            continue
        rows.append(
            {
                "role": role,
                "path": _display_path(doc, key, str(info.get("path"))),
                "size (bytes)": info.get("bytes"),
                "-wal (bytes)": info.get("wal_bytes"),
                "journal mode": info.get("journal_mode"),
                "schema": info.get("schema_state"),
                "user_version": info.get("user_version"),
            }
        )
    if doc.get("mode") == "plan":
        path = Path(str(doc.get("migration")))
        rows.append(
            {
                "role": "MIGRATION",
                "path": str(path),
                "size (bytes)": path.stat().st_size if path.is_file() else None,
                "-wal (bytes)": None,
                "journal mode": None,
                "schema": f"{doc.get('statements')} statements",
                "user_version": None,
            }
        )
    return _whole_numbers(pd.DataFrame(rows), ("size (bytes)", "-wal (bytes)", "user_version"))


def _whole_numbers(table: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Counts as nullable integers: a missing count must not turn 33 into 33.000000."""
    for column in columns:
        if column in table.columns:
            table[column] = pd.to_numeric(table[column], errors="coerce").astype("Int64")
    return table


def _display_path(doc: Mapping[str, Any], key: str, path: str) -> str:
    """Name a dry run's temporary files after what they hold; they are deleted by now."""
    if doc.get("mode") != "plan" or not doc.get("partial") or doc.get("verification"):
        return path
    if key == "before":
        return f"{doc.get('db_path')} (snapshot)"
    n = (doc.get("error") or {}).get("statement_number") or 1
    return f"{doc.get('db_path')} + statements 1-{n - 1} (temporary copy)"


def checks_table(state: Mapping[str, Any] | None) -> pd.DataFrame:
    """One row per check: name, PASS/WARN/FAIL, the engine's one-line detail."""
    rows = [
        {"check": c["name"], "status": c["status"], "detail": c["detail"]}
        for c in (state or {}).get("checks", [])
    ]
    return pd.DataFrame(rows, columns=["check", "status", "detail"])


def schema_diff_table(state: Mapping[str, Any] | None) -> pd.DataFrame:
    """Columns dropped / added / renamed and type, default, key or CHECK changes."""
    state = state or {}
    rows = []
    for d in state.get("columns_dropped", []):
        held = d.get("non_null", 0)
        rows.append(
            {
                "change": "column dropped",
                "table": d["table"],
                "column": d["column"],
                "before": d.get("type"),
                "after": "—",
                "status": "FAIL" if held else "WARN",
                "note": f"{held} non-NULL values lost" if held else "was entirely NULL",
            }
        )
    for a in state.get("columns_added", []):
        rows.append(
            {
                "change": "column added",
                "table": a["table"],
                "column": a["column"],
                "before": "—",
                "after": f"{a.get('type')} DEFAULT {a.get('default')}",
                "status": "PASS",
                "note": "",
            }
        )
    for r in state.get("columns_renamed", []):
        rows.append(
            {
                "change": "column renamed",
                "table": r.get("table"),
                "column": r.get("old"),
                "before": r.get("old"),
                "after": r.get("new"),
                "status": "PASS",
                "note": r.get("source") or "",
            }
        )
    for s in state.get("schema_changes", []):
        rows.append(
            {
                "change": s.get("change"),
                "table": s.get("table"),
                "column": s.get("column") or "",
                "before": _short_value(s.get("before")),
                "after": _short_value(s.get("after")),
                "status": "WARN",
                "note": "",
            }
        )
    for h in state.get("rename_hints", []):
        rows.append(
            {
                "change": "rename not declared",
                "table": h["table"],
                "column": h["dropped"],
                "before": h["dropped"],
                "after": h["added"],
                "status": "WARN",
                "note": f"equal in {h.get('rows_identical')} rows; declare it if it was a rename",
            }
        )
    columns = ["change", "table", "column", "before", "after", "status", "note"]
    return pd.DataFrame(rows, columns=columns)


def schema_diff_summary(state: Mapping[str, Any] | None) -> pd.DataFrame:
    """Schema changes counted by kind and status, with the first few names of each."""
    diff = schema_diff_table(state)
    if diff.empty:
        return pd.DataFrame(columns=["change", "status", "count", "examples"])
    rows = []
    for (change, status), group in diff.groupby(["change", "status"], sort=False):
        pairs = zip(group["table"], group["column"], strict=True)
        names = [f"{t}.{c}" if c else str(t) for t, c in pairs]
        more = f" (+{len(names) - 6} more)" if len(names) > 6 else ""
        rows.append(
            {
                "change": change,
                "status": status,
                "count": len(group),
                "examples": ", ".join(names[:6]) + more,
            }
        )
    return pd.DataFrame(rows)


def _short_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "none"
    return "" if value is None else str(value)


def reference_path(doc: Mapping[str, Any]) -> str:
    """The file BEFORE stands for: the backup of a done migration, ``db_path`` in a dry run.

    (A dry run's own BEFORE is a temporary snapshot, gone once the plan is made.)
    """
    return str(doc.get("backup_path") if doc.get("mode") == "verify" else doc.get("db_path"))


def value_preservation_table(
    state: Mapping[str, Any] | None, before_path: str, table: str = "workflow_history"
) -> pd.DataFrame:
    """Per BEFORE column of ``table``: kept identical, changed, lost, renamed or dropped.

    The column list is read from ``before_path`` (read-only), so a column the
    engine did not mention is shown as identical only because it was compared
    and found so -- not because it was skipped.
    """
    state = state or {}
    info = (state.get("tables") or {}).get(table) or {}
    if info.get("status") not in ("compared", "dropped"):
        return pd.DataFrame(columns=["column", "status", "after column", "changed", "lost", "note"])
    names = _before_columns(before_path, table)
    if not names:
        note = f"{before_path}: cannot read the column list of {table}; see the checks above"
        return pd.DataFrame([_preservation_row("?", "WARN", "?", 0, 0, note)])
    rows_before = info.get("rows_before", 0)
    missing = info.get("rows_missing", 0)
    dropped = {d["column"]: d for d in state.get("columns_dropped", []) if d["table"] == table}
    renamed = {r["old"]: r["new"] for r in state.get("columns_renamed", []) if r["table"] == table}
    changed = {v["column"]: v for v in state.get("values_changed", []) if v["table"] == table}
    rows = []
    for name in names:
        if info.get("status") == "dropped":
            rows.append(_preservation_row(name, "FAIL", "—", 0, rows_before, "table dropped"))
        elif name in dropped:
            held = dropped[name].get("non_null", 0)
            status, note = (
                ("FAIL", f"dropped with {held} non-NULL values")
                if held
                else (
                    "WARN",
                    "dropped (was entirely NULL)",
                )
            )
            rows.append(_preservation_row(name, status, "—", 0, held, note))
        elif name in changed:
            c = changed[name]
            samples = c.get("samples") or []
            note = _sample_note(samples[0]) if samples else ""
            rows.append(
                _preservation_row(
                    name, "FAIL", c.get("after_column", name), c["changed"], c["lost"], note
                )
            )
        else:
            kept = rows_before - missing
            note = f"identical in {kept}/{rows_before} rows"
            status = "FAIL" if missing else "PASS"
            if missing:
                note += f" ({missing} rows missing from AFTER)"
            new = renamed.get(name, name)
            if name in renamed:
                note += f", renamed to {new}"
            rows.append(_preservation_row(name, status, new, 0, missing, note))
    return pd.DataFrame(rows)


def _preservation_row(
    name: str, status: str, after: str, changed: int, lost: int, note: str
) -> dict[str, Any]:
    return {
        "column": name,
        "status": status,
        "after column": after,
        "changed": int(changed),
        "lost": int(lost),
        "note": note,
    }


def _sample_note(sample: Mapping[str, Any]) -> str:
    return (
        f"e.g. {sample.get('key')}: {sample.get('before')!r} ({sample.get('before_type')}) → "
        f"{sample.get('after')!r} ({sample.get('after_type')})"
    )


def _before_columns(path: str | None, table: str) -> list[str]:
    """Column names of ``table`` in BEFORE, read-only; [] when the file cannot be read."""
    if not path:
        return []
    from wfhist.files import open_sqlite_readonly
    from wfhist.schema import quote_ident

    try:
        with open_sqlite_readonly(path) as con:
            rows = con.execute(f"PRAGMA table_xinfo({quote_ident(table)})").fetchall()
    except Exception:  # a report must still render when BEFORE has gone
        return []
    return [str(r[1]) for r in rows]


def tables_table(state: Mapping[str, Any] | None) -> pd.DataFrame:
    """One line per table: rows before/after, the key rows were matched by, what differs."""
    changed: dict[str, int] = {}
    for v in (state or {}).get("values_changed", []):
        changed[v["table"]] = changed.get(v["table"], 0) + v.get("changed", 0) + v.get("lost", 0)
    rows = []
    for table, info in ((state or {}).get("tables") or {}).items():
        rows.append(
            {
                "table": table,
                "status": info.get("status"),
                "rows before": info.get("rows_before"),
                "rows after": info.get("rows_after"),
                "matched by": info.get("key"),
                "columns compared": info.get("columns_compared"),
                "rows missing": info.get("rows_missing"),
                "rows only in AFTER": info.get("rows_only_after"),
                "values changed or lost": changed.get(table, 0)
                if info.get("status") == "compared"
                else None,
            }
        )
    counts = ["rows before", "rows after", "columns compared", "rows missing"]
    return _whole_numbers(
        pd.DataFrame(rows), [*counts, "rows only in AFTER", "values changed or lost"]
    )


def added_columns_table(state: Mapping[str, Any] | None) -> pd.DataFrame:
    """How every added column was filled: rows holding the default, NULL, or other values."""
    rows = []
    for a in (state or {}).get("columns_added", []):
        total = a.get("rows", 0)
        rows.append(
            {
                "table": a["table"],
                "column": a["column"],
                "type": a.get("type"),
                "default": a.get("default"),
                "rows": total,
                "= default": a.get("rows_default", 0),
                "NULL": a.get("rows_null", 0),
                "other": a.get("rows_other", 0),
                "summary": (
                    f"{a.get('rows_default', 0)}/{total} = {a.get('default')}"
                    if a.get("default") is not None
                    else f"{a.get('rows_null', 0)}/{total} NULL"
                ),
            }
        )
    columns = ["table", "column", "type", "default", "rows", "= default", "NULL", "other"]
    return pd.DataFrame(rows, columns=[*columns, "summary"])


def index_counts_table(state: Mapping[str, Any] | None) -> pd.DataFrame:
    """Index counts before and after, SQLite's automatic (constraint) indexes included."""
    check = _check(state, "indexes")
    n = check.get("numbers", {}) if check else {}
    if not n:
        return pd.DataFrame(columns=["", "before", "after"])
    return pd.DataFrame(
        [
            {"": "all indexes", "before": n.get("before"), "after": n.get("after")},
            {
                "": "of which automatic (UNIQUE / PRIMARY KEY)",
                "before": n.get("before_automatic"),
                "after": n.get("after_automatic"),
            },
            {
                "": "named (CREATE INDEX)",
                "before": n.get("before", 0) - n.get("before_automatic", 0),
                "after": n.get("after", 0) - n.get("after_automatic", 0),
            },
        ]
    ).set_index("")


def index_changes_table(state: Mapping[str, Any] | None) -> pd.DataFrame:
    """Every index dropped, added or renamed, with its table and columns."""
    state = state or {}
    rows = []
    for change, key in (("dropped", "indexes_dropped"), ("added", "indexes_added")):
        for i in state.get(key, []):
            rows.append(
                {
                    "change": change,
                    "index": i.get("name"),
                    "table": i.get("table"),
                    "columns": ", ".join(str(c) for c in i.get("columns") or []),
                    "unique": bool(i.get("unique")),
                    "automatic": bool(i.get("automatic")),
                }
            )
    for i in state.get("indexes_renamed", []):
        rows.append(
            {
                "change": "renamed",
                "index": f"{i.get('old', i.get('before'))} → {i.get('new', i.get('after'))}",
                "table": i.get("table"),
                "columns": ", ".join(str(c) for c in i.get("columns") or []),
                "unique": bool(i.get("unique")),
                "automatic": False,
            }
        )
    return pd.DataFrame(
        rows, columns=["change", "index", "table", "columns", "unique", "automatic"]
    )


def integrity_table(state: Mapping[str, Any] | None) -> pd.DataFrame:
    """SQLite's own answers on AFTER: integrity_check and foreign_key_check."""
    integ = (state or {}).get("integrity") or {}
    if not integ:
        return pd.DataFrame(columns=["check", "status", "result"])
    messages = integ.get("integrity_check") or []
    fk = integ.get("foreign_key_check") or {}
    orphans = fk.get("orphans") or {}
    mismatches = fk.get("mismatches") or {}
    fk_text = "no orphans"
    if orphans:
        fk_text = "orphans: " + ", ".join(f"{t} {n}" for t, n in orphans.items())
    if mismatches:
        fk_text += "; parent key gone or not unique for " + ", ".join(mismatches)
    tables = fk.get("tables_with_foreign_keys") or []
    return pd.DataFrame(
        [
            {
                "check": "PRAGMA integrity_check",
                "status": "PASS" if messages == ["ok"] else "FAIL",
                "result": "; ".join(map(str, messages[:5])) or "not run",
            },
            {
                "check": "PRAGMA foreign_key_check",
                "status": "FAIL" if orphans or mismatches else "PASS",
                "result": f"{fk_text} ({len(tables)} tables with foreign keys)",
            },
        ]
    )


def plan_outcomes_table(doc: Mapping[str, Any]) -> pd.DataFrame:
    """For a dry run: what each way of running the file would leave behind."""
    if doc.get("mode") != "plan":
        return pd.DataFrame(columns=["runner", "outcome", "verdict"])
    rows = []
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
        rows.append(
            {
                "runner": "one transaction (wfhist migrate)",
                "outcome": "applies; " + _outcome(v),
                "verdict": v.get("verdict"),
            }
        )
    return pd.DataFrame(rows, columns=["runner", "outcome", "verdict"])


def _outcome(state: Mapping[str, Any]) -> str:
    """What a verified state lost, in the verdict line's words, plus its warnings."""
    lost = "; ".join(_loss(c) for c in _failed(state)) or "no value lost"
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


def _check(state: Mapping[str, Any] | None, name: str) -> dict[str, Any] | None:
    for c in (state or {}).get("checks", []):
        if c["name"] == name:
            return c
    return None


# --- temporal -----------------------------------------------------------------------


#: The view columns the temporal report reads (load_history(columns=...)):
#: a million rows of all 74 columns would be gigabytes of pandas objects.
TEMPORAL_COLUMNS = (
    "id",
    "source",
    "status",
    "model_used",
    "workflow_template",
    "hour_of_day",
    "day_of_week",
    "temporal_source",
    "start_ts",
    "created_ts",
    "actual_cost_total",
    "duration_seconds",
)


def snapshot_time(con: Any) -> str:
    """When the data was read: the snapshot's UTC time, or "live read"."""
    taken = con.execute("SELECT max(snapshot_taken_at) FROM wfhist_sources").fetchone()[0]
    return f"snapshot taken {taken}" if taken else "live read (no snapshot)"


def selection_table(
    filters: Mapping[str, Any],
    selected: int,
    total: int,
    *,
    tz: str,
    source_tz: str,
    data_as_of: str | None = None,
) -> pd.DataFrame:
    """The settings a temporal report was made with, one per row."""
    rows = [("data as of", data_as_of)] if data_as_of else []
    rows += [
        ("runs selected", f"{selected} of {total}"),
        ("time zone of hours, weekdays, days", tz),
        ("zone of the file's naive local stamps", source_tz),
    ]
    rows += [(f"filter {k}", v if v is not None else "all") for k, v in filters.items()]
    return pd.DataFrame(rows, columns=["setting", "value"])


def filter_text(filters: Mapping[str, Any]) -> str:
    """``status=completed, since=2025-11-01`` -- or ``all runs`` -- for figure subtitles."""
    given = [f"{k}={v}" for k, v in filters.items() if v is not None]
    return ", ".join(given) if given else "all runs"


def source_table(con: Any) -> pd.DataFrame:
    """Each file read: its schema state and which temporal mapping it needed."""
    df = con.execute("SELECT * FROM wfhist_sources").df()
    keep = [
        c
        for c in (
            "source",
            "path",
            "state",
            "mapping",
            "columns",
            "journal_mode",
            "user_version",
            "snapshot_taken_at",
        )
        if c in df.columns
    ]
    return df[keep]


def temporal_source_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Rows whose hour/weekday was stored, derived from a timestamp, or is unknown."""
    counts = df["temporal_source"].value_counts()
    total = max(len(df), 1)
    rows = [
        {"hour/weekday": k, "rows": int(counts.get(k, 0)), "share": counts.get(k, 0) / total}
        for k in ("stored", "derived", "missing")
    ]
    return pd.DataFrame(rows).set_index("hour/weekday")


def hour_weekday_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Runs per weekday (rows, Monday first) and hour (columns 0-23); unknown hours left out."""
    known = df.dropna(subset=["hour_of_day", "day_of_week"])
    table = pd.crosstab(known["day_of_week"].astype(int), known["hour_of_day"].astype(int)).reindex(
        index=range(7), columns=HOURS, fill_value=0
    )
    table.index = pd.Index(WEEKDAYS, name="weekday")
    table.columns = pd.Index(HOURS, name="hour")
    return table.astype(int)


def success_rate_matrix(df: pd.DataFrame, min_runs: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(success rate in %, finished runs) per weekday x hour.

    Success = completed / (completed + failed): running and pending runs are
    not decided yet. Cells with fewer than ``min_runs`` finished runs are NaN,
    not 0 %, so that one failed run at 3 a.m. does not paint a red hour.
    """
    if min_runs < 1:
        raise UsageError(f"min_runs={min_runs!r} must be at least 1")
    finished = df[df["status"].isin(FINISHED)]
    runs = hour_weekday_counts(finished)
    wins = hour_weekday_counts(finished[finished["status"] == "completed"])
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = 100.0 * wins / runs.where(runs > 0)
    return rate.where(runs >= min_runs), runs


def median_by_hour(df: pd.DataFrame) -> pd.DataFrame:
    """Per hour: runs, median cost (USD, runs with a cost) and duration (minutes, completed)."""
    known = df.dropna(subset=["hour_of_day"]).copy()
    known["hour"] = known["hour_of_day"].astype(int)
    cost = pd.to_numeric(known["actual_cost_total"], errors="coerce")
    duration = pd.to_numeric(known["duration_seconds"], errors="coerce").astype(float)
    costed = known[cost > 0]
    timed = known[(known["status"] == "completed") & duration.notna()]
    out = pd.DataFrame(index=pd.Index(HOURS, name="hour"))
    out["runs"] = known.groupby("hour").size().reindex(HOURS, fill_value=0)
    out["median cost (USD)"] = cost[cost > 0].groupby(costed["hour"]).median()
    out["median duration (min)"] = (duration[timed.index] / 60.0).groupby(timed["hour"]).median()
    out["runs with cost"] = costed.groupby("hour").size().reindex(HOURS, fill_value=0)
    out["completed with duration"] = timed.groupby("hour").size().reindex(HOURS, fill_value=0)
    return out


def run_instants(df: pd.DataFrame, tz: str) -> pd.Series:
    """When each run happened, in ``tz``: ``start_time`` else ``created_at`` (as the view)."""
    start = pd.to_datetime(df["start_ts"], utc=True)
    created = pd.to_datetime(df["created_ts"], utc=True)
    return start.fillna(created).dt.tz_convert(tz)


def runs_per_day(df: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Runs per calendar day in ``tz`` (rows, gaps filled with 0) by status (columns)."""
    when = run_instants(df, tz)
    known = df.assign(day=when.dt.tz_localize(None).dt.normalize()).dropna(subset=["day"])
    if known.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="day"))
    table = pd.crosstab(known["day"], known["status"])
    days = pd.date_range(table.index.min(), table.index.max(), freq="D", name="day")
    order = [s for s in ("completed", "failed", "running", "pending") if s in table.columns]
    order += [s for s in table.columns if s not in order]
    return table.reindex(index=days, fill_value=0)[order]


def temporal_key_figures(
    df: pd.DataFrame,
    counts: pd.DataFrame,
    rate: pd.DataFrame,
    *,
    tz: str,
    filters: Mapping[str, Any],
    rows_total: int,
    min_runs: int,
) -> dict[str, Any]:
    """What the temporal notebook found, as JSON-ready data (the report's sidecar)."""
    return {
        "tz": tz,
        "filters": {k: v for k, v in filters.items() if v is not None},
        "rows_total": int(rows_total),
        "rows_selected": len(df),
        "rows_without_hour_or_weekday": int(
            df[["hour_of_day", "day_of_week"]].isna().any(axis=1).sum()
        ),
        "temporal_sources": {
            k: int(v) for k, v in df["temporal_source"].value_counts().to_dict().items()
        },
        "heatmap": {
            "weekdays": list(WEEKDAYS),
            "hours": list(HOURS),
            "counts": counts.to_numpy().tolist(),
            "total": int(counts.to_numpy().sum()),
        },
        "success_rate": {
            "min_runs": int(min_runs),
            "percent": [[_finite_or_none(v) for v in row] for row in rate.to_numpy()],
        },
    }


# --- scoring versions -----------------------------------------------------------------


def version_labels(df: pd.DataFrame) -> pd.Series:
    """``scoring_version`` with NULL shown as :data:`BEFORE_006`."""
    return df["scoring_version"].astype(object).where(df["scoring_version"].notna(), BEFORE_006)


def _version_order(labels: Iterable[str]) -> list[str]:
    """ "before 006" first, then versions in numeric order where they are numbers."""

    def key(v: str) -> tuple[int, float, str]:
        if v == BEFORE_006:
            return (0, 0.0, v)
        try:
            return (1, float(v), v)
        except ValueError:
            return (2, 0.0, v)

    return sorted(set(labels), key=key)


def version_counts(df: pd.DataFrame, tz: str = "UTC") -> pd.DataFrame:
    """Rows per scoring version, their share, and the first and last run of each (in ``tz``)."""
    labels = version_labels(df)
    when = run_instants(df, tz)
    frame = pd.DataFrame({"version": labels, "when": when})
    g = frame.groupby("version")
    out = pd.DataFrame(
        {
            "rows": g.size(),
            "share": g.size() / max(len(df), 1),
            f"first run ({tz})": g["when"].min().dt.strftime("%Y-%m-%d %H:%M"),
            f"last run ({tz})": g["when"].max().dt.strftime("%Y-%m-%d %H:%M"),
        }
    )
    out = out.reindex(_version_order(out.index))
    out.index.name = "scoring_version"
    return out


def versions_per_week(df: pd.DataFrame, tz: str = "UTC") -> pd.DataFrame:
    """Runs per week (weeks start on Monday, in ``tz``) by scoring version."""
    when = run_instants(df, tz).dt.tz_localize(None)
    frame = pd.DataFrame({"version": version_labels(df), "when": when}).dropna(subset=["when"])
    if frame.empty:
        return pd.DataFrame()
    frame["week"] = frame["when"].dt.to_period("W-SUN").dt.start_time
    table = pd.crosstab(frame["week"], frame["version"])
    return table[_version_order(table.columns)]


def check_score_columns(df: pd.DataFrame, columns: Iterable[str]) -> list[str]:
    """The requested score columns, checked against the history view's columns."""
    cols = list(columns)
    unknown = [c for c in cols if c not in df.columns]
    if not cols or unknown:
        raise UsageError(
            f"score_columns: {', '.join(unknown) or 'none given'} not in the history; "
            f"score columns are e.g. {', '.join(SCORE_COLUMNS)}"
        )
    return cols


def _scores(df: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(df[column], errors="coerce").astype(float)


def _valid(values: pd.Series) -> pd.Series:
    lo, hi = SCORE_RANGE
    return values[values.between(lo, hi)]


def score_summary(df: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Per score and version: rows, missing, out of range, quartiles of the valid values."""
    labels = version_labels(df)
    rows = []
    for column in columns:
        values = _scores(df, column)
        for version in _version_order(labels):
            v = values[labels == version]
            valid = _valid(v)
            rows.append(
                {
                    "score": column,
                    "version": version,
                    "rows": len(v),
                    "missing": int(v.isna().sum()),
                    "out of range": int((v.notna() & ~v.between(*SCORE_RANGE)).sum()),
                    "p25": valid.quantile(0.25) if len(valid) else np.nan,
                    "median": valid.median() if len(valid) else np.nan,
                    "p75": valid.quantile(0.75) if len(valid) else np.nan,
                }
            )
    return pd.DataFrame(rows).set_index(["score", "version"])


def bootstrap_median_shift(
    baseline: np.ndarray,
    other: np.ndarray,
    *,
    samples: int = 2000,
    level: float = 0.95,
    seed: int = 20251121,
) -> tuple[float, float, float]:
    """(median(other) - median(baseline), CI low, CI high): percentile bootstrap, seeded.

    Each resample draws both groups with replacement; resamples are done in
    batches so memory stays bounded for large groups.
    """
    a, b = np.asarray(baseline, float), np.asarray(other, float)
    if len(a) == 0 or len(b) == 0:
        raise UsageError("bootstrap needs at least one value in each group")
    if samples < 100:
        raise UsageError(f"bootstrap samples={samples!r}: use at least 100")
    rng = np.random.default_rng(seed)
    shifts = np.empty(samples)
    batch = max(1, 4_000_000 // max(len(a), len(b)))
    for lo in range(0, samples, batch):
        n = min(batch, samples - lo)
        ma = np.median(a[rng.integers(0, len(a), (n, len(a)))], axis=1)
        mb = np.median(b[rng.integers(0, len(b), (n, len(b)))], axis=1)
        shifts[lo : lo + n] = mb - ma
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(shifts, [tail, 1.0 - tail])
    return float(np.median(b) - np.median(a)), float(low), float(high)


def median_shifts(
    df: pd.DataFrame,
    columns: Iterable[str],
    baseline_version: str,
    *,
    samples: int = 2000,
    level: float = 0.95,
    seed: int = 20251121,
) -> pd.DataFrame:
    """Shift of each score's median in every other version vs ``baseline_version``.

    Only valid scores (present, within 0-100) take part. Empty when the file
    holds one version (nothing to compare) -- the notebook says so.
    """
    labels = version_labels(df)
    versions = _version_order(labels)
    columns = list(columns)
    out_columns = [
        "score",
        "version",
        "n baseline",
        "n version",
        "median baseline",
        "median version",
        "shift",
        "ci low",
        "ci high",
        "significant",
    ]
    rows: list[dict[str, Any]] = []
    if baseline_version not in versions:
        return pd.DataFrame(rows, columns=out_columns)
    for column in columns:
        values = _scores(df, column)
        base = _valid(values[labels == baseline_version]).to_numpy()
        for version in versions:
            if version == baseline_version:
                continue
            other = _valid(values[labels == version]).to_numpy()
            if len(base) == 0 or len(other) == 0:
                continue
            shift, low, high = bootstrap_median_shift(
                base, other, samples=samples, level=level, seed=seed
            )
            rows.append(
                {
                    "score": column,
                    "version": version,
                    "n baseline": len(base),
                    "n version": len(other),
                    "median baseline": float(np.median(base)),
                    "median version": float(np.median(other)),
                    "shift": shift,
                    "ci low": low,
                    "ci high": high,
                    "significant": bool(low > 0 or high < 0),
                }
            )
    return pd.DataFrame(rows, columns=out_columns)


def comparison_note(counts: pd.DataFrame, baseline_version: str) -> str | None:
    """Why no median shift can be shown, in words; None when there is something to compare."""
    versions = [str(v) for v in counts.index]
    listed = ", ".join(f"{v} ({int(n)} rows)" for v, n in counts["rows"].items())
    if len(versions) <= 1:
        only = listed or "no rows"
        return (
            f"This file holds one scoring version only: {only}. There is nothing to compare "
            "it with; the distributions above describe that version."
        )
    if baseline_version not in versions:
        return (
            f"baseline_version {baseline_version!r} is not in this file (versions: {listed}); "
            "run again with one of them as baseline_version."
        )
    return None


def score_problems(df: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Rows with a score that is missing (NULL or unreadable) or outside 0-100."""
    labels = version_labels(df)
    parts = []
    for column in columns:
        values = _scores(df, column)
        bad = values.isna() | ~values.between(*SCORE_RANGE)
        if bad.any():
            parts.append(
                pd.DataFrame(
                    {
                        "id": df.loc[bad, "id"],
                        "adw_id": df.loc[bad, "adw_id"],
                        "status": df.loc[bad, "status"],
                        "version": labels[bad],
                        "score": column,
                        "value": values[bad],
                        "problem": np.where(values[bad].isna(), "missing", "out of range"),
                    }
                )
            )
    if not parts:
        return pd.DataFrame(
            columns=["id", "adw_id", "status", "version", "score", "value", "problem"]
        )
    return pd.concat(parts, ignore_index=True).sort_values(["score", "id"], ignore_index=True)


def problem_counts(problems: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Per score column: how many values are missing and how many are outside 0-100."""
    table = pd.crosstab(problems["score"], problems["problem"]) if len(problems) else None
    out = pd.DataFrame(index=pd.Index(list(columns), name="score"))
    for kind in ("missing", "out of range"):
        values = table[kind] if table is not None and kind in table.columns else None
        out[kind] = (values if values is not None else pd.Series(dtype=int)).reindex(
            out.index, fill_value=0
        )
    return out.astype(int)


def scoring_key_figures(
    counts: pd.DataFrame,
    shifts: pd.DataFrame,
    problems: pd.DataFrame,
    *,
    columns: Sequence[str],
    baseline_version: str,
) -> dict[str, Any]:
    """What the scoring notebook found, as JSON-ready data (the report's sidecar)."""
    return {
        "score_columns": list(columns),
        "baseline_version": baseline_version,
        "versions": {str(k): int(v) for k, v in counts["rows"].items()},
        "median_shifts": [
            {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in shifts.to_dict(orient="records")
        ],
        "problems": {
            "rows": int(problems["id"].nunique()) if len(problems) else 0,
            "by_kind": {str(k): int(v) for k, v in problems["problem"].value_counts().items()},
        },
    }
