"""Dry-run a migration on a copy and say what it would do to the data, before it touches the file.

``plan_migration(db, migration)`` never opens ``db`` for writing. It takes one
consistent snapshot of it through SQLite's online backup API (the source opened
read-only), and works only on that snapshot and copies of it in a temporary
directory that is always removed:

* the migration runs on the snapshot through :func:`wfhist.apply.apply_verified`,
  the very function ``migrate`` runs on the live file -- the same transaction, the
  same ``before`` attach, sandbox and verification -- and is then rolled back. So
  ``plan`` and ``migrate`` agree on every verdict by construction;
* when a statement fails, the transaction leaves nothing behind -- but a runner
  without one would have. The statements before the failing one are committed on
  a copy and verified, so the report can say what would have stuck; a second
  copy runs every statement ignoring errors (what ``sqlite3 live.db < file.sql``
  does), which for the historic 005 means an empty table.

Every statement runs under one :class:`wfhist.apply.Guard`: a statement that never
ends is stopped after ``max_seconds`` (``--max-seconds``), and Ctrl-C stops the
running statement at once (exit 130); the temporary directory is removed either way.

Why compare against the snapshot and not the live file: the service may insert
or update rows while we plan. Verifying the migrated copy against the live file
would count those rows as "missing from AFTER" or "changed" and fail a correct
migration; the snapshot is exactly the state the copy started from, so every
difference found is the migration's doing.

The dry run is a sandbox: before anything is copied the script passes
:func:`wfhist.sqlscript.check_script`, the same guard ``migrate`` applies (so the
two refuse the same files with the same line), and every statement -- on each
copy -- runs under :class:`wfhist.sqlscript.Sandbox`, which denies ATTACH,
DETACH, VACUUM (``VACUUM INTO`` included), transaction statements, refused
pragmas and writes to ``wfhist_migrations`` at run time. Nothing outside the
temporary directory can be opened, let alone written.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wfhist import files
from wfhist.apply import ApplyOutcome, Guard, Interrupted, Step, apply_verified
from wfhist.backup import online_copy
from wfhist.exceptions import UsageError
from wfhist.files import open_writer, validate_db_path
from wfhist.sqlscript import (
    Sandbox,
    ScriptResult,
    Statement,
    StatementError,
    check_script,
    read_script,
    renames_in_sql,
    run_script,
)
from wfhist.verify import FAIL, PASS, Renames, VerifyResult, merge_renames, verify

#: Default bound of a dry run's statements (``--max-seconds``): a statement that never ends
#: (a recursive CTE without a limit) is stopped instead of running forever.
MAX_SECONDS = 600.0

#: Authorizer actions that destroy or rebuild structure (listed first in the report).
DESTRUCTIVE = ("DROP TABLE", "DROP INDEX", "DROP TRIGGER", "DROP VIEW", "ALTER TABLE", "DELETE")


@dataclass
class PlanResult:
    """What applying ``migration`` to ``db`` would do; ``to_dict()`` is the ``--json`` document."""

    db: str
    migration: str
    statements: int
    renames: dict[str, Any]
    actions: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    verification: VerifyResult | None = None
    partial: VerifyResult | None = None
    keep_going: dict[str, Any] | None = None
    seconds: float = 0.0

    @property
    def verdict(self) -> str:
        """FAIL when the migration errors or its result loses or changes a value."""
        if self.error is not None or self.verification is None:
            return FAIL
        return self.verification.verdict

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "db": self.db,
            "migration": self.migration,
            "statements": self.statements,
            "renames": self.renames,
            "actions": self.actions,
            "error": self.error,
            "verification": self.verification.to_dict() if self.verification else None,
            "partial": self.partial.to_dict() if self.partial else None,
            "keep_going": (
                {**self.keep_going, "verification": self.keep_going["verification"].to_dict()}
                if self.keep_going
                else None
            ),
            "seconds": self.seconds,
        }


def plan_migration(
    db: str | Path,
    migration: str | Path,
    *,
    renames: Renames | None = None,
    workdir: str | Path | None = None,
    max_seconds: float | None = MAX_SECONDS,
) -> PlanResult:
    """Apply ``migration`` to a copy of ``db`` and verify the copy; ``db`` stays untouched.

    ``renames`` adds to the ``ALTER TABLE ... RENAME COLUMN`` statements found in the
    script (the only renames verification accepts). ``workdir`` is where the
    temporary copies go (default: the system temporary directory); it needs room
    for three copies of the database when the migration fails. ``max_seconds``
    bounds the statements' run (a statement that never ends is stopped, exit 1;
    ``None``: no bound); Ctrl-C stops it too (exit 130). Either way the temporary
    directory is removed.
    """
    started = time.perf_counter()
    db_path = validate_db_path(db)
    script_path = Path(migration)
    sql = read_script(script_path)
    checked = check_script(sql, str(script_path))  # refused: one line, exit 1, nothing copied
    declared = merge_renames(renames_in_sql(sql), renames)
    result = PlanResult(
        db=str(db_path),
        migration=str(script_path),
        statements=len(checked),
        renames=declared,
    )
    guard = Guard(
        max_seconds,
        over=f"{script_path}: the dry run took longer than --max-seconds {max_seconds or 0:g} "
        "(a statement that never ends?); stopped, the live file was only read",
    )
    try:
        with _temporary_directory(workdir) as tmp:
            _plan_in(Path(tmp), db_path, script_path, checked, renames, guard, result)
    except Interrupted as exc:
        raise Interrupted(
            f"{script_path}: dry run interrupted (Ctrl-C); the live file was only read and "
            "the temporary copies are removed"
        ) from exc
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _plan_in(
    tmp: Path,
    db_path: Path,
    script_path: Path,
    checked: list[Statement],
    renames: Renames | None,
    guard: Guard,
    result: PlanResult,
) -> None:
    """Snapshot, then ``migrate``'s transaction on it; after an error, what would have stuck."""
    snapshot = tmp / "snapshot.db"
    online_copy(db_path, snapshot)
    labels = (f"{db_path} (snapshot)", f"{db_path} + {script_path.name} (temporary copy)")
    outcome = ApplyOutcome()
    step = Step(script_path.name, str(script_path), [s.text for s in checked])
    try:
        _dry_run(snapshot, step, result.renames, guard, labels, outcome)
    except StatementError as err:
        result.actions = _actions(err.actions)
        result.error = {
            "statement_number": err.statement_number,
            "statement": err.statement,
            "message": err.sqlite_message,
        }
        # Rolled back: the snapshot is again the state the migration started from.
        if err.partial:
            result.partial = _verify_partial(
                snapshot, err.partial, str(script_path), renames, guard
            )
        result.keep_going = _keep_going(snapshot, checked, result.renames, guard)
    else:
        result.actions = _actions(outcome.actions)
        result.verification = outcome.verification


