"""Wall time and peak memory of `wfhist verify` against sqldiff and a naive pandas compare.

Builds (once, cached) a sample database with ``--rows`` runs (default 1,000,000)
and a copy migrated with 006, then runs each tool on the pair as its own
subprocess and reads that child's peak RSS from ``os.wait4``:

* ``wfhist verify BEFORE AFTER`` -- integrity, FK, schema, indexes and every
  value of every table with its storage class;
* ``sqldiff BEFORE AFTER`` (Debian package ``sqlite3-tools``) -- rows only: it
  prints the SQL that turns one file into the other;
* pandas -- ``read_sql`` of both ``workflow_history`` tables, then
  ``DataFrame.compare`` on the shared columns (what a notebook would do).

All three run on warm page cache (the files were just built or read), one run
each. Usage::

    .venv/bin/python benchmarks/verify_bench.py [--rows N] [--data DIR] [--skip-pandas]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from wfhist.backup import online_copy
from wfhist.demo import create_sample_db
from wfhist.sqlscript import read_script, run_script

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / "benchmarks" / ".data"
MIGRATION_006 = ROOT / "migrations" / "006_add_scoring_version.sql"

PANDAS_COMPARE = """
import sqlite3, sys
import pandas as pd
frames = []
for path in sys.argv[1:3]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    frames.append(pd.read_sql_query("SELECT * FROM workflow_history", con, index_col="id"))
    con.close()
before, after = frames
after = after[before.columns]  # compare() needs identical labels: drop the added column
diff = before.compare(after)
print(f"pandas: {diff.shape[0]} rows differ in {diff.shape[1] // 2} columns")
"""


def build_pair(rows: int, data: Path, source: Path | None = None) -> tuple[Path, Path]:
    """The sample and its 006-migrated copy, built once and kept in ``data``.

    ``source``: an existing pre-006 sample (e.g. another benchmark's 1M-row file)
    copied instead of generating one (minutes of CPU for 1M rows).
    """
    data.mkdir(parents=True, exist_ok=True)
    before = data / f"bench_{rows}_before.db"
    after = data / f"bench_{rows}_after_006.db"
    if not before.exists() and source is not None:
        print(f"copying {source} to {before} ...", flush=True)
        online_copy(source, before)
    if not before.exists():
        print(f"building {before} ({rows:,} rows; minutes for 1M) ...", flush=True)
        create_sample_db(before, rows=rows)
    if not after.exists():
        tmp = after.with_name(after.name + ".tmp")
        tmp.unlink(missing_ok=True)
        online_copy(before, tmp)
        con = sqlite3.connect(tmp, isolation_level=None)
        try:
            run_script(con, read_script(MIGRATION_006), source=str(MIGRATION_006))
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            con.close()
        os.replace(tmp, after)
    return before, after


# Fork + exec from a small process, so the child's peak RSS is its own: a child forked
# from this (large) benchmark process would report our memory as its peak.
LAUNCHER = """
import os, sys, time
stats, cmd = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(stats, "w") as fh:
    cpu = usage.ru_utime + usage.ru_stime
    fh.write(f"{time.perf_counter() - started} {cpu} {usage.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""
GNU_TIME = Path("/usr/bin/time")


def measure(label: str, argv: list[str]) -> dict[str, Any]:
    """Wall seconds, peak RSS (MiB) and exit code of ``argv`` run as its own process.

    Uses GNU time when installed, else a minimal Python launcher (whose own ~9 MiB
    is then the floor of the reported RSS).
    """
    with (
        tempfile.NamedTemporaryFile("r", suffix=".stats") as stats,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        if GNU_TIME.exists():
            wrapped = [str(GNU_TIME), "-f", "%e %U %S %M", "-o", stats.name, *argv]
        else:
            wrapped = [sys.executable, "-I", "-S", "-c", LAUNCHER, stats.name, *argv]
        code = subprocess.run(wrapped, stdout=out, stderr=err, check=False).returncode
        fields = stats.read().split()
        if GNU_TIME.exists():
            seconds, user, system, rss_kib = fields[-4:]
            cpu = float(user) + float(system)
        else:
            seconds, cpu_text, rss_kib = fields[-3:]
            cpu = float(cpu_text)
        out.seek(0)
        err.seek(0)
        tail = (out.read()[-300:] + err.read()[-300:]).decode(errors="replace").strip()
    return {
        "tool": label,
        "seconds": float(seconds),
        "cpu_seconds": cpu,
        "peak_rss_mib": int(rss_kib) / 1024,
        "exit": code,
        "tail": tail.splitlines()[-1] if tail else "",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="cache directory")
    parser.add_argument("--skip-pandas", action="store_true", help="skip the pandas compare")
    parser.add_argument("--source", type=Path, help="copy this pre-006 sample instead of building")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run verify and sqldiff N times, interleaved, and keep each one's fastest run "
        "(a shared machine's load shifts between runs)",
    )
    parser.add_argument(
        "--full-integrity",
        action="store_true",
        help="also time `wfhist verify --integrity full` (integrity_check instead of quick_check)",
    )
    args = parser.parse_args(argv)

    before, after = build_pair(args.rows, args.data, args.source)
    size = (before.stat().st_size + after.stat().st_size) / 2**20
    print(f"pair: {before.name} + {after.name} ({size:,.0f} MiB together)")
    for path in (before, after):  # warm the page cache equally for every tool
        with path.open("rb") as fh:
            while fh.read(1 << 24):
                pass

    verify = [sys.executable, "-m", "wfhist", "verify", str(before), str(after)]
    sqldiff = shutil.which("sqldiff")
    if not sqldiff:
        print("sqldiff: not installed (Debian/Ubuntu: apt-get install sqlite3-tools); skipped")
    tools = [("wfhist verify", verify)]
    if args.full_integrity:
        tools.append(("verify (full)", [*verify, "--integrity", "full"]))
    if sqldiff:
        tools.append(("sqldiff", [sqldiff, str(before), str(after)]))
    best: dict[str, dict[str, Any]] = {}
    for _ in range(max(args.repeat, 1)):
        for label, command in tools:
            run = measure(label, command)
            if label not in best or run["seconds"] < best[label]["seconds"]:
                best[label] = run
    runs = [best[label] for label, _ in tools]
    if not args.skip_pandas:
        runs.append(
            measure(
                "pandas compare",
                [sys.executable, "-c", PANDAS_COMPARE, str(before), str(after)],
            )
        )

    base = runs[0]
    print(
        f"\n{'tool':<16} {'wall s':>8} {'cpu s':>7} {'peak RSS MiB':>13} {'time x':>7} "
        f"{'RSS x':>6}  exit"
    )
    for r in runs:
        time_x = r["seconds"] / base["seconds"]
        rss_x = r["peak_rss_mib"] / base["peak_rss_mib"]
        print(
            f"{r['tool']:<16} {r['seconds']:>8.1f} {r['cpu_seconds']:>7.1f} "
            f"{r['peak_rss_mib']:>13.0f} {time_x:>7.2f} {rss_x:>6.2f}  {r['exit']}  "
            f"{r['tail'][:60]}"
        )
    print("\nratios are relative to wfhist verify (time x > 1: slower than verify)")
    ok = base["exit"] == 0 and base["peak_rss_mib"] < 1024
    print(f"wfhist verify under 1 GiB: {'yes' if base['peak_rss_mib'] < 1024 else 'NO'}")
    if sqldiff:
        sqldiff_run = next(r for r in runs if r["tool"] == "sqldiff")
        faster = base["seconds"] <= sqldiff_run["seconds"]
        print(f"wfhist verify no slower than sqldiff: {'yes' if faster else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
