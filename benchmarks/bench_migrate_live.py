"""How long the service's writes wait while ``wfhist migrate`` runs (issue 9).

The README promises that a migration holds the write lock for less than the
service's busy timeout (Python's default: 5 s), so the service's writes wait
instead of failing. This runs ``tests/writer_proc.py`` (a stand-in for the
service: Python's sqlite3 defaults, inserts and updates, one commit each)
throughout ``wfhist migrate`` (006 + 007) of one sample, in the real file's
DELETE journal mode and in WAL mode, and prints, from one run each: how long
migrate held the write lock, the longest single write the writer waited for,
its "database is locked" retries, and that wait as a share of the service's 5 s.
Files live below ``benchmarks/.data`` and are removed afterwards; figures are
printed, never asserted::

    .venv/bin/python benchmarks/bench_migrate_live.py [--rows 20000]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time

from _common import DATA, PYTHON, ROOT, WFHIST, mib, print_machine, print_table

SERVICE_BUSY_TIMEOUT_S = 5.0


def one_run(rows: int, wal: bool) -> list[object]:
    work = DATA / f"migrate-live-{'wal' if wal else 'delete'}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = work / "workflow_history.db"
    demo = [WFHIST, "demo", "--rows", str(rows), "--out", str(db), *(["--wal"] if wal else [])]
    subprocess.run(demo, check=True, capture_output=True)
    log, stop = work / "committed.log", work / "stop"
    writer = subprocess.Popen(
        [PYTHON, str(ROOT / "tests" / "writer_proc.py"), str(db), str(log), str(stop)]
    )
    try:
        time.sleep(1.0)  # the writer is committing before migrate starts
        done = subprocess.run([WFHIST, "migrate", str(db)], capture_output=True, text=True)
        time.sleep(0.5)
    finally:
        stop.touch()
        writer.wait(timeout=60)
    if done.returncode:
        raise RuntimeError(f"wfhist migrate failed: {done.stderr[-2000:]}")
    held = re.search(r"write lock held ([\d.]+) s", done.stdout)
    stats = json.loads((work / "committed.log.stats").read_text())
    size = mib(db.stat().st_size)
    shutil.rmtree(work, ignore_errors=True)
    return [
        "WAL" if wal else "DELETE",
        size,
        held.group(1) if held else "?",
        stats["ops"],
        f"{stats['max_wait_s']:.2f}",
        stats["retries"],
        f"{stats['max_wait_s'] / SERVICE_BUSY_TIMEOUT_S:.2f}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    print_machine()
    table = [one_run(args.rows, wal) for wal in (False, True)]
    print(f"\none run each, {args.rows:,} rows, writer committing throughout")
    print_table(
        [
            "journal",
            "file",
            "write lock held s",
            "writer ops",
            "longest write wait s",
            "locked retries",
            "wait / 5 s",
        ],
        table,
    )
    print("  goal: longest write wait / the service's 5 s busy timeout < 1, no retries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
