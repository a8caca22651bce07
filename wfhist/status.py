"""Where a database stands: its version, applied migrations (checksums) and pending ones.

Read-only: ``wfhist status`` opens the file with ``mode=ro`` and never writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wfhist.exceptions import SchemaError
from wfhist.files import open_readonly
from wfhist.migrations import (
    HISTORY_TABLE,
    Applied,
    baseline_for,
    discover,
    read_history,
    resolve_migrations_dir,
)
from wfhist.schema import TABLE, classify_columns, column_names


@dataclass
class MigrationStatus:
    """One line of ``status``: a migration and where it stands in this file."""

    version: int
    name: str
    state: str  # baseline | applied | pending | skipped
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


def status(db: str | Path, migrations_dir: str | Path | None = None) -> StatusResult:
    """Current version, applied migrations with checksum ok/changed/missing, and pending ones.

    Read-only: the file is opened with ``mode=ro``.
    """
    migrations = discover(migrations_dir)
    con = open_readonly(db)
    db = Path(db).resolve()
    try:
        names = column_names(con)
        if not names:
            raise SchemaError(f"{db}: no table {TABLE!r}; is this a workflow history database?")
        user_version = con.execute("PRAGMA user_version").fetchone()[0]
        history = read_history(con)
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
        version, name = baseline_for(db, names)
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
