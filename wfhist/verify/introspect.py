"""What the two schemas say, compared: columns mapped, keys, schema, index and object changes.

Reads nothing itself beyond sizes and pragmas: the schemas come from
:func:`wfhist.model.read_database`.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wfhist.model import Database, Index, SchemaObject, Table, normalise_sql
from wfhist.schema import TABLE, classify_columns, quote_ident

_CONSTANT = re.compile(
    r"""^\(*\s*(?:[-+]?\s*(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|0[xX][0-9a-fA-F]+)
        |'(?:[^']|'')*'|[xX]'[0-9a-fA-F]*'|NULL|TRUE|FALSE)\s*\)*$""",
    re.IGNORECASE | re.VERBOSE,
)


def comparable(table: Table) -> Table:
    """The table with a virtual table's hidden columns (fts5's ``rank``...) left out."""
    if not table.is_virtual:
        return table
    return replace(table, columns=[c for c in table.columns if c.hidden != 1])


def file_info(con: sqlite3.Connection, schema: str, label: str | None) -> dict[str, Any]:
    """Path, sizes, journal mode, user_version and schema state of one side."""
    files = {name: file for _seq, name, file in con.execute("PRAGMA database_list")}
    file = files.get(schema) or ""
    path = Path(file) if file else None
    info: dict[str, Any] = {"path": label or (str(path) if path else f"<{schema}>")}
    if path is not None and path.exists():
        wal = Path(f"{path}-wal")
        info["bytes"] = path.stat().st_size
        info["wal_bytes"] = wal.stat().st_size if wal.exists() else 0
    s = quote_ident(schema)
    try:
        for pragma in ("journal_mode", "user_version", "page_size", "page_count"):
            info[pragma] = con.execute(f"PRAGMA {s}.{pragma}").fetchone()[0]
        names = [
            r[0] for r in con.execute("SELECT name FROM pragma_table_info(?, ?)", (TABLE, schema))
        ]
        info["schema_state"] = classify_columns(names) if names else f"no {TABLE} table"
    except sqlite3.DatabaseError as exc:
        info["error"] = str(exc)
    return info


def check_clauses(create_sql: str, renames: Mapping[str, str] | None = None) -> list[str]:
    """The CHECK constraints of a CREATE TABLE statement, normalised (for comparison)."""
    toks = normalise_sql(create_sql, renames)
    found = []
    for i, tok in enumerate(toks):
        if tok == "check" and i + 1 < len(toks) and toks[i + 1] == "(":
            depth, j = 0, i + 1
            while j < len(toks):
                depth += {"(": 1, ")": -1}.get(toks[j], 0)
                if depth == 0:
                    break
                j += 1
            found.append(" ".join(toks[i : j + 1]))
    return found


