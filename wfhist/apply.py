"""Apply SQL and verify it inside one write transaction: the code ``migrate`` and ``plan`` share.

``migrate`` runs it on the live file and COMMITs on PASS/WARN; ``plan`` runs the
very same function on its snapshot copy and always ROLLs BACK. Because both go
through :func:`apply_verified` -- the same ``BEGIN IMMEDIATE``, the same
``before`` attach, the same :class:`wfhist.sqlscript.Sandbox` (with ``before``
read-only), the same :func:`wfhist.verify.verify_connection` call with the same
integrity mode -- the two agree on every verdict by construction, not by keeping
two copies of the logic in step.

How ``before`` is read: ``PRAGMA cache_spill=OFF`` keeps the changed pages in
memory, so in rollback-journal mode the database file holds the pre-transaction
bytes until COMMIT and ``before`` can be the file itself attached ``immutable``
(a ``mode=ro`` attach would hold a SHARED lock that makes our own COMMIT fail);
in WAL mode the uncommitted pages are invisible to a ``mode=ro`` attach anyway.

:class:`Guard` bounds the work: Ctrl-C and a deadline stop a running statement
through SQLite's progress handler (Python runs a SIGINT handler only between
bytecodes, never inside a long SQLite statement).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wfhist import files
from wfhist.exceptions import MigrationError, WfhistError
from wfhist.sqlscript import Sandbox, StatementError, run_statements
from wfhist.verify import Renames, VerifyResult, verify_connection

log = logging.getLogger("wfhist.apply")

#: Schema name of the pre-transaction state inside the transaction.
BEFORE = "before"
#: Integrity check of the verification (``plan`` and ``migrate`` use the same one).
INTEGRITY = "quick"


class Interrupted(WfhistError):
    """Ctrl-C stopped the work; whatever transaction was open is rolled back."""

    exit_code = 130


class Guard:
    """Stops the running statement on Ctrl-C or once ``max_seconds`` are spent.

    The deadline starts at the first :meth:`active` (``migrate``: when the write
    lock is taken; ``plan``: when the dry run starts) and is kept across later
    activations, so one bound covers everything guarded. ``over`` is the message
    raised (as :class:`MigrationError`, exit 1) when the time is spent.
    """

    def __init__(self, max_seconds: float | None, *, over: str) -> None:
        self.max_seconds = max_seconds
        self.over = over
        self.deadline: float | None = None
        self.interrupted = False

    def __call__(self) -> int:
        over = self.deadline is not None and time.monotonic() > self.deadline
        return 1 if self.interrupted or over else 0

    def _on_sigint(self, _signum: int, _frame: object) -> None:
        self.interrupted = True

    @contextlib.contextmanager
    def active(self, con: sqlite3.Connection) -> Iterator[None]:
        """Guard ``con``'s statements; Ctrl-C meanwhile is kept for :meth:`check`, never lost."""
        if self.max_seconds is not None and self.deadline is None:
            self.deadline = time.monotonic() + self.max_seconds
        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, self._on_sigint) if main_thread else None
        con.set_progress_handler(self, 10_000)
        try:
            yield
        finally:
            con.set_progress_handler(None, 0)
            if main_thread:
                signal.signal(signal.SIGINT, previous)

    def check(self, exc: BaseException | None = None) -> None:
        """Raise the right error when the guard stopped (or should stop) the work."""
        if self.interrupted:
            raise Interrupted("interrupted (Ctrl-C)") from exc
        if self.deadline is not None and (self() or _stopped_by_handler(exc)):
            raise MigrationError(self.over) from exc


def _stopped_by_handler(exc: BaseException | None) -> bool:
    """True when ``exc`` (or its cause) is SQLite's "interrupted" from the progress handler."""
    while exc is not None:
        if isinstance(exc, sqlite3.OperationalError) and str(exc) == "interrupted":
            return True
        exc = exc.__cause__
    return False


@dataclass(frozen=True)
class Step:
    """One script to run: a migration file or ``plan``'s file, as checked statements."""

    name: str  # for the progress log
    source: str  # the file, for error messages
    texts: list[str]


@dataclass
class ApplyOutcome:
    """What the transaction did; filled in as it goes, so it is right after an error too."""

    journal_mode: str = ""
    steps_done: int = 0
    failed_step: int | None = None  # index into the steps when a statement failed
    actions: list[tuple[str, str, str]] = field(default_factory=list)  # (stmt#, action, object)
    verification: VerifyResult | None = None
    committed: bool = False
    lock_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def begin(con: sqlite3.Connection, db: Path, wait: float, outcome: ApplyOutcome) -> None:
    """``cache_spill=OFF`` and ``BEGIN IMMEDIATE``; a held lock is one line after ``wait`` s."""
    outcome.journal_mode = str(con.execute("PRAGMA journal_mode").fetchone()[0]).lower()
    con.execute("PRAGMA cache_spill = OFF")
    try:
        files.execute_waiting(con, db, "BEGIN IMMEDIATE", "take the write lock", wait)
    except sqlite3.OperationalError as exc:
        raise files.explain_sqlite_error(db, exc) from exc


