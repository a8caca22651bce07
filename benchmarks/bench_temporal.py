"""Load + hour×weekday aggregation over a 1M-row history file: wfhist against the alternatives.

Cases, each in its own child process (time measured inside the child from
opening the file to having the result, so interpreter start-up and imports
are left out; peak RSS is the whole child's):

* ``wfhist``     -- ``wfhist.connect(db, tz=America/Los_Angeles)`` then GROUP BY
  ``hour_of_day, day_of_week`` on ``history`` (mapping, both timestamp formats,
  zones, dirty-value profiling: everything the analyst gets);
* ``parquet``    -- the same wfhist call on the folder ``wfhist export`` wrote
  (built once and kept next to the sample; the export itself is timed then);
* ``bare``       -- DuckDB's sqlite scanner alone: ATTACH, then GROUP BY over
  ``try_strptime(coalesce(start_time, created_at))``; no mapping, no zones;
* ``pandas``     -- ``pandas.read_sql`` of start_time/created_at over sqlite3,
  both formats parsed and the UTC ones converted, then ``groupby`` (the same
  answer as wfhist, checked);
* ``sqlite``     -- SQLite's own GROUP BY over ``strftime`` (the floor: no zone
  handling, so rows with only a UTC created_at land in another hour);
* ``repeat-live`` / ``repeat-snapshot`` -- the aggregation ten times on one
  connection, reading the live file each time vs ``snapshot=True``.

Also a breakdown of wfhist's own cold path (extension load, attach + dirty-value
profiling, view, query with and without the ``sqlite_query`` join that dirty
columns need). Figures are printed, never asserted. Usage::

    .venv/bin/python benchmarks/bench_temporal.py [--rows 1000000] [--repeat 10]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from _common import (
    DATA,
    PYTHON,
    WFHIST,
    emit,
    print_load,
    print_machine,
    print_table,
    run_measured,
    sample_db,
    warm_page_cache,
)

if TYPE_CHECKING:
    from wfhist.read import SourceInfo

LA = "America/Los_Angeles"
AGG = (
    "SELECT hour_of_day, day_of_week, count(*) AS runs FROM history "
    "WHERE hour_of_day IS NOT NULL GROUP BY ALL ORDER BY ALL"
)
_FORMATS = (
    "['%Y-%m-%dT%H:%M:%S.%f', '%Y-%m-%dT%H:%M:%S', '%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%d %H:%M:%S']"
)


def _rows(result: list[tuple]) -> list[list[int]]:
    return [[int(v) for v in r] for r in result]


# --- the cases (run in children) --------------------------------------------------


def case_wfhist(db: Path) -> dict:
    from wfhist.read import connect

    t0 = time.perf_counter()
    con = connect(db, tz=LA)
    t1 = time.perf_counter()
    result = con.execute(AGG).fetchall()
    t2 = time.perf_counter()
    return {"seconds": t2 - t0, "connect": t1 - t0, "query": t2 - t1, "result": _rows(result)}


def case_parquet(db: Path) -> dict:
    """The same aggregation on the folder ``wfhist export`` wrote (``db`` is that folder)."""
    return case_wfhist(db)


def case_bare(db: Path) -> dict:
    from wfhist.read import load_sqlite_scanner, new_duckdb, sql_literal

    t0 = time.perf_counter()
    con = new_duckdb()
    load_sqlite_scanner(con)
    con.execute(f"ATTACH {sql_literal(str(db))} AS s (TYPE sqlite, READ_ONLY)")
    result = con.execute(
        "SELECT hour(ts), isodow(ts) - 1, count(*) FROM (SELECT "
        f"try_strptime(coalesce(start_time, created_at), {_FORMATS}) AS ts "
        "FROM s.workflow_history) WHERE ts IS NOT NULL GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    return {"seconds": time.perf_counter() - t0, "result": _rows(result)}


def case_pandas(db: Path) -> dict:
    import pandas as pd

    t0 = time.perf_counter()
    con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    df = pd.read_sql("SELECT start_time, created_at FROM workflow_history", con)
    con.close()
    t1 = time.perf_counter()
    start = pd.to_datetime(df["start_time"], format="ISO8601", errors="coerce")
    local_fmt = df["created_at"].str.contains("T", regex=False)
    created_local = pd.to_datetime(
        df["created_at"].where(local_fmt), format="ISO8601", errors="coerce"
    )
    created_utc = (
        pd.to_datetime(df["created_at"].where(~local_fmt), format="ISO8601", errors="coerce")
        .dt.tz_localize("UTC")
        .dt.tz_convert(LA)
        .dt.tz_localize(None)
    )
    local = start.fillna(created_local.fillna(created_utc))
    grouped = (
        pd.DataFrame({"h": local.dt.hour, "d": local.dt.dayofweek})
        .dropna()
        .groupby(["h", "d"])
        .size()
        .reset_index()
    )
    t2 = time.perf_counter()
    return {
        "seconds": t2 - t0,
        "read_sql": t1 - t0,
        "parse_group": t2 - t1,
        "result": _rows(list(grouped.itertuples(index=False))),
    }


def case_sqlite(db: Path) -> dict:
    t0 = time.perf_counter()
    con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    result = con.execute(
        "SELECT CAST(strftime('%H', ts) AS INTEGER) AS h,"
        " (CAST(strftime('%w', ts) AS INTEGER) + 6) % 7 AS d, count(*)"
        " FROM (SELECT coalesce(start_time, created_at) AS ts FROM workflow_history)"
        " WHERE h IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()
    con.close()
    return {"seconds": time.perf_counter() - t0, "result": _rows(result)}


def _repeat(db: Path, repeat: int, snapshot: bool) -> dict:
    from wfhist.read import connect

    t0 = time.perf_counter()
    con = connect(db, tz=LA, snapshot=snapshot)
    opened = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = con.execute(AGG).fetchall()
        times.append(time.perf_counter() - t)
    return {
        "seconds": time.perf_counter() - t0,
        "connect": opened,
        "queries": times,
        "result": _rows(result),
    }


def case_breakdown(db: Path) -> dict:
    """Where wfhist's cold time goes, step by step in one process (profile cache empty)."""
    from wfhist import read
    from wfhist.read.connect import set_zones
    from wfhist.read.profile import find_dirty_columns

    con = read.new_duckdb()
    set_zones(con, LA, LA)
    out: dict[str, float] = {}

    def timed(label: str, fn: Callable[[], object]) -> object:
        t = time.perf_counter()
        value = fn()
        out[label] = time.perf_counter() - t
        return value

    timed("load sqlite extension", lambda: read.load_sqlite_scanner(con))
    info = timed("attach (file shape)", lambda: read.attach_source(con, db, "src"))
    dirty = timed(
        "find dirty columns (typed scan of numeric columns)",
        lambda: find_dirty_columns(con, info, []),
    )
    info.dirty_columns = tuple(dirty)
    profile_sql = _profile_sql(info)

    def profile_in_sqlite() -> None:
        lite = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
        lite.execute(profile_sql).fetchall()
        lite.close()

    timed("  the former typeof profile, in python's sqlite3", profile_in_sqlite)
    timed(
        "scanner reads the 4 temporal columns",
        lambda: con.execute(
            "SELECT count(start_time), count(created_at), count(submission_hour),"
            " count(submission_day_of_week) FROM src.workflow_history"
        ).fetchall(),
    )
    timed(
        "bare aggregation (strptime, no zones)",
        lambda: con.execute(
            "SELECT hour(ts), count(*) FROM (SELECT "
            f"try_strptime(coalesce(start_time, created_at), {_FORMATS}) AS ts "
            "FROM src.workflow_history) GROUP BY ALL"
        ).fetchall(),
    )
    for label, bad in (("without", ()), ("with", tuple(dirty))):
        info.dirty_columns = bad
        con.execute(f"CREATE OR REPLACE TEMP VIEW history AS {read.history_select(info)}")
        timed(
            f"history aggregation {label} the dirty-column join",
            lambda: con.execute(AGG).fetchall(),
        )
    cols = ", ".join(f"count({c})" for c in dirty)
    inner = f"SELECT id, {', '.join(dirty)} FROM workflow_history"
    timed(
        "  sqlite_query of id + dirty columns alone",
        lambda: con.execute(
            f"SELECT count(*), {cols} FROM sqlite_query('src', {read.sql_literal(inner)})"
        ).fetchall(),
    )
    return {"seconds": sum(out.values()), "parts": out, "dirty": list(dirty)}


