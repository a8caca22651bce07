"""Verified backups of a live SQLite file.

A plain file copy of a WAL-mode database misses committed rows that still live
in the ``-wal`` file and can tear a page a writer is changing, so every copy
here goes through SQLite's online backup API, from a read transaction held on
the source: the copy is one consistent snapshot. It is proved page-identical
to that snapshot (:mod:`wfhist.proof`), ``quick_check``-ed, and only then
given its final name next to a manifest recording the copy's SHA-256; until
then it lives under a ``.tmp-`` name that is removed on any failure, so a
directory never holds a half backup that looks like a good one.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from wfhist import __version__, files
from wfhist.exceptions import BackupError, WfhistError
from wfhist.files import fsync_path, remove_quietly, sqlite_files
from wfhist.lock import lock_path, migration_lock
from wfhist.proof import (
    PageProof,
    compare_snapshot,
    file_sha256,
    list_tables,
    logical_digest,
    open_for_proof,
)
from wfhist.schema import column_names, quote_ident

__all__ = [
    "BackupResult",
    "backup",
    "check_backup",
    "content_digest",
    "content_hash",
    "lock_path",
    "migration_lock",
    "online_copy",
    "read_manifest",
]

log = logging.getLogger("wfhist.backup")

MANIFEST_FORMAT = "wfhist-backup/2"
#: Manifests of earlier wfhist versions (logical content hash only), still checked.
OLD_MANIFEST_FORMAT = "wfhist-backup/1"
_TMP_PREFIX = ".tmp-"
#: How many of the oldest runs' ``adw_id`` the manifest keeps to recognise its database.
IDENTITY_RUNS = 16


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _stamp(now: datetime) -> str:
    """UTC time as used in file names: ``YYYYMMDD_HHMMSS``."""
    return now.strftime("%Y%m%d_%H%M%S")


# --- reading a snapshot ----------------------------------------------------------


def open_source(path: str | Path, busy_timeout: float | None = None) -> sqlite3.Connection:
    """A read-only connection for copying ``path``, usable from one worker thread at a time.

    No memory map: a copy reads every page once, and mapped pages would count
    the whole file into this process's resident memory.
    """
    con = files.open_readonly(path, busy_timeout=busy_timeout, check_same_thread=False)
    con.execute("PRAGMA mmap_size = 0")
    return con


@dataclass(frozen=True)
class Snapshot:
    """What a held read transaction sees: the shape the pages are compared on."""

    page_size: int
    page_count: int
    journal_mode: str


@contextlib.contextmanager
def read_snapshot(
    con: sqlite3.Connection, path: str | Path, busy_timeout: float | None = None
) -> Iterator[Snapshot]:
    """Hold one read transaction on ``con``: every read inside sees the same snapshot.

    Starting it waits for a writer's lock at most ``busy_timeout`` seconds (the
    connection's timeout), then raises a LockedError naming the file. While it
    is held, SQLite's backup API copies from this very snapshot and never
    retries (Python's ``backup()`` would otherwise retry a busy source forever).
    """
    try:
        con.execute("BEGIN")
        con.execute("SELECT count(*) FROM sqlite_schema").fetchone()  # starts the snapshot
        snap = Snapshot(
            page_size=con.execute("PRAGMA page_size").fetchone()[0],
            page_count=con.execute("PRAGMA page_count").fetchone()[0],
            journal_mode=con.execute("PRAGMA journal_mode").fetchone()[0],
        )
    except sqlite3.Error as exc:
        with contextlib.suppress(sqlite3.Error):
            con.execute("ROLLBACK")
        if files.is_locked_error(exc):
            raise files.locked_error(path, busy_timeout, "read a consistent snapshot") from exc
        raise files.explain_sqlite_error(path, exc) from exc
    try:
        yield snap
    finally:
        # a read transaction: ending it cannot lose anything, and an error here (a damaged
        # file) must not hide the one being raised
        if con.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                con.execute("COMMIT")


def copy_snapshot(source: sqlite3.Connection, dst: Path, mode: int) -> None:
    """Write ``source``'s snapshot to the new file ``dst`` (permission bits ``mode``).

    ``dst`` is created exclusively (never over a file, never through a link).
    All pages go in one step while the caller holds a read transaction on
    ``source``, so the copy is that snapshot and nothing can force a restart.
    The copy is switched to rollback-journal mode: one self-contained file. On
    failure nothing is left at ``dst``.
    """
    os.close(files.create_new(dst, mode))
    try:
        target = sqlite3.connect(dst, isolation_level=None)
        try:
            # a fresh file nobody else opens: a journal and per-commit syncs would only
            # slow the copy; the caller fsyncs it and a failed copy is deleted
            target.execute("PRAGMA journal_mode=OFF")
            target.execute("PRAGMA synchronous=OFF")
            source.backup(target, pages=-1)
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
    except BaseException:
        remove_quietly(*sqlite_files(dst))
        raise


def online_copy(src: str | Path, dst: str | Path, busy_timeout: float | None = None) -> None:
    """Copy ``src`` to a new file ``dst`` through SQLite's online backup API.

    ``src`` is opened read-only, so its bytes and mtime are untouched;
    committed rows still in its ``-wal`` file are included. ``dst`` must not
    exist yet and gets ``src``'s permission bits at most. Waits for a writer's
    lock at most ``busy_timeout`` seconds (default :data:`wfhist.files.BUSY_TIMEOUT_S`).
    """
    dst = Path(dst)
    if dst.exists() or dst.is_symlink():
        raise FileExistsError(f"{dst}: already exists; a copy never overwrites a file")
    source = open_source(src, busy_timeout)
    try:
        with read_snapshot(source, src, busy_timeout):
            copy_snapshot(source, dst, files.private_mode(Path(src)))
    finally:
        source.close()


# --- logical content hash (old manifests; fallback when pages cannot be compared) -----


def content_digest(path: str | Path) -> tuple[str, dict[str, int]]:
    """(logical content hash, rows per table) of ``path``, read in one snapshot."""
    con = open_source(path)
    try:
        with read_snapshot(con, path):
            return logical_digest(con)
    finally:
        con.close()


def content_hash(path: str | Path) -> str:
    """Logical content hash of a database file (schema + every row, in key order)."""
    return content_digest(path)[0]


# --- cheap facts of a snapshot -------------------------------------------------------


def count_rows(con: sqlite3.Connection) -> dict[str, int]:
    """Rows per table (``count(*)`` walks the smallest index: no row is decoded)."""
    return {
        t: con.execute(f"SELECT count(*) FROM {quote_ident(t)}").fetchone()[0]
        for t, _ in list_tables(con)
    }


def foreign_key_check(con: sqlite3.Connection) -> tuple[int, list[str]]:
    """(violations, tables SQLite cannot check), table by table.

    On the real file four tables reference ``workflow_history(workflow_id)``,
    which has no UNIQUE index: SQLite raises "foreign key mismatch" for them
    instead of returning rows, so they are named and skipped, never fatal.
    """
    violations, unchecked = 0, []
    for table, _ in list_tables(con):
        try:
            violations += len(
                con.execute(f"PRAGMA foreign_key_check({quote_ident(table)})").fetchall()
            )
        except sqlite3.DatabaseError as exc:
            if "foreign key mismatch" not in str(exc):
                raise
            unchecked.append(table)
    return violations, unchecked


def unchecked_note(tables: list[str]) -> str:
    return (
        f"foreign keys of {', '.join(tables)} point at a non-unique parent column; "
        "SQLite cannot check them"
    )


def database_identity(con: sqlite3.Connection) -> list[str] | None:
    """The ``adw_id``s (hex of their bytes) of the oldest runs, or None without that table.

    Runs are never renumbered by a migration and two databases do not share run
    ids, so they recognise "the same database" where a path cannot (a file
    moved, or another database at the same path).
    """
    if "adw_id" not in column_names(con):
        return None
    rows = con.execute(
        "SELECT hex(CAST(adw_id AS BLOB)) FROM workflow_history WHERE adw_id IS NOT NULL "
        f"ORDER BY rowid LIMIT {IDENTITY_RUNS}"
    ).fetchall()
    return [r[0] for r in rows] or None


def quick_check(con: sqlite3.Connection) -> list[str]:
    """``PRAGMA quick_check``'s problems ([] when "ok"); a damage it cannot even list is one."""
    try:
        rows = [r[0] for r in con.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [] if rows == ["ok"] else rows


# --- backup ----------------------------------------------------------------------


@dataclass
class BackupResult:
    """A verified backup: its file, manifest and what was proved about it."""

    path: Path
    manifest_path: Path
    rows: dict[str, int]
    sha256: str
    source: Path
    created_at: str
    proof: str
    foreign_key_violations: int = 0
    notes: list[str] = field(default_factory=list)
    #: hex ``adw_id`` of the oldest runs (see :func:`database_identity`), if any
    identity: list[str] | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "manifest": str(self.manifest_path),
            "source": str(self.source),
            "created_at": self.created_at,
            "rows": self.rows,
            "sha256": self.sha256,
            "proof": self.proof,
            "foreign_key_violations": self.foreign_key_violations,
            "notes": self.notes,
        }


def default_backup_dir(db: str | Path) -> Path:
    """``<db dir>/backups``, where the 2025-11-21 report kept its backup."""
    return Path(db).resolve().parent / "backups"


def _writable_dir(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(
            f"{out_dir}: cannot create the backup directory ({exc.strerror}); "
            "choose another with --out"
        ) from exc
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise BackupError(f"{out_dir}: backup directory is not writable; choose another with --out")


def remove_stale_tmp(directory: Path, pattern: str) -> None:
    """Delete temporary files (``…-pidN…``) left by a process that no longer exists (killed)."""
    for p in directory.glob(pattern):
        m = re.search(r"-pid(\d+)", p.name)
        if not m or p.is_symlink():
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            remove_quietly(p, *sqlite_files(p)[1:])
        except PermissionError:
            pass


def claim_name(tmp: Path, final: Path, taken: Callable[[Path], bool]) -> Path:
    """Give ``tmp`` the name ``final`` (or ``final_1``, ``_2`` …) without ever clobbering.

    ``os.link`` fails when the name exists, unlike ``rename``, so two files made
    in the same second cannot overwrite each other.
    """
    for n in range(1000):
        candidate = final if n == 0 else final.with_name(f"{final.stem}_{n}{final.suffix}")
        if taken(candidate):
            continue
        try:
            os.link(tmp, candidate)
        except FileExistsError:
            continue
        tmp.unlink()
        return candidate
    raise BackupError(f"{final.parent}: 1000 files named like {final.name}; clean up first")


def _write_new(path: Path, text: str, mode: int) -> None:
    """Create ``path`` (never overwrite, never through a link) with ``text``, flushed."""
    fd = files.create_new(path, mode)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _disk_message(out_dir: Path, exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        text = "no space left on device"
    elif isinstance(exc, OSError) and exc.errno == errno.EROFS:
        text = "read-only file system"
    return f"{out_dir}: cannot write the backup ({text}); free space or choose another directory"


def backup(
    db: str | Path,
    out_dir: str | Path | None = None,
    *,
    busy_timeout: float | None = None,
) -> BackupResult:
    """Write a verified backup of ``db`` into ``out_dir`` (default ``<db dir>/backups``).

    In one read transaction on the source (started within ``busy_timeout``
    seconds), the online backup API copies the snapshot to a ``.tmp-`` file,
    which is fsynced and proved page-identical to that snapshot; rows per table
    and foreign keys are counted, ``quick_check`` runs on the copy. Only then is
    it named ``<stem>_backup_YYYYMMDD_HHMMSS.db`` (UTC) next to a JSON manifest
    with its SHA-256. Any failure removes the temporary file and raises.
    """
    db = files.validate_db_path(db)
    out = Path(out_dir).resolve() if out_dir is not None else default_backup_dir(db)
    mode = files.private_mode(db)
    now = _utc_now()
    final = out / f"{db.stem}_backup_{_stamp(now)}.db"
    tmp = out / f"{_TMP_PREFIX}{final.stem}-pid{os.getpid()}.db"
    # ``raw`` is opened before and closed after ``source`` (exit order): closing a descriptor
    # of the file while SQLite holds its lock would drop that lock (see wfhist.proof)
    with (
        open_for_proof(db) as raw,
        contextlib.closing(open_source(db, busy_timeout)) as source,
        read_snapshot(source, db, busy_timeout) as snap,
    ):
        # only now: a refused lock or a bad file leaves not even an empty directory
        _writable_dir(out)
        remove_stale_tmp(out, _TMP_PREFIX + "*")
        log.info("backup: copying %s (one snapshot) to %s", db.name, out)
        try:
            copy_snapshot(source, tmp, mode)
        except (sqlite3.Error, OSError) as exc:
            raise BackupError(_disk_message(out, exc)) from exc
        try:
            fsync_path(tmp)
            fsync_path(out)
            log.info("backup: proving the copy equals the snapshot")
            result = _prove(source, raw, db, tmp, snap)
        except sqlite3.DatabaseError as exc:  # the copy holds the source's pages: it is the source
            remove_quietly(*sqlite_files(tmp))
            raise files.explain_sqlite_error(db, exc) from exc
        except BaseException:
            remove_quietly(*sqlite_files(tmp))
            raise
    result.created_at = now.isoformat(timespec="seconds")
    return _publish(result, final, out, mode)


def _prove(
    source: sqlite3.Connection, raw: BinaryIO, db: Path, copy: Path, snap: Snapshot
) -> BackupResult:
    """Prove ``copy`` equals the snapshot ``source`` holds; collect the manifest's facts.

    The page comparison (plain file reads, hashing the copy on the way) and the
    copy's ``quick_check`` + foreign-key check run on two threads (both release
    the GIL while they work); rows per table are counted in the snapshot.
    """
    with ThreadPoolExecutor(max_workers=2) as pool:
        pages = pool.submit(compare_snapshot, raw, copy, snap.page_size, snap.page_count)
        checks = pool.submit(_check_copy, copy)
        rows = count_rows(source)
        identity = database_identity(source)
        proof: PageProof = pages.result()
        problems, fk, unchecked = checks.result()
    if problems:
        where = "the source" if proof.equal else "the source or the copy"
        raise BackupError(
            f"{db}: quick_check failed on its copy ({problems[0]}): {where} is damaged; no "
            "backup was kept. Check the source with 'sqlite3 DB \"PRAGMA integrity_check\"'"
        )
    notes = [unchecked_note(unchecked)] if unchecked else []
    if proof.equal:
        how = (
            f"page-identical to the source snapshot ({proof.pages} pages of "
            f"{proof.page_size} bytes; page 1 header counters excepted); quick_check ok; "
            "rows per table counted in the same snapshot"
        )
    else:
        log.info("backup: pages differ (%s); comparing every row instead", proof.detail)
        src_hash, src_rows = logical_digest(source)
        copy_hash, copy_rows = content_digest(copy)
        if (copy_hash, copy_rows) != (src_hash, src_rows):
            raise BackupError(f"{copy}: content differs from the source snapshot; not kept")
        how = (
            "same logical content as the source snapshot (every value of every row, "
            "byte-exact; pages could not be compared); quick_check ok"
        )
        notes.append(f"pages not compared ({proof.detail}); rows compared instead")
    if fk:
        notes.append(f"source already had {fk} foreign-key violations; copied as is")
    result = BackupResult(
        path=copy,
        manifest_path=copy.with_suffix(".json"),
        rows=rows,
        sha256=proof.sha256,
        source=db,
        created_at="",
        proof=how,
        foreign_key_violations=fk,
        notes=notes,
        identity=identity,
    )
    return result


def _check_copy(copy: Path) -> tuple[list[str], int, list[str]]:
    """The copy's ``quick_check`` problems, then its foreign-key facts (when it is sound)."""
    con = open_source(copy)
    try:
        problems = quick_check(con)
        return (problems, 0, []) if problems else (problems, *foreign_key_check(con))
    finally:
        con.close()


def _publish(result: BackupResult, final: Path, out: Path, mode: int) -> BackupResult:
    """Name the verified copy and write its manifest; undo both on any failure."""
    tmp = result.path
    placed: Path | None = None
    try:
        placed = claim_name(
            tmp,
            final,
            lambda p: any(q.exists() or q.is_symlink() for q in (p, p.with_suffix(".json"))),
        )
        result.path = placed
        result.manifest_path = placed.with_suffix(".json")
        manifest = {
            "format": MANIFEST_FORMAT,
            "backup": placed.name,
            "source": str(result.source),
            "created_at": result.created_at,
            "sha256": result.sha256,
            "bytes": placed.stat().st_size,
            "proof": result.proof,
            "rows": result.rows,
            "foreign_key_violations": result.foreign_key_violations,
            "notes": result.notes,
            "identity": {"oldest_adw_ids_hex": result.identity},
            "sqlite_version": sqlite3.sqlite_version,
            "wfhist_version": __version__,
        }
        _write_new(result.manifest_path, json.dumps(manifest, indent=2) + "\n", mode)
        fsync_path(out)
    except (OSError, WfhistError) as exc:
        remove_quietly(tmp, *([placed, placed.with_suffix(".json")] if placed else []))
        if isinstance(exc, WfhistError):
            raise
        raise BackupError(_disk_message(out, exc)) from exc
    log.info("backup: %s verified", placed)
    return result


# --- checking a backup later -----------------------------------------------------


def read_manifest(backup_path: str | Path) -> dict[str, object]:
    """The manifest written next to a backup, with a clear error when it is missing."""
    manifest = Path(backup_path).with_suffix(".json")
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(
            f"{manifest}: manifest not found; only backups made by wfhist can be restored"
        ) from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{manifest}: unreadable manifest ({exc})") from exc
    fmt = data.get("format") if isinstance(data, dict) else None
    if not (
        (fmt == MANIFEST_FORMAT and isinstance(data.get("sha256"), str))
        or (fmt == OLD_MANIFEST_FORMAT and "content_hash" in data)
    ):
        raise BackupError(f"{manifest}: not a wfhist backup manifest")
    return data


def check_backup(backup_path: str | Path) -> dict[str, object]:
    """Prove a backup file still matches its manifest; return the manifest.

    A current manifest records the SHA-256 of the file as it was proved equal to
    its source: the file must hash the same (any changed byte, so any changed
    value, is refused) and pass ``quick_check``. An older manifest records a
    logical content hash, recomputed row by row.
    """
    path = Path(backup_path)
    if not path.is_file():
        raise BackupError(f"{path}: backup file not found")
    manifest = read_manifest(path)
    refuse = f"{path}: does not match its manifest (%s differ); do not restore it"
    if manifest["format"] == MANIFEST_FORMAT and file_sha256(path) != manifest["sha256"]:
        raise BackupError(refuse % "file SHA-256")
    con = open_source(path)
    try:
        problems = quick_check(con)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: not a readable database ({exc}); do not restore it") from exc
    finally:
        con.close()
    if problems:
        raise BackupError(f"{path}: quick_check failed: {problems[0]}; do not restore it")
    if manifest["format"] == OLD_MANIFEST_FORMAT:
        digest, rows = content_digest(path)
        if rows != manifest["rows"] or digest != manifest["content_hash"]:
            raise BackupError(refuse % "rows or content hash")
    return manifest
