"""Value comparison inside SQLite: keyed joins, keyless multisets, added-column fill.

Every expression here compares exactly: storage class, bytes of TEXT (under
BINARY, whatever the column collation), and the sign of a REAL zero where a
column can hold one. Table names are schema-qualified with the two schema names
the caller gives (``b`` = BEFORE alias, ``a`` = AFTER alias), so the same code
serves two files attached to one connection and a migration's own transaction.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from wfhist.model import Column, Table
from wfhist.schema import quote_ident
from wfhist.verify.introspect import Key, affinity, default_sql, ref

#: How many sample keys to fetch per differing column, and for how many columns.
SAMPLES = 5
_SAMPLED_COLUMNS = 20
#: Up to this many columns, pass 1 tests a whole row in one expression (SQLite's
#: expression depth limit is 1000); wider tables go straight to per-column sums.
_ROW_EXPR_LIMIT = 400
_SIGNBIT = "wfhist_signbit"


@dataclass(frozen=True)
class Sides:
    """The two schema names of the connection: BEFORE and AFTER."""

    before: str
    after: str

    def table(self, side: str, name: str) -> str:
        schema = self.before if side == "b" else self.after
        return f"{quote_ident(schema)}.{quote_ident(name)}"


def prepare(con: sqlite3.Connection) -> None:
    """Make the sign-of-zero function available (SQLite's math ``atan2`` is optional)."""
    con.create_function(_SIGNBIT, 1, _signbit, deterministic=True)


def _signbit(x: Any) -> int | None:
    return int(math.copysign(1.0, x) < 0) if isinstance(x, float) else None


def same(a: str, b: str, *, check_types: bool = True, check_sign: bool = False) -> str:
    """SQL that is true when two values are identical, storage class and bytes included.

    Unary ``+`` drops column affinity, so SQLite converts neither side and a
    value of one storage class never equals one of another -- except INTEGER
    and REAL, which compare by value (``1 IS 1.0``); ``typeof`` separates those.
    ``COLLATE BINARY`` overrides a NOCASE/RTRIM column collation and compares
    TEXT as bytes (invalid UTF-8 included); ``IS`` makes NULL equal NULL.
    ``check_sign`` tells ``-0.0`` from ``0.0`` (equal for ``=``), needed only
    where a REAL zero is stored as such (BLOB affinity: a REAL column stores a
    whole number as an integer, losing the sign). ``check_types=False`` skips the
    ``typeof`` pair where the affinities make 1 vs 1.0 impossible.
    """
    out = f"(+{a}) IS (+{b}) COLLATE BINARY"
    if check_types:
        out = f"typeof({a}) = typeof({b}) AND {out}"
    if check_sign:
        out += f" AND ({a} <> 0 OR typeof({a}) <> 'real' OR {_SIGNBIT}({a}) = {_SIGNBIT}({b}))"
    return f"({out})"


def exactness(before: Column, b_strict: bool, after: Column, a_strict: bool) -> dict[str, bool]:
    """Which checks :func:`same` needs for one column pair.

    SQLite stores a whole-number REAL as INTEGER in INTEGER/NUMERIC columns, reads
    REAL columns back as REAL and TEXT columns hold no numbers, so with the same
    such affinity on both sides ``1`` vs ``1.0`` cannot occur. Otherwise (BLOB
    affinity, or the affinity changed) the storage class must be compared; only
    BLOB affinity keeps the sign of a REAL zero.
    """
    b, a = affinity(before.type, b_strict), affinity(after.type, a_strict)
    return {"check_types": b != a or b == "BLOB", "check_sign": "BLOB" in (a, b)}


def jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        text = value[:32].hex()
        return f"x'{text}'" + ("…" if len(value) > 32 else "")
    if isinstance(value, str) and len(value) > 80:
        return value[:80] + "…"
    return value


def lenient_text(raw: bytes) -> str:
    """TEXT that is not valid UTF-8 is shown with ``\\x..`` escapes instead of crashing."""
    return raw.decode("utf-8", "backslashreplace")


def _key_dict(cols: list[str], values: Iterable[Any]) -> dict[str, Any]:
    return {c: jsonable(v) for c, v in zip(cols, values, strict=True)}


def rows_and_nonnull(con: sqlite3.Connection, table: str, cols: list[str]) -> list[int]:
    """One pass: ``count(*)`` and the non-NULL count of each column in ``cols``."""
    exprs = ["count(*)", *(f"count({quote_ident(c)})" for c in cols)]
    return list(con.execute(f"SELECT {', '.join(exprs)} FROM {table}").fetchone())


def added_sums(at: Table, added: list[str], where: str = "") -> list[str]:
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
        default = default_sql(col.default)
        out.append(f"sum({cond}{c} IS NULL)")
        out.append(f"sum({cond}{same(c, f'({default})')})" if default else "NULL")
    return out


def added_entries(
    at: Table, added: list[str], rows: int, sums: list[int | None]
) -> list[dict[str, Any]]:
    """``columns_added`` entries: rows holding the default / NULL / something else."""
    out = []
    for i, name in enumerate(added):
        col = at.column(name)
        assert col is not None
        default = default_sql(col.default)
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


@dataclass
class TableValues:
    rows_missing: int = 0
    rows_only_after: int = 0
    rows_duplicated: int = 0
    changed: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    missing_samples: list[dict[str, Any]] = field(default_factory=list)
    only_after_samples: list[dict[str, Any]] = field(default_factory=list)
    duplicated_samples: list[dict[str, Any]] = field(default_factory=list)
    hints: list[dict[str, Any]] = field(default_factory=list)
    added_sums: list[int | None] = field(default_factory=list)


@dataclass
class Pairing:
    """One table pair to compare: the tables, their key and the column mapping."""

    sides: Sides
    bt: Table
    at: Table
    key: Key
    mapping: dict[str, str]
    merges: dict[str, list[str]]

    @property
    def source(self) -> str:
        return (
            f"{self.sides.table('b', self.bt.name)} AS b "
            f"LEFT JOIN {self.sides.table('a', self.at.name)} AS a ON {self.key.join()}"
        )

    def ok(self, bc: str, ac: str) -> str:
        """True when BEFORE column ``bc`` is kept in AFTER column ``ac`` for the row."""
        b, a = "b." + quote_ident(bc), "a." + quote_ident(ac)
        bcol, acol = self.bt.column(bc), self.at.column(ac)
        assert bcol is not None and acol is not None
        expr = same(b, a, **exactness(bcol, self.bt.strict, acol, self.at.strict))
        # A merge target may fill a NULL from the other merged column.
        return f"({b} IS NULL OR {expr})" if ac in self.merges else expr

    def conflict(self, ac: str) -> str:
        """True when two BEFORE columns merged into ``ac`` hold different non-NULL values."""
        olds = ["b." + quote_ident(c) for c in self.merges[ac]]
        parts = [
            f"({x} IS NOT NULL AND {y} IS NOT NULL AND NOT {same(x, y)})"
            for i, x in enumerate(olds)
            for y in olds[i + 1 :]
        ]
        return "(" + " OR ".join(parts) + ")"


def compare_values(
    con: sqlite3.Connection,
    p: Pairing,
    rows: tuple[int, int],
    hint_pairs: list[tuple[str, str]],
    added: list[str],
) -> TableValues:
    """One join pass over BEFORE (two when something differs); samples only if any.

    The same pass counts, for matched rows, what the added columns hold; rows
    only in AFTER are counted separately (they are few: a live writer's).
    """
    out = TableValues()
    key, src = p.key, p.source
    pairs = list(p.mapping.items())
    oks = [p.ok(bc, ac) for bc, ac in pairs]
    diffs = [f"NOT {s}" for s in oks]
    hint_exprs = [
        f"NOT {same('b.' + quote_ident(d), 'a.' + quote_ident(n))}" for d, n in hint_pairs
    ]
    merged = list(p.merges)
    whole_row = len(oks) <= _ROW_EXPR_LIMIT
    row_diff = f"sum(NOT ({' AND '.join(oks)}))" if whole_row and oks else "NULL"
    added_exprs = added_sums(p.at, added, where=f"NOT ({key.missing})")
    exprs = [
        f"sum({key.missing})",
        row_diff,
        *(f"sum({h})" for h in hint_exprs),
        *(f"sum({p.conflict(ac)})" for ac in merged),
        *added_exprs,
    ]
    if not whole_row:
        exprs += [f"sum({d})" for d in diffs]
    row = con.execute(f"SELECT {', '.join(exprs)} FROM {src}").fetchone()
    out.rows_missing = row[0] or 0
    pos = 2
    hint_totals = [v or 0 for v in row[pos : pos + len(hint_exprs)]]
    pos += len(hint_exprs)
    conflict_totals = [v or 0 for v in row[pos : pos + len(merged)]]
    pos += len(merged)
    out.added_sums = list(row[pos : pos + len(added_exprs)])
    if not whole_row:
        totals = [v or 0 for v in row[pos + len(added_exprs) :]]
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
    lost = _missing_rows(con, p, pairs, out) if out.rows_missing else [0] * len(pairs)
    _changed_entries(con, p, pairs, diffs, totals, lost, out)
    for ac, total in zip(merged, conflict_totals, strict=True):
        if total:
            out.conflicts.append(_conflict_entry(con, p, ac, total))
    if out.rows_only_after:
        _only_after(con, p, added, out)
    for (d, n), total in zip(hint_pairs, hint_totals, strict=True):
        if total == 0 and matched:
            out.hints.append(
                {"table": p.bt.name, "dropped": d, "added": n, "rows_identical": matched}
            )
    return out


def _missing_rows(
    con: sqlite3.Connection, p: Pairing, pairs: list[tuple[str, str]], out: TableValues
) -> list[int]:
    """Non-NULL values per column in BEFORE rows that AFTER lacks, and sample keys."""
    key, src = p.key, p.source
    lost_row = con.execute(
        f"SELECT {', '.join('count(b.' + quote_ident(bc) + ')' for bc, _ in pairs)} "
        f"FROM {src} WHERE {key.missing}"
    ).fetchone()
    out.missing_samples = [
        _key_dict(key.before, r)
        for r in con.execute(
            f"SELECT {key.select('b')} FROM {src} WHERE {key.missing} LIMIT ?", (SAMPLES,)
        )
    ]
    return [v or 0 for v in lost_row]


def _changed_entries(
    con: sqlite3.Connection,
    p: Pairing,
    pairs: list[tuple[str, str]],
    diffs: list[str],
    totals: list[int],
    lost: list[int],
    out: TableValues,
) -> None:
    key, src = p.key, p.source
    sampled = 0
    for (bc, ac), diff, total, gone in zip(pairs, diffs, totals, lost, strict=True):
        if not total:
            continue
        entry: dict[str, Any] = {
            "table": p.bt.name,
            "column": bc,
            "after_column": ac,
            "changed": total - gone,
            "lost": gone,
            "samples": [],
        }
        if total - gone and sampled < _SAMPLED_COLUMNS:
            sampled += 1
            b, a = "b." + quote_ident(bc), "a." + quote_ident(ac)
            n = len(key.before)
            for r in con.execute(
                f"SELECT {key.select('b')}, {b}, typeof({b}), {a}, typeof({a}) FROM {src} "
                f"WHERE NOT ({key.missing}) AND {diff} LIMIT ?",
                (SAMPLES,),
            ):
                entry["samples"].append(
                    {
                        "key": _key_dict(key.before, r[:n]),
                        "before": _zero(r[n]),
                        "before_type": r[n + 1],
                        "after": _zero(r[n + 2]),
                        "after_type": r[n + 3],
                    }
                )
        out.changed.append(entry)


def _zero(value: Any) -> Any:
    """``-0.0`` as the string "-0.0" (JSON and text output would print it as 0)."""
    if isinstance(value, float) and value == 0 and math.copysign(1.0, value) < 0:
        return "-0.0"
    return jsonable(value)


def _conflict_entry(con: sqlite3.Connection, p: Pairing, ac: str, total: int) -> dict[str, Any]:
    olds = p.merges[ac]
    cols = ", ".join("b." + quote_ident(c) for c in olds)
    n = len(p.key.before)
    samples = [
        {"key": _key_dict(p.key.before, r[:n]), "values": _key_dict(olds, r[n:])}
        for r in con.execute(
            f"SELECT {p.key.select('b')}, {cols} FROM {p.source} WHERE {p.conflict(ac)} LIMIT ?",
            (SAMPLES,),
        )
    ]
    return {"table": p.bt.name, "column": ac, "merged": olds, "rows": total, "samples": samples}


def _only_after(con: sqlite3.Connection, p: Pairing, added: list[str], out: TableValues) -> None:
    key = p.key
    probe = " AND ".join(
        f"b.{ref(bc)} = a.{ref(ac)}" for bc, ac in zip(key.before, key.after, strict=True)
    )
    only_after = (
        f"FROM {p.sides.table('a', p.at.name)} AS a WHERE NOT EXISTS "
        f"(SELECT 1 FROM {p.sides.table('b', p.bt.name)} AS b WHERE {probe})"
    )
    out.only_after_samples = [
        _key_dict(key.after, r)
        for r in con.execute(f"SELECT {key.select('a')} {only_after} LIMIT ?", (SAMPLES,))
    ]
    if added:
        extra = con.execute(f"SELECT {', '.join(added_sums(p.at, added))} {only_after}")
        out.added_sums = [
            None if x is None else x + (y or 0)
            for x, y in zip(out.added_sums, extra.fetchone(), strict=True)
        ]


def compare_multiset(
    con: sqlite3.Connection, sides: Sides, bt: Table, at: Table, mapping: dict[str, str]
) -> TableValues:
    """A table without a key: BEFORE and AFTER as multisets of rows (mapped columns).

    Counted per distinct row, grouped on exact values (storage class, bytes, sign
    of zero): a row with fewer copies in AFTER is missing, one with more copies
    than BEFORE had is duplicated, one BEFORE never had is only in AFTER.
    """
    out = TableValues()
    pairs = list(mapping.items())
    if not pairs:
        return out
    names = [f"c{i}" for i in range(len(pairs))]
    b_cols = ", ".join(f"{quote_ident(bc)} AS {n}" for (bc, _), n in zip(pairs, names, strict=True))
    a_cols = ", ".join(f"{quote_ident(ac)} AS {n}" for (_, ac), n in zip(pairs, names, strict=True))
    group = ", ".join(
        f"typeof({n}), {n} COLLATE BINARY, CASE WHEN typeof({n}) = 'real' AND {n} = 0 "
        f"THEN {_SIGNBIT}({n}) END"
        for n in names
    )
    counted = (
        f"SELECT {', '.join(names)}, sum(s = 0) AS nb, sum(s = 1) AS na FROM ("
        f"SELECT 0 AS s, {b_cols} FROM {sides.table('b', bt.name)} UNION ALL "
        f"SELECT 1, {a_cols} FROM {sides.table('a', at.name)}) GROUP BY {group}"
    )
    missing, duplicated, only = con.execute(
        "SELECT total(max(nb - na, 0)), total(CASE WHEN nb > 0 THEN max(na - nb, 0) END), "
        f"total(CASE WHEN nb = 0 THEN na END) FROM ({counted})"
    ).fetchone()
    out.rows_missing, out.rows_duplicated, out.rows_only_after = (
        int(missing),
        int(duplicated),
        int(only),
    )
    shown = [bc for bc, _ in pairs[:4]]
    for cond, target in (
        ("nb > na", out.missing_samples),
        ("nb = 0", out.only_after_samples),
        ("nb > 0 AND na > nb", out.duplicated_samples),
    ):
        for r in con.execute(
            f"SELECT {', '.join(names[:4])}, nb, na FROM ({counted}) WHERE {cond} LIMIT ?",
            (SAMPLES,),
        ):
            target.append(
                {**_key_dict(shown, r[:-2]), "copies_before": r[-2], "copies_after": r[-1]}
            )
    return out


def compare_sequences(
    before: dict[str, int] | None, after: dict[str, int] | None, tables: set[str]
) -> list[dict[str, Any]]:
    """``sqlite_sequence`` entries of BEFORE that AFTER lowered or lost.

    A lower ``seq`` lets AUTOINCREMENT hand out an id again that a deleted row
    (or another system's copy of it) already used. Tables AFTER no longer has
    are left to the tables check.
    """
    out = []
    for name, seq in sorted((before or {}).items()):
        if name not in tables or not seq:
            continue
        now = (after or {}).get(name)
        if now is None or now < seq:
            out.append({"table": name, "before": seq, "after": now})
    return out