def _profile_sql(info: SourceInfo) -> str:
    """The reader's profiling statement, rebuilt (it runs inside SQLite)."""
    from wfhist.read import ALLOWED_STORAGE as _ALLOWED_STORAGE

    checks = []
    for name, _decl, duck in info.columns:
        allowed = _ALLOWED_STORAGE.get(duck)
        if allowed:
            in_list = ", ".join(f"'{a}'" for a in allowed)
            checks.append(f'sum(typeof("{name}") NOT IN ({in_list}))')
    return f"SELECT {', '.join(checks)} FROM workflow_history"


CASES = {
    "wfhist": case_wfhist,
    "parquet": case_parquet,
    "bare": case_bare,
    "pandas": case_pandas,
    "sqlite": case_sqlite,
    "breakdown": case_breakdown,
}


# --- the parent ----------------------------------------------------------------------


def _child(case: str, db: Path, repeat: int, cache: Path) -> dict:
    m = run_measured(
        case,
        [PYTHON, __file__, "--case", case, "--db", str(db), "--repeat", str(repeat)],
        env={"WFHIST_CACHE_DIR": str(cache)},
    )
    data = m.json()
    data["process_seconds"] = m.seconds
    data["max_rss_mib"] = m.max_rss_mib
    return data


def _export(db: Path) -> Path:
    """``wfhist export`` of the sample (tz as the cases use), written once and kept."""
    out = db.with_name(f"{db.stem}_parquet")
    if not out.exists():
        argv = [WFHIST, "export", str(db), "--parquet", str(out), "--tz", LA]
        m = run_measured("export", argv)
        if m.returncode:
            raise RuntimeError(f"wfhist export failed: {m.stderr[-2000:]}")
        size = sum(f.stat().st_size for f in out.rglob("*.parquet"))
        print(
            f"wfhist export: {m.seconds:.1f} s, peak RSS {m.max_rss_mib:.0f} MiB, "
            f"{size / 1024**2:,.0f} MiB of Parquet in {out}"
        )
    else:
        print(f"wfhist export: reusing {out} (delete it to time the export again)")
    return out


