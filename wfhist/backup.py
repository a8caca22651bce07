"""Verified backups of a live SQLite file, and restoring one.

A plain file copy of a WAL-mode database misses committed rows that still live
in the ``-wal`` file and can tear a page a writer is changing, so every copy
here goes through SQLite's online backup API, which copies one consistent
snapshot. A backup only gets its final name after it has been read back and
proved equal to the source at that snapshot; until then it lives under a
``.tmp-`` name that is removed on any failure, so a directory never holds a
half backup that looks like a good one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from wfhist import __version__
from wfhist.exceptions import BackupError, LockedError, UsageError
from wfhist.files import fsync_path, remove_quietly, sqlite_files
from wfhist.schema import quote_ident

Report = Callable[[str], None]

#: Seconds a connection waits for a writer's lock before giving up.
BUSY_TIMEOUT_S = 30.0
MANIFEST_FORMAT = "wfhist-backup/1"
#: Memory-map up to this much of a file being read (SQLite caps it at its own maximum).
MMAP_BYTES = 1 << 40
#: json_array() takes at most 127 arguments in common builds: rows are rendered in chunks.
_ARGS_PER_CALL = 100
_TMP_PREFIX = ".tmp-"


def _quiet(_message: str) -> None:
    """Default progress sink: library calls stay silent unless given a reporter."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _stamp(now: datetime) -> str:
    """UTC time as used in file names: ``YYYYMMDD_HHMMSS``."""
    return now.strftime("%Y%m%d_%H%M%S")


def _ro_uri(path: str | Path) -> str:
    """A read-only URI for ``path``: the source of a copy is never opened for writing."""
    return Path(path).resolve().as_uri() + "?mode=ro"


def open_readonly(path: str | Path) -> sqlite3.Connection:
    """An autocommit, read-only connection that waits for writers instead of failing.

    Reads go through a memory map (twice as fast as read() calls for a full
    scan or copy). The connection may be handed to one worker thread at a time.
    """
    if not Path(path).is_file():
        raise UsageError(f"{path}: no such database file; check the path")
    con = sqlite3.connect(
        _ro_uri(path),
        uri=True,
        isolation_level=None,
        timeout=BUSY_TIMEOUT_S,
        check_same_thread=False,
    )
    con.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    return con


def online_copy(src: str | Path, dst: str | Path) -> None:
    """Copy ``src`` to a new file ``dst`` through SQLite's online backup API.

    ``src`` is opened read-only (URI ``mode=ro``), so its bytes and mtime are
    untouched; committed rows still in its ``-wal`` file are included. ``dst``
    must not exist yet: a copy never overwrites anything. On failure nothing is
    left at ``dst``.
    """
    dst = Path(dst)
    if dst.exists():
        raise FileExistsError(f"{dst}: already exists; a copy never overwrites a file")
    source = open_readonly(src)
    try:
        _copy_snapshot(source, dst)
    finally:
        source.close()


def _copy_snapshot(source: sqlite3.Connection, dst: Path) -> None:
    """Write ``source``'s current snapshot to the new file ``dst`` as a one-file database.

    When ``source`` holds an open read transaction the copy is taken from that
    very snapshot (the backup API reuses it), so counts and hashes read in the
    same transaction describe exactly what was copied. All pages go in one step:
    fastest, and a writer cannot force a restart half-way. The copy is switched
    to rollback-journal mode so it is a single self-contained file.
    """
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


# --- logical content hash ------------------------------------------------------


def _tables(con: sqlite3.Connection) -> list[tuple[str, bool]]:
    """(name, without_rowid) of every ordinary table, by name."""
    rows = con.execute(
        "SELECT name, wr FROM pragma_table_list WHERE schema = 'main' AND type = 'table' "
        "AND name NOT IN ('sqlite_schema', 'sqlite_master', 'sqlite_temp_schema', "
        "'sqlite_temp_master') ORDER BY name"
    ).fetchall()
    return [(name, bool(wr)) for name, wr in rows]