def attach_before(con: sqlite3.Connection, db: Path, journal_mode: str) -> None:
    """Attach ``db`` as it stood when the transaction began, as :data:`BEFORE` (see module doc)."""
    con.execute("SELECT count(*) FROM main.sqlite_schema").fetchone()  # recovers a hot journal
    query = "?mode=ro" if journal_mode == "wal" else "?immutable=1"
    con.execute(f"ATTACH DATABASE ? AS {BEFORE}", (db.as_uri() + query,))


def apply_verified(
    con: sqlite3.Connection,
    db: Path,
    steps: Sequence[Step],
    *,
    renames: Renames,
    guard: Guard,
    labels: tuple[str, str],
    commit: bool,
    wait: float,
    outcome: ApplyOutcome,
    who: str = "migrate",
    check: Callable[[sqlite3.Connection], None] | None = None,
    record: Callable[[int, int], None] | None = None,
) -> ApplyOutcome:
    """Run ``steps`` on ``con`` (a writer on ``db``) in one write transaction and verify them.

    ``BEGIN IMMEDIATE`` → attach ``before`` → ``check(con)`` (the caller's own
    look inside the lock) → each step under the sandbox, then ``record(index,
    duration_ms)`` → :func:`verify_connection` against ``before`` (``labels`` =
    before, after) → COMMIT when ``commit`` and the verdict is not FAIL, else
    ROLLBACK. Any error or Ctrl-C rolls back and is raised (a failing statement
    as :class:`StatementError`, with ``outcome.failed_step`` set); ``outcome``
    holds what happened either way.
    """
    begin(con, db, wait, outcome)
    locked_at = time.monotonic()
    try:
        with guard.active(con):  # Ctrl-C from here on is deferred to a check, never lost
            _in_transaction(con, db, steps, renames, guard, labels, outcome, who, check, record)
            con.set_progress_handler(None, 0)  # COMMIT and ROLLBACK are never interrupted
            assert outcome.verification is not None
            if commit and outcome.verification.verdict != "FAIL":
                _commit(con, db, wait)
                outcome.committed = True
            else:
                con.execute("ROLLBACK")
        if guard.interrupted and outcome.committed:
            outcome.notes.append("Ctrl-C came during COMMIT: the migration is committed")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        outcome.lock_seconds = round(time.monotonic() - locked_at, 3)
        log.info("%s: write lock held %.1f s", who, outcome.lock_seconds)
        with contextlib.suppress(sqlite3.Error):
            con.execute(f"DETACH DATABASE {BEFORE}")
    return outcome


def _in_transaction(
    con: sqlite3.Connection,
    db: Path,
    steps: Sequence[Step],
    renames: Renames,
    guard: Guard,
    labels: tuple[str, str],
    outcome: ApplyOutcome,
    who: str,
    check: Callable[[sqlite3.Connection], None] | None,
    record: Callable[[int, int], None] | None,
) -> None:
    """Attach ``before``, run and record every step, verify; no COMMIT here."""
    attach_before(con, db, outcome.journal_mode)
    if check is not None:
        check(con)
    for index, step in enumerate(steps):
        log.info("%s: applying %s", who, step.name)
        started = time.monotonic()

        def progress(n: int, text: str, step: Step = step) -> None:
            head = " ".join(text.split())[:70]
            log.info("%s: %s statement %d/%d: %s", who, step.name, n, len(step.texts), head)

        try:
            sandbox = run_statements(
                con,
                step.texts,
                source=step.source,
                sandbox=Sandbox(read_only=(BEFORE,)),
                on_statement=progress,
            )
        except StatementError as exc:
            guard.check(exc)
            outcome.failed_step = index
            outcome.actions += exc.actions
            raise
        guard.check()
        outcome.actions += sandbox.actions
        if record is not None:
            record(index, round((time.monotonic() - started) * 1000))
        outcome.steps_done = index + 1
    log.info("%s: verifying against the file as it was when the write lock was taken", who)
    try:
        outcome.verification = verify_connection(
            con,
            before=BEFORE,
            after="main",
            renames=renames,
            integrity=INTEGRITY,
            before_label=labels[0],
            after_label=labels[1],
        )
    except sqlite3.OperationalError as exc:
        guard.check(exc)
        raise
    guard.check()
    log.info("%s: verification %s", who, outcome.verification.verdict)


def _commit(con: sqlite3.Connection, db: Path, wait: float) -> None:
    """COMMIT; in rollback-journal mode this waits (bounded) for readers to finish."""
    try:
        con.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        if files.is_locked_error(exc):
            raise files.locked_error(db, wait, "commit (readers kept the file busy)") from exc
        raise files.explain_sqlite_error(db, exc) from exc
