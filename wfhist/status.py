"""Where a database stands, whatever state it is in, and the exact command that moves it on.

``wfhist status`` is a report: it exits 0 for any readable file. It says

* the file's state: one the real file has been in (``pre-006``, ``post-006``,
  ``2025-11-27``, ``renamed``), or the nearest of them and precisely how the file
  differs (columns, indexes, tables, views, triggers missing or extra);
* which migration looks partially applied (the historic 005, from its traces:
  columns it added, indexes it dropped or created, its rebuild not run);
* the service's own ``schema_migrations`` records beside wfhist's version,
  applied migrations (checksums) and pending ones;
* what the running service's code version means for this file (from commit
  87423d6 on it writes ``hour_of_day``/``day_of_week`` and silently drops them on
  a file without those columns);
* the way forward, as commands to copy.

Read-only: the file is opened with ``mode=ro`` and never written.
"""

from __future__ import annotations

import shlex
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wfhist import adopt
from wfhist.exceptions import SchemaError
from wfhist.files import explain_sqlite_error, open_readonly
from wfhist.migrations import (
    Applied,
    Migration,
    baseline_for,
    discover,
    read_history,
    resolve_migrations_dir,
)
from wfhist.model import MIGRATIONS_TABLE, read_database
from wfhist.schema import (
    EXPECTED_BY_STATE,
    INDEXES_BY_STATE,
    OTHER_INDEXES,
    STATES,
    TABLE,
    TEMPORAL_RENAMES,
    TRIGGERS,
    VIEWS,
    classify_columns,
    column_names,
    other_tables,
)

#: The service's commit 87423d6 (2025-11-21 10:05, host's local time): from then on it writes
#: hour_of_day/day_of_week itself and drops them on a file without those columns.
SERVICE_CODE_CUTOFF = "2025-11-21T10:05"
#: The version each known state stands at, for ``--baseline``.
STATE_VERSION = {"pre-006": 5, "post-006": 6, "2025-11-27": 6, "renamed": 8}
#: wfhist's own objects (not part of any state of the service's file).
_OWN = {MIGRATIONS_TABLE, "schema_version", "sqlite_sequence"}
#: Indexes the historic 005 creates (its statements 11-19) that no earlier state has.
_INDEXES_005 = ("idx_hour_of_day", "idx_day_of_week", "idx_workflow_type", "idx_started_at")
_KINDS = ("columns", "indexes", "tables", "views", "triggers")


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
    shape: str  # a state of schema.STATES by its columns, or "unknown"
    recorded: bool  # False: no wfhist_migrations yet; the baseline is what it would record
    migrations: list[MigrationStatus] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    nearest: str = ""  # the known state the file is (or is closest to)
    differences: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    partial: list[str] = field(default_factory=list)
    service_migrations: list[dict[str, Any]] = field(default_factory=list)
    service_code: list[str] = field(default_factory=list)
    way_forward: list[str] = field(default_factory=list)

    @property
    def pending(self) -> list[MigrationStatus]:
        return [m for m in self.migrations if m.state == "pending"]

    @property
    def known(self) -> bool:
        """The file is exactly one of the known states (columns and every other object)."""
        return self.shape != "unknown" and not any(
            d["missing"] or d["extra"] for d in self.differences.values()
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "db": str(self.db),
            "migrations_dir": str(self.migrations_dir),
            "current_version": self.current_version,
            "user_version": self.user_version,
            "shape": self.shape,
            "known": self.known,
            "nearest": self.nearest,
            "differences": self.differences,
            "partial": self.partial,
            "recorded": self.recorded,
            "migrations": [m.to_dict() for m in self.migrations],
            "service_migrations": self.service_migrations,
            "service_code": self.service_code,
            "way_forward": self.way_forward,
            "notes": self.notes,
        }


# --- what the file holds -------------------------------------------------------------------


@dataclass
class _Objects:
    columns: list[str]
    indexes: set[str]  # named indexes of every table (SQLite's automatic ones left out)
    tables: set[str]
    views: set[str]
    triggers: set[str]


def _objects(con: sqlite3.Connection) -> _Objects:
    """The file's objects, from the one schema model (:func:`wfhist.model.read_database`)."""
    model = read_database(con)
    tables = {n for n in model.tables if n not in _OWN}
    return _Objects(
        columns=column_names(con),
        indexes={
            i.name
            for n in tables
            for i in model.tables[n].indexes
            if i.origin == "c"  # CREATE INDEX; SQLite's automatic ones are the constraints'
        },
        tables=tables,
        views={n for n in model.views if n not in _OWN},
        triggers=set(model.triggers),
    )