def _order_by(con: sqlite3.Connection, table: str, without_rowid: bool) -> str:
    if not without_rowid:
        return "_rowid_"
    pk = con.execute(
        "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", (table,)
    ).fetchall()
    return ", ".join(quote_ident(r[0]) for r in pk)


def _hash_table(con: sqlite3.Connection, table: str, without_rowid: bool, h: object) -> int:
    """Feed one table's rows into ``h`` in key order; return the row count.

    SQLite's ``quote()`` renders each value with its storage class (``1``,
    ``1.0``, ``'1'``, ``X'01'``, ``NULL``) and REALs exactly, so equal text
    means equal values; ``json_array`` joins them into one string per row in a
    single pass (chaining ``||`` copies the growing row 70 times and was three
    times slower) and escapes them so values cannot run into each other.
    (``quote()`` stops a TEXT value at an embedded NUL character; such values
    are compared only up to it.)
    """
    cols = [
        r[0] for r in con.execute("SELECT name FROM pragma_table_info(?) ORDER BY cid", (table,))
    ]
    h.update(("T" + json.dumps([table, cols]) + "\n").encode())  # type: ignore[attr-defined]
    if not cols:
        return 0
    quoted = [f"quote({quote_ident(c)})" for c in cols]
    chunks = [
        "json_array(" + ", ".join(quoted[i : i + _ARGS_PER_CALL]) + ")"
        for i in range(0, len(quoted), _ARGS_PER_CALL)
    ]
    expr = chunks[0] if len(chunks) == 1 else "json_array(" + ", ".join(chunks) + ")"
    sql = (
        f"SELECT {expr} || char(10) FROM {quote_ident(table)} "
        f"ORDER BY {_order_by(con, table, without_rowid)}"
    )
    n = 0
    cur = con.execute(sql)
    while batch := cur.fetchmany(4096):
        h.update("".join(r[0] for r in batch).encode())  # type: ignore[attr-defined]
        n += len(batch)
    return n


def _digest(con: sqlite3.Connection) -> tuple[str, dict[str, int]]:
    """Content hash and rows per table of the snapshot ``con`` currently reads.

    The schema (every ``CREATE`` statement) is hashed too, so a restored file
    that differs only in an index or a column name does not pass as equal.
    Physical layout (page size, free pages, rowids of tables without an
    INTEGER PRIMARY KEY) is not content and is left out.
    """
    h = hashlib.sha256()
    for row in con.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name"
    ):
        h.update(("S" + json.dumps(list(row)) + "\n").encode())
    rows = {}
    for table, without_rowid in _tables(con):
        rows[table] = _hash_table(con, table, without_rowid, h)
    return "sha256:" + h.hexdigest(), rows