def _differences(a: list[list[int]], b: list[list[int]]) -> int:
    """Rows placed in a different (hour, weekday) cell: half the L1 distance of the counts."""
    ca = {(h, d): n for h, d, n in a}
    cb = {(h, d): n for h, d, n in b}
    return sum(abs(ca.get(k, 0) - cb.get(k, 0)) for k in ca.keys() | cb.keys()) // 2


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3, help="cold cases: best of N runs")
    parser.add_argument("--case", choices=[*CASES, "repeat-live", "repeat-snapshot"])
    parser.add_argument("--db", type=Path)
    args = parser.parse_args()
    if args.case:
        if args.case.startswith("repeat-"):
            emit(_repeat(args.db, args.repeat, snapshot=args.case == "repeat-snapshot"))
        else:
            emit(CASES[args.case](args.db))
        return 0

    db = sample_db(args.rows)
    print_machine()
    print(f"file: {db} ({db.stat().st_size / 1024**2:,.0f} MiB, {args.rows:,} rows)")
    export = _export(db)
    DATA.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(dir=DATA) as first,
        tempfile.TemporaryDirectory(dir=DATA) as fresh,
    ):
        warm_page_cache(db)
        cold: dict[str, dict] = {}
        for n in range(args.runs):  # interleaved, so load changes hit every case alike
            cache = Path(first) / f"run{n}"
            runs = {
                # an empty profile cache: the first time wfhist ever opens this file
                "wfhist, first open": _child("wfhist", db, args.repeat, cache),
                # the dirty-value profile cached by the run above: every later open
                "wfhist, reopen": _child("wfhist", db, args.repeat, cache),
                "bare scanner": _child("bare", db, args.repeat, cache),
                "wfhist on its Parquet export": _child("parquet", export, args.repeat, cache),
                "pandas": _child("pandas", db, args.repeat, cache),
                "sqlite GROUP BY": _child("sqlite", db, args.repeat, cache),
            }
            for name, d in runs.items():
                if name not in cold or d["seconds"] < cold[name]["seconds"]:
                    cold[name] = d
        live = _child("repeat-live", db, args.repeat, cache)
        snap = _child("repeat-snapshot", db, args.repeat, cache)
        parts = _child("breakdown", db, args.repeat, Path(fresh))

    bare, pandas_ = cold["bare scanner"], cold["pandas"]
    print(f"\ncold: open the file + hour×weekday aggregation, fresh process, best of {args.runs}")
    print_table(
        ["case", "seconds", "/ bare", "process s", "peak RSS MiB", "rows in another cell"],
        [
            [
                name,
                f"{d['seconds']:.2f}",
                f"{d['seconds'] / bare['seconds']:.2f}",
                f"{d['process_seconds']:.2f}",
                f"{d['max_rss_mib']:.0f}",
                _differences(pandas_["result"], d["result"]),
            ]
            for name, d in cold.items()
        ],
    )
    print("  (rows in another cell: against pandas, which parses both formats and zones as")
    print("   wfhist does; the bare scanner and SQLite ignore that created_at may be UTC)")
    for name in ("wfhist, first open", "wfhist, reopen"):
        d = cold[name]
        print(f"  {name}: connect {d['connect']:.2f} s + query {d['query']:.2f} s")
    print(
        f"  pandas: read_sql {pandas_['read_sql']:.2f} s + parse/groupby "
        f"{pandas_['parse_group']:.2f} s"
    )
    for name in ("wfhist, first open", "wfhist, reopen"):
        t = cold[name]["seconds"]
        print(
            f"  goals ({name}): / bare = {t / bare['seconds']:.2f} (<= 1.2), "
            f"pandas / wfhist = {pandas_['seconds'] / t:.2f} (>= 2), "
            f"sqlite / wfhist = {cold['sqlite GROUP BY']['seconds'] / t:.2f} (> 1)"
        )

    print(f"\nrepeated: the aggregation {args.repeat} times on one connection (profile cached)")
    rows = []
    for name, d in (("live (snapshot=False)", live), ("snapshot=True", snap)):
        q = d["queries"]
        rows.append(
            [name, f"{d['connect']:.2f}", f"{q[0]:.3f}", f"{_median(q):.4f}", f"{sum(q):.2f}",
             f"{d['seconds']:.2f}", f"{d['max_rss_mib']:.0f}"]
        )  # fmt: skip
    print_table(
        ["case", "connect s", "1st query s", "median query s", "all queries s", "total s",
         "peak RSS MiB"],
        rows,
    )  # fmt: skip
    warm = _median(snap["queries"])
    print(
        f"  goal: cold aggregation (reopen) / warm snapshot query = "
        f"{cold['wfhist, reopen']['seconds'] / warm:,.0f}x (>= 50); "
        f"live query / snapshot query = {_median(live['queries']) / warm:,.0f}x"
    )
    if not live["result"] == snap["result"] == cold["wfhist, reopen"]["result"]:
        print("  WARNING: snapshot and live results differ")

    print("\nwhere wfhist's cold time goes (one process, in order, empty profile cache)")
    print_table(["step", "seconds"], [[k, f"{v:.2f}"] for k, v in parts["parts"].items()])
    print(f"  dirty columns in this file: {parts['dirty']}")
    print_load()
    return 0


if __name__ == "__main__":
    sys.exit(main())
