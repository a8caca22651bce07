"""Prove, value by value, that a migration kept every value of the file it started from.

The report behind this project claimed "zero data loss" from row and column
counts. Counts miss a blanked column, a changed value, or a column dropped while
another was added. :func:`verify` compares two SQLite files -- BEFORE (the
reference) and AFTER (the migrated file) -- and gives each finding a status:

* ``integrity``: SQLite's ``integrity_check`` and ``foreign_key_check`` on AFTER
  (a damaged file is a FAIL with SQLite's message, never a crash);
* ``tables`` / ``rows``: tables in both files, rows per table, rows of BEFORE
  missing from AFTER (FAIL) and rows only in AFTER (reported: a live writer may
  have added them);
* ``columns_dropped``: FAIL with the number of non-NULL values the column held;
  an all-NULL column may go with a WARN;
* ``columns_added``: how many rows hold the default, NULL, or something else;
* ``columns_renamed``: only the renames we were told about (``renames=`` or the
  runner's ``wfhist_migrations.renames``): a rename is never guessed, because a
  guessed rename would hide a dropped column;
* ``schema``: type, default, NOT NULL, primary key, CHECK and foreign key changes;
* ``indexes`` / ``triggers_views``: added, dropped and renamed, counted exactly,
  SQLite's automatic indexes included; a dropped index or trigger is a FAIL (a
  lost UNIQUE constraint or behaviour), a dropped view a WARN;
* ``values``: every BEFORE row, matched by primary key (else a NOT NULL unique
  key, else ``rowid``), has the identical value in AFTER for every column that
  still exists -- storage class included, so ``1`` differs from ``'1'``, ``''``
  from NULL and ``0.1`` from ``0.1000000001``.

The verdict is PASS only when no BEFORE value is lost or changed, no index or
trigger was dropped, and AFTER is intact. All comparing happens inside SQLite:
BEFORE is opened read-only and AFTER attached read-only to the same connection,
and each table is compared in
one streamed join pass (``sum`` per column), so memory does not grow with the
table. SQLite rather than DuckDB's scanner does this because the scanner
converts values to DuckDB types (losing the storage class) and stops on a
column that mixes them -- exactly the values we must see.
"""

from __future__ import annotations

import json
import re
import sqlite3
import textwrap
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wfhist.exceptions import UsageError, WfhistError
from wfhist.files import validate_db_path
from wfhist.schema import TABLE, classify_columns, quote_ident

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"

#: The migration runner's own bookkeeping table: reported, never compared.
HISTORY_TABLE = "wfhist_migrations"
#: Name under which AFTER is attached to the BEFORE connection ("after" is a keyword).
_AFTER = "after_db"
#: How many sample keys to fetch per differing column, and for how many columns.
SAMPLES = 5
_SAMPLED_COLUMNS = 20
#: Cap on (dropped, added) column pairs compared for a rename hint.
_HINT_PAIRS = 200
#: Up to this many columns, pass 1 tests a whole row in one expression (SQLite's
#: expression depth limit is 1000); wider tables go straight to per-column sums.
_ROW_EXPR_LIMIT = 400
INTEGRITY_MODES = ("auto", "full", "quick")
#: ``auto`` runs the full ``integrity_check`` on files up to this size.
FULL_INTEGRITY_MAX_BYTES = 512 * 2**20
#: Page cache of the integrity connection (KiB, negative = size): the index
#: lookups of integrity_check run ~2x faster with room for the hot index pages.
_INTEGRITY_CACHE = -131072

Renames = Mapping[str, "str | Mapping[str, str]"]


# --- result types ------------------------------------------------------------------


@dataclass
class Check:
    """One finding: PASS / WARN / FAIL, a one-line detail, numbers and sample keys."""

    name: str
    status: str
    detail: str
    numbers: dict[str, Any] = field(default_factory=dict)
    samples: list[Any] = field(default_factory=list)


@dataclass
class VerifyResult:
    """Everything :func:`verify` found; ``to_dict()`` is the ``--json`` document."""

    before: dict[str, Any]
    after: dict[str, Any]
    checks: list[Check] = field(default_factory=list)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    columns_dropped: list[dict[str, Any]] = field(default_factory=list)
    columns_added: list[dict[str, Any]] = field(default_factory=list)
    columns_renamed: list[dict[str, Any]] = field(default_factory=list)
    values_changed: list[dict[str, Any]] = field(default_factory=list)
    indexes_dropped: list[dict[str, Any]] = field(default_factory=list)
    indexes_added: list[dict[str, Any]] = field(default_factory=list)
    indexes_renamed: list[dict[str, Any]] = field(default_factory=list)
    schema_changes: list[dict[str, Any]] = field(default_factory=list)
    triggers_views: dict[str, list[str]] = field(default_factory=dict)
    rename_hints: list[dict[str, Any]] = field(default_factory=list)
    integrity: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def verdict(self) -> str:
        """PASS unless some check failed (WARNs do not fail: no value was lost)."""
        return FAIL if any(c.status == FAIL for c in self.checks) else PASS

    @property
    def ok(self) -> bool:
        return self.verdict == PASS

    def check(self, name: str) -> Check:
        """The check called ``name`` (KeyError if it was not run)."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        out = {"verdict": self.verdict, "checks": [asdict(c) for c in self.checks]}
        for key, value in asdict(self).items():
            if key != "checks":
                out[key] = value
        return out


# --- schema model ------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    name: str
    type: str
    notnull: bool
    default: str | None
    pk: int
    hidden: int


@dataclass(frozen=True)
class _Index:
    name: str
    table: str
    unique: bool
    origin: str  # c = CREATE INDEX, u = UNIQUE constraint, pk = PRIMARY KEY
    partial: bool
    columns: tuple[tuple[str | None, bool], ...]  # (column or None for an expression, desc)
    sql: str | None

    @property
    def automatic(self) -> bool:
        return self.origin != "c"

    def describe(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "name": self.name,
            "columns": [c if c is not None else "<expr>" for c, _ in self.columns],
            "unique": self.unique,
            "automatic": self.automatic,
        }


@dataclass
class _Table:
    name: str
    sql: str
    without_rowid: bool
    strict: bool
    columns: list[_Column]
    indexes: list[_Index]
    foreign_keys: list[tuple[str, str, str]]  # (from column, parent table, parent column)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> _Column | None:
        low = name.lower()
        return next((c for c in self.columns if c.name.lower() == low), None)


@dataclass
class _Schema:
    tables: dict[str, _Table]
    triggers: set[str]
    views: set[str]


def _read_schema(con: sqlite3.Connection, schema: str) -> _Schema:
    """Tables (with columns, indexes, foreign keys), triggers and views of one attached file."""
    master = con.execute(
        f"SELECT type, name, tbl_name, sql FROM {quote_ident(schema)}.sqlite_master"
    ).fetchall()
    listed = {
        name: (bool(wr), bool(strict))
        for name, wr, strict in con.execute(
            "SELECT name, wr, strict FROM pragma_table_list WHERE schema = ? AND type = 'table'",
            (schema,),
        )
        if not name.startswith("sqlite_")
    }
    tables = {}
    sql_of = {name: sql for kind, name, _t, sql in master if kind == "table"}
    for name, (without_rowid, strict) in listed.items():
        cols = [
            _Column(n, t or "", bool(nn), d, pk, hidden)
            for n, t, nn, d, pk, hidden in con.execute(
                'SELECT name, type, "notnull", dflt_value, pk, hidden '
                "FROM pragma_table_xinfo(?, ?) ORDER BY cid",
                (name, schema),
            )
        ]
        fks = [
            (frm, parent, to or "")
            for frm, parent, to in con.execute(
                'SELECT "from", "table", "to" FROM pragma_foreign_key_list(?, ?)', (name, schema)
            )
        ]
        indexes = _read_indexes(con, schema, name)
        tables[name] = _Table(
            name, sql_of.get(name) or "", without_rowid, strict, cols, indexes, fks
        )
    return _Schema(
        tables,
        {name for kind, name, _t, _s in master if kind == "trigger"},
        {name for kind, name, _t, _s in master if kind == "view"},
    )


def _read_indexes(con: sqlite3.Connection, schema: str, table: str) -> list[_Index]:
    sql_of = dict(
        con.execute(
            f"SELECT name, sql FROM {quote_ident(schema)}.sqlite_master WHERE type = 'index'"
        ).fetchall()
    )
    out = []
    for name, unique, origin, partial in con.execute(
        'SELECT name, "unique", origin, partial FROM pragma_index_list(?, ?) ORDER BY name',
        (table, schema),
    ).fetchall():
        cols = tuple(
            (col, bool(desc))
            for col, desc in con.execute(
                "SELECT name, desc FROM pragma_index_xinfo(?, ?) WHERE key = 1 ORDER BY seqno",
                (name, schema),
            )
        )
        out.append(_Index(name, table, bool(unique), origin, bool(partial), cols, sql_of.get(name)))
    return out


# --- SQL text normalisation (CHECK clauses, index definitions) -----------------------

_TOKEN = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|--[^\n]*|/\*.*?\*/|\w+|\S""",
    re.DOTALL,
)