def _expected(state: str) -> _Objects:
    others = other_tables(state)
    return _Objects(
        columns=EXPECTED_BY_STATE[state],
        indexes={i.name for i in INDEXES_BY_STATE[state]}
        | {i.name for t in others for i in OTHER_INDEXES.get(t, ())},
        tables={TABLE, *others},
        views=set(VIEWS),
        triggers=set(TRIGGERS),
    )


def _differences(have: _Objects, state: str) -> dict[str, dict[str, list[str]]]:
    want = _expected(state)
    out = {}
    for kind in _KINDS:
        h, w = getattr(have, kind), getattr(want, kind)
        order = list(h) if isinstance(h, list) else sorted(h)
        wanted = list(w) if isinstance(w, list) else sorted(w)
        out[kind] = {
            "missing": [n for n in wanted if n not in set(h)],
            "extra": [n for n in order if n not in set(w)],
        }
    return out


def _nearest(have: _Objects) -> tuple[str, dict[str, dict[str, list[str]]]]:
    """The known state with the fewest differences (columns count ten times: they hold data)."""

    def cost(diff: dict[str, dict[str, list[str]]]) -> int:
        return sum(
            (10 if kind == "columns" else 1) * (len(d["missing"]) + len(d["extra"]))
            for kind, d in diff.items()
        )

    diffs = {state: _differences(have, state) for state in STATES}
    best = min(STATES, key=lambda s: cost(diffs[s]))
    return best, diffs[best]


def partial_005(have: _Objects) -> list[str]:
    """The traces of a partially applied 005 (empty when there are none)."""
    stored = [s for s in TEMPORAL_RENAMES if s in have.columns]
    if not stored:
        return []
    added = [c for s, c in TEMPORAL_RENAMES.items() if s in have.columns and c in have.columns]
    dropped = [f"idx_{s}" for s in stored if f"idx_{s}" not in have.indexes]
    created = [i for i in _INDEXES_005 if i in have.indexes]
    if not (added or created):
        return []  # a missing index alone is not 005's mark
    parts = [f"{'/'.join(added)} added"] if added else []
    parts += [f"{'/'.join(dropped)} dropped"] if dropped else []
    parts += [f"{'/'.join(created)} created"] if created else []
    if "id" in have.columns:
        parts.append("rebuild not run")
    return ["005 partially applied: " + ", ".join(parts)]


