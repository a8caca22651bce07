"""The migration files and a database's record of them: discovery, checksums, history.

A migration is a numbered SQL file (``NNN_description.sql``). This module finds
them, checks them before anything runs (names, duplicate numbers, transaction
control) and reads what a database says it has applied (``wfhist_migrations``),
so that :mod:`wfhist.status` (read-only) and :mod:`wfhist.migrate` (the runner)
agree on where a file stands.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wfhist import resources
from wfhist.exceptions import MigrationError, SchemaError, UsageError
from wfhist.model import MIGRATIONS_TABLE
from wfhist.schema import TABLE, check_schema, classify_columns
from wfhist.sqlscript import check_script, read_script, renames_in_sql
from wfhist.sqltokens import COMMENT, tokens

if TYPE_CHECKING:  # only for annotations: this module stays light (status, render use it)
    from wfhist.backup import BackupResult
    from wfhist.verify import VerifyResult

HISTORY_DDL = f"""CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (
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
    # post-006 + phase_number, is_multi_phase + the partial 005's day_of_week (wfhist.adopt)
    "2025-11-27": (6, "006-equivalent baseline: the 2025-11-27 file (005 partially applied)"),
}

_FILE_NAME = re.compile(r"^(?P<version>\d+)_(?P<slug>[A-Za-z0-9][\w\-]*)\.sql$")
_OPT_IN = re.compile(r"--\s*wfhist-opt-in:\s*(?P<reason>.*)")


def default_migrations_dir() -> Path:
    """The migrations shipped with wfhist (package data, or ``<checkout>/migrations``)."""
    return resources.migrations_dir()


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


def resolve_migrations_dir(migrations_dir: str | Path | None) -> Path:
    """``migrations_dir``, or the shipped one, as an existing directory."""
    path = Path(migrations_dir) if migrations_dir is not None else default_migrations_dir()
    if not path.is_dir():
        raise UsageError(f"{path}: migrations directory not found; pass --migrations DIR")
    return path


def discover(migrations_dir: str | Path | None = None) -> list[Migration]:
    """The migration files of a directory, by version, checked before anything runs.

    A ``.sql`` file must be named ``NNN_description.sql``; two files may not
    share a number; every file passes :func:`wfhist.sqlscript.check_script`
    (no transaction control, ``VACUUM``, ``ATTACH``, refused pragmas or writes to
    ``wfhist_migrations``), the guard ``plan`` applies too.
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
        check_script(sql, str(path))  # the same guard as plan: nothing runs otherwise
        opt_in = _opt_in(sql)
        found[version] = Migration(
            version=version,
            path=path,
            sql=sql,
            sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            opt_in=opt_in,
        )
    return [found[v] for v in sorted(found)]


def _opt_in(sql: str) -> str | None:
    """The reason of a ``-- wfhist-opt-in: …`` line comment, read as SQLite tokenizes the
    script: the same words inside a string literal or a ``/* */`` comment are not a marker."""
    for tok in tokens(sql):
        m = _OPT_IN.fullmatch(tok.text.rstrip()) if tok.kind == COMMENT else None
        if m:
            return m.group("reason").strip()
    return None


def read_history(con: sqlite3.Connection) -> list[Applied] | None:
    """The runner's records, or None when the file has never been migrated by wfhist."""
    exists = con.execute(
        "SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = ?", (MIGRATIONS_TABLE,)
    ).fetchone()
    if not exists:
        return None
    rows = con.execute(
        "SELECT version, name, sha256, applied_at, duration_ms, wfhist_version, kind, renames "
        f"FROM main.{MIGRATIONS_TABLE} ORDER BY version"
    ).fetchall()
    return [Applied(*r) for r in rows]


def baseline_for(db: Path, names: list[str]) -> tuple[int, str]:
    """The baseline a never-migrated file gets from its shape, or a refusal listing differences."""
    shape = classify_columns(names)
    if shape in BASELINES:
        return BASELINES[shape]
    if shape == "renamed":
        raise SchemaError(
            f"{db}: temporal columns are already renamed but the file has no {MIGRATIONS_TABLE}; "
            "it was changed by hand, so wfhist cannot tell which migrations it has"
        )
    check_schema(db)  # raises SchemaError listing missing and extra columns
    raise SchemaError(f"{db}: {TABLE} has a shape wfhist does not know")  # pragma: no cover


@dataclass
class MigrateResult:
    """What ``wfhist migrate`` did: backup, versions applied, verification, how long writers waited.

    Defined here, not in :mod:`wfhist.migrate`, so that :mod:`wfhist.render` can
    render it without importing the runner.
    """

    db: Path
    from_version: int
    to_version: int
    applied: list[int] = field(default_factory=list)
    baseline: int | None = None
    backup: BackupResult | None = None
    verdict: str | None = None  # PASS / WARN / FAIL / None when nothing ran
    verification: VerifyResult | None = None
    lock_seconds: float | None = None  # how long the service's writers had to wait
    journal_mode: str | None = None
    committed: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return not self.applied and self.verdict is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "db": str(self.db),
            "from_version": self.from_version,
            "to_version": self.to_version,
            "applied": self.applied,
            "baseline": self.baseline,
            "backup": self.backup.to_dict() if self.backup else None,
            "verdict": self.verdict,
            "verification": self.verification.to_dict() if self.verification else None,
            "lock_seconds": self.lock_seconds,
            "journal_mode": self.journal_mode,
            "committed": self.committed,
            "notes": self.notes,
        }
