"""Apply numbered SQL migrations so that no committed write and no value can be lost.

One run: check the migration files → take the wfhist lock → decide what is
pending from the file's own records → write a verified backup (the safety net)
→ in ONE write transaction (``BEGIN IMMEDIATE``): attach the file's state at
that moment as ``before``, run every pending migration, record each in
``wfhist_migrations`` and ``PRAGMA user_version``, and verify the result value
by value against ``before`` → COMMIT only on PASS/WARN, ROLLBACK on FAIL. That
transaction is :func:`wfhist.apply.apply_verified`, which ``plan`` runs too (on
its snapshot copy, then rolled back): the two reach the same verdict by construction.

Why one transaction for apply *and* verify: the service may keep writing. Any
row it committed before the write lock is in ``before`` and is compared; none
can be committed while the lock is held; so a FAIL is a plain ROLLBACK (no
restore, no race with a writer) and a run interrupted at any point (kill -9,
Ctrl-C, power loss) leaves the file unmigrated. ``PRAGMA cache_spill=OFF``
keeps the migrated pages in memory, so in rollback-journal mode the database
file holds the pre-migration bytes until COMMIT and ``before`` can read it
through an ``immutable`` attach; in WAL mode uncommitted pages are invisible
to the ``mode=ro`` attach anyway. All pending migrations share the one
transaction: the file moves from its version to the target, verified, or not
at all.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from wfhist import __version__, adopt, files
from wfhist.apply import ApplyOutcome, Guard, Interrupted, Step, apply_verified
from wfhist.backup import backup
from wfhist.exceptions import MigrationError, SchemaError, UsageError, WfhistError
from wfhist.lock import migration_lock
from wfhist.migrations import (
    HISTORY_DDL,
    MigrateResult,
    Migration,
    baseline_for,
    discover,
    read_history,
    resolve_migrations_dir,
)
from wfhist.model import MIGRATIONS_TABLE
from wfhist.render import render_losses
from wfhist.schema import TABLE, column_names
from wfhist.sqlscript import StatementError, check_script

log = logging.getLogger("wfhist.migrate")

#: ``ALTER TABLE … RENAME COLUMN`` exists from this SQLite version on.
RENAME_COLUMN_SQLITE = (3, 25, 0)


@dataclass
class _Plan:
    """What a run will do, decided from the file's own records."""

    current: int
    baseline: tuple[int, str] | None  # to record in the transaction
    pending: list[Migration]
    held_back: list[Migration]  # opt-in migrations not reached by --to


def _check_history(db: Path, con: sqlite3.Connection, migrations: list[Migration], where: Path):
    """The recorded history, refusing drifted, missing or skipped migration files."""
    history = read_history(con)
    if not history:
        return None
    by_file = {m.version: m for m in migrations}
    for rec in history:
        if rec.kind == "baseline":
            continue
        m = by_file.get(rec.version)
        if m is None:
            raise MigrationError(
                f"{db}: applied migration {rec.version:03d} ({rec.name}) is missing from "
                f"{where}; restore that file before migrating"
            )
        if m.sha256 != rec.sha256:
            raise MigrationError(
                f"{m.path}: migration {rec.version:03d} was changed after it was applied "
                f"(sha256 {rec.sha256[:12] if rec.sha256 else '-'}… recorded, "
                f"{m.sha256[:12]}… now); restore the applied text and put changes in a "
                "new migration"
            )
    current = max(r.version for r in history)
    floor = min(r.version for r in history)
    done = {r.version for r in history}
    skipped = [m for m in migrations if floor < m.version < current and m.version not in done]
    if skipped:
        raise MigrationError(
            f"{skipped[0].path}: version {skipped[0].version:03d} is below the applied "
            f"version {current:03d} but was never applied; give it a number above {current:03d}"
        )
    return history


def _plan(
    db: Path, con: sqlite3.Connection, migrations: list[Migration], to: int | None, where: Path
) -> _Plan:
    """Decide the pending migrations from what ``con`` reads of the file's records."""
    names = column_names(con)
    if not names:
        raise SchemaError(f"{db}: no table {TABLE!r}; is this a workflow history database?")
    migrations = adopt.with_repairs(db, con, migrations, to)  # 008 -> repair of a partial 005
    history = _check_history(db, con, migrations, where)
    baseline = None
    if history:
        current = max(r.version for r in history)
    else:
        baseline = baseline_for(db, names)
        current = baseline[0]
    by_file = {m.version: m for m in migrations}
    if to is not None and to < current:
        raise MigrationError(
            f"{db}: is at version {current:03d}, above --to {to}; migrations only go forward, "
            "use 'wfhist rollback DB --backup PATH' to return to an earlier backup"
        )
    if to is not None and to > current and to not in by_file:
        raise UsageError(f"--to {to}: no migration {to:03d} in {where}")
    pending: list[Migration] = []
    held_back: list[Migration] = []
    for m in migrations:
        if m.version <= current:
            continue
        if to is not None:
            (pending if m.version <= to else held_back).append(m)
        elif m.opt_in or held_back:
            held_back.append(m)  # stop before the first opt-in migration
        else:
            pending.append(m)
    return _Plan(current=current, baseline=baseline, pending=pending, held_back=held_back)


