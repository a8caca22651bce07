"""Restoring a database file from a wfhist backup, keeping what it replaces.

The whole restore happens under one exclusive lock on the live file: the
connection switches to ``locking_mode=EXCLUSIVE`` and commits an empty write,
after which SQLite keeps the file's write lock until we let go. Inside it the
current content is copied aside (every row any writer committed before the
lock was taken is in it, and none can be committed after), then the backup is
copied in through the backup API. Writers and readers wait meanwhile (their
busy timeout) and then see the restored content. A ``kill -9`` at any moment
leaves the live file as it was before the restore or fully restored (SQLite's
journal), and never a non-database under a final name: the aside copy is
written under a hidden ``.…-pidN.tmp`` name and renamed only once proved equal
to the live file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from wfhist import files
from wfhist.backup import (
    _stamp,
    _utc_now,
    check_backup,
    claim_name,
    content_digest,
    copy_snapshot,
    open_source,
    quick_check,
    read_snapshot,
    remove_stale_tmp,
)
from wfhist.exceptions import BackupError, LockedError, UsageError
from wfhist.files import fsync_path, remove_quietly, sqlite_files
from wfhist.lock import migration_lock
from wfhist.proof import compare_snapshot, logical_digest, open_for_proof
from wfhist.schema import column_names

log = logging.getLogger("wfhist.rollback")


@dataclass
class RollbackResult:
    """A restore: which backup, where the replaced content was kept, what was proved."""

    db: Path
    backup: Path
    kept_aside: Path
    sha256: str
    rows: dict[str, int]
    proof: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "db": str(self.db),
            "backup": str(self.backup),
            "kept_aside": str(self.kept_aside),
            "sha256": self.sha256,
            "rows": self.rows,
            "proof": self.proof,
            "notes": self.notes,
        }


def rollback(
    db: str | Path, backup_path: str | Path, *, busy_timeout: float | None = None
) -> RollbackResult:
    """Restore ``db`` from a wfhist backup, holding the wfhist lock (see :func:`restore`)."""
    path = files.validate_db_path(db)
    with migration_lock(path, timeout=busy_timeout):
        return restore(path, backup_path, busy_timeout=busy_timeout)


def restore(
    db: str | Path, backup_path: str | Path, *, busy_timeout: float | None = None
) -> RollbackResult:
    """The restore itself, for a caller that already holds the wfhist lock.

    Checks the backup against its manifest (SHA-256 + ``quick_check``); takes
    the live file's exclusive lock (waiting at most ``busy_timeout`` seconds);
    checks the backup is of this database; keeps the current content as
    ``<db>.before-rollback-<UTC ts>``; copies the backup in; proves the live file
    page-identical to the backup; releases the lock.
    """
    db = files.validate_db_path(db)
    backup_path = Path(backup_path).resolve()
    log.info("rollback: checking %s against its manifest", backup_path.name)
    manifest = check_backup(backup_path)
    remove_stale_tmp(db.parent, f".{db.name}.before-rollback-*")
    notes: list[str] = []
    # opened before and closed after SQLite's lock on the file (see wfhist.proof)
    with open_for_proof(db) as raw:
        live = files.open_writer(db, busy_timeout=busy_timeout)
        try:
            _lock_exclusively(live, db, busy_timeout)
            try:
                check_identity(live, db, backup_path, manifest)
                aside = _keep_aside(live, raw, db, notes)
                log.info("rollback: restoring %s from %s", db.name, backup_path.name)
                proof = _restore_into(live, raw, db, backup_path, busy_timeout, aside)
            finally:
                # lets the lock go (closing the connection would too): never hides an error
                with contextlib.suppress(sqlite3.Error):
                    live.execute("PRAGMA locking_mode=NORMAL")
                    live.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        except sqlite3.Error as exc:
            raise files.explain_sqlite_error(db, exc) from exc
        finally:
            live.close()  # before ``raw``: closing ``raw`` drops this process's locks
    log.info("rollback: %s now equals %s", db.name, backup_path.name)
    rows = manifest.get("rows")
    return RollbackResult(
        db=db,
        backup=backup_path,
        kept_aside=aside,
        sha256=str(manifest.get("sha256") or manifest.get("content_hash")),
        rows=rows if isinstance(rows, dict) else {},
        proof=proof,
        notes=notes,
    )


def check_identity(
    live: sqlite3.Connection, db: Path, backup_path: Path, manifest: dict[str, object]
) -> None:
    """Refuse a backup of another database (UsageError, exit 2).

    The manifest keeps the ``adw_id`` of the source's oldest runs. When the
    live file has runs, at least half of those must be among them (a migration
    keeps runs; another database has other ids). When it cannot tell (no runs
    left, or an old manifest), the backup must have been taken of this path.
    Read through ``live`` while it holds the lock: no second wait for a busy
    writer (SQLite's busy handler can starve behind a writer that commits
    without pause).
    """
    identity = manifest.get("identity")
    recorded = identity.get("oldest_adw_ids_hex") if isinstance(identity, dict) else None
    present = _runs_present(live, recorded) if recorded else None
    source = manifest.get("source")
    if present is not None and recorded:
        if 2 * present >= len(recorded):
            return
        raise UsageError(
            f"{backup_path}: is a backup of another database ({source}): {present} of its "
            f"{len(recorded)} oldest runs are in {db}; refusing to replace it. "
            f"Give a backup of {db.name}"
        )
    if source != str(db):
        raise UsageError(
            f"{backup_path}: was taken of {source}, not {db}, and no run in both files "
            "confirms they are the same database; refusing to replace it"
        )


def _runs_present(con: sqlite3.Connection, recorded: object) -> int | None:
    """How many recorded runs the live file has; None when it has no runs to compare."""
    if not isinstance(recorded, list):
        return None
    if "adw_id" not in column_names(con):
        return None
    if con.execute("SELECT count(*) FROM (SELECT 1 FROM workflow_history LIMIT 1)").fetchone()[0]:
        marks = ", ".join("?" for _ in recorded)
        sql = f"SELECT count(*) FROM workflow_history WHERE hex(CAST(adw_id AS BLOB)) IN ({marks})"
        return int(con.execute(sql, [str(x) for x in recorded]).fetchone()[0])
    return None


def _lock_exclusively(live: sqlite3.Connection, db: Path, busy_timeout: float | None) -> None:
    """Take the live file's write lock and keep it until ``locking_mode`` is NORMAL again.

    In EXCLUSIVE locking mode SQLite keeps the lock of the first write; the
    write rewrites ``user_version`` with its own value (no content changes).
    Waiting for other writers and readers is bounded by the busy timeout. In
    WAL mode every open connection holds a shared lock on the file for as long
    as it is open, so the lock is only granted once the service closed its
    connections: the message says so.
    """
    wal = str(live.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal"
    try:
        live.execute("PRAGMA locking_mode=EXCLUSIVE")
        files.execute_waiting(
            live, db, "BEGIN IMMEDIATE", "take the write lock for rollback", busy_timeout
        )
        version = int(live.execute("PRAGMA user_version").fetchone()[0])
        live.execute(f"PRAGMA user_version = {version}")
        live.execute("COMMIT")
    except (sqlite3.Error, LockedError) as exc:
        if live.in_transaction:
            live.execute("ROLLBACK")
        live.execute("PRAGMA locking_mode=NORMAL")
        locked = isinstance(exc, LockedError) or files.is_locked_error(exc)
        if locked and wal:
            waited = files.BUSY_TIMEOUT_S if busy_timeout is None else busy_timeout
            raise LockedError(
                f"{db}: in WAL mode every open connection (the service's too) keeps the file "
                f"locked against the exclusive lock a rollback needs; waited {waited:g} s. Stop "
                "the service (close its connections), then run again; nothing was changed"
            ) from exc
        if isinstance(exc, LockedError):
            raise
        if files.is_locked_error(exc):
            raise files.locked_error(db, busy_timeout, "take the write lock for rollback") from exc
        raise


def _shape(con: sqlite3.Connection) -> tuple[int, int]:
    return (
        int(con.execute("PRAGMA page_size").fetchone()[0]),
        int(con.execute("PRAGMA page_count").fetchone()[0]),
    )


def _keep_aside(live: sqlite3.Connection, raw: BinaryIO, db: Path, notes: list[str]) -> Path:
    """Copy the live content to ``<db>.before-rollback-<UTC ts>``; proved, then named."""
    stamp = _stamp(_utc_now())
    final = db.with_name(f"{db.name}.before-rollback-{stamp}")
    tmp = db.with_name(f".{final.name}-pid{os.getpid()}.tmp")
    log.info("rollback: keeping the current content aside as %s", final.name)
    try:
        copy_snapshot(live, tmp, files.private_mode(db))
        fsync_path(tmp)
        page_size, page_count = _shape(live)
        proof = compare_snapshot(raw, tmp, page_size, page_count)
        check = open_source(tmp)
        try:
            if not proof.equal and logical_digest(check) != logical_digest(live):
                raise BackupError(
                    f"{tmp}: the aside copy differs from the live file ({proof.detail}); "
                    "nothing was restored"
                )
            problems = quick_check(check)
        finally:
            check.close()
        if problems:  # kept as it was: a damaged live file is what a rollback is for
            notes.append(
                f"the replaced content was already damaged (quick_check: {problems[0]}); "
                f"kept aside exactly as it was"
            )
        placed = claim_name(tmp, final, lambda p: p.exists() or p.is_symlink())
        fsync_path(db.parent)
    except BaseException as exc:
        remove_quietly(*sqlite_files(tmp))
        if isinstance(exc, OSError):
            raise BackupError(
                f"{final}: cannot keep the current content aside ({exc}); nothing was restored"
            ) from exc
        raise
    return placed


def _restore_into(
    live: sqlite3.Connection,
    raw: BinaryIO,
    db: Path,
    backup_path: Path,
    busy_timeout: float | None,
    aside: Path,
) -> str:
    """Copy the backup into ``live`` (one step, one transaction); prove the result."""
    src = open_source(backup_path, busy_timeout)
    try:
        with read_snapshot(src, backup_path, busy_timeout):
            try:
                src.backup(live, pages=-1)
            except sqlite3.Error as exc:
                raise BackupError(
                    f"{db}: restore failed ({exc}); the previous content is in {aside}"
                ) from exc
    finally:
        src.close()
    page_size, page_count = _shape(live)
    proof = compare_snapshot(raw, backup_path, page_size, page_count)
    if proof.equal:
        return "page-identical to the backup (page 1 header counters excepted)"
    if logical_digest(live) != content_digest(backup_path):
        raise BackupError(
            f"{db}: after restore the content differs from {backup_path.name}; "
            f"the previous content is in {aside}"
        )
    return "same logical content as the backup (every value of every row, byte-exact)"
