"""``summarize``: everything an operator checks before trusting a file (or files)."""

from __future__ import annotations

import os
from typing import Any

from wfhist.read.connect import connect
from wfhist.read.sources import SourceSpec, retry_locked
from wfhist.read.zones import DEFAULT_SOURCE_TZ


def summarize(
    source: SourceSpec | list[SourceSpec],
    *,
    tz: str = "UTC",
    source_tz: str = DEFAULT_SOURCE_TZ,
    snapshot: bool | str | os.PathLike[str] = False,
) -> dict[str, Any]:
    """Everything an operator checks before trusting a file (or files), as plain data.

    Longer than most functions here because half of it is the result's literal
    (one key per line, the shape ``format_summary`` and ``--json`` print).
    """
    con = connect(source, tz=tz, source_tz=source_tz, snapshot=snapshot)
    try:
        sources = con.execute(
            "SELECT source, kind, path, state, mapping, columns, journal_mode, user_version,"
            " snapshot_taken_at FROM wfhist_sources ORDER BY rowid"
        ).df()
        # On a live view every query re-scans the SQLite files: read the six
        # columns the summary needs once, then count from that.
        retry_locked(
            ", ".join(str(p) for p in sources["path"]),
            lambda: con.execute(
                "CREATE TEMP TABLE wfhist_summary AS SELECT source, adw_id, status,"
                " temporal_source, scoring_version, created_ts FROM history"
            ),
        )
        rows = con.execute(
            "SELECT count(*), min(created_ts)::VARCHAR, max(created_ts)::VARCHAR"
            " FROM wfhist_summary"
        ).fetchone()
        assert rows is not None  # an aggregate always returns one row

        def counts(expr: str) -> dict[Any, int]:
            sql = f"SELECT {expr}, count(*) FROM wfhist_summary GROUP BY 1 ORDER BY 1"
            return {k: int(v) for k, v in con.execute(sql).fetchall()}

        per_source = counts("source")
        temporal = counts("temporal_source")
        status = counts("status")
        versions = counts("coalesce(scoring_version, 'NULL (before 006)')")
        bad = con.execute(
            "SELECT source, column_name, bad_values FROM wfhist_bad_values ORDER BY ALL"
        ).fetchall()
        duplicates = con.execute(
            "SELECT adw_id, list(DISTINCT source ORDER BY source) FROM wfhist_summary"
            " GROUP BY adw_id"
            " HAVING count(DISTINCT source) > 1 ORDER BY adw_id"
        ).fetchall()
    finally:
        con.close()
    first = sources.iloc[0]
    bad_total: dict[str, int] = {}
    for _src, col, n in bad:
        bad_total[col] = bad_total.get(col, 0) + int(n)
    return {
        "path": str(first["path"]) if len(sources) == 1 else [str(p) for p in sources["path"]],
        "rows": int(rows[0]),
        "columns": int(first["columns"]),
        "journal_mode": str(first["journal_mode"]),
        "user_version": int(first["user_version"]),
        "schema_state": str(first["state"]),
        "mapping": str(first["mapping"]),
        "tz": tz,
        "source_tz": source_tz,
        "snapshot_taken_at": first["snapshot_taken_at"] or None,
        "temporal_sources": {k: int(temporal.get(k, 0)) for k in ("stored", "derived", "missing")},
        "bad_values": bad_total,
        "created_at_range": [rows[1], rows[2]],
        "status_counts": {k: int(v) for k, v in status.items()},
        "scoring_versions": {k: int(v) for k, v in versions.items()},
        "sources": [
            {
                "source": str(r["source"]),
                "kind": str(r["kind"]),
                "path": str(r["path"]),
                "rows": int(per_source.get(r["source"], 0)),
                "columns": int(r["columns"]),
                "schema_state": str(r["state"]),
                "mapping": str(r["mapping"]),
                "user_version": int(r["user_version"]),
                "bad_values": {c: int(n) for s_, c, n in bad if s_ == r["source"]},
            }
            for _, r in sources.iterrows()
        ],
        "duplicate_adw_ids": [{"adw_id": a, "sources": list(s_)} for a, s_ in duplicates],
    }


def format_summary(info: dict[str, Any]) -> str:
    """The summary as a short, aligned text block for the terminal."""
    t = info["temporal_sources"]
    bad = info["bad_values"]
    multi = len(info["sources"]) > 1
    lines = [
        ("file", info["path"] if not multi else f"{len(info['sources'])} sources"),
        ("rows", f"{info['rows']}"),
    ]
    if multi:
        for s_ in info["sources"]:
            lines.append(
                (
                    f"  {s_['source']}",
                    f"{s_['rows']} rows, {s_['columns']} columns, {s_['schema_state']}, "
                    f"{s_['kind']} {s_['path']}",
                )
            )
        dups = info["duplicate_adw_ids"]
        lines.append(
            (
                "duplicate adw_id",
                "none"
                if not dups
                else f"{len(dups)} ids in more than one source (kept, not merged), e.g. "
                + ", ".join(f"{d['adw_id']} in {'+'.join(d['sources'])}" for d in dups[:3]),
            )
        )
    else:
        lines += [
            ("columns", f"{info['columns']}"),
            ("journal mode", info["journal_mode"]),
            ("schema state", f"{info['schema_state']} (user_version {info['user_version']})"),
            ("mapping", info["mapping"]),
        ]
    lines += [
        (
            "hour/weekday",
            f"stored {t['stored']}, derived {t['derived']}, missing {t['missing']} "
            f"(in {info['tz']}; naive stamps read as {info['source_tz']})",
        ),
        (
            "bad values",
            ", ".join(f"{k}: {v}" for k, v in bad.items()) + " (read as NULL)" if bad else "none",
        ),
        ("created_at", f"{info['created_at_range'][0]} … {info['created_at_range'][1]}"),
        ("status", ", ".join(f"{k} {v}" for k, v in info["status_counts"].items())),
        ("scoring_version", ", ".join(f"{k}: {v}" for k, v in info["scoring_versions"].items())),
        ("snapshot", info["snapshot_taken_at"] or "none (live read)"),
    ]
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in lines)
