"""Apply numbered SQL migrations so that no data can be lost, and say where a file stands.

Every run: validate the migration files, take the migration lock, write a
verified backup, apply each pending migration in its own ``BEGIN IMMEDIATE`` …
``COMMIT`` (its record in ``wfhist_migrations`` and ``PRAGMA user_version`` go in
the same transaction, so a crash leaves the file at a recorded version, never
between two), then verify the result value by value against the backup. A FAIL
verdict restores the backup at once. Files that predate the runner are
recognised by their shape and recorded as a baseline.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wfhist import __version__
from wfhist.backup import (
    BUSY_TIMEOUT_S,
    BackupResult,
    Report,
    _quiet,
    backup,
    migration_lock,
    open_readonly,
    restore,
)
from wfhist.exceptions import MigrationError, SchemaError, UsageError
from wfhist.schema import TABLE, check_schema, classify_columns, column_names
from wfhist.sqlscript import read_script, renames_in_sql, run_script, split_statements

#: The migrations shipped with wfhist (``<repo>/migrations``).
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
HISTORY_TABLE = "wfhist_migrations"
HISTORY_DDL = f"""CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    sha256 TEXT,
    applied_at TEXT NOT NULL,
    duration_ms INTEGER,
    wfhist_version TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('baseline', 'applied')),
    renames TEXT
)"""

#: Shapes of files that predate the runner, and the version they are equivalent to.
BASELINES = {
    "pre-006": (5, "005-equivalent baseline: everything before 006"),
    "post-006": (6, "006-equivalent baseline: scoring_version already present"),
}
#: ``ALTER TABLE … RENAME COLUMN`` exists from this SQLite version on.
RENAME_COLUMN_SQLITE = (3, 25, 0)

_FILE_NAME = re.compile(r"^(?P<version>\d+)_(?P<slug>[A-Za-z0-9][\w\-]*)\.sql$")
_OPT_IN = re.compile(r"^--\s*wfhist-opt-in:\s*(?P<reason>.*)$", re.MULTILINE)
_TXN_CONTROL = re.compile(r"^(BEGIN|COMMIT|END|ROLLBACK(?!\s+TO)|VACUUM)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Migration:
    """One migration file: its number, text and checksum."""

    version: int
    path: Path
    sql: str
    sha256: str
    opt_in: str | None = None  # why it is applied only with an explicit --to

    @property
    def name(self) -> str:
        return self.path.name

    def renames(self) -> dict[str, dict[str, str]]:
        return renames_in_sql(self.sql)


@dataclass(frozen=True)
class Applied:
    """One row of ``wfhist_migrations``."""

    version: int
    name: str
    sha256: str | None
    applied_at: str
    duration_ms: int | None
    wfhist_version: str | None
    kind: str
    renames: str | None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def resolve_migrations_dir(migrations_dir: str | Path | None) -> Path:
    path = Path(migrations_dir) if migrations_dir is not None else MIGRATIONS_DIR
    if not path.is_dir():
        raise UsageError(f"{path}: migrations directory not found; pass --migrations DIR")
    return path


def discover(migrations_dir: str | Path | None = None) -> list[Migration]:
    """The migration files of a directory, by version, checked before anything runs.

    A ``.sql`` file must be named ``NNN_description.sql``; two files may not
    share a number; a file may not contain its own ``BEGIN``/``COMMIT`` (the
    runner owns the transaction) or ``VACUUM`` (impossible inside one).
    """
    directory = resolve_migrations_dir(migrations_dir)
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        m = _FILE_NAME.match(path.name)
        if not m:
            raise MigrationError(
                f"{path}: migration files must be named NNN_description.sql; rename it"
            )
        version = int(m.group("version"))
        if version in found:
            raise MigrationError(
                f"{path}: version {version} is also used by {found[version].name}; renumber one"
            )
        sql = read_script(path)
        for n, stmt in enumerate(split_statements(sql), start=1):
            if _TXN_CONTROL.match(_strip_comments(stmt)):
                raise MigrationError(
                    f"{path}: statement {n} controls the transaction "
                    f"({stmt.split()[0].upper()}); remove it, the runner wraps each migration "
                    "in its own transaction"
                )
        opt_in = _OPT_IN.search(sql)
        found[version] = Migration(
            version=version,
            path=path,
            sql=sql,
            sha256=_sha256(path),
            opt_in=opt_in.group("reason").strip() if opt_in else None,
        )
    return [found[v] for v in sorted(found)]


def _strip_comments(stmt: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", stmt, flags=re.DOTALL)
    return re.sub(r"--[^\n]*", " ", text).strip()


# --- where a file stands --------------------------------------------------------


def _history(con: sqlite3.Connection) -> list[Applied] | None:
    """The runner's records, or None when the file has never been migrated by wfhist."""
    exists = con.execute(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", (HISTORY_TABLE,)
    ).fetchone()
    if not exists:
        return None
    rows = con.execute(
        "SELECT version, name, sha256, applied_at, duration_ms, wfhist_version, kind, renames "
        f"FROM {HISTORY_TABLE} ORDER BY version"
    ).fetchall()
    return [Applied(*r) for r in rows]


