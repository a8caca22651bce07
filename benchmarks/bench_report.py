"""Both analytics reports end to end on a 1M-row file: time and peak memory of the process tree.

Each report runs as the real command (``wfhist report NAME --db FILE``):
papermill starts a kernel, every cell runs, the HTML is written. The memory
figures are peaks of the *sum* over the command and all its descendants (the
kernel above all), sampled every 100 ms: resident set size (counts shared
library pages once per process) and proportional set size (each page once) --
``ru_maxrss`` would give the largest single process only. The per-cell times
papermill records show where the time goes. Figures are printed, never asserted.
Usage::

    .venv/bin/python benchmarks/bench_report.py [--rows 1000000] [--name temporal_analytics]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from _common import DATA, WFHIST, print_machine, print_table, sample_db, warm_page_cache

#: report -> (time goal in seconds, memory goal in MiB), from the issue.
GOALS = {"temporal_analytics": (15, 1024), "scoring_versions": (20, 1024)}


def _tree_memory_mib(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of ``pid`` and every descendant summed, in MiB (0 once gone).

    The RSS sum counts the shared library pages of the command and the kernel
    twice; PSS (proportional set size) charges each shared page once in total.
    """
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0, 0.0
    rss = pss = 0
    for proc in procs:
        try:
            info = proc.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        rss, pss = rss + info.rss, pss + getattr(info, "pss", info.rss)
    return rss / 1024**2, pss / 1024**2


def run_tree_measured(argv: list[str]) -> tuple[float, float, float, int, str]:
    """(wall s, peak summed RSS MiB, peak summed PSS MiB, exit code, stderr tail) of ``argv``."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak_rss = peak_pss = 0.0
    while proc.poll() is None:
        rss, pss = _tree_memory_mib(proc.pid)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    err = proc.stderr.read() if proc.stderr else ""
    return seconds, peak_rss, peak_pss, proc.returncode, err[-2000:]


def _cell_times(ipynb: Path) -> list[tuple[str, float]]:
    """(first source line, seconds) of every executed code cell, from papermill's metadata."""
    nb = json.loads(ipynb.read_text())
    out = []
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("papermill", {})
        if cell["cell_type"] != "code" or not meta.get("start_time"):
            continue
        start = datetime.fromisoformat(meta["start_time"].rstrip("Z"))
        end = datetime.fromisoformat(meta["end_time"].rstrip("Z"))
        source = "".join(cell["source"]).strip().splitlines() or [""]
        lines = [ln for ln in source if ln and not ln.startswith(("%", "#", "from", "import"))]
        out.append(((lines or source)[0][:60], (end - start).total_seconds()))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--name", action="append", choices=list(GOALS))
    args = parser.parse_args()
    names = args.name or list(GOALS)

    db = sample_db(args.rows)
    out = DATA / "report-bench"
    shutil.rmtree(out, ignore_errors=True)
    print_machine()
    print(f"file: {db} ({db.stat().st_size / 1024**2:,.0f} MiB, {args.rows:,} rows)")
    warm_page_cache(db)
    rows = []
    for name in names:
        argv = [WFHIST, "report", name, "--db", str(db), "--out", str(out), "--no-input"]
        seconds, peak, pss, code, err = run_tree_measured(argv)
        if code:
            print(f"wfhist report {name} failed ({code}): {err}")
            return 1
        goal_s, goal_mib = GOALS[name]
        rows.append(
            [name, f"{seconds:.1f}", f"≤ {goal_s}", f"{peak:.0f}", f"{pss:.0f}", f"≤ {goal_mib}"]
        )
        cells = sorted(_cell_times(out / f"{name}.ipynb"), key=lambda c: -c[1])
        print(f"\n{name}: slowest cells (of {len(cells)}; all {sum(s for _, s in cells):.1f} s)")
        print_table(["cell", "seconds"], [[c, f"{s:.2f}"] for c, s in cells[:5]])
    print(f"\nwfhist report NAME --db <{args.rows:,} rows> --no-input")
    print_table(
        ["report", "seconds", "goal s", "peak RSS sum MiB", "peak PSS sum MiB", "goal MiB"],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