def _check_sqlite_supports(pending: list[Migration]) -> None:
    if sqlite3.sqlite_version_info >= RENAME_COLUMN_SQLITE:
        return
    for m in pending:
        if m.renames():
            raise MigrationError(
                f"{m.path}: needs ALTER TABLE … RENAME COLUMN, which SQLite "
                f"{sqlite3.sqlite_version} lacks (3.25.0 or newer required); upgrade Python's "
                "SQLite library first"
            )


def _versions(versions: list[int]) -> str:
    return ", ".join(f"{v:03d}" for v in versions)


def _combined_renames(migrations: list[Migration]) -> dict[str, dict[str, str]]:
    """Renames declared by the applied migrations, chained (a→b then b→c gives a→c)."""
    out: dict[str, dict[str, str]] = {}
    for m in migrations:
        for table, pairs in m.renames().items():
            current = out.setdefault(table, {})
            for old, new in pairs.items():
                source = next((k for k, v in current.items() if v == old), old)
                current[source] = new
    return out


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _record(
    con: sqlite3.Connection, m: Migration, duration_ms: int, baseline: tuple[int, str] | None
) -> None:
    """Write the history rows and user_version inside the open transaction."""
    con.execute(HISTORY_DDL)
    if baseline is not None:
        con.execute(
            f"INSERT INTO main.{MIGRATIONS_TABLE} (version, name, sha256, applied_at, duration_ms, "
            "wfhist_version, kind, renames) VALUES (?, ?, NULL, ?, NULL, ?, 'baseline', NULL)",
            (baseline[0], baseline[1], _now_iso(), __version__),
        )
    renames = m.renames()
    con.execute(
        f"INSERT INTO main.{MIGRATIONS_TABLE} (version, name, sha256, applied_at, duration_ms, "
        "wfhist_version, kind, renames) VALUES (?, ?, ?, ?, ?, ?, 'applied', ?)",
        (
            m.version,
            m.name,
            m.sha256,
            _now_iso(),
            duration_ms,
            __version__,
            json.dumps(renames, sort_keys=True) if renames else None,
        ),
    )
    con.execute(f"PRAGMA main.user_version = {int(m.version)}")


class MigrationFailed(MigrationError):
    """A migration failed or did not verify: rolled back, the file is unchanged."""

    def __init__(self, message: str, result: MigrateResult) -> None:
        super().__init__(message)
        self.result = result


class MigrationInterrupted(MigrationFailed):
    """Ctrl-C during a migration: rolled back, the file is unchanged."""

    exit_code = 130


def _apply_verified(
    db: Path,
    plan: _Plan,
    to: int | None,
    migrations: list[Migration],
    where: Path,
    result: MigrateResult,
    wait: float,
    max_lock_seconds: float | None,
) -> None:
    """The one write transaction (:func:`wfhist.apply.apply_verified`): COMMIT on PASS/WARN."""
    steps = [
        Step(m.name, str(m.path), [s.text for s in check_script(m.sql, str(m.path))])
        for m in plan.pending
    ]

    def same_pending(con: sqlite3.Connection) -> None:
        again = _plan(db, con, migrations, to, where)
        if [m.version for m in again.pending] != [m.version for m in plan.pending]:
            raise MigrationError(f"{db}: its migration history changed meanwhile; run again")

    def record(index: int, duration_ms: int) -> None:
        m = plan.pending[index]
        _record(con, m, duration_ms, plan.baseline if index == 0 else None)
        result.applied.append(m.version)
        result.to_version = m.version

    over = (
        "the migration held the write lock longer than --max-lock-seconds "
        f"{max_lock_seconds or 0:g}"
    )
    outcome = ApplyOutcome()
    con = files.open_writer(db, busy_timeout=wait)
    try:
        apply_verified(
            con,
            db,
            steps,
            renames=_combined_renames(plan.pending),
            guard=Guard(max_lock_seconds, over=over),
            labels=(f"{db} (when the write lock was taken)", f"{db} (migrated, not yet committed)"),
            commit=True,
            wait=wait,
            outcome=outcome,
            check=same_pending,
            record=record,
        )
    except StatementError as exc:
        step = steps[outcome.failed_step or 0]
        head = " ".join(exc.statement.split())[:120]
        raise MigrationError(
            f"{step.source}: statement {exc.statement_number} of {len(step.texts)} failed: "
            f"{exc.sqlite_message} [{head}]"
        ) from exc
    finally:
        con.close()
        result.journal_mode = outcome.journal_mode
        result.lock_seconds = outcome.lock_seconds
        result.committed = outcome.committed
        result.notes += outcome.notes
    result.verification = outcome.verification
    result.verdict = outcome.verification.verdict if outcome.verification else result.verdict


# --- the run ---------------------------------------------------------------------------


