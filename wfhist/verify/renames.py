"""Column renames: declared (``--rename``), recorded by the runner, merged, composed.

A rename is never guessed: a guessed rename would hide a dropped column. Two old
columns may name the same new column (a merge, e.g. ``submission_day_of_week``
and ``day_of_week`` -> ``day_of_week``); the comparison then requires each old
column's non-NULL values in the new column.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from wfhist.exceptions import UsageError, WfhistError
from wfhist.model import MIGRATIONS_TABLE, Table
from wfhist.schema import quote_ident

Renames = Mapping[str, "str | Mapping[str, str]"]


def split_renames(renames: Renames | None) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """``{"old": "new"}`` entries apply to any table; ``{"table": {...}}`` to one table."""
    flat: dict[str, str] = {}
    per_table: dict[str, dict[str, str]] = {}
    for key, value in (renames or {}).items():
        if isinstance(value, str):
            flat[key] = value
        elif isinstance(value, Mapping):
            per_table.setdefault(key, {}).update({str(k): str(v) for k, v in value.items()})
        else:
            raise UsageError(
                f"rename {key!r}: value must be a new column name or a {{old: new}} mapping"
            )
    return flat, per_table


def merge_renames(*sources: Renames | None) -> dict[str, Any]:
    """Combine rename mappings (later sources win), composing chains a->b, b->c into a->c."""
    out: dict[str, Any] = {}
    for source in sources:
        flat, per_table = split_renames(source)
        for old, new in flat.items():
            _compose(out, old, new)
        for table, mapping in per_table.items():
            current = dict(out.get(table, {})) if isinstance(out.get(table), Mapping) else {}
            for old, new in mapping.items():
                _compose(current, old, new)
            out[table] = current
    return out


def _compose(mapping: dict[str, Any], old: str, new: str) -> None:
    """Add ``old -> new``; every earlier rename that ended at ``old`` now ends at ``new``.

    ``old -> old`` declares that a column keeps its name (the target of a merge).
    """
    if old == new:
        mapping[old] = new
        return
    chained = [k for k, v in mapping.items() if v == old and k != old]
    for k in chained:
        mapping[k] = new
    if not chained or old in mapping:
        mapping[old] = new


def recorded_renames(con: sqlite3.Connection, before: str, after: str) -> dict[str, Any]:
    """Renames the migration runner recorded in AFTER for versions BEFORE had not applied."""

    def versions(schema: str) -> dict[int, str | None]:
        cols = {
            r[0]
            for r in con.execute(
                "SELECT name FROM pragma_table_info(?, ?)", (MIGRATIONS_TABLE, schema)
            )
        }
        if "version" not in cols:
            return {}
        select = "renames" if "renames" in cols else "NULL"
        rows = con.execute(
            f"SELECT version, {select} FROM {quote_ident(schema)}.{quote_ident(MIGRATIONS_TABLE)} "
            "ORDER BY version"
        ).fetchall()
        return dict(rows)

    done_before = versions(before)
    merged: dict[str, Any] = {}
    for version, text in versions(after).items():
        if version in done_before or not text:
            continue
        try:
            recorded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise WfhistError(
                f"{MIGRATIONS_TABLE}.renames of version {version} is not JSON ({exc}); "
                "pass the renames explicitly with --rename"
            ) from exc
        merged = merge_renames(merged, recorded)
    return merged


def renames_for(table: Table, renames: Mapping[str, Any]) -> dict[str, str]:
    """The renames that apply to one BEFORE table (flat ones only if it has the column)."""
    flat, per_table = split_renames(renames)
    mine = {old: new for old, new in flat.items() if table.column(old) is not None}
    mine.update(per_table.get(table.name, {}))
    return mine


def parse_renames(items: Iterable[str]) -> dict[str, Any]:
    """Renames from the command line: ``OLD=NEW`` (every table) or ``TABLE.OLD=NEW``."""
    out: dict[str, Any] = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise UsageError(f"--rename {item!r}: write OLD=NEW or TABLE.OLD=NEW")
        table, dot, column = old.strip().rpartition(".")
        if dot:
            out = merge_renames(out, {table: {column: new.strip()}})
        else:
            out = merge_renames(out, {column: new.strip()})
    return out