def _tokens(sql: str, renames: Mapping[str, str] | None = None) -> list[str]:
    """SQL tokens with case, quoting and spacing normalised; identifiers renamed."""
    low_renames = {k.lower(): v.lower() for k, v in (renames or {}).items()}
    out = []
    for tok in _TOKEN.findall(sql):
        if tok.startswith(("--", "/*")):
            continue
        if tok[0] != "'":
            if tok[0] in '"`[':
                tok = tok[1:-1].replace('""', '"')
            tok = tok.lower()
            tok = low_renames.get(tok, tok)
        out.append(tok)
    return out


def check_clauses(create_sql: str, renames: Mapping[str, str] | None = None) -> list[str]:
    """The CHECK constraints of a CREATE TABLE statement, normalised (for comparison)."""
    toks = _tokens(create_sql, renames)
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


# --- renames -----------------------------------------------------------------------


def _split_renames(renames: Renames | None) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
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
        flat, per_table = _split_renames(source)
        for old, new in flat.items():
            _compose(out, old, new)
        for table, mapping in per_table.items():
            current = dict(out.get(table, {})) if isinstance(out.get(table), Mapping) else {}
            for old, new in mapping.items():
                _compose(current, old, new)
            out[table] = current
    return out


def _compose(mapping: dict[str, Any], old: str, new: str) -> None:
    for k, v in list(mapping.items()):
        if v == old:
            mapping[k] = new
            return
    mapping[old] = new


def _recorded_renames(con: sqlite3.Connection) -> dict[str, Any]:
    """Renames the migration runner recorded in AFTER for versions BEFORE had not applied."""

    def versions(schema: str) -> dict[int, str | None] | None:
        cols = {
            r[0]
            for r in con.execute(
                "SELECT name FROM pragma_table_info(?, ?)", (HISTORY_TABLE, schema)
            )
        }
        if "version" not in cols:
            return None
        select = "renames" if "renames" in cols else "NULL"
        rows = con.execute(
            f"SELECT version, {select} FROM {quote_ident(schema)}.{quote_ident(HISTORY_TABLE)} "
            "ORDER BY version"
        ).fetchall()
        return dict(rows)

    after = versions(_AFTER) or {}
    before = versions("main") or {}
    merged: dict[str, Any] = {}
    for version, text in after.items():
        if version in before or not text:
            continue
        try:
            recorded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise WfhistError(
                f"{HISTORY_TABLE}.renames of version {version} is not JSON ({exc}); "
                "pass the renames explicitly with --rename"
            ) from exc
        merged = merge_renames(merged, recorded)
    return merged


def _renames_for(table: _Table, renames: Mapping[str, Any]) -> dict[str, str]:
    flat, per_table = _split_renames(renames)
    mine = {old: new for old, new in flat.items() if table.column(old) is not None}
    mine.update(per_table.get(table.name, {}))
    return mine


# --- opening -----------------------------------------------------------------------


def _readonly_uri(path: Path) -> str:
    return f"{path.as_uri()}?mode=ro"


