"""The temporal notebook end to end on a 1M-row file: ``wfhist report temporal_analytics``.

One child process runs the real command -- papermill executes the notebook
(kernel start, the reader's snapshot of the history, every cell and figure),
then the HTML is written -- and its wall time and peak RSS are measured (on
Linux ``wait4`` reports the largest RSS of the command and the descendants it
waited for, i.e. the notebook kernel). The per-cell times papermill records in
the executed notebook show where the time goes. Figures are printed, never asserted. Usage::

    .venv/bin/python benchmarks/bench_report.py [--rows 1000000] [--name temporal_analytics]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import datetime
from pathlib import Path

from _common import (
    DATA,
    WFHIST,
    print_machine,
    print_table,
    run_measured,
    sample_db,
    warm_page_cache,
)


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
        out.append((source[0][:60], (end - start).total_seconds()))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--name", default="temporal_analytics")
    args = parser.parse_args()

    db = sample_db(args.rows)
    out = DATA / "report-bench"
    shutil.rmtree(out, ignore_errors=True)
    print_machine()
    print(f"file: {db} ({db.stat().st_size / 1024**2:,.0f} MiB, {args.rows:,} rows)")
    warm_page_cache(db)
    m = run_measured("report", [WFHIST, "report", args.name, "--db", str(db), "--out", str(out)])
    if m.returncode:
        print(f"wfhist report failed ({m.returncode}): {m.stderr[-2000:]}")
        return 1
    print(f"\nwfhist report {args.name} --db <{args.rows:,} rows>")
    print_table(
        ["case", "seconds", "goal", "peak RSS MiB (command or kernel)"],
        [[args.name, f"{m.seconds:.1f}", "< 30 s", f"{m.max_rss_mib:.0f}"]],
    )
    cells = sorted(_cell_times(out / f"{args.name}.ipynb"), key=lambda c: -c[1])
    print(f"\nslowest cells (of {len(cells)}; all cells {sum(s for _, s in cells):.1f} s)")
    print_table(["cell", "seconds"], [[c, f"{s:.2f}"] for c, s in cells[:6]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
