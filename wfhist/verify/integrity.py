"""``integrity_check``/``quick_check`` and ``foreign_key_check`` of AFTER, on one connection.

Foreign keys are checked table by table: SQLite raises "foreign key mismatch"
for a whole statement when a parent key is not unique (the real file's
``workflow_history(workflow_id)``), and every other table's answer is wanted
too. BEFORE's foreign key state tells problems a migration made from old ones.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

from wfhist.exceptions import UsageError
from wfhist.files import open_readonly, readonly_uri
from wfhist.schema import quote_ident
from wfhist.verify.result import FAIL, PASS, WARN, Check

INTEGRITY_MODES = ("auto", "full", "quick")
#: ``auto`` runs the full ``integrity_check`` on files up to this size.
FULL_INTEGRITY_MAX_BYTES = 512 * 2**20
#: Page cache of the integrity connection (KiB, negative = size): the index
#: lookups of integrity_check run ~2x faster with room for the hot index pages.
_INTEGRITY_CACHE = -131072
#: Sample rowids kept per orphaned link.
SAMPLES = 5


def integrity_method(after: Path | None, mode: str = "auto") -> str:
    """``integrity_check`` or ``quick_check`` for ``mode`` full / quick / auto.

    ``integrity_check`` also looks up every row in every index: on the 1M-row
    benchmark pair it takes ~10x as long as ``quick_check`` (which still reads
    every page and record) and longer than the whole value comparison. ``auto``
    runs the full check on files up to :data:`FULL_INTEGRITY_MAX_BYTES` -- the
    real database is 40 MB -- and the quick one above, saying so in the result.
    ``after=None`` (an in-memory database) counts as small.
    """
    if mode not in INTEGRITY_MODES:
        raise UsageError(f"integrity mode {mode!r}: use one of {', '.join(INTEGRITY_MODES)}")
    if mode == "auto":
        size = 0
        if after is not None and after.exists():
            wal = Path(f"{after}-wal")
            size = after.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
        mode = "full" if size <= FULL_INTEGRITY_MAX_BYTES else "quick"
    return "integrity_check" if mode == "full" else "quick_check"


def fk_problems(con: sqlite3.Connection, schema: str) -> dict[str, Any]:
    """Orphans and key mismatches per child table of ``schema``, from ``foreign_key_check``."""
    orphans: dict[str, int] = {}
    samples: dict[str, list[int]] = {}
    mismatches: dict[str, str] = {}
    children = [
        name
        for (name,) in con.execute(
            f"SELECT name FROM {quote_ident(schema)}.sqlite_master "
            "WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        if con.execute("SELECT 1 FROM pragma_foreign_key_list(?, ?)", (name, schema)).fetchone()
    ]
    for child in children:
        try:
            rows = con.execute(
                'SELECT "table", rowid, parent FROM pragma_foreign_key_check(?, ?)',
                (child, schema),
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


def integrity_check(
    con: sqlite3.Connection, after: str, before: str | None, method: str
) -> tuple[Check, dict[str, Any]]:
    """integrity/quick_check + foreign_key_check of schema ``after`` of ``con``.

    ``before`` (a schema of the same connection, or None when it cannot be read)
    separates foreign key problems the migration made from ones it inherited.
    Never raises for a damaged file: that is a FAIL with SQLite's message.
    """
    report: dict[str, Any] = {
        "method": method,
        "integrity_check": [],
        "foreign_key_check": {},
        "ok": False,
    }
    try:
        messages = [r[0] for r in con.execute(f"PRAGMA {quote_ident(after)}.{method}(50)")]
        report["integrity_check"] = messages
        fk_after = fk_problems(con, after)
    except sqlite3.DatabaseError as exc:
        report["integrity_check"] = [f"SQLite cannot read the file: {exc}"]
        return Check("integrity", FAIL, f"AFTER is damaged: {exc}", {}), report
    report["foreign_key_check"] = fk_after
    if messages != ["ok"]:
        shown = "; ".join(messages[:3])
        more = f" (+{len(messages) - 3} more)" if len(messages) > 3 else ""
        return Check("integrity", FAIL, f"{method}: {shown}{more}", {}), report
    fk_before: dict[str, Any] = {"orphans": {}, "mismatches": {}}
    if before is not None:
        with contextlib.suppress(sqlite3.DatabaseError):
            fk_before = fk_problems(con, before)
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


def integrity_of_files(before: Path, after: Path, method: str) -> tuple[Check, dict[str, Any]]:
    """:func:`integrity_check` on a connection of its own (run beside the value comparison)."""
    try:
        con = open_readonly(after, check_same_thread=False)
        try:
            con.execute(f"PRAGMA cache_size = {_INTEGRITY_CACHE}")
            con.execute("PRAGMA mmap_size = 0")  # pages read once: no need to map them into RSS
            before_schema: str | None = "before_db"
            try:
                con.execute("ATTACH DATABASE ? AS before_db", (readonly_uri(before),))
            except sqlite3.DatabaseError:
                before_schema = None
            return integrity_check(con, "main", before_schema, method)
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        report = {
            "method": method,
            "integrity_check": [f"SQLite cannot read the file: {exc}"],
            "foreign_key_check": {},
            "ok": False,
        }
        return Check("integrity", FAIL, f"AFTER is damaged: {exc}", {}), report