def _open_readonly(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(_readonly_uri(path), uri=True, isolation_level=None)
    con.execute("PRAGMA query_only = 1")
    return con


def _file_info(con: sqlite3.Connection, schema: str, path: Path) -> dict[str, Any]:
    """Path, sizes, journal mode, user_version and schema state of one side."""
    wal = Path(f"{path}-wal")
    info: dict[str, Any] = {
        "path": str(path),
        "bytes": path.stat().st_size,
        "wal_bytes": wal.stat().st_size if wal.exists() else 0,
    }
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


# --- integrity (own connection, runs beside the value comparison) --------------------


def _fk_problems(con: sqlite3.Connection) -> dict[str, Any]:
    """Orphans and key mismatches per child table, from ``foreign_key_check``.

    Checked table by table: SQLite raises "foreign key mismatch" for a whole
    statement when a parent key is not unique (or gone), and we want the other
    tables' answers too.
    """
    orphans: dict[str, int] = {}
    samples: dict[str, list[int]] = {}
    mismatches: dict[str, str] = {}
    children = [
        name
        for (name,) in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        if con.execute("SELECT 1 FROM pragma_foreign_key_list(?)", (name,)).fetchone()
    ]
    for child in children:
        try:
            rows = con.execute(
                'SELECT "table", rowid, parent FROM pragma_foreign_key_check(?)', (child,)
            ).fetchall()
        except sqlite3.OperationalError as exc:
            mismatches[child] = str(exc)
            continue
        for _t, rowid, parent in rows:
            key = f"{child} -> {parent}"
            orphans[key] = orphans.get(key, 0) + 1
            if len(samples.setdefault(key, [])) < SAMPLES:
                samples[key].append(rowid)
    return {
        "tables_with_foreign_keys": children,
        "orphans": orphans,
        "orphan_rowids": samples,
        "mismatches": mismatches,
    }


def _fk_text(orphans: dict[str, int], mismatches: dict[str, str]) -> str:
    parts = [f"{n} orphaned rows {link}" for link, n in orphans.items()]
    if mismatches:
        parents = sorted({m.rsplit(" referencing ", 1)[-1] for m in mismatches.values()})
        parts.append(
            f"foreign key mismatch in {', '.join(mismatches)}: the parent key in "
            f"{', '.join(parents)} is gone or not unique"
        )
    return "; ".join(parts)


def integrity_method(after: Path, mode: str = "auto") -> str:
    """``integrity_check`` or ``quick_check`` for ``mode`` full / quick / auto.

    ``integrity_check`` also looks up every row in every index: on the 1M-row
    benchmark pair it takes ~10x as long as ``quick_check`` (which still reads
    every page and record) and longer than the whole value comparison. ``auto``
    runs the full check on files up to :data:`FULL_INTEGRITY_MAX_BYTES` -- the
    real database is 40 MB -- and the quick one above, saying so in the result.
    """
    if mode not in INTEGRITY_MODES:
        raise UsageError(f"integrity mode {mode!r}: use one of {', '.join(INTEGRITY_MODES)}")
    if mode == "auto":
        wal = Path(f"{after}-wal")
        size = after.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
        mode = "full" if size <= FULL_INTEGRITY_MAX_BYTES else "quick"
    return "integrity_check" if mode == "full" else "quick_check"


def _integrity(before: Path, after: Path, method: str) -> tuple[Check, dict[str, Any]]:
    """integrity/quick_check + foreign_key_check on AFTER; BEFORE's FK state tells old from new."""
    report: dict[str, Any] = {
        "method": method,
        "integrity_check": [],
        "foreign_key_check": {},
        "ok": False,
    }
    try:
        con = _open_readonly(after)
        try:
            con.execute(f"PRAGMA cache_size = {_INTEGRITY_CACHE}")
            messages = [r[0] for r in con.execute(f"PRAGMA {method}(50)")]
            report["integrity_check"] = messages
            fk_after = _fk_problems(con)
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        report["integrity_check"] = [f"SQLite cannot read the file: {exc}"]
        return Check("integrity", FAIL, f"AFTER is damaged: {exc}", {}), report
    report["foreign_key_check"] = fk_after
    if messages != ["ok"]:
        shown = "; ".join(messages[:3])
        more = f" (+{len(messages) - 3} more)" if len(messages) > 3 else ""
        return Check("integrity", FAIL, f"{method}: {shown}{more}", {}), report
    try:
        con = _open_readonly(before)
        try:
            fk_before = _fk_problems(con)
        finally:
            con.close()
    except sqlite3.DatabaseError:
        fk_before = {"orphans": {}, "mismatches": {}}
    new_orphans = {
        k: n for k, n in fk_after["orphans"].items() if n > fk_before["orphans"].get(k, 0)
    }
    new_mismatch = {
        k: m for k, m in fk_after["mismatches"].items() if k not in fk_before["mismatches"]
    }
    numbers = {
        "orphans": sum(fk_after["orphans"].values()),
        "new_orphans": sum(new_orphans.values()),
        "mismatches": len(fk_after["mismatches"]),
    }
    report["ok"] = not new_orphans and not new_mismatch
    samples = [{"link": k, "rowids": v} for k, v in fk_after["orphan_rowids"].items()]
    done = f"{method} ok"
    if method == "quick_check":
        done += " (pages and records; index contents not cross-checked: --integrity full)"
    if new_orphans or new_mismatch:
        detail = f"{done}; foreign_key_check: " + _fk_text(new_orphans, new_mismatch)
        return Check("integrity", FAIL, detail, numbers, samples), report
    if fk_after["orphans"] or fk_after["mismatches"]:
        detail = f"{done}; foreign key problems already in BEFORE: " + _fk_text(
            fk_after["orphans"], fk_after["mismatches"]
        )
        return Check("integrity", WARN, detail, numbers, samples), report
    n_fk = len(fk_after["tables_with_foreign_keys"])
    detail = f"{done}; foreign_key_check: no orphans ({n_fk} tables with foreign keys)"
    return Check("integrity", PASS, detail, numbers), report


# --- comparing one table ---------------------------------------------------------------

_CONSTANT = re.compile(
    r"""^\(*\s*(?:[-+]?\s*(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|0[xX][0-9a-fA-F]+)
        |'(?:[^']|'')*'|[xX]'[0-9a-fA-F]*'|NULL|TRUE|FALSE)\s*\)*$""",
    re.IGNORECASE | re.VERBOSE,
)


def _same(a: str, b: str, *, check_types: bool = True) -> str:
    """SQL that is true when two values are identical, storage class and bytes included.

    Unary ``+`` drops column affinity, so SQLite converts neither side and a
    value of one storage class never equals one of another -- except INTEGER
    and REAL, which compare by value (``1 IS 1.0``); ``typeof`` separates those.
    ``COLLATE BINARY`` overrides a NOCASE/RTRIM column collation; ``IS`` makes
    NULL equal NULL. ``check_types=False`` skips the ``typeof`` pair (two function
    calls and a text comparison per value, the bulk of the cost) where the
    column affinities make 1 vs 1.0 impossible: see :func:`_needs_typeof`.
    """
    same = f"(+{a}) IS (+{b}) COLLATE BINARY"
    return f"(typeof({a}) = typeof({b}) AND {same})" if check_types else f"({same})"


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


def _needs_typeof(before: _Column, b_strict: bool, after: _Column, a_strict: bool) -> bool:
    """Whether an INTEGER in one file could equal a REAL in the other for this column.

    SQLite stores a whole-number REAL as INTEGER in INTEGER/NUMERIC columns, reads
    REAL columns back as REAL and TEXT columns hold no numbers, so with the same
    such affinity on both sides ``1`` vs ``1.0`` cannot occur. Otherwise (BLOB
    affinity, or the affinity changed) the storage class must be compared.
    """
    b, a = affinity(before.type, b_strict), affinity(after.type, a_strict)
    return b != a or b == "BLOB"


@dataclass
class _Key:
    before: list[str]
    after: list[str]
    label: str

    def join(self) -> str:
        return " AND ".join(
            f"a.{_ref(ac)} = b.{_ref(bc)}" for bc, ac in zip(self.before, self.after, strict=True)
        )

    def select(self, alias: str = "b") -> str:
        cols = self.before if alias == "b" else self.after
        return ", ".join(f"{alias}.{_ref(c)}" for c in cols)

    @property
    def missing(self) -> str:
        return f"a.{_ref(self.after[0])} IS NULL"


def _ref(column: str) -> str:
    return "rowid" if column == "rowid" else quote_ident(column)


def _choose_key(bt: _Table, at: _Table, mapping: dict[str, str]) -> _Key | None:
    """How BEFORE rows find their AFTER row: primary key, NOT NULL unique key, else rowid.

    A key counts only when it is unique in AFTER as well, so the join can neither
    miss nor multiply rows.
    """
    candidates = []
    pk = [c.name for c in sorted((c for c in bt.columns if c.pk), key=lambda c: c.pk)]
    if pk:
        candidates.append((pk, "primary key"))
    for idx in bt.indexes:
        cols = [c for c, _ in idx.columns]
        usable = idx.unique and not idx.partial and None not in cols
        if usable and all(bt.column(c).notnull for c in cols):  # type: ignore[union-attr]
            candidates.append((cols, f"unique index {idx.name}"))
    for cols, label in candidates:
        if all(c in mapping for c in cols):
            after_cols = [mapping[c] for c in cols]
            if _is_unique(at, after_cols):
                return _Key(cols, after_cols, f"{', '.join(cols)} ({label})")
    if not bt.without_rowid and not at.without_rowid:
        return _Key(["rowid"], ["rowid"], "rowid (no key common to both files)")
    return None


def _is_unique(table: _Table, cols: list[str]) -> bool:
    want = [c.lower() for c in cols]
    pk = [c.name.lower() for c in sorted((c for c in table.columns if c.pk), key=lambda c: c.pk)]
    if pk and sorted(pk) == sorted(want):
        return True
    return any(
        i.unique
        and not i.partial
        and sorted((c or "").lower() for c, _ in i.columns) == sorted(want)
        for i in table.indexes
    )


def _map_columns(
    bt: _Table, at: _Table, renames: dict[str, str]
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


def _schema_changes(
    bt: _Table, at: _Table, mapping: dict[str, str], renames: dict[str, str]
) -> list[dict[str, Any]]:
    """Type, default, NOT NULL, primary key, CHECK and foreign key differences."""
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
        old_default = _tokens(col.default) if col.default is not None else None
        new_default = _tokens(new.default) if new.default is not None else None
        if old_default != new_default:
            note("default", col.name, col.default, new.default)
        if col.notnull != new.notnull:
            note("not null", col.name, col.notnull, new.notnull)
    old_pk = [mapping.get(c.name, c.name) for c in sorted(bt.columns, key=lambda c: c.pk) if c.pk]
    new_pk = [c.name for c in sorted(at.columns, key=lambda c: c.pk) if c.pk]
    if [c.lower() for c in old_pk] != [c.lower() for c in new_pk]:
        note("primary key", None, [c.name for c in bt.columns if c.pk], new_pk)
    old_checks = Counter(check_clauses(bt.sql, renames))
    new_checks = Counter(check_clauses(at.sql))
    for clause in (old_checks - new_checks).elements():
        note("check removed", None, clause, None)
    for clause in (new_checks - old_checks).elements():
        note("check added", None, None, clause)
    low = {k.lower(): v.lower() for k, v in renames.items()}
    old_fks = Counter(
        (low.get(f.lower(), f.lower()), p.lower(), t.lower()) for f, p, t in bt.foreign_keys
    )
    new_fks = Counter((f.lower(), p.lower(), t.lower()) for f, p, t in at.foreign_keys)
    for fk in (old_fks - new_fks).elements():
        note("foreign key removed", fk[0], f"{fk[0]} -> {fk[1]}({fk[2]})", None)
    for fk in (new_fks - old_fks).elements():
        note("foreign key added", fk[0], None, f"{fk[0]} -> {fk[1]}({fk[2]})")
    return changes


def _index_signature(idx: _Index, table: str, renames: Mapping[str, str]) -> tuple[Any, ...]:
    low = {k.lower(): v.lower() for k, v in renames.items()}
    cols = tuple(
        (low.get(c.lower(), c.lower()) if c is not None else None, desc) for c, desc in idx.columns
    )
    body: tuple[str, ...] = ()
    if idx.sql and (idx.partial or any(c is None for c, _ in idx.columns)):
        toks = _tokens(idx.sql, renames)
        body = tuple(toks[toks.index("on") + 2 :]) if "on" in toks else tuple(toks)
    return (table.lower(), idx.unique, cols, body)


def _diff_indexes(
    bt: _Table | None, at: _Table | None, renames: Mapping[str, str]
) -> tuple[list[_Index], list[_Index], list[dict[str, Any]], list[dict[str, Any]]]:
    """(dropped, added, renamed/equivalent, changed) indexes of one table."""
    before = list(bt.indexes) if bt else []
    after = list(at.indexes) if at else []
    table = (at or bt).name  # type: ignore[union-attr]
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
        twin = next((i for i in after if _index_signature(i, table, {}) == sig), None)
        if twin is None:
            dropped.append(idx)
            continue
        after.remove(twin)
        if twin.name != idx.name:
            renamed.append({"table": table, "before": idx.name, "after": twin.name})
    return dropped, after, renamed, changed


def _default_sql(default: str | None) -> str | None:
    """The column default as an SQL expression, when it is a constant we can compare with."""
    if default is None:
        return "NULL"
    return default if _CONSTANT.match(default.strip()) else None


def _rows_and_nonnull(
    con: sqlite3.Connection, schema: str, table: str, cols: list[str]
) -> list[int]:
    """One pass: ``count(*)`` and the non-NULL count of each column in ``cols``."""
    exprs = ["count(*)", *(f"count({quote_ident(c)})" for c in cols)]
    sql = f"SELECT {', '.join(exprs)} FROM {quote_ident(schema)}.{quote_ident(table)}"
    return list(con.execute(sql).fetchone())


def _added_sums(at: _Table, added: list[str], where: str = "") -> list[str]:
    """Two sums per added column of AFTER (alias ``a``): NULLs, and rows equal to the default.

    The default is compared only when it is a constant (``'1.0'``, ``0``); for an
    expression such as ``CURRENT_TIMESTAMP`` the second sum is ``NULL``.
    """
    cond = f"{where} AND " if where else ""
    out = []
    for name in added:
        col = at.column(name)
        assert col is not None
        c = f"a.{quote_ident(col.name)}"
        default = _default_sql(col.default)
        out.append(f"sum({cond}{c} IS NULL)")
        out.append(f"sum({cond}{_same(c, f'({default})')})" if default else "NULL")
    return out


def _added_entries(
    at: _Table, added: list[str], rows: int, sums: list[int | None]
) -> list[dict[str, Any]]:
    """``columns_added`` entries: rows holding the default / NULL / something else."""
    out = []
    for i, name in enumerate(added):
        col = at.column(name)
        assert col is not None
        default = _default_sql(col.default)
        nulls, at_default = sums[2 * i] or 0, sums[2 * i + 1] or 0
        entry: dict[str, Any] = {
            "table": at.name,
            "column": col.name,
            "type": col.type,
            "default": col.default,
            "rows": rows,
            "rows_default": (nulls if default == "NULL" else at_default) if default else None,
            "rows_null": nulls,
        }
        if default is None:
            entry["rows_other"] = rows - nulls
            entry["note"] = "default is not a constant; only NULL / non-NULL counted"
        elif default == "NULL":
            entry["rows_other"] = rows - nulls
        else:
            entry["rows_other"] = rows - nulls - at_default
        out.append(entry)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        text = value[:32].hex()
        return f"x'{text}'" + ("…" if len(value) > 32 else "")
    if isinstance(value, str) and len(value) > 80:
        return value[:80] + "…"
    return value


def _key_dict(key: _Key, values: Iterable[Any]) -> dict[str, Any]:
    return {c: _jsonable(v) for c, v in zip(key.before, values, strict=True)}


@dataclass
class _TableValues:
    rows_missing: int = 0
    rows_only_after: int = 0
    changed: list[dict[str, Any]] = field(default_factory=list)
    missing_samples: list[dict[str, Any]] = field(default_factory=list)
    only_after_samples: list[dict[str, Any]] = field(default_factory=list)
    hints: list[dict[str, Any]] = field(default_factory=list)
    added_sums: list[int | None] = field(default_factory=list)


def _compare_values(
    con: sqlite3.Connection,
    bt: _Table,
    at: _Table,
    key: _Key,
    mapping: dict[str, str],
    rows: tuple[int, int],
    hint_pairs: list[tuple[str, str]],
    added: list[str],
) -> _TableValues:
    """One join pass over BEFORE (two when something differs); samples only if any.

    The same pass counts, for matched rows, what the added columns hold; rows
    only in AFTER are counted separately (they are few: a live writer's).
    """
    out = _TableValues()
    src = (
        f"main.{quote_ident(bt.name)} AS b "
        f"LEFT JOIN {_AFTER}.{quote_ident(at.name)} AS a ON {key.join()}"
    )
    pairs = list(mapping.items())
    sames = [
        _same(
            "b." + quote_ident(bc),
            "a." + quote_ident(ac),
            check_types=_needs_typeof(bt.column(bc), bt.strict, at.column(ac), at.strict),  # type: ignore[arg-type]
        )
        for bc, ac in pairs
    ]
    diffs = [f"NOT {s}" for s in sames]
    hint_exprs = [
        f"NOT {_same('b.' + quote_ident(d), 'a.' + quote_ident(n))}" for d, n in hint_pairs
    ]
    # Pass 1: rows that differ anywhere (one aggregate: cheap); per-column sums only if any.
    whole_row = len(sames) <= _ROW_EXPR_LIMIT
    row_diff = f"sum(NOT ({' AND '.join(sames)}))" if whole_row and sames else "NULL"
    added_exprs = _added_sums(at, added, where=f"NOT ({key.missing})")
    exprs = [f"sum({key.missing})", row_diff, *(f"sum({h})" for h in hint_exprs), *added_exprs]
    if not whole_row:
        exprs += [f"sum({d})" for d in diffs]
    row = con.execute(f"SELECT {', '.join(exprs)} FROM {src}").fetchone()
    out.rows_missing = row[0] or 0
    hint_totals = [v or 0 for v in row[2 : 2 + len(hint_exprs)]]
    first_added = 2 + len(hint_exprs)
    out.added_sums = list(row[first_added : first_added + len(added_exprs)])
    if not whole_row:
        totals = [v or 0 for v in row[first_added + len(added_exprs) :]]
    elif row[1] or out.rows_missing:
        per_column = con.execute(
            f"SELECT {', '.join(f'sum({d})' for d in diffs)} FROM {src}"
        ).fetchone()
        totals = [v or 0 for v in per_column]
    else:
        totals = [0] * len(pairs)
    rows_before, rows_after = rows
    matched = rows_before - out.rows_missing
    out.rows_only_after = max(rows_after - matched, 0)

    lost = [0] * len(pairs)
    if out.rows_missing:
        lost_row = con.execute(
            f"SELECT {', '.join('count(b.' + quote_ident(bc) + ')' for bc, _ in pairs)} "
            f"FROM {src} WHERE {key.missing}"
        ).fetchone()
        lost = [v or 0 for v in lost_row]
        out.missing_samples = [
            _key_dict(key, r)
            for r in con.execute(
                f"SELECT {key.select('b')} FROM {src} WHERE {key.missing} LIMIT ?", (SAMPLES,)
            )
        ]
    sampled = 0
    for (bc, ac), diff, total, gone in zip(pairs, diffs, totals, lost, strict=True):
        if not total:
            continue
        entry = {
            "table": bt.name,
            "column": bc,
            "after_column": ac,
            "changed": total - gone,
            "lost": gone,
            "samples": [],
        }
        if total - gone and sampled < _SAMPLED_COLUMNS:
            sampled += 1
            b, a = "b." + quote_ident(bc), "a." + quote_ident(ac)
            for r in con.execute(
                f"SELECT {key.select('b')}, {b}, typeof({b}), {a}, typeof({a}) FROM {src} "
                f"WHERE NOT ({key.missing}) AND {diff} LIMIT ?",
                (SAMPLES,),
            ):
                n = len(key.before)
                entry["samples"].append(
                    {
                        "key": _key_dict(key, r[:n]),
                        "before": _jsonable(r[n]),
                        "before_type": r[n + 1],
                        "after": _jsonable(r[n + 2]),
                        "after_type": r[n + 3],
                    }
                )
        out.changed.append(entry)
    if out.rows_only_after:
        probe = " AND ".join(
            f"b.{_ref(bc)} = a.{_ref(ac)}" for bc, ac in zip(key.before, key.after, strict=True)
        )
        only_after = (
            f"FROM {_AFTER}.{quote_ident(at.name)} AS a WHERE NOT EXISTS "
            f"(SELECT 1 FROM main.{quote_ident(bt.name)} AS b WHERE {probe})"
        )
        out.only_after_samples = [
            {c: _jsonable(v) for c, v in zip(key.after, r, strict=True)}
            for r in con.execute(f"SELECT {key.select('a')} {only_after} LIMIT ?", (SAMPLES,))
        ]
        if added:
            extra = con.execute(f"SELECT {', '.join(_added_sums(at, added))} {only_after}")
            out.added_sums = [
                None if x is None else x + (y or 0)
                for x, y in zip(out.added_sums, extra.fetchone(), strict=True)
            ]
    for (d, n), total in zip(hint_pairs, hint_totals, strict=True):
        if total == 0 and matched:
            out.hints.append(
                {"table": bt.name, "dropped": d, "added": n, "rows_identical": matched}
            )
    return out


# --- the whole comparison ------------------------------------------------------------------


@dataclass
class _Findings:
    """What the table loop collects before it is turned into checks."""

    dropped_tables: list[dict[str, Any]] = field(default_factory=list)
    added_tables: list[dict[str, Any]] = field(default_factory=list)
    rename_warnings: list[str] = field(default_factory=list)
    value_notes: list[str] = field(default_factory=list)
    read_errors: list[str] = field(default_factory=list)
    index_counts: dict[str, Counter] = field(default_factory=dict)


def verify(
    before: str | Path,
    after: str | Path,
    *,
    renames: Renames | None = None,
    tables: list[str] | None = None,
    integrity: str = "auto",
) -> VerifyResult:
    """Compare AFTER with BEFORE, value by value; both files are opened read-only.

    ``renames`` maps old column names to new ones, either flat (``{"old": "new"}``,
    for every table that has ``old``) or per table (``{"table": {"old": "new"}}``).
    ``None`` reads the renames the migration runner recorded in AFTER's
    ``wfhist_migrations`` for versions BEFORE does not have; ``{}`` declares that
    nothing was renamed. ``tables`` limits the table comparisons (integrity is
    always checked for the whole file). ``integrity`` is ``full``
    (``integrity_check``), ``quick`` (``quick_check``) or ``auto``: see
    :func:`integrity_method`.
    """
    started = time.perf_counter()
    before_path = validate_db_path(before)
    after_path = validate_db_path(after)
    method = integrity_method(after_path, integrity)
    # integrity_check reads every page of AFTER: let it run on its own connection
    # (sqlite3 releases the GIL) while this thread compares values.
    with ThreadPoolExecutor(max_workers=1) as pool:
        integrity = pool.submit(_integrity, before_path, after_path, method)
        result = _compare(before_path, after_path, renames, tables)
        check, report = integrity.result()
    result.checks.insert(0, check)
    result.integrity = report
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _compare(
    before_path: Path, after_path: Path, renames: Renames | None, tables: list[str] | None
) -> VerifyResult:
    con = _open_readonly(before_path)
    try:
        try:
            before_schema = _read_schema(con, "main")
        except sqlite3.DatabaseError as exc:
            raise WfhistError(
                f"{before_path}: BEFORE cannot be read ({exc}); "
                "verify needs an intact reference file"
            ) from exc
        result = VerifyResult(before=_file_info(con, "main", before_path), after={})
        try:
            con.execute(f"ATTACH DATABASE ? AS {_AFTER}", (_readonly_uri(after_path),))
            after_schema = _read_schema(con, _AFTER)
        except sqlite3.DatabaseError as exc:
            result.after = {"path": str(after_path), "error": str(exc)}
            result.checks.append(Check("tables", FAIL, f"AFTER cannot be read: {exc}"))
            return result
        result.after = _file_info(con, _AFTER, after_path)
        if renames is None:
            renames = _recorded_renames(con)
            source = HISTORY_TABLE
        else:
            source = "argument"
        merge_renames(renames)  # validates the shape early, with a clear message
        result.before["renames_source"] = source if renames else None
        con.execute("BEGIN")  # one read snapshot of both files for every query below
        try:
            findings = _compare_tables(con, before_schema, after_schema, renames, tables, result)
        finally:
            con.execute("ROLLBACK")
    finally:
        con.close()
    result.checks.extend(_checks(result, findings))
    return result


def _compare_tables(
    con: sqlite3.Connection,
    before: _Schema,
    after: _Schema,
    renames: Renames,
    tables: list[str] | None,
    result: VerifyResult,
) -> _Findings:
    found = _Findings()
    names_b = set(before.tables) - {HISTORY_TABLE}
    names_a = set(after.tables) - {HISTORY_TABLE}
    if tables:
        unknown = [t for t in tables if t not in names_b | names_a]
        if unknown:
            raise UsageError(
                f"--table {', '.join(unknown)}: not in either file; tables are "
                f"{', '.join(sorted(names_b | names_a))}"
            )
    selected = set(tables) if tables else names_b | names_a
    if HISTORY_TABLE in after.tables:
        state = "present" if HISTORY_TABLE in before.tables else "added"
        result.tables[HISTORY_TABLE] = {"status": f"{state} (migration history, not compared)"}
    for name in sorted(selected):
        bt, at = before.tables.get(name), after.tables.get(name)
        try:
            if bt and at:
                _compare_pair(con, bt, at, _renames_for(bt, renames), result, found)
            elif bt:
                rows = _rows_and_nonnull(con, "main", name, [])[0]
                result.tables[name] = {"status": "dropped", "rows_before": rows, "rows_after": None}
                found.dropped_tables.append({"table": name, "rows": rows})
                result.indexes_dropped += [i.describe() for i in bt.indexes]
            elif at:
                rows = _rows_and_nonnull(con, _AFTER, name, [])[0]
                result.tables[name] = {"status": "added", "rows_before": None, "rows_after": rows}
                found.added_tables.append({"table": name, "rows": rows})
                result.indexes_added += [i.describe() for i in at.indexes]
        except sqlite3.DatabaseError as exc:
            found.read_errors.append(f"{name}: {exc}")
            result.tables.setdefault(name, {}).update(status="unreadable", error=str(exc))
    for kind, b_set, a_set in (
        ("triggers", before.triggers, after.triggers),
        ("views", before.views, after.views),
    ):
        result.triggers_views[f"{kind}_before"] = sorted(b_set)
        result.triggers_views[f"{kind}_dropped"] = sorted(b_set - a_set)
        result.triggers_views[f"{kind}_added"] = sorted(a_set - b_set)
    for side, schema in (("before", before), ("after", after)):
        idx = [i for t in selected if t in schema.tables for i in schema.tables[t].indexes]
        found.index_counts[side] = Counter(
            "automatic" if i.automatic else "named" for i in idx
        ) + Counter({"total": len(idx)})
        found.index_counts[side + "_automatic"] = Counter(i.name for i in idx if i.automatic)
    return found


def _compare_pair(
    con: sqlite3.Connection,
    bt: _Table,
    at: _Table,
    renames: dict[str, str],
    result: VerifyResult,
    found: _Findings,
) -> None:
    mapping, dropped, applied, warnings = _map_columns(bt, at, renames)
    result.columns_renamed += applied
    found.rename_warnings += warnings
    targets = {v.lower() for v in mapping.values()}
    added = [c.name for c in at.columns if c.name.lower() not in targets]
    result.schema_changes += _schema_changes(bt, at, mapping, renames)

    dropped_idx, added_idx, renamed_idx, changed_idx = _diff_indexes(bt, at, renames)
    result.indexes_dropped += [i.describe() for i in dropped_idx]
    result.indexes_added += [i.describe() for i in added_idx]
    result.indexes_renamed += renamed_idx
    result.schema_changes += [{"change": "index changed", **c} for c in changed_idx]

    counts = _rows_and_nonnull(con, "main", bt.name, dropped)
    rows_before = counts[0]
    for name, nonnull in zip(dropped, counts[1:], strict=True):
        col = bt.column(name)
        result.columns_dropped.append(
            {"table": bt.name, "column": name, "type": col.type if col else "", "non_null": nonnull}
        )
    rows_after = _rows_and_nonnull(con, _AFTER, at.name, [])[0]

    info: dict[str, Any] = {
        "status": "compared",
        "rows_before": rows_before,
        "rows_after": rows_after,
        "columns_before": len(bt.columns),
        "columns_after": len(at.columns),
    }
    result.tables[bt.name] = info
    key = _choose_key(bt, at, mapping)
    if key is None:
        info["key"] = None
        found.value_notes.append(f"{bt.name}: no key common to both files; values not compared")
        if added:
            sums = con.execute(
                f"SELECT {', '.join(_added_sums(at, added))} "
                f"FROM {_AFTER}.{quote_ident(at.name)} AS a"
            ).fetchone()
            result.columns_added += _added_entries(at, added, rows_after, list(sums))
        return
    info["key"] = key.label
    nonnull = dict(zip(dropped, counts[1:], strict=True))
    hint_pairs = [(d, a) for d in dropped if nonnull[d] for a in added][:_HINT_PAIRS]
    values = _compare_values(
        con, bt, at, key, mapping, (rows_before, rows_after), hint_pairs, added
    )
    result.columns_added += _added_entries(at, added, rows_after, values.added_sums)
    info.update(
        rows_missing=values.rows_missing,
        rows_only_after=values.rows_only_after,
        columns_compared=len(mapping),
        missing_samples=values.missing_samples,
        only_after_samples=values.only_after_samples,
    )
    if key.before == ["rowid"]:
        found.value_notes.append(
            f"{bt.name}: rows matched by rowid, which a table rebuild may renumber"
        )
    result.values_changed += values.changed
    result.rename_hints += values.hints


# --- turning findings into checks ------------------------------------------------------------


def _names(items: Iterable[str], limit: int = 8) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def _checks(result: VerifyResult, found: _Findings) -> Iterator[Check]:
    if found.read_errors:
        yield Check("read", FAIL, "could not read: " + "; ".join(found.read_errors))
    yield _tables_check(result, found)
    yield _rows_check(result)
    yield _dropped_check(result)
    yield _added_check(result)
    yield _renamed_check(result, found)
    yield _schema_check(result)
    yield _indexes_check(result, found)
    yield _triggers_check(result)
    yield _values_check(result, found)


def _tables_check(result: VerifyResult, found: _Findings) -> Check:
    compared = [t for t, i in result.tables.items() if i.get("status") == "compared"]
    lost = [d for d in found.dropped_tables if d["rows"]]
    numbers = {
        "compared": len(compared),
        "dropped": len(found.dropped_tables),
        "added": len(found.added_tables),
    }
    parts = [f"{len(compared)} in both"]
    if found.dropped_tables:
        parts.append(
            "dropped: " + _names(f"{d['table']} ({d['rows']} rows)" for d in found.dropped_tables)
        )
    extra = [d["table"] for d in found.added_tables]
    extra += [t for t, i in result.tables.items() if str(i.get("status", "")).startswith("added (")]
    if extra:
        parts.append("added: " + _names(extra))
    status = FAIL if lost else WARN if found.dropped_tables else PASS
    return Check("tables", status, "; ".join(parts), numbers)


def _rows_check(result: VerifyResult) -> Check:
    compared = {t: i for t, i in result.tables.items() if i.get("status") == "compared"}
    missing = {t: i.get("rows_missing", 0) for t, i in compared.items() if i.get("rows_missing")}
    only = {t: i["rows_only_after"] for t, i in compared.items() if i.get("rows_only_after")}
    parts = [f"{t} {i['rows_before']} -> {i['rows_after']}" for t, i in compared.items()]
    detail = _names(parts, 6)
    if missing:
        detail += "; missing from AFTER: " + _names(f"{t} {n}" for t, n in missing.items())
    if only:
        detail += "; only in AFTER (new rows, not a failure): " + _names(
            f"{t} {n}" for t, n in only.items()
        )
    samples = [{"table": t, "missing": compared[t]["missing_samples"]} for t in missing] + [
        {"table": t, "only_after": compared[t]["only_after_samples"]} for t in only
    ]
    numbers = {
        "rows_before": {t: i["rows_before"] for t, i in compared.items()},
        "rows_after": {t: i["rows_after"] for t, i in compared.items()},
        "rows_missing": missing,
        "rows_only_after": only,
    }
    return Check(
        "rows", FAIL if missing else PASS, detail or "no tables compared", numbers, samples
    )


def _by_table(items: Iterable[tuple[str, str]], limit: int = 8) -> str:
    """``t: a, b (+3 more); u: c`` from (table, text) pairs, keeping their order."""
    grouped: dict[str, list[str]] = {}
    for table, text in items:
        grouped.setdefault(table, []).append(text)
    return "; ".join(f"{t}: {_names(texts, limit)}" for t, texts in grouped.items())


def _dropped_check(result: VerifyResult) -> Check:
    dropped = result.columns_dropped
    if not dropped:
        return Check("columns_dropped", PASS, "none")
    holding = [d for d in dropped if d["non_null"]]
    empty = [d for d in dropped if not d["non_null"]]
    parts = []
    if holding:
        values = sum(d["non_null"] for d in holding)
        parts.append(
            f"{len(holding)} columns holding {values} non-NULL values -- "
            + _by_table((d["table"], f"{d['column']} {d['non_null']}") for d in holding)
        )
    if empty:
        parts.append(
            f"{len(empty)} all-NULL columns -- "
            + _by_table((d["table"], d["column"]) for d in empty)
        )
    numbers = {
        "dropped": len(dropped),
        "with_values": len(holding),
        "all_null": len(empty),
        "non_null_values": sum(d["non_null"] for d in holding),
    }
    return Check("columns_dropped", FAIL if holding else WARN, "; ".join(parts), numbers)


def _added_check(result: VerifyResult) -> Check:
    if not result.columns_added:
        return Check("columns_added", PASS, "none")
    parts = []
    for a in result.columns_added:
        if a["default"] is not None and a["rows_default"] is not None:
            text = f"{a['rows_default']}/{a['rows']} rows = {a['default']}"
            if a["rows_default"] != a["rows"]:
                text += f", {a['rows_null']} NULL, {a['rows_other']} other"
        else:
            text = f"{a['rows_null']}/{a['rows']} NULL, {a['rows_other']} other"
        parts.append((a["table"], f"{a['column']} {text}"))
    return Check("columns_added", PASS, _by_table(parts, 4), {"added": len(result.columns_added)})


def _renamed_check(result: VerifyResult, found: _Findings) -> Check:
    parts = [f"{r['table']}.{r['old']} -> {r['new']}" for r in result.columns_renamed]
    hints = [
        f"dropped {h['table']}.{h['dropped']} and added {h['added']} are equal in all "
        f"{h['rows_identical']} rows; if that was a rename, declare it "
        f"(--rename {h['dropped']}={h['added']})"
        for h in result.rename_hints
    ]
    source = result.before.get("renames_source")
    declared = _names(parts) + (f" (from {source})" if source else "") if parts else "none declared"
    detail = "; ".join([declared, *found.rename_warnings, *hints[:4]])
    status = WARN if found.rename_warnings else PASS
    numbers = {"renamed": len(parts), "source": source, "hints": len(hints)}
    return Check("columns_renamed", status, detail, numbers)


def _change_text(change: dict[str, Any]) -> str:
    kind = change["change"]
    if kind == "primary key":
        return f"primary key {', '.join(change['before']) or 'rowid'} -> " + (
            ", ".join(change["after"]) or "none (rowid)"
        )
    text = kind + (f" {change['column']}" if change.get("column") else "")
    if kind in ("type", "default", "not null"):
        text += f" {change['before']} -> {change['after']}"
    return text


def _schema_check(result: VerifyResult) -> Check:
    changes = result.schema_changes
    if not changes:
        return Check("schema", PASS, "no type, default, NOT NULL, key, CHECK or index changes")
    detail = _by_table(((c["table"], _change_text(c)) for c in changes), 6)
    return Check("schema", WARN, detail, {"changes": len(changes)})


def _count_text(counts: Counter, autos: Counter) -> str:
    names = ", ".join(sorted(autos)) or "none"
    return f"{counts['total']} ({counts['named']} named + {counts['automatic']} automatic: {names})"


def _indexes_check(result: VerifyResult, found: _Findings) -> Check:
    b, a = found.index_counts["before"], found.index_counts["after"]
    detail = (
        f"before {_count_text(b, found.index_counts['before_automatic'])}, "
        f"after {_count_text(a, found.index_counts['after_automatic'])}"
    )
    if result.indexes_dropped:
        detail += "; dropped: " + _names(i["name"] for i in result.indexes_dropped)
    if result.indexes_renamed:
        detail += "; renamed: " + _names(
            f"{r['before']} -> {r['after']}" for r in result.indexes_renamed
        )
    if result.indexes_added:
        detail += "; added: " + _names(i["name"] for i in result.indexes_added)
    numbers = {
        "before": b["total"],
        "before_automatic": b["automatic"],
        "after": a["total"],
        "after_automatic": a["automatic"],
        "dropped": len(result.indexes_dropped),
        "added": len(result.indexes_added),
        "renamed": len(result.indexes_renamed),
    }
    # A dropped index is a lost query plan and, when UNIQUE, a lost constraint:
    # exactly what the historic 005 did silently. Renamed indexes are not drops.
    return Check("indexes", FAIL if result.indexes_dropped else PASS, detail, numbers)


def _triggers_check(result: VerifyResult) -> Check:
    tv = result.triggers_views
    dropped = tv["triggers_dropped"] + tv["views_dropped"]
    added = tv["triggers_added"] + tv["views_added"]
    detail = f"{len(tv['triggers_before'])} triggers, {len(tv['views_before'])} views before"
    if dropped:
        detail += "; dropped: " + _names(dropped)
    if added:
        detail += "; added: " + _names(added)
    numbers = {"dropped": len(dropped), "added": len(added)}
    # A dropped trigger is lost behaviour (FAIL); a dropped view holds no data (WARN).
    status = FAIL if tv["triggers_dropped"] else WARN if dropped else PASS
    return Check("triggers_views", status, detail, numbers)


def _values_check(result: VerifyResult, found: _Findings) -> Check:
    compared = {t: i for t, i in result.tables.items() if i.get("status") == "compared"}
    changed = [v for v in result.values_changed if v["changed"]]
    lost = [v for v in result.values_changed if v["lost"]]
    uncompared = [t for t, i in compared.items() if i.get("key") is None]
    numbers = {
        "values_changed": sum(v["changed"] for v in changed),
        "values_lost": sum(v["lost"] for v in lost),
        "columns_changed": len(changed),
    }
    samples = [
        {"table": v["table"], "column": v["column"], "samples": v["samples"]} for v in changed
    ]
    notes = "; ".join(found.value_notes)
    if changed or lost:
        parts = [
            f"{v['table']}.{v['column']}: {v['changed']} changed"
            + (f", {v['lost']} lost" if v["lost"] else "")
            for v in result.values_changed
        ]
        detail = _names(parts, 6) + (f"; {notes}" if notes else "")
        return Check("values", FAIL, detail, numbers, samples)
    if uncompared:
        return Check("values", FAIL, notes, numbers)
    matched = {t: i["rows_before"] - i.get("rows_missing", 0) for t, i in compared.items()}
    numbers["rows_compared"] = sum(matched.values())
    numbers["values_compared"] = sum(
        n * compared[t]["columns_compared"] for t, n in matched.items()
    )
    keys = Counter(i["key"].split(" (")[0] for i in compared.values())
    detail = (
        f"{numbers['values_compared']} values in {numbers['rows_compared']} rows of "
        f"{len(compared)} tables identical, storage class included (matched by "
        + ", ".join(f"{k}: {n} tables" if n > 1 else k for k, n in keys.items())
        + ")"
    )
    status = WARN if found.value_notes else PASS
    return Check("values", status, detail + (f"; {notes}" if notes else ""), numbers)


# --- human output ----------------------------------------------------------------------------


def format_result(result: VerifyResult, *, width: int = 100, max_lines: int = 4) -> str:
    """A short table: one row per check (details wrapped, at most ``max_lines``), the verdict."""
    b, a = result.before, result.after
    lines = [
        f"BEFORE {b.get('path')}  [{b.get('schema_state', '?')}, {b.get('journal_mode', '?')}, "
        f"user_version {b.get('user_version', '?')}]",
        f"AFTER  {a.get('path')}  [{a.get('schema_state', '?')}, {a.get('journal_mode', '?')}, "
        f"user_version {a.get('user_version', '?')}]",
        "",
        f"{'check':<16} {'status':<6} detail",
    ]
    indent = " " * 24
    for c in result.checks:
        wrapped = textwrap.wrap(c.detail, width=max(width - len(indent), 40)) or [""]
        if len(wrapped) > max_lines:
            wrapped = [*wrapped[: max_lines - 1], wrapped[max_lines - 1] + " … (see --json)"]
        lines.append(f"{c.name:<16} {c.status:<6} {wrapped[0]}")
        lines += [indent + w for w in wrapped[1:]]
    lines += ["", f"verdict: {result.verdict}  ({result.seconds:.2f} s)"]
    return "\n".join(lines)


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
