"""A stand-in for the service: a separate process that inserts and updates rows, committing each.

Run as ``python tests/writer_proc.py DB LOG STOP [SEED]``. It opens the file the
way the service does (Python's sqlite3 defaults: 5 s busy timeout, implicit
transactions, ``foreign_keys`` ON), then loops until the file STOP exists:
inserts a new, complete ``workflow_history`` row (a copy of an existing row with
new ids) or updates ``error_message``/``retry_count`` of a random row. Every
operation is appended to LOG only after ``commit()`` returned, so LOG is the
ground truth of what the service committed:

    I <adw_id>                       an inserted row
    U <id> <error_message> <retry>   the value an update committed

"database is locked" (the migration holds the write lock longer than 5 s, or
SQLite's deadlock rule during a COMMIT) is retried, as a service would; the
number of retries and the longest wait go to ``LOG.stats`` (JSON) at the end.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import sys
import time


def _template(con: sqlite3.Connection) -> tuple[list[str], list[object]]:
    cur = con.execute("SELECT * FROM workflow_history ORDER BY id LIMIT 1")
    names = [d[0] for d in cur.description]
    return names, list(cur.fetchone())


def main() -> int:
    db, log_path, stop = sys.argv[1:4]
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    con = sqlite3.connect(db)  # the service's defaults: timeout=5.0, isolation_level=""
    con.execute("PRAGMA foreign_keys = ON")
    names, template = _template(con)
    ids = [r[0] for r in con.execute("SELECT id FROM workflow_history")]
    placeholders = ", ".join("?" for _ in names)
    insert = f"INSERT INTO workflow_history ({', '.join(names)}) VALUES ({placeholders})"
    stats = {"ops": 0, "retries": 0, "max_wait_s": 0.0}
    n = 0
    with open(log_path, "a", encoding="utf-8") as log:
        while not os.path.exists(stop):
            n += 1
            if rng.random() < 0.5:
                row = dict(zip(names, template, strict=True))
                row.update(id=None, adw_id=f"live{os.getpid()}_{n:06d}")
                if "workflow_id" in row:
                    row["workflow_id"] = f"wf-live{os.getpid()}-{n:06d}"
                params: tuple[object, ...] = tuple(row[c] for c in names)
                sql, line = insert, f"I {row['adw_id']}"
            else:
                target = rng.choice(ids)
                message = f"live-update-{n}"
                sql = "UPDATE workflow_history SET error_message = ?, retry_count = ? WHERE id = ?"
                params, line = (message, n, target), f"U {target} {message} {n}"
            started = time.monotonic()
            while True:
                try:
                    cur = con.execute(sql, params)
                    con.commit()
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc):
                        raise
                    con.rollback()
                    stats["retries"] += 1
                    time.sleep(0.01)
            stats["max_wait_s"] = max(stats["max_wait_s"], time.monotonic() - started)
            if sql is insert:
                ids.append(int(cur.lastrowid or 0))
            log.write(line + "\n")  # only now: this operation is committed
            log.flush()
            stats["ops"] += 1
            time.sleep(0.002)
    with open(log_path + ".stats", "w", encoding="utf-8") as fh:
        json.dump(stats, fh)
    con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