def _temporary_directory(workdir: str | Path | None) -> tempfile.TemporaryDirectory[str]:
    """The sandbox's private (0700) directory, removed on exit; a bad ``--workdir`` is one line."""
    try:
        return tempfile.TemporaryDirectory(prefix="wfhist-plan-", dir=workdir)
    except OSError as exc:
        raise UsageError(
            f"--workdir {workdir}: cannot create a temporary directory there ({exc.strerror}); "
            "give an existing, writable directory"
        ) from exc


def _copy(snapshot: Path, name: str) -> Path:
    target = snapshot.with_name(name)
    online_copy(snapshot, target)
    return target


def _dry_run(
    snapshot: Path,
    step: Step,
    renames: Renames,
    guard: Guard,
    labels: tuple[str, str],
    outcome: ApplyOutcome,
) -> None:
    """``migrate``'s transaction on the snapshot itself (:func:`apply_verified`), rolled back."""
    con = open_writer(snapshot)
    try:
        apply_verified(
            con,
            snapshot,
            [step],
            renames=renames,
            guard=guard,
            labels=labels,
            commit=False,
            wait=files.BUSY_TIMEOUT_S,
            outcome=outcome,
            who="plan",
        )
    finally:
        con.close()


def _apply(path: Path, sql: str, source: str, guard: Guard) -> ScriptResult:
    """Run ``sql`` on ``path`` and COMMIT (what a runner without a transaction leaves)."""
    con = open_writer(path)
    try:
        with guard.active(con):
            try:
                return run_script(con, sql, source=source)
            except StatementError as exc:
                guard.check(exc)
                raise
    finally:
        con.close()


def _actions(raw: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    return [{"statement": int(n), "action": action, "object": obj} for n, action, obj in raw]


def _verify_partial(
    snapshot: Path, statements: list[str], source: str, renames: Renames | None, guard: Guard
) -> VerifyResult:
    """Commit the statements that ran before the error on a copy, and verify that state."""
    text = "\n".join(statements)
    partial = _copy(snapshot, "partial.db")
    _apply(partial, text, f"{source} (statements 1-{len(statements)})", guard)
    return verify(snapshot, partial, renames=merge_renames(renames_in_sql(text), renames))


def _keep_going(
    snapshot: Path, checked: list[Statement], renames: dict[str, Any], guard: Guard
) -> dict[str, Any]:
    """Run every statement in autocommit, ignoring errors, like ``sqlite3 db < file.sql``.

    Under the same :class:`Sandbox` as the transactional run: autocommit is where
    ``VACUUM INTO`` or an ``ATTACH`` would otherwise work.
    """
    copy = _copy(snapshot, "keep_going.db")
    errors = []
    con = open_writer(copy)
    sandbox = Sandbox()
    con.set_authorizer(sandbox)
    try:
        with guard.active(con):
            for stmt in checked:
                sandbox.statement_number, sandbox.denied = stmt.number, None
                try:
                    con.execute(stmt.text)
                except sqlite3.Error as exc:
                    guard.check(exc)
                    why = f"not allowed: {sandbox.denied}" if sandbox.denied else str(exc)
                    errors.append({"statement_number": stmt.number, "message": why})
        guard.check()
    finally:
        con.close()
    return {"errors": errors, "verification": verify(snapshot, copy, renames=renames)}


__all__ = ["PASS", "PlanResult", "plan_migration"]
