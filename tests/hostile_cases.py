"""Hostile migration files and the verdict every command must give on them.

One table for ``wfhist plan`` (tests/test_plan.py) and ``wfhist migrate`` (its own
tests run the same table), so the two are proven to agree on every file:

* ``PASS``: exit 0 -- the file is applied whole (nothing skipped, nothing split wrong);
* ``FAIL``: exit 1 -- the statements run inside the sandbox/transaction and fail, or the
  result loses data; nothing reaches the live file;
* ``REFUSED``: exit 1 with one line on stderr naming the file and statement
  ``statement`` -- :func:`wfhist.sqlscript.check_script` refuses it before anything is
  copied, backed up or run.

The fixtures live in ``tests/fixtures/hostile/``, named for their behaviour. Paths
the SQL must reach (the live file, a directory outside the sandbox) are written in by
:func:`materialize` in place of ``@@LIVE_DB@@`` and ``@@OUT_DIR@@``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HOSTILE_DIR = Path(__file__).resolve().parent / "fixtures" / "hostile"

PASS = "PASS"
FAIL = "FAIL"
REFUSED = "REFUSED"


@dataclass(frozen=True)
class HostileCase:
    """One fixture and what must come of it."""

    fixture: str  # file name in HOSTILE_DIR
    outcome: str  # PASS, FAIL or REFUSED
    statement: int | None = None  # the statement number a refusal or an error names
    says: str = ""  # text the refusal line (REFUSED) or the report (PASS/FAIL) contains
    columns_added: tuple[str, ...] = ()  # for PASS: the columns the file adds, all of them

    @property
    def path(self) -> Path:
        return HOSTILE_DIR / self.fixture


CASES: tuple[HostileCase, ...] = (
    HostileCase("comment_with_star.sql", PASS, columns_added=("importer",)),
    HostileCase("two_on_one_line.sql", PASS, columns_added=("first_added", "second_added")),
    HostileCase("hidden_commit.sql", REFUSED, 2, "COMMIT"),
    HostileCase("commit_in_comment_trick.sql", REFUSED, 2, "COMMIT"),
    HostileCase("lowercase_commit_transaction.sql", REFUSED, 2, "COMMIT"),
    HostileCase("bare_commit.sql", REFUSED, 2, "COMMIT"),
    HostileCase("begin_commit.sql", REFUSED, 1, "BEGIN"),
    HostileCase("end_transaction.sql", REFUSED, 2, "END"),
    HostileCase("explain_commit.sql", REFUSED, 1, "COMMIT"),
    HostileCase("attach_live.sql", REFUSED, 1, "ATTACH"),
    HostileCase("attach_after_comment.sql", REFUSED, 1, "ATTACH"),
    HostileCase("vacuum_into.sql", REFUSED, 1, "VACUUM"),
    HostileCase("journal_mode.sql", REFUSED, 1, "journal_mode"),
    HostileCase("writable_schema.sql", REFUSED, 1, "writable_schema"),
    HostileCase("user_version.sql", REFUSED, 1, "user_version"),
    HostileCase("foreign_keys_off.sql", REFUSED, 1, "defer_foreign_keys"),
    HostileCase("drop_runner_table.sql", REFUSED, 1, "wfhist_migrations"),
    HostileCase("insert_runner_table.sql", REFUSED, 1, "wfhist_migrations"),
    HostileCase("runner_table_trigger.sql", REFUSED, 1, "wfhist_migrations"),
    HostileCase("trigger_body_semicolons.sql", PASS, columns_added=("touched",)),
    HostileCase("string_with_semicolon.sql", PASS, columns_added=("quoted",)),
    HostileCase("unterminated_comment.sql", PASS, columns_added=("before_comment",)),
    HostileCase("no_trailing_semicolon.sql", PASS, columns_added=("last_one",)),
    HostileCase("savepoint_balanced.sql", PASS, columns_added=("in_savepoint",)),
    HostileCase("values_blanked.sql", FAIL, None, "model_used"),
    HostileCase("error_in_second_statement.sql", FAIL, 2, "no such table"),
)


def _sql_string(path: Path) -> str:
    """``path`` as the inside of an SQL string literal."""
    return str(path).replace("'", "''")


def materialize(case: HostileCase, target: Path, *, live_db: Path, out_dir: Path) -> Path:
    """Write ``case``'s SQL to ``target`` with the placeholders filled in; return ``target``.

    ``target`` may be any name: ``plan`` takes a file, ``migrate`` a directory of
    ``NNN_description.sql`` files (e.g. ``target = dir / f"006_{case.path.stem}.sql"``).
    """
    sql = case.path.read_text(encoding="utf-8")
    sql = sql.replace("@@LIVE_DB@@", _sql_string(live_db))
    sql = sql.replace("@@OUT_DIR@@", _sql_string(out_dir))
    target.write_text(sql, encoding="utf-8")
    return target


def files_under(root: Path) -> dict[str, tuple[int, int]]:
    """Every file below ``root`` (relative name -> (size, mtime_ns)): to prove nothing appeared."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