@dataclass
class MigrationStatus:
    """One line of ``status``: a migration and where it stands in this file."""

    version: int
    name: str
    state: str  # baseline | applied | pending
    checksum: str  # ok | changed | missing | - (baseline, pending)
    applied_at: str | None = None
    opt_in: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class StatusResult:
    """What ``wfhist status`` knows about a file."""

    db: Path
    migrations_dir: Path
    current_version: int | None
    user_version: int
    shape: str
    recorded: bool  # False: no wfhist_migrations yet; the baseline is what it would record
    migrations: list[MigrationStatus] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def pending(self) -> list[MigrationStatus]:
        return [m for m in self.migrations if m.state == "pending"]

    @property
    def drifted(self) -> list[MigrationStatus]:
        return [m for m in self.migrations if m.checksum in ("changed", "missing")]

    def to_dict(self) -> dict[str, Any]:
        return {
            "db": str(self.db),
            "migrations_dir": str(self.migrations_dir),
            "current_version": self.current_version,
            "user_version": self.user_version,
            "shape": self.shape,
            "recorded": self.recorded,
            "migrations": [m.to_dict() for m in self.migrations],
            "notes": self.notes,
        }


def _baseline_for(db: Path, names: list[str]) -> tuple[int, str]:
    """The baseline a never-migrated file gets from its shape, or a refusal listing differences."""
    shape = classify_columns(names)
    if shape in BASELINES:
        return BASELINES[shape]
    if shape == "renamed":
        raise SchemaError(
            f"{db}: temporal columns are already renamed but the file has no {HISTORY_TABLE}; "
            "it was changed by hand, so wfhist cannot tell which migrations it has"
        )
    check_schema(db)  # raises SchemaError listing missing and extra columns
    raise SchemaError(f"{db}: {TABLE} has a shape wfhist does not know")  # pragma: no cover


def status(db: str | Path, migrations_dir: str | Path | None = None) -> StatusResult:
    """Current version, applied migrations with checksum ok/changed/missing, and pending ones.

    Read-only: the file is opened with ``mode=ro``.
    """
    db = Path(db).resolve()
    migrations = discover(migrations_dir)
    con = open_readonly(db)
    try:
        names = column_names(con)
        if not names:
            raise SchemaError(f"{db}: no table {TABLE!r}; is this a workflow history database?")
        user_version = con.execute("PRAGMA user_version").fetchone()[0]
        history = _history(con)
    finally:
        con.close()
    result = StatusResult(
        db=db,
        migrations_dir=resolve_migrations_dir(migrations_dir),
        current_version=None,
        user_version=user_version,
        shape=classify_columns(names),
        recorded=history is not None and bool(history),
    )
    if not history:
        version, name = _baseline_for(db, names)
        result.notes.append(
            f"no {HISTORY_TABLE} yet: the first migrate records baseline {version:03d} ({name})"
        )
        history = [Applied(version, name, None, "", None, None, "baseline", None)]
    by_file = {m.version: m for m in migrations}
    for rec in history:
        if rec.kind == "baseline":
            checksum = "-"
        elif rec.version not in by_file:
            checksum = "missing"
        else:
            checksum = "ok" if by_file[rec.version].sha256 == rec.sha256 else "changed"
        result.migrations.append(
            MigrationStatus(rec.version, rec.name, rec.kind, checksum, rec.applied_at or None)
        )
    current = max(r.version for r in history)
    result.current_version = current if result.recorded else None
    applied_versions = {r.version for r in history}
    baseline = min(r.version for r in history if r.kind == "baseline") if history else 0
    for m in migrations:
        if m.version in applied_versions or m.version <= baseline:
            continue
        state = "pending" if m.version > current else "skipped"
        result.migrations.append(MigrationStatus(m.version, m.name, state, "-", opt_in=m.opt_in))
    result.migrations.sort(key=lambda s: s.version)
    if result.recorded and user_version != current:
        result.notes.append(
            f"PRAGMA user_version is {user_version} but {HISTORY_TABLE} says {current}: "
            "something else changed it"
        )
    return result