@contextlib.contextmanager
def read_snapshot(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Hold one read transaction on ``con``: every read inside sees the same snapshot."""
    con.execute("BEGIN")
    try:
        con.execute("SELECT count(*) FROM sqlite_schema").fetchone()  # starts the snapshot
        yield con
    finally:
        if con.in_transaction:
            con.execute("COMMIT")


def content_hash(path: str | Path) -> str:
    """Logical content hash of a database file (schema + every row, in key order)."""
    return content_digest(path)[0]


def content_digest(path: str | Path) -> tuple[str, dict[str, int]]:
    """(content hash, rows per table) of ``path``, read in one snapshot."""
    con = open_readonly(path)
    try:
        with read_snapshot(con):
            return _digest(con)
    finally:
        con.close()


# --- checks --------------------------------------------------------------------


def _integrity(con: sqlite3.Connection) -> list[str]:
    rows = [r[0] for r in con.execute("PRAGMA integrity_check")]
    return [] if rows == ["ok"] else rows


def _fk_violations(con: sqlite3.Connection) -> int:
    return len(con.execute("PRAGMA foreign_key_check").fetchall())


# --- the migration lock ----------------------------------------------------------


def lock_path(db: str | Path) -> Path:
    return Path(str(Path(db).resolve()) + ".wfhist-lock")


@contextlib.contextmanager
def migration_lock(db: str | Path) -> Iterator[Path]:
    """Hold the exclusive wfhist lock on ``db`` or refuse at once.

    An OS lock (``flock``) on ``<db>.wfhist-lock``: the kernel drops it when the
    holder exits, even on ``kill -9``, so a crashed run never blocks the next
    one. The lock file itself stays; deleting it would race with a new holder.
    """
    path = lock_path(db)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise LockedError(f"{path}: cannot create the lock file ({exc.strerror})") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise LockedError(
                f"{db}: another wfhist migrate/rollback is running on this file ({holder}); "
                "wait for it to finish, then run again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing releases the flock


# --- backup ----------------------------------------------------------------------


@dataclass
class BackupResult:
    """A verified backup: its file, manifest and what was proved about it."""

    path: Path
    manifest_path: Path
    rows: dict[str, int]
    content_hash: str
    source: Path
    created_at: str
    foreign_key_violations: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "manifest": str(self.manifest_path),
            "source": str(self.source),
            "created_at": self.created_at,
            "rows": self.rows,
            "content_hash": self.content_hash,
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


def _remove_stale_tmp(out_dir: Path) -> None:
    """Delete ``.tmp-`` files left by a backup process that no longer exists (e.g. killed)."""
    for p in out_dir.glob(_TMP_PREFIX + "*"):
        m = re.search(r"-pid(\d+)\.db", p.name)
        if not m:
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            remove_quietly(p)
        except PermissionError:
            pass


def _claim(final: Path, tmp: Path) -> Path:
    """Give ``tmp`` the name ``final`` (or ``final_1``, ``_2`` …) without ever clobbering.

    ``os.link`` fails when the name exists, unlike ``rename``, so two backups
    made in the same second cannot overwrite each other.
    """
    for n in range(1000):
        candidate = final if n == 0 else final.with_name(f"{final.stem}_{n}{final.suffix}")
        if candidate.exists() or Path(str(candidate.with_suffix("")) + ".json").exists():
            continue
        try:
            os.link(tmp, candidate)
        except FileExistsError:
            continue
        tmp.unlink()
        return candidate
    raise BackupError(f"{final.parent}: 1000 backups with the name {final.name}; clean up first")


def _write_new(path: Path, text: str) -> None:
    """Create ``path`` (never overwrite) with ``text``, flushed to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
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
    report: Report = _quiet,
) -> BackupResult:
    """Write a verified backup of ``db`` into ``out_dir`` (default ``<db dir>/backups``).

    In one read transaction on the source, the online backup API copies a
    snapshot to a ``.tmp-`` file, and rows per table and the logical content
    hash of that same snapshot are read (in WAL mode writers keep writing
    meanwhile; in rollback-journal mode they wait, up to their busy timeout).
    The copy is fsynced and checked -- ``integrity_check``, ``foreign_key_check``
    (the same violations as the source, if it has any), same tables, row counts
    and content hash -- and only then named ``<stem>_backup_YYYYMMDD_HHMMSS.db``
    (UTC) next to a JSON manifest. Any failure removes the temporary file and
    raises BackupError.
    """
    db = Path(db).resolve()
    out = Path(out_dir).resolve() if out_dir is not None else default_backup_dir(db)
    _writable_dir(out)
    _remove_stale_tmp(out)
    now = _utc_now()
    final = out / f"{db.stem}_backup_{_stamp(now)}.db"
    tmp = out / f"{_TMP_PREFIX}{final.stem}-pid{os.getpid()}.db"
    source = open_readonly(db)
    try:
        with read_snapshot(source):
            report(f"backup: copying {db.name} (one snapshot) to {out}")
            try:
                _copy_snapshot(source, tmp)
            except (sqlite3.Error, OSError) as exc:
                raise BackupError(_disk_message(out, exc)) from exc
            src_fk: int | None = None
            try:
                fsync_path(tmp)
                fsync_path(out)
                report("backup: verifying the copy against the snapshot")
                src_hash, src_rows, copy_fk = _verify_copy(tmp, source)
                if copy_fk:
                    src_fk = _fk_violations(source)
                    if copy_fk != src_fk:
                        raise BackupError(
                            f"{tmp}: copy has {copy_fk} foreign-key violations, source {src_fk}"
                        )
            except BaseException:
                remove_quietly(*sqlite_files(tmp))
                raise
    finally:
        source.close()
    result = BackupResult(
        path=tmp,
        manifest_path=tmp.with_suffix(".json"),
        rows=src_rows,
        content_hash=src_hash,
        source=db,
        created_at=now.isoformat(timespec="seconds"),
        foreign_key_violations=src_fk or 0,
    )
    if src_fk:
        result.notes.append(f"source already had {src_fk} foreign-key violations; copied as is")
    return _publish(result, final, out)


