"""Reader goals of issue 13 on the 1M-row sample, each side measured in the same run.

* cold live aggregation through ``wfhist.connect`` vs the bare scanner query
  (``try_strptime``, no zones): first open (empty profile cache) and reopen;
* a file-backed snapshot: building it (peak RSS), and reopening it after 1,000
  appended and 10 updated rows vs building it from scratch.

Each case is its own child process (peak RSS from ``os.wait4``); one run each.

    .venv/bin/python benchmarks/bench_reader.py [--rows 1000000 | --db FILE]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, PYTHON, emit, run_measured, sample_db, warm_page_cache

LA = "America/Los_Angeles"
AGG = (
    "SELECT hour_of_day, day_of_week, count(*) FROM history "
    "WHERE hour_of_day IS NOT NULL GROUP BY ALL ORDER BY ALL"
)
_FORMATS = (
    "['%Y-%m-%dT%H:%M:%S.%f', '%Y-%m-%dT%H:%M:%S', '%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%d %H:%M:%S']"
)


def case_bare(db: str, _cache: str) -> dict:
    from wfhist.read import load_sqlite_scanner, new_duckdb, sql_literal

    t0 = time.perf_counter()
    con = new_duckdb()
    load_sqlite_scanner(con)
    con.execute(f"ATTACH {sql_literal(db)} AS s (TYPE sqlite, READ_ONLY)")
    con.execute(
        "SELECT hour(ts), isodow(ts) - 1, count(*) FROM (SELECT "
        f"try_strptime(coalesce(start_time, created_at), {_FORMATS}) AS ts "
        "FROM s.workflow_history) WHERE ts IS NOT NULL GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    return {"seconds": time.perf_counter() - t0}


def case_live(db: str, _cache: str) -> dict:
    from wfhist.read import connect

    t0 = time.perf_counter()
    con = connect(db, tz=LA)
    t1 = time.perf_counter()
    con.execute(AGG).fetchall()
    return {"seconds": time.perf_counter() - t0, "connect": t1 - t0}


def case_snapshot(db: str, cache: str) -> dict:
    from wfhist.read import connect

    t0 = time.perf_counter()
    con = connect(db, tz=LA, snapshot=cache)
    rows = con.execute("SELECT count(*) FROM history").fetchone()
    return {"seconds": time.perf_counter() - t0, "rows": rows[0] if rows else 0}


CASES = {"bare": case_bare, "live": case_live, "snapshot": case_snapshot}


def _child(case: str, db: Path, cache: Path, profiles: Path) -> dict:
    print(f"running {case} on {db.name} ...", flush=True)
    m = run_measured(
        case,
        [PYTHON, __file__, "--case", case, "--db", str(db), "--cache", str(cache)],
        env={"WFHIST_CACHE_DIR": str(profiles)},
    )
    data = m.json()
    data["max_rss_mib"] = m.max_rss_mib
    print(f"  {data['seconds']:.2f} s, {m.max_rss_mib:.0f} MiB peak RSS", flush=True)
    return data


def _mutate(db: Path) -> None:
    """Append 1,000 rows (copies of existing ones with new adw_ids) and update 10 old rows."""
    con = sqlite3.connect(db)
    unique = ("id", "adw_id", "workflow_id")  # new values for the UNIQUE columns
    cols = [r[1] for r in con.execute("PRAGMA table_info(workflow_history)")]
    others = ", ".join(c for c in cols if c not in unique)
    con.execute(
        f"INSERT INTO workflow_history (adw_id, workflow_id, {others}) "
        f"SELECT 'bench' || id, 'bench' || id, {others} "
        "FROM workflow_history ORDER BY id LIMIT 1000"
    )
    con.execute(
        "UPDATE workflow_history SET status = 'failed' WHERE id IN "
        "(SELECT id FROM workflow_history ORDER BY id LIMIT 10 OFFSET 5000)"
    )
    con.commit()
    con.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", help="a history file (default: the cached --rows sample)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--case")
    parser.add_argument("--cache", default="")
    args = parser.parse_args()
    if args.case:
        emit(CASES[args.case](args.db, args.cache))
        return 0
    db = Path(args.db) if args.db else sample_db(args.rows)
    warm_page_cache(db)
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        work = Path(tmp)
        profiles = work / "profiles"
        cache = work / "snap.duckdb"
        out: dict[str, dict] = {}
        out["bare"] = _child("bare", db, cache, profiles)
        out["first open"] = _child("live", db, cache, profiles)
        out["reopen"] = _child("live", db, cache, profiles)
        copy = work / "mutated.db"
        shutil.copyfile(db, copy)
        out["snapshot build"] = _child("snapshot", copy, cache, profiles)
        _mutate(copy)
        warm_page_cache(copy)
        out["snapshot refresh"] = _child("snapshot", copy, cache, profiles)
        cache.unlink()
        out["snapshot rebuild"] = _child("snapshot", copy, cache, profiles)
    bare = out["bare"]["seconds"]
    print(f"{'case':<18} {'seconds':>8} {'ratio':>7} {'peak RSS MiB':>13}")
    for name, d in out.items():
        base = (
            bare if name in ("bare", "first open", "reopen") else out["snapshot rebuild"]["seconds"]
        )
        print(f"{name:<18} {d['seconds']:8.2f} {d['seconds'] / base:7.2f} {d['max_rss_mib']:13.0f}")
    print("ratios: live cases / bare; snapshot cases / rebuild from scratch")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