def _read_plan(
    db: Path, migrations: list[Migration], to: int | None, where: Path, wait: float
) -> _Plan:
    """Decide what is pending from a read-only look at the file (no lock on the file)."""
    # says once that it waits for another process's lock; a crashed writer's hot journal
    # (UsageError) is rolled back below, as any writer's first read would
    with contextlib.suppress(UsageError):
        files.check_readable(db, wait)
    for attempt in (1, 2):
        try:
            con = files.open_readonly(db, busy_timeout=wait)
            try:
                return _plan(db, con, migrations, to, where)
            finally:
                con.close()
        except sqlite3.Error as exc:
            code = getattr(exc, "sqlite_errorcode", None)
            if code == sqlite3.SQLITE_READONLY_ROLLBACK and attempt == 1:
                _recover_hot_journal(db, wait)
                continue
            if files.is_locked_error(exc):
                raise files.locked_error(db, wait, "read its migration history") from exc
            raise files.explain_sqlite_error(db, exc) from exc
    raise AssertionError("unreachable")  # pragma: no cover


def _recover_hot_journal(db: Path, wait: float) -> None:
    """Roll back the transaction a crashed writer left (as any SQLite writer's first read does).

    ``migrate`` is about to write the file anyway, holding the wfhist lock; a
    read on a read-write connection makes SQLite restore the journal's original
    pages, exactly as the service's next access would.
    """
    log.info("migrate: %s-journal: rolling back a transaction a crashed writer left", db.name)
    con = files.open_writer(db, busy_timeout=wait)
    try:
        con.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    finally:
        con.close()


def _probe_write_lock(db: Path, wait: float) -> None:
    """Take and release the write lock once, so a held lock fails the run before any backup."""
    con = files.open_writer(db, busy_timeout=wait)
    try:
        files.execute_waiting(con, db, "BEGIN IMMEDIATE", "take the write lock", wait)
        con.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        raise files.explain_sqlite_error(db, exc) from exc
    finally:
        con.close()


def migrate(
    db: str | Path,
    *,
    to: int | None = None,
    migrations_dir: str | Path | None = None,
    backup_dir: str | Path | None = None,
    busy_timeout: float | None = None,
    max_lock_seconds: float | None = None,
) -> MigrateResult:
    """Bring ``db`` to version ``to`` (default: the last migration before any opt-in one).

    Check the migration files → take the wfhist lock (waiting at most
    ``busy_timeout``, default :data:`wfhist.files.BUSY_TIMEOUT_S`) → decide what
    is pending, refusing changed or missing files → verified backup → one write
    transaction that applies, records and verifies every pending migration and
    commits only if verification passes. With nothing pending it writes
    nothing, not even a backup. Raises :class:`MigrationFailed` (with
    ``.result``) when a statement fails or verification FAILs: the file is then
    unchanged. ``max_lock_seconds`` bounds how long writers can be kept waiting:
    past it the transaction is rolled back.
    """
    path = files.validate_db_path(db)
    where = resolve_migrations_dir(migrations_dir)
    migrations = discover(where)
    wait = files.BUSY_TIMEOUT_S if busy_timeout is None else busy_timeout
    with migration_lock(path, timeout=wait):
        plan = _read_plan(path, migrations, to, where, wait)
        result = MigrateResult(db=path, from_version=plan.current, to_version=plan.current)
        held = _versions([m.version for m in plan.held_back])
        if held and to is None:
            result.notes.append(f"opt-in migration(s) {held} not applied: use --to to apply them")
        if not plan.pending:
            log.info("migrate: %s is up to date at version %03d", path.name, plan.current)
            return result
        _check_sqlite_supports(plan.pending)
        _probe_write_lock(path, wait)  # a file another process keeps locked: fail before the backup
        if plan.baseline:
            result.baseline = plan.baseline[0]
            log.info("migrate: no history yet; recording baseline %s", plan.baseline[1])
        result.backup = backup(path, backup_dir, busy_timeout=wait)
        log.info("migrate: backup %s verified", result.backup.path)
        try:
            _apply_verified(path, plan, to, migrations, where, result, wait, max_lock_seconds)
        except WfhistError as exc:  # a statement, a lock, the disk: all rolled back
            raise _unchanged(exc, result) from exc
        if result.verdict == "FAIL":
            assert result.verification is not None
            names = ", ".join(m.name for m in plan.pending)
            raise _unchanged(
                MigrationError(
                    f"verification FAILED after {names}: {render_losses(result.verification)}"
                ),
                result,
            )
    return result


def _unchanged(exc: WfhistError, result: MigrateResult) -> MigrationFailed:
    """``exc`` + what holds after the ROLLBACK: unchanged file, every committed write kept."""
    applied, result.applied = result.applied, []
    result.to_version = result.from_version
    kept = f"; the backup {result.backup.path.name} is kept" if result.backup else ""
    message = (
        f"{exc}; rolled back: {result.db.name} is unchanged at version "
        f"{result.from_version:03d} with every write the service committed, nothing was lost"
        f"{kept}"
    )
    if applied:
        result.notes.append(f"rolled back: {_versions(applied)}")
    kind = MigrationInterrupted if isinstance(exc, Interrupted) else MigrationFailed
    err = kind(message, result)
    if not isinstance(exc, MigrationError):
        err.exit_code = exc.exit_code  # a lock or the disk: the same exit code as elsewhere
    return err