def _verify_copy(copy: Path, source: sqlite3.Connection) -> tuple[str, dict[str, int], int]:
    """Prove ``copy`` equals the snapshot ``source`` reads: (hash, rows, copy's FK violations).

    Three full reads -- the source's digest, the copy's integrity check and the
    copy's digest -- run on two worker threads (SQLite releases the GIL while
    it works), so they overlap on two cores.
    """
    with ThreadPoolExecutor(max_workers=2) as pool:
        source_digest = pool.submit(_digest, source)
        checks = pool.submit(_check_copy, copy)
        copy_digest = pool.submit(content_digest, copy)
        try:
            fk = checks.result()
        except BaseException:
            copy_digest.cancel()
            raise
        copy_hash, copy_rows = copy_digest.result()
        src_hash, src_rows = source_digest.result()
    if copy_rows != src_rows:
        raise BackupError(f"{copy}: rows per table differ from the source: {copy_rows}")
    if copy_hash != src_hash:
        raise BackupError(f"{copy}: content hash differs from the source snapshot")
    return src_hash, src_rows, fk


def _check_copy(copy: Path) -> int:
    """``integrity_check`` must pass; returns the number of foreign-key violations."""
    con = open_readonly(copy)
    try:
        problems = _integrity(con)
        if problems:
            raise BackupError(f"{copy}: integrity_check failed on the copy: {problems[0]}")
        return _fk_violations(con)
    finally:
        con.close()


def _publish(result: BackupResult, final: Path, out: Path) -> BackupResult:
    """Name the verified copy and write its manifest; undo both on any failure."""
    tmp = result.path
    placed: Path | None = None
    try:
        placed = _claim(final, tmp)
        result.path = placed
        result.manifest_path = placed.with_suffix(".json")
        manifest = {
            "format": MANIFEST_FORMAT,
            "backup": placed.name,
            "source": str(result.source),
            "created_at": result.created_at,
            "rows": result.rows,
            "content_hash": result.content_hash,
            "foreign_key_violations": result.foreign_key_violations,
            "bytes": placed.stat().st_size,
            "sqlite_version": sqlite3.sqlite_version,
            "wfhist_version": __version__,
        }
        _write_new(result.manifest_path, json.dumps(manifest, indent=2) + "\n")
        fsync_path(out)
    except (OSError, BackupError) as exc:
        remove_quietly(tmp, *([placed, placed.with_suffix(".json")] if placed else []))
        if isinstance(exc, BackupError):
            raise
        raise BackupError(_disk_message(out, exc)) from exc
    return result


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
    if data.get("format") != MANIFEST_FORMAT or "content_hash" not in data:
        raise BackupError(f"{manifest}: not a wfhist backup manifest")
    return data