def format_status(result: StatusResult) -> str:
    """The human table ``wfhist status`` prints."""
    version = (
        f"{result.current_version:03d}" if result.current_version is not None else "none recorded"
    )
    lines = [
        f"{result.db}",
        f"  version: {version} (user_version {result.user_version}, shape {result.shape})",
        f"  migrations: {result.migrations_dir}",
    ]
    for m in result.migrations:
        extra = ", ".join(
            ([f"checksum {m.checksum}"] if m.state == "applied" else [])
            + ([f"applied {m.applied_at}"] if m.applied_at else [])
        )
        if m.opt_in and m.state == "pending":
            extra = f"opt-in, run with --to {m.version}: {m.opt_in}"
        lines.append(f"  {m.version:03d}  {m.state:<8} {m.name}  {extra}".rstrip())
    lines += [f"  note: {n}" for n in result.notes]
    return "\n".join(lines)


# --- migrate ---------------------------------------------------------------------


@dataclass
class MigrateResult:
    """What a run did: backup, versions applied, verification, and whether it restored."""

    db: Path
    from_version: int
    to_version: int
    applied: list[int] = field(default_factory=list)
    baseline: int | None = None
    backup: BackupResult | None = None
    verdict: str | None = None  # PASS / FAIL / None when nothing ran
    verification: dict[str, Any] | None = None
    restored: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return not self.applied

    def to_dict(self) -> dict[str, Any]:
        return {
            "db": str(self.db),
            "from_version": self.from_version,
            "to_version": self.to_version,
            "applied": self.applied,
            "baseline": self.baseline,
            "backup": self.backup.to_dict() if self.backup else None,
            "verdict": self.verdict,
            "verification": self.verification,
            "restored": self.restored,
            "notes": self.notes,
        }


@dataclass
class _Plan:
    """What a run will do, decided under the lock from the file's own records."""

    current: int
    baseline: tuple[int, str] | None  # to record in the first transaction
    pending: list[Migration]
    held_back: list[Migration]  # opt-in migrations not reached by --to


