"""``wfhist backup`` of a ~1 GiB history file against ``cp`` of the same file.

``wfhist backup`` does more than copy: one read snapshot, a logical content
hash of every row (source), SQLite's online backup API, fsync, then
``integrity_check``, ``foreign_key_check`` and the content hash again on the
copy. So three references are measured, each as its own child process with its
peak RSS:

* ``cp``             -- the bytes only, left in the page cache;
* ``cp + sync``      -- the bytes made durable (``sync FILE`` fsyncs it), as the
  backup does;
* ``backup API``     -- SQLite's online backup alone (what wfhist copies with).

Then the stages of ``wfhist backup`` (timed from its own progress lines) show
where the rest goes. Everything is written below ``benchmarks/.data`` and
removed afterwards. Figures are printed, never asserted. Usage::

    .venv/bin/python benchmarks/bench_backup.py [--rows 500000]   # ~1 GiB
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import time
from pathlib import Path

from _common import (
    DATA,
    PYTHON,
    WFHIST,
    emit,
    mib,
    print_machine,
    print_table,
    run_measured,
    sample_db,
    warm_page_cache,
)


def case_stages(db: Path, out: Path) -> dict:
    """The library's backup with each progress line timed."""
    from wfhist.backup import backup

    marks: list[tuple[str, float]] = [("open", 0.0)]
    t0 = time.perf_counter()
    result = backup(db, out, report=lambda m: marks.append((m, time.perf_counter() - t0)))
    total = time.perf_counter() - t0
    # each stage runs from its progress line to the next one (the last one to the end)
    ends = [t for _, t in marks[1:]] + [total]
    stages = {
        m.removeprefix("backup: ")[:60]: end - t for (m, t), end in zip(marks, ends, strict=True)
    }
    return {"seconds": total, "stages": stages, "path": str(result.path)}


def case_backup_api(db: Path, out: Path) -> dict:
    t0 = time.perf_counter()
    src = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    dst = sqlite3.connect(out / "api_copy.db")
    src.backup(dst, pages=-1)
    dst.close()
    src.close()
    return {"seconds": time.perf_counter() - t0}


def _fresh(out: Path) -> Path:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000, help="sample size (500k ≈ 1 GiB)")
    parser.add_argument("--case", choices=["stages", "api"])
    parser.add_argument("--db", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.case == "stages":
        emit(case_stages(args.db, args.out))
        return 0
    if args.case == "api":
        emit(case_backup_api(args.db, args.out))
        return 0

    db = sample_db(args.rows)
    out = DATA / "backup-bench"
    print_machine()
    print(f"file: {db} ({mib(db.stat().st_size)})")
    _fresh(out)
    warm_page_cache(db)
    cases = {
        "cp": ["cp", str(db), str(out / "cp_copy.db")],
        "cp + sync": ["sh", "-c", 'cp "$0" "$1" && sync "$1"', str(db), str(out / "cp_copy.db")],
        "backup API": [PYTHON, __file__, "--case", "api", "--db", str(db), "--out", str(out)],
        "wfhist backup": [WFHIST, "backup", str(db), "--out", str(out)],
    }
    results = {}
    try:
        for label, argv in cases.items():
            _fresh(out)
            m = run_measured(label, argv)
            if m.returncode:
                raise RuntimeError(f"{label} failed: {m.stderr[-1000:]}")
            results[label] = m
        _fresh(out)
        stages = run_measured(
            "stages",
            [PYTHON, __file__, "--case", "stages", "--db", str(db), "--out", str(out)],
        ).json()
    finally:
        shutil.rmtree(out, ignore_errors=True)

    base = results["cp"].seconds
    print("\none copy each, fresh process, warm page cache")
    print_table(
        ["case", "seconds", "x cp", "x cp+sync", "peak RSS MiB"],
        [
            [
                label,
                f"{m.seconds:.2f}",
                f"{m.seconds / base:.2f}",
                f"{m.seconds / results['cp + sync'].seconds:.2f}",
                f"{m.max_rss_mib:.0f}",
            ]
            for label, m in results.items()
        ],
    )
    print(
        f"  goal: wfhist backup / cp = {results['wfhist backup'].seconds / base:.2f} (<= 1.5); "
        f"/ (cp + sync) = {results['wfhist backup'].seconds / results['cp + sync'].seconds:.2f}"
    )
    print("\nstages of wfhist backup (library call, from its progress lines)")
    print_table(["stage", "seconds"], [[k, f"{v:.2f}"] for k, v in stages["stages"].items()])
    return 0


if __name__ == "__main__":
    sys.exit(main())