def check_backup(backup_path: str | Path) -> dict[str, object]:
    """Prove a backup file still matches its manifest (integrity, rows, content hash)."""
    path = Path(backup_path)
    if not path.is_file():
        raise BackupError(f"{path}: backup file not found")
    manifest = read_manifest(path)
    con = open_readonly(path)
    try:
        problems = _integrity(con)
    finally:
        con.close()
    if problems:
        raise BackupError(f"{path}: integrity_check failed: {problems[0]}; do not restore it")
    digest, rows = content_digest(path)
    if rows != manifest["rows"] or digest != manifest["content_hash"]:
        raise BackupError(
            f"{path}: does not match its manifest (rows or content hash differ); do not restore it"
        )
    return manifest


# --- rollback --------------------------------------------------------------------


@dataclass
class RollbackResult:
    """A restore: which backup, where the replaced content was kept, what was proved."""

    db: Path
    backup: Path
    kept_aside: Path
    content_hash: str
    rows: dict[str, int]

    def to_dict(self) -> dict[str, object]:
        return {
            "db": str(self.db),
            "backup": str(self.backup),
            "kept_aside": str(self.kept_aside),
            "content_hash": self.content_hash,
            "rows": self.rows,
        }


def rollback(db: str | Path, backup_path: str | Path, *, report: Report = _quiet) -> RollbackResult:
    """Restore ``db`` from a wfhist backup, holding the migration lock.

    Stop the service's writers first: rows written after the backup are not in
    it. They are not lost, though: the current content is copied aside first.
    """
    if not Path(db).is_file():
        raise UsageError(f"{db}: no such database file; check the path")
    with migration_lock(db):
        return restore(db, backup_path, report=report)


def restore(db: str | Path, backup_path: str | Path, *, report: Report = _quiet) -> RollbackResult:
    """The restore itself, for a caller that already holds the migration lock.

    Checks the backup against its manifest, copies the current content to
    ``<db>.before-rollback-<UTC ts>`` (through the backup API, so rows in the
    ``-wal`` are kept), copies the backup into the live file through the backup
    API (other connections see the old or the new content, never a mix), and
    proves the live file's content hash equals the manifest's.
    """
    db = Path(db).resolve()
    backup_path = Path(backup_path).resolve()
    report(f"rollback: checking {backup_path.name} against its manifest")
    manifest = check_backup(backup_path)
    aside = _free_name(Path(f"{db}.before-rollback-{_stamp(_utc_now())}"))
    report(f"rollback: keeping the current content aside as {aside.name}")
    try:
        online_copy(db, aside)
    except (sqlite3.Error, OSError) as exc:
        raise BackupError(
            f"{aside}: cannot keep the current content aside ({exc}); nothing was restored"
        ) from exc
    report(f"rollback: restoring {db.name} from {backup_path.name}")
    src = open_readonly(backup_path)
    try:
        live = sqlite3.connect(db, isolation_level=None, timeout=BUSY_TIMEOUT_S)
        try:
            src.backup(live, pages=-1)
        finally:
            live.close()
    except sqlite3.Error as exc:
        raise BackupError(
            f"{db}: restore failed ({exc}); the previous content is in {aside}"
        ) from exc
    finally:
        src.close()
    digest, rows = content_digest(db)
    if digest != manifest["content_hash"]:
        raise BackupError(
            f"{db}: after restore the content hash differs from {backup_path.name} "
            f"(did a writer change it meanwhile?); the previous content is in {aside}"
        )
    report(f"rollback: {db.name} now equals {backup_path.name} ({digest[:19]}…)")
    return RollbackResult(
        db=db, backup=backup_path, kept_aside=aside, content_hash=digest, rows=rows
    )


def _free_name(path: Path) -> Path:
    """``path``, or ``path_1``, ``_2`` … when taken: nothing is ever overwritten."""
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}_{n}")
    return candidate
