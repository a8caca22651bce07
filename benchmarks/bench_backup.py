"""``wfhist backup`` against ``sqlite3 DB ".backup X"`` + ``PRAGMA quick_check`` (issue 13).

Goal: wfhist's verified backup costs at most 2x the operator's unsafe-but-usual
pair of sqlite3 commands, with peak RSS <= 512 MiB, on the 1M-row sample. Both
sides copy through SQLite's online backup API and run ``quick_check`` on the
copy; wfhist also fsyncs, proves the copy page-identical to the source snapshot
(reading both files once, hashing the copy with SHA-256 on the way), counts
rows per table, checks foreign keys table by table and writes a manifest.

Each side runs as its own child process (wall time and that child's peak RSS),
from one warm page cache, in one run. A third line times ``check_backup`` (what
``rollback`` runs before restoring). Everything is written below
``benchmarks/.data`` and removed afterwards; figures are printed, never asserted::

    .venv/bin/python benchmarks/bench_backup.py [--rows 1000000] [--db FILE]
"""

from __future__ import annotations

import argparse
import logging
import shutil
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

PEER = 'sqlite3 "$0" ".backup \'$1\'" && sqlite3 "$1" "PRAGMA quick_check"'


def case_stages(db: Path, out: Path) -> dict:
    """The library's backup, each stage timed from its log lines (INFO, wfhist.backup)."""
    from wfhist.backup import backup

    marks: list[tuple[str, float]] = []
    t0 = time.perf_counter()

    class Marks(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            marks.append((record.getMessage(), time.perf_counter() - t0))

    logger = logging.getLogger("wfhist.backup")
    logger.setLevel(logging.INFO)
    logger.addHandler(Marks())
    result = backup(db, out)
    total = time.perf_counter() - t0
    ends = [t for _, t in marks[1:]] + [total]
    stages = {m.removeprefix("backup: ")[:50]: e - t for (m, t), e in zip(marks, ends, strict=True)}
    return {"seconds": total, "stages": stages, "path": str(result.path), "proof": result.proof}


def case_check(backup_path: Path) -> dict:
    from wfhist.backup import check_backup

    t0 = time.perf_counter()
    check_backup(backup_path)
    return {"seconds": time.perf_counter() - t0}


def _fresh(out: Path) -> Path:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="sample size (1M = 1.7 GiB)")
    parser.add_argument("--case", choices=["stages", "check"])
    parser.add_argument("--db", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.case == "stages":
        emit(case_stages(args.db, args.out))
        return 0
    if args.case == "check":
        emit(case_check(args.db))
        return 0

    db = args.db or sample_db(args.rows)  # --db: any file, e.g. a DELETE-mode real-shaped one
    out = DATA / "backup-bench"
    print_machine()
    print(f"file: {db} ({mib(db.stat().st_size)})")
    warm_page_cache(db)
    try:
        _fresh(out)
        peer = run_measured(
            "sqlite3 .backup + quick_check", ["sh", "-c", PEER, str(db), str(out / "x.db")]
        )
        if peer.returncode or peer.stdout.strip() != "ok":
            raise RuntimeError(f"peer failed: {peer.stderr[-1000:]} {peer.stdout[-200:]}")
        _fresh(out)
        ours = run_measured("wfhist backup", [WFHIST, "backup", str(db), "--out", str(out)])
        if ours.returncode:
            raise RuntimeError(f"wfhist backup failed: {ours.stderr[-1000:]}")
        made = next(out.glob("*.db"))
        check = run_measured(
            "check_backup (rollback's check)",
            [PYTHON, __file__, "--case", "check", "--db", str(made)],
        )
        check.json()
        _fresh(out)
        stages = run_measured(
            "stages", [PYTHON, __file__, "--case", "stages", "--db", str(db), "--out", str(out)]
        ).json()
    finally:
        shutil.rmtree(out, ignore_errors=True)

    print("\none run each, fresh process, warm page cache")
    print_table(
        ["case", "seconds", "peak RSS MiB"],
        [[m.label, f"{m.seconds:.2f}", f"{m.max_rss_mib:.0f}"] for m in (peer, ours, check)],
    )
    print(
        f"  goal: wfhist backup / (sqlite3 .backup + quick_check) = "
        f"{ours.seconds / peer.seconds:.2f} (<= 2); peak RSS {ours.max_rss_mib:.0f} MiB (<= 512)"
    )
    print(f"  proof: {stages['proof']}")
    print("\nstages of wfhist backup (library call, from its log lines)")
    print_table(["stage", "seconds"], [[k, f"{v:.2f}"] for k, v in stages["stages"].items()])
    return 0


if __name__ == "__main__":
    sys.exit(main())