def affinity(declared_type: str, strict: bool = False) -> str:
    """SQLite's column affinity for a declared type (datatype3.html section 3.1)."""
    t = declared_type.upper()
    if strict and t == "ANY":
        return "BLOB"  # STRICT tables keep ANY values exactly as given
    if "INT" in t:
        return "INTEGER"
    if any(k in t for k in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in t or not t.strip():
        return "BLOB"
    if any(k in t for k in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


@dataclass
class Key:
    """How BEFORE rows find their AFTER row (``a``/``b`` are the join aliases)."""

    before: list[str]
    after: list[str]
    label: str

    def join(self) -> str:
        return " AND ".join(
            f"a.{ref(ac)} = b.{ref(bc)}" for bc, ac in zip(self.before, self.after, strict=True)
        )

    def select(self, alias: str = "b") -> str:
        cols = self.before if alias == "b" else self.after
        return ", ".join(f"{alias}.{ref(c)}" for c in cols)

    @property
    def missing(self) -> str:
        return f"a.{ref(self.after[0])} IS NULL"

    @property
    def is_rowid(self) -> bool:
        return self.before == ["rowid"]


def ref(column: str) -> str:
    return "rowid" if column == "rowid" else quote_ident(column)


def choose_key(bt: Table, at: Table, mapping: dict[str, str]) -> Key | None:
    """Primary key, else a NOT NULL unique key, else rowid; None for WITHOUT ROWID.

    A key counts only when it is unique in AFTER as well, so the join can neither
    miss nor multiply rows.
    """
    candidates: list[tuple[list[str], str]] = []
    if bt.primary_key:
        candidates.append((bt.primary_key, "primary key"))
    for idx in bt.indexes:
        idx_cols = [c for c, _ in idx.columns]
        if not idx.unique or idx.partial or any(c is None for c in idx_cols):
            continue
        named = [c for c in idx_cols if c is not None]
        if all((col := bt.column(c)) is not None and col.notnull for c in named):
            candidates.append((named, f"unique index {idx.name}"))
    for cols, label in candidates:
        if all(c in mapping for c in cols):
            after_cols = [mapping[c] for c in cols]
            if _is_unique(at, after_cols):
                return Key(cols, after_cols, f"{', '.join(cols)} ({label})")
    if not bt.without_rowid and not at.without_rowid:
        return Key(["rowid"], ["rowid"], "rowid (no key common to both files)")
    return None


def _is_unique(table: Table, cols: list[str]) -> bool:
    want = sorted(c.lower() for c in cols)
    pk = sorted(c.lower() for c in table.primary_key)
    if pk and pk == want:
        return True
    return any(
        i.unique and not i.partial and sorted((c or "").lower() for c, _ in i.columns) == want
        for i in table.indexes
    )


def map_columns(
    bt: Table, at: Table, renames: dict[str, str]
) -> tuple[dict[str, str], list[str], list[dict[str, Any]], list[str]]:
    """BEFORE column -> AFTER column, dropped columns, applied renames, rename warnings."""
    mapping: dict[str, str] = {}
    dropped: list[str] = []
    applied: list[dict[str, Any]] = []
    warnings: list[str] = []
    for col in bt.columns:
        target = renames.get(col.name)
        if target is not None:
            found = at.column(target)
            if found is not None:
                mapping[col.name] = found.name
                if found.name.lower() != col.name.lower():
                    applied.append({"table": bt.name, "old": col.name, "new": found.name})
                continue
            warnings.append(
                f"{bt.name}: rename {col.name} -> {target} declared, AFTER has no {target}"
            )
        found = at.column(col.name)
        if found is not None:
            mapping[col.name] = found.name
        else:
            dropped.append(col.name)
    for old in renames:
        if bt.column(old) is None:
            warnings.append(
                f"{bt.name}: rename {old} -> {renames[old]} declared, BEFORE has no {old}"
            )
    return mapping, dropped, applied, warnings


def merge_groups(mapping: dict[str, str]) -> dict[str, list[str]]:
    """AFTER columns fed by two or more BEFORE columns (a declared or implied merge)."""
    groups: dict[str, list[str]] = {}
    for old, new in mapping.items():
        groups.setdefault(new, []).append(old)
    return {new: olds for new, olds in groups.items() if len(olds) > 1}


def schema_changes(
    bt: Table, at: Table, mapping: dict[str, str], renames: dict[str, str]
) -> list[dict[str, Any]]:
    """Type, default, NOT NULL, collation, primary key, CHECK and foreign key differences."""
    changes: list[dict[str, Any]] = []

    def note(what: str, column: str | None, before: Any, after: Any) -> None:
        changes.append(
            {"table": bt.name, "change": what, "column": column, "before": before, "after": after}
        )

    for col in bt.columns:
        if col.name not in mapping:
            continue
        new = at.column(mapping[col.name])
        assert new is not None
        if " ".join(col.type.upper().split()) != " ".join(new.type.upper().split()):
            note("type", col.name, col.type, new.type)
        old_default = normalise_sql(col.default) if col.default is not None else None
        new_default = normalise_sql(new.default) if new.default is not None else None
        if old_default != new_default:
            note("default", col.name, col.default, new.default)
        if col.notnull != new.notnull:
            note("not null", col.name, col.notnull, new.notnull)
        if col.collation != new.collation:
            note("collation", col.name, col.collation, new.collation)
    old_pk = [mapping.get(c, c) for c in bt.primary_key]
    new_pk = at.primary_key
    if [c.lower() for c in old_pk] != [c.lower() for c in new_pk]:
        note("primary key", None, bt.primary_key, new_pk)
    old_checks = Counter(check_clauses(bt.sql, renames))
    new_checks = Counter(check_clauses(at.sql))
    for clause in (old_checks - new_checks).elements():
        note("check removed", None, clause, None)
    for clause in (new_checks - old_checks).elements():
        note("check added", None, None, clause)
    low = {k.lower(): v.lower() for k, v in renames.items()}
    old_fks = Counter(
        (low.get(f.column.lower(), f.column.lower()), f.parent.lower(), f.parent_column.lower())
        for f in bt.foreign_keys
    )
    new_fks = Counter(
        (f.column.lower(), f.parent.lower(), f.parent_column.lower()) for f in at.foreign_keys
    )
    for fk in (old_fks - new_fks).elements():
        note("foreign key removed", fk[0], f"{fk[0]} -> {fk[1]}({fk[2]})", None)
    for fk in (new_fks - old_fks).elements():
        note("foreign key added", fk[0], None, f"{fk[0]} -> {fk[1]}({fk[2]})")
    return changes


def _index_signature(idx: Index, table: str, renames: Mapping[str, str]) -> tuple[Any, ...]:
    low = {k.lower(): v.lower() for k, v in renames.items()}
    cols = tuple(
        (low.get(c.lower(), c.lower()) if c is not None else None, desc) for c, desc in idx.columns
    )
    body: tuple[str, ...] = ()
    if idx.sql and (idx.partial or any(c is None for c, _ in idx.columns)):
        toks = normalise_sql(idx.sql, renames)
        body = tuple(toks[toks.index("on") + 2 :]) if "on" in toks else tuple(toks)
    return (table.lower(), idx.unique, cols, body)


def diff_indexes(
    table: str, bt: Table | None, at: Table | None, renames: Mapping[str, str]
) -> tuple[list[Index], list[Index], list[dict[str, Any]], list[dict[str, Any]]]:
    """(dropped, added, renamed/equivalent, changed) indexes of one table."""
    before = list(bt.indexes) if bt else []
    after = list(at.indexes) if at else []
    renamed: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    by_name = {i.name: i for i in after if not i.automatic}
    unmatched_before = []
    for idx in before:
        twin = by_name.pop(idx.name, None) if not idx.automatic else None
        if twin is None:
            unmatched_before.append(idx)
            continue
        after.remove(twin)
        if _index_signature(idx, table, renames) != _index_signature(twin, table, {}):
            changed.append({"table": table, "name": idx.name, "before": idx.sql, "after": twin.sql})
    dropped = []
    for idx in unmatched_before:
        sig = _index_signature(idx, table, renames)
        match = next((i for i in after if _index_signature(i, table, {}) == sig), None)
        if match is None:
            dropped.append(idx)
            continue
        after.remove(match)
        if match.name != idx.name:
            renamed.append({"table": table, "before": idx.name, "after": match.name})
    return dropped, after, renamed, changed


def default_sql(default: str | None) -> str | None:
    """The column default as an SQL expression, when it is a constant we can compare with."""
    if default is None:
        return "NULL"
    return default if _CONSTANT.match(default.strip()) else None


def _definition(obj: SchemaObject, renames: Mapping[str, str]) -> list[str]:
    return normalise_sql(obj.sql, renames)


def diff_objects(
    before: Database, after: Database, renames: Mapping[str, Any]
) -> dict[str, list[str]]:
    """Views and triggers dropped, added and redefined (same name, other definition).

    Definitions are compared as normalised tokens, with the declared column renames
    applied to BEFORE's text (SQLite rewrites a trigger or view on RENAME COLUMN).
    """
    flat: dict[str, str] = {}
    for key, value in renames.items():
        if isinstance(value, str):
            flat[key] = value
        else:
            flat.update(value)
    out: dict[str, list[str]] = {}
    for kind, b_objs, a_objs in (
        ("triggers", before.triggers, after.triggers),
        ("views", before.views, after.views),
    ):
        out[f"{kind}_before"] = sorted(b_objs)
        out[f"{kind}_dropped"] = sorted(set(b_objs) - set(a_objs))
        out[f"{kind}_added"] = sorted(set(a_objs) - set(b_objs))
        out[f"{kind}_changed"] = sorted(
            name
            for name in set(b_objs) & set(a_objs)
            if _definition(b_objs[name], flat) != _definition(a_objs[name], {})
        )
    return out
