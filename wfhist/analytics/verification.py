"""The verification report's tables: a verify or plan result cut into what a reader scans.

Run :func:`wfhist.verify.verify` (a done migration: backup vs. migrated file)
or :func:`wfhist.plan.plan_migration` (a dry run of a migration file) once, and
lay the result out as small DataFrames: files, checks, schema diff, per-column
value preservation, added-column fill, index diff, integrity.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from wfhist.analytics.common import optional, parse_list
from wfhist.exceptions import UsageError

# --- verification -------------------------------------------------------------------


def renames_parameter(value: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The notebook's ``renames`` (``old:new,old2=new2`` or a dict); ``''`` is None.

    None lets verification read the renames the migration runner recorded.
    ``old:new`` exists because papermill cannot document a parameter whose help
    text contains ``=``; the pairs are read by :func:`wfhist.verify.parse_renames`.
    """
    from wfhist.verify import parse_renames

    if isinstance(value, Mapping):
        return dict(value)
    if optional(value) is None:
        return None
    items = [p if "=" in p else p.replace(":", "=", 1) for p in parse_list(str(value))]
    return parse_renames(items)


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
    rename_map = renames_parameter(renames)
    inputs = {  # absolute, so the JSON says which files were compared wherever it is read
        "db_path": os.path.abspath(db_path),
        "backup_path": os.path.abspath(backup_path) if backup_path else None,
        "migration_path": os.path.abspath(migration_path) if migration_path else None,
        "renames": rename_map,
    }
    if backup_path:
        from wfhist.verify import verify

        doc = verify(Path(backup_path), Path(db_path), renames=rename_map).to_dict()
        return {"mode": "verify", **inputs, **doc}
    if migration_path:
        from wfhist.plan import plan_migration

        doc = plan_migration(Path(db_path), Path(migration_path), renames=rename_map).to_dict()
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
    return "FAIL — " + (
        "; ".join(loss_text(c) for c in failed_checks(state)) or "verification failed"
    )


#: Lost data is named before broken structure in the verdict line.
_LOSS_FIRST = {"tables": 0, "rows": 1, "columns_dropped": 2, "values": 3, "integrity": 4}


def verdict_detail(doc: Mapping[str, Any]) -> list[str]:
    """The failed checks' own findings in full, one per line under the verdict banner."""
    state, _ = shown_state(doc)
    return [f"{c['name']}: {' '.join(str(c['detail']).split())}" for c in failed_checks(state)]


def failed_checks(state: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The FAIL checks, lost data (tables, rows, columns, values) before broken structure."""
    failed = [c for c in (state or {}).get("checks", []) if c["status"] == "FAIL"]
    return sorted(failed, key=lambda c: _LOSS_FIRST.get(c["name"], len(_LOSS_FIRST)))


def loss_text(check: Mapping[str, Any]) -> str:
    """A failed check as a few words with its numbers, for the verdict line."""
    n = check.get("numbers") or {}
    name = check["name"]
    if name == "columns_dropped":  # all-NULL columns lose nothing: they are a WARN elsewhere
        held = n.get("with_values", n.get("dropped"))
        return f"{held} columns dropped holding {n.get('non_null_values')} values"
    if name == "indexes" and n.get("dropped"):
        return f"{n['dropped']} indexes dropped"
    if name == "sequences":
        return "AUTOINCREMENT counter lowered (used ids could be handed out again)"
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


def file_name(path: Any) -> str:
    """A file's name only: a report is mailed around, the sender's folders are no one's business."""
    return Path(str(path)).name if path else ""


def mode_text(doc: Mapping[str, Any]) -> str:
    """What was compared, in one line."""
    if doc.get("mode") == "verify":
        before, after = file_name(doc.get("backup_path")), file_name(doc.get("db_path"))
        return f"done migration: BEFORE = {before}, AFTER = {after}"
    return (
        f"dry run of {file_name(doc.get('migration_path'))} on a temporary copy of "
        f"{file_name(doc.get('db_path'))} "
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
                "path": path.name,
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
    db = file_name(doc.get("db_path"))
    if doc.get("mode") != "plan":
        return file_name(path)
    if key == "before":
        return f"{db} (snapshot)"
    if doc.get("verification"):
        return f"{db} + the migration (temporary copy)"
    n = (doc.get("error") or {}).get("statement_number") or 1
    return f"{db} + statements 1-{n - 1} (temporary copy)"


def checks_table(state: Mapping[str, Any] | None) -> pd.DataFrame:
    """One row per check: name, PASS/WARN/FAIL, the engine's one-line detail."""
    rows = [
        {"check": c["name"], "status": c["status"], "detail": _agreeing_detail(state, c)}
        for c in (state or {}).get("checks", [])
    ]
    return pd.DataFrame(rows, columns=["check", "status", "detail"])


def _agreeing_detail(state: Mapping[str, Any] | None, check: Mapping[str, Any]) -> str:
    """A check's detail, with a PASS on values pointing at the losses other checks found.

    The engine's ``values`` check compares the columns both sides have; when
    columns or rows were lost, "identical" alone would contradict the verdict.
    """
    detail = str(check["detail"])
    if check["name"] != "values" or check["status"] != "PASS":
        return detail
    elsewhere = [
        loss_text(c) for c in failed_checks(state) if c["name"] in ("columns_dropped", "rows")
    ]
    if not elsewhere:
        return detail
    return f"{detail}; only the values still present were compared: {'; '.join(elsewhere)}"


def values_intact(state: Mapping[str, Any] | None) -> bool:
    """No value of BEFORE lost or changed by any check: the only case for "kept every value"."""
    lossy = {"tables", "rows", "columns_dropped", "values"}
    return not any(c["name"] in lossy for c in failed_checks(state))


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
        note = f"{file_name(before_path)}: cannot read the columns of {table}; see the checks"
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
                # the engine's judgement: problems already in BEFORE are a WARN, not a loss
                "status": _fk_status(state, bool(orphans or mismatches)),
                "result": f"{fk_text} ({len(tables)} tables with foreign keys)",
            },
        ]
    )


def _fk_status(state: Mapping[str, Any] | None, problems: bool) -> str:
    """PASS without problems; else the integrity check's status (WARN: already in BEFORE)."""
    if not problems:
        return "PASS"
    check = _check(state, "integrity")
    return str(check["status"]) if check and check["status"] != "PASS" else "FAIL"


def _check(state: Mapping[str, Any] | None, name: str) -> dict[str, Any] | None:
    for c in (state or {}).get("checks", []):
        if c["name"] == name:
            return c
    return None
