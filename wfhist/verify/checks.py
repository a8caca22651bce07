"""Findings turned into checks: one PASS / WARN / FAIL line per kind of finding.

The verdict rule lives here: a lost or changed BEFORE value, a missing or
duplicated row, a dropped index or trigger, a lowered ``sqlite_sequence`` or a
damaged AFTER is a FAIL; what loses no value (an all-NULL column dropped, a
schema or view change, a redefined trigger) is a WARN.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from wfhist.verify.result import FAIL, PASS, WARN, Check, VerifyResult


@dataclass
class Findings:
    """What the table loop collects before it is turned into checks."""

    dropped_tables: list[dict[str, Any]] = field(default_factory=list)
    added_tables: list[dict[str, Any]] = field(default_factory=list)
    rename_warnings: list[str] = field(default_factory=list)
    value_notes: list[str] = field(default_factory=list)
    read_errors: list[str] = field(default_factory=list)
    index_counts: dict[str, Counter] = field(default_factory=dict)


def _names(items: Iterable[str], limit: int = 8) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def checks(result: VerifyResult, found: Findings) -> Iterator[Check]:
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
    yield _sequences_check(result)
    yield _values_check(result, found)


def _tables_check(result: VerifyResult, found: Findings) -> Check:
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
    dup = {t: i["rows_duplicated"] for t, i in compared.items() if i.get("rows_duplicated")}
    parts = [f"{t} {i['rows_before']} -> {i['rows_after']}" for t, i in compared.items()]
    detail = _names(parts, 6)
    if missing:
        detail += "; missing from AFTER: " + _names(f"{t} {n}" for t, n in missing.items())
    if dup:
        detail += "; duplicated in AFTER (a table without a key, compared as a multiset): " + (
            _names(f"{t} {n}" for t, n in dup.items())
        )
    if only:
        detail += "; only in AFTER (new rows, not a failure): " + _names(
            f"{t} {n}" for t, n in only.items()
        )
    samples = (
        [{"table": t, "missing": compared[t]["missing_samples"]} for t in missing]
        + [{"table": t, "only_after": compared[t]["only_after_samples"]} for t in only]
        + [{"table": t, "duplicated": compared[t].get("duplicated_samples", [])} for t in dup]
    )
    numbers = {
        "rows_before": {t: i["rows_before"] for t, i in compared.items()},
        "rows_after": {t: i["rows_after"] for t, i in compared.items()},
        "rows_missing": missing,
        "rows_only_after": only,
        "rows_duplicated": dup,
    }
    return Check(
        "rows", FAIL if missing or dup else PASS, detail or "no tables compared", numbers, samples
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


def _renamed_check(result: VerifyResult, found: Findings) -> Check:
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
    if kind in ("type", "default", "not null", "collation"):
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


def _indexes_check(result: VerifyResult, found: Findings) -> Check:
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
    changed = tv["triggers_changed"] + tv["views_changed"]
    detail = f"{len(tv['triggers_before'])} triggers, {len(tv['views_before'])} views before"
    if dropped:
        detail += "; dropped: " + _names(dropped)
    if changed:
        detail += "; redefined under the same name: " + _names(changed)
    if added:
        detail += "; added: " + _names(added)
    numbers = {"dropped": len(dropped), "added": len(added), "changed": len(changed)}
    # A dropped trigger is lost behaviour (FAIL); a dropped view holds no data, and a
    # redefinition may be the migration's purpose: WARN, so a reader looks at it.
    status = FAIL if tv["triggers_dropped"] else WARN if dropped or changed else PASS
    return Check("triggers_views", status, detail, numbers)


def _sequences_check(result: VerifyResult) -> Check:
    lowered = result.sequences
    if not lowered:
        return Check("sequences", PASS, "no AUTOINCREMENT counter lowered")
    parts = [
        f"{s['table']} {s['before']} -> {s['after'] if s['after'] is not None else 'gone'}"
        for s in lowered
    ]
    detail = "sqlite_sequence lowered (AUTOINCREMENT could hand out used ids again): " + _names(
        parts
    )
    return Check("sequences", FAIL, detail, {"lowered": len(lowered)}, list(lowered))


def _values_check(result: VerifyResult, found: Findings) -> Check:
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
    conflicts = result.merge_conflicts
    if conflicts:
        numbers["merge_conflicts"] = sum(c["rows"] for c in conflicts)
        samples += [
            {"table": c["table"], "column": c["column"], "conflicts": c["samples"]}
            for c in conflicts
        ]
        notes = "; ".join(
            [
                *(
                    f"{c['table']}.{c['column']}: {c['rows']} rows where "
                    f"{' and '.join(c['merged'])} hold different values (merge conflict)"
                    for c in conflicts
                ),
                *found.value_notes,
            ]
        )
    if changed or lost or conflicts:
        parts = [
            f"{v['table']}.{v['column']}: {v['changed']} changed"
            + (f", {v['lost']} lost" if v["lost"] else "")
            for v in result.values_changed
        ]
        detail = "; ".join(x for x in (_names(parts, 6), notes) if x)
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