def _service_migrations(con: sqlite3.Connection) -> list[dict[str, Any]]:
    exists = con.execute(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not exists:
        return []
    cols = set(column_names(con, "schema_migrations"))
    if not {"migration_file", "applied_at"} <= cols:
        return []
    rows = con.execute(
        "SELECT migration_file, applied_at FROM schema_migrations ORDER BY rowid"
    ).fetchall()
    return [{"migration_file": f, "applied_at": a} for f, a in rows]


def service_code(con: sqlite3.Connection, names: list[str]) -> list[str]:
    """What the rows say about the service's code version (empty: nothing to say)."""
    have = set(names)
    if "hour_of_day" in have or "submission_hour" not in have:
        return []
    out = []
    if "day_of_week" in have and "submission_day_of_week" in have:
        only = con.execute(
            f"SELECT count(*), min(start_time) FROM {TABLE} "
            "WHERE day_of_week IS NOT NULL AND submission_day_of_week IS NULL"
        ).fetchone()
        out.append(
            "day_of_week exists without hour_of_day"
            + (
                f"; {only[0]} rows (from {only[1]}) store their weekday only there"
                if only[0]
                else ""
            )
            + ": the service runs code from commit 87423d6 on and drops every new row's hour "
            "on this file; apply 008 now"
        )
    if "start_time" in have and not out:
        recent, recent_hours, older_hours = con.execute(
            f"SELECT sum(start_time >= ?1), sum(start_time >= ?1 AND submission_hour IS NOT NULL), "
            f"sum(start_time < ?1 AND submission_hour IS NOT NULL) FROM {TABLE}",
            (SERVICE_CODE_CUTOFF,),
        ).fetchone()
        if recent and not recent_hours and older_hours:
            out.append(
                f"{recent} rows started from {SERVICE_CODE_CUTOFF} (commit 87423d6) have no "
                f"stored hour although {older_hours} older rows had one: if the service runs "
                "that code it drops hour_of_day/day_of_week on this file, and 008 is overdue"
            )
    return out


# --- status ----------------------------------------------------------------------------------


def status(db: str | Path, migrations_dir: str | Path | None = None) -> StatusResult:
    """Describe ``db``: state or nearest state and differences, history, service, way forward.

    Raises only when the file cannot be read (or is not a workflow history
    database); every shape, known or not, is described.
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
        migrations = adopt.with_repairs(db, con, migrations, None)
        have = _objects(con)
        service = _service_migrations(con)
        code = service_code(con, names)
        conflicts = [
            (s, c, adopt.conflicts(con, s, c)[0])
            for s, c in TEMPORAL_RENAMES.items()
            if s in names and c in names
        ]
    except sqlite3.Error as exc:
        raise explain_sqlite_error(db, exc) from exc
    finally:
        con.close()
    result = StatusResult(
        db=db,
        migrations_dir=resolve_migrations_dir(migrations_dir),
        current_version=None,
        user_version=user_version,
        shape=classify_columns(names),
        recorded=bool(history),
        service_migrations=service,
        service_code=code,
    )
    result.nearest, result.differences = _nearest(have)
    result.partial = partial_005(have)
    if (
        result.partial
        and service
        and not any(str(r["migration_file"]).startswith("005") for r in service)
    ):
        result.partial[0] += (
            " (not in the service's schema_migrations: its runner records a file only when "
            "every statement succeeded)"
        )
    result.notes += [
        f"{n} rows hold different values in {s} and {c}: the repair (--to 8) refuses until "
        "each row's value is decided"
        for s, c, n in conflicts
        if n
    ]
    _history_lines(result, names, history, migrations)
    result.way_forward = _way_forward(result)
    return result


def _history_lines(
    result: StatusResult,
    names: list[str],
    history: list[Applied] | None,
    migrations: list[Migration],
) -> None:
    """Fill ``result.migrations``: recorded rows (or the baseline a first migrate records)."""
    if not history:
        try:
            version, name = baseline_for(result.db, names)
        except SchemaError as exc:
            result.notes.append(f"no {MIGRATIONS_TABLE} and no baseline by shape: {exc}")
            return
        result.notes.append(
            f"no {MIGRATIONS_TABLE} yet: the first migrate records baseline {version:03d} ({name})"
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
    done = {r.version for r in history}
    baseline = min(r.version for r in history if r.kind == "baseline") if history else 0
    for m in migrations:
        if m.version in done or m.version <= baseline:
            continue
        state = "pending" if m.version > current else "skipped"
        result.migrations.append(MigrationStatus(m.version, m.name, state, "-", opt_in=m.opt_in))
    result.migrations.sort(key=lambda s: s.version)
    if result.recorded and result.user_version != current:
        result.notes.append(
            f"PRAGMA user_version is {result.user_version} but {MIGRATIONS_TABLE} says {current}: "
            "something else changed it"
        )


def _way_forward(result: StatusResult) -> list[str]:
    """The commands that move the file on, most urgent first."""
    db = shlex.quote(str(result.db))
    drifted = [m for m in result.migrations if m.checksum in ("changed", "missing")]
    if drifted:
        return [
            f"restore the applied text of {', '.join(m.name for m in drifted)} in "
            f"{result.migrations_dir} (wfhist refuses to migrate past edited migrations)"
        ]
    columns = result.differences.get("columns", {"missing": [], "extra": []})
    if not result.migrations:  # no history and no baseline by shape
        if columns["missing"]:
            return [
                f"cannot be adopted: {TABLE} lacks {', '.join(columns['missing'])} of the "
                f"nearest state ({result.nearest}); restore it from a backup "
                f"(wfhist rollback {db} --backup PATH)"
            ]
        version = STATE_VERSION[result.nearest]
        steps = [f"wfhist migrate {db} --baseline {version}"]
        if result.partial and version < adopt.REPAIR_VERSION:
            steps[0] += f" --to {adopt.REPAIR_VERSION}"
        return steps
    pending = result.pending
    overdue = bool(result.service_code) or bool(result.partial)
    opt_in = [m for m in pending if m.opt_in]
    plain = [m for m in pending if not m.opt_in and (not opt_in or m.version < opt_in[0].version)]
    out = []
    if opt_in and overdue:
        out.append(f"wfhist migrate {db} --to {opt_in[-1].version}")
    elif plain:
        out.append(f"wfhist migrate {db}")
    if opt_in and not overdue:
        out.append(
            f"wfhist migrate {db} --to {opt_in[-1].version}  (opt-in, once the service's code "
            "writes hour_of_day/day_of_week)"
        )
    return out or ["nothing to do: up to date"]