def _plan(db: Path, migrations: list[Migration], to: int | None, migrations_dir: Path) -> _Plan:
    """Decide the pending migrations; refuse drifted, missing or out-of-order files."""
    con = open_readonly(db)
    try:
        names = column_names(con)
        if not names:
            raise SchemaError(f"{db}: no table {TABLE!r}; is this a workflow history database?")
        history = _history(con)
    finally:
        con.close()
    by_file = {m.version: m for m in migrations}
    baseline = None
    if history:
        for rec in history:
            if rec.kind == "baseline":
                continue
            m = by_file.get(rec.version)
            if m is None:
                raise MigrationError(
                    f"{db}: applied migration {rec.version:03d} ({rec.name}) is missing from "
                    f"{migrations_dir}; restore that file before migrating"
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
                f"version {current:03d} but was never applied; give it a number above "
                f"{current:03d}"
            )
    else:
        baseline = _baseline_for(db, names)
        current = baseline[0]
    if to is not None and to < current:
        raise MigrationError(
            f"{db}: is at version {current:03d}, above --to {to}; migrations only go forward, "
            "use 'wfhist rollback DB --backup PATH' to return to an earlier backup"
        )
    if to is not None and to > current and to not in by_file:
        raise UsageError(f"--to {to}: no migration {to:03d} in {migrations_dir}")
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


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _record(
    con: sqlite3.Connection, m: Migration, duration_ms: int, baseline: tuple[int, str] | None
) -> None:
    """Write the history rows and user_version inside the migration's open transaction."""
    con.execute(HISTORY_DDL)
    if baseline is not None:
        con.execute(
            f"INSERT INTO {HISTORY_TABLE} (version, name, sha256, applied_at, duration_ms, "
            "wfhist_version, kind, renames) VALUES (?, ?, NULL, ?, NULL, ?, 'baseline', NULL)",
            (baseline[0], baseline[1], _now_iso(), __version__),
        )
    renames = m.renames()
    con.execute(
        f"INSERT INTO {HISTORY_TABLE} (version, name, sha256, applied_at, duration_ms, "
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
    con.execute(f"PRAGMA user_version = {int(m.version)}")


def apply_one(
    db: Path,
    m: Migration,
    *,
    baseline: tuple[int, str] | None = None,
    report: Report = _quiet,
) -> int:
    """Apply one migration and its record in one transaction; return its duration in ms.

    ``BEGIN IMMEDIATE`` takes the write lock up front (waiting up to the busy
    timeout for a writer's transaction to finish), so the service's inserts
    queue behind the migration instead of failing, and land in the new schema.
    """
    con = sqlite3.connect(db, isolation_level=None, timeout=BUSY_TIMEOUT_S)
    try:
        total = len(split_statements(m.sql))

        def progress(n: int, stmt: str) -> None:
            text = " ".join(_strip_comments(stmt).split())[:70]
            report(f"migrate: {m.name} statement {n}/{total}: {text}")

        started = time.monotonic()
        run_script(con, m.sql, source=str(m.path), on_statement=progress, end="open")
        try:
            _record(con, m, round((time.monotonic() - started) * 1000), baseline)
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        return round((time.monotonic() - started) * 1000)
    finally:
        con.close()


def migrate(
    db: str | Path,
    *,
    to: int | None = None,
    migrations_dir: str | Path | None = None,
    backup_dir: str | Path | None = None,
    report: Report = _quiet,
) -> MigrateResult:
    """Bring ``db`` to version ``to`` (default: the last migration before any opt-in one).

    Order: check the migration files → take the lock (a second run refuses at
    once) → decide what is pending from the file's own records, refusing changed
    or missing files → verified backup → each migration in its own transaction →
    verify the result against the backup, restoring the backup on FAIL. With
    nothing pending it writes nothing, not even a backup.
    """
    db = Path(db).resolve()
    if not db.is_file():
        raise UsageError(f"{db}: no such database file; check the path")
    directory = resolve_migrations_dir(migrations_dir)
    migrations = discover(directory)
    with migration_lock(db):
        plan = _plan(db, migrations, to, directory)
        result = MigrateResult(db=db, from_version=plan.current, to_version=plan.current)
        held = ", ".join(f"{m.version:03d}" for m in plan.held_back)
        if held and to is None:
            result.notes.append(f"opt-in migration(s) {held} not applied: use --to to apply them")
        if not plan.pending:
            report(f"migrate: {db.name} is up to date at version {plan.current:03d}")
            return result
        _check_sqlite_supports(plan.pending)
        if plan.baseline:
            result.baseline = plan.baseline[0]
            report(f"migrate: no history yet; recording baseline {plan.baseline[1]}")
        result.backup = backup(db, backup_dir, report=report)
        report(f"migrate: backup {result.backup.path} verified")
        baseline = plan.baseline
        failure: MigrationError | None = None
        for m in plan.pending:
            report(f"migrate: applying {m.name}")
            try:
                ms = apply_one(db, m, baseline=baseline, report=report)
            except MigrationError as exc:
                failure = exc
                break
            baseline = None
            result.applied.append(m.version)
            result.to_version = m.version
            report(f"migrate: {m.name} applied in {ms} ms")
        if result.applied:
            _verify_or_restore(result, plan.pending, report)
        else:
            result.notes.append("nothing was applied; the backup was not needed")
        if failure is not None:
            at = f"version {result.to_version:03d}"
            if result.applied:
                at += f" (applied and verified in this run: {_versions(result.applied)})"
            err = MigrationError(f"{failure}; the database stays at {at}")
            err.result = result  # type: ignore[attr-defined]
            raise err from failure
    return result


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


def _verify_or_restore(result: MigrateResult, pending: list[Migration], report: Report) -> None:
    """Verify the migrated file against the backup; on FAIL restore it and raise."""
    assert result.backup is not None
    applied = [m for m in pending if m.version in result.applied]
    renames = _combined_renames(applied)
    report("migrate: verifying the migrated file against the backup")
    verdict, details, summary = run_verification(result.backup.path, result.db, renames)
    result.verdict = verdict
    result.verification = details
    if verdict != "FAIL":
        report(f"migrate: verification {verdict}")
        return
    report("migrate: verification FAILED; restoring the backup")
    restored = restore(result.db, result.backup.path, report=report)
    result.restored = True
    result.to_version = result.from_version
    names = ", ".join(m.name for m in applied)
    err = MigrationError(
        f"verification FAILED after {names}: {summary}; nothing was lost: the backup "
        f"{result.backup.path.name} was restored, the file is back at version "
        f"{result.from_version:03d} (the migrated content is kept in {restored.kept_aside.name})"
    )
    err.result = result  # type: ignore[attr-defined]  # backup, verification, restored=True
    raise err


# --- verification ----------------------------------------------------------------


def run_verification(
    before: Path, after: Path, renames: dict[str, dict[str, str]]
) -> tuple[str, dict[str, Any], str]:
    """(verdict, full result, one-line summary of what was lost) of ``after`` against ``before``.

    Uses :func:`wfhist.verify.verify` (value by value); without it, falls back to
    integrity plus "no table lost rows", and says so in the result.
    """
    try:
        from wfhist.verify import verify
    except ImportError:
        return _fallback_verification(before, after, renames)
    outcome = verify(before, after, renames=renames or None)
    details = outcome.to_dict()
    return outcome.verdict, details, _loss_summary(details)


def _loss_summary(details: dict[str, Any]) -> str:
    """One line naming what failed, every column that would have been lost included."""
    checks: list[dict[str, Any]] = details.get("checks") or []
    parts = [
        f"{c['name']}: {c['detail']}"
        for c in checks
        if c.get("status") == "FAIL" and c.get("name") != "columns_dropped"
    ]
    dropped: list[dict[str, Any]] = details.get("columns_dropped") or []
    if dropped:
        names = ", ".join(
            f"{d['table']}.{d['column']}"
            + (f" ({d['non_null']} non-NULL)" if d.get("non_null") is not None else "")
            for d in dropped
        )
        parts.append(f"{len(dropped)} columns would have been lost: {names}")
    return "; ".join(parts) or "see the verification report (wfhist verify BACKUP DB)"


def _fallback_verification(
    before: Path, after: Path, renames: dict[str, dict[str, str]]
) -> tuple[str, dict[str, Any], str]:
    """Integrity, no table with fewer rows, no column gone: what counts alone can prove."""
    from wfhist.backup import content_digest

    _, before_rows = content_digest(before)
    _, after_rows = content_digest(after)
    shrunk = {t: n for t, n in before_rows.items() if after_rows.get(t, -1) < n}
    old, new = open_readonly(before), open_readonly(after)
    try:
        problems = [r[0] for r in new.execute("PRAGMA integrity_check")]
        dropped = []
        for table in before_rows:
            mapping = renames.get(table, {})
            kept = set(column_names(new, table))
            dropped += [
                {"table": table, "column": c}
                for c in column_names(old, table)
                if mapping.get(c, c) not in kept
            ]
    finally:
        old.close()
        new.close()
    ok = problems == ["ok"]
    verdict = "PASS" if ok and not shrunk and not dropped else "FAIL"
    details = {
        "verdict": verdict,
        "method": "fallback: integrity, row counts and column names only (no wfhist.verify)",
        "tables_with_fewer_rows": shrunk,
        "columns_dropped": dropped,
        "integrity": "ok" if ok else problems[:5],
    }
    summary = _loss_summary(details)
    if shrunk:
        summary += f"; tables lost rows: {shrunk}"
    return verdict, details, summary


def format_migrate(result: MigrateResult) -> str:
    """The lines ``wfhist migrate`` prints on success."""
    if result.up_to_date:
        lines = [f"{result.db}: up to date at version {result.to_version:03d}; nothing to do"]
    else:
        lines = [
            f"{result.db}: migrated {result.from_version:03d} → {result.to_version:03d} "
            f"(applied {_versions(result.applied)})"
        ]
        if result.baseline is not None:
            lines.append(f"  baseline recorded: {result.baseline:03d}")
        if result.backup:
            lines.append(f"  backup: {result.backup.path}")
        lines.append(f"  verification: {result.verdict}")
    lines += [f"  note: {n}" for n in result.notes]
    return "\n".join(lines)
