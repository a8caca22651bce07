"""The one module that turns results into text for people.

Each result type has one renderer, registered in :data:`RENDERERS`. Adding a
result kind (plan, migrate, backup, rollback, report) is one function here and
one line in the registry; :func:`render` finds it by the result's type, so the
CLI, notebooks and other modules never format a result themselves.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

from wfhist.backup import BackupResult
from wfhist.migrations import MigrateResult
from wfhist.rollback import RollbackResult
from wfhist.verify.result import VerifyResult

Renderer = Callable[..., str]


def render_verify(result: VerifyResult, *, width: int = 100, max_lines: int = 4) -> str:
    """A short table: one row per check (details wrapped, at most ``max_lines``), the verdict."""
    b, a = result.before, result.after
    lines = [
        f"BEFORE {b.get('path')}  [{b.get('schema_state', '?')}, {b.get('journal_mode', '?')}, "
        f"user_version {b.get('user_version', '?')}]",
        f"AFTER  {a.get('path')}  [{a.get('schema_state', '?')}, {a.get('journal_mode', '?')}, "
        f"user_version {a.get('user_version', '?')}]",
        "",
        f"{'check':<16} {'status':<6} detail",
    ]
    indent = " " * 24
    for c in result.checks:
        wrapped = textwrap.wrap(c.detail, width=max(width - len(indent), 40)) or [""]
        if len(wrapped) > max_lines:
            wrapped = [*wrapped[: max_lines - 1], wrapped[max_lines - 1] + " … (see --json)"]
        lines.append(f"{c.name:<16} {c.status:<6} {wrapped[0]}")
        lines += [indent + w for w in wrapped[1:]]
    lines += ["", f"verdict: {result.verdict}  ({result.seconds:.2f} s)"]
    return "\n".join(lines)


def render_losses(result: VerifyResult) -> str:
    """One line naming what failed, every column that would have been lost included.

    What ``migrate`` says when verification FAILs inside its transaction.
    """
    parts = [
        f"{c.name}: {c.detail}"
        for c in result.checks
        if c.status == "FAIL" and c.name != "columns_dropped"
    ]
    if result.columns_dropped:
        names = ", ".join(
            f"{d['table']}.{d['column']}"
            + (f" ({d['non_null']} non-NULL)" if d.get("non_null") is not None else "")
            for d in result.columns_dropped
        )
        parts.append(f"{len(result.columns_dropped)} columns would have been lost: {names}")
    return "; ".join(parts) or "no check failed"


def _versions(versions: list[int]) -> str:
    return ", ".join(f"{v:03d}" for v in versions)


def render_migrate(result: MigrateResult) -> str:
    """The lines ``wfhist migrate`` prints on success (a failure is one error line)."""
    if result.up_to_date:
        lines = [f"{result.db}: up to date at version {result.to_version:03d}; nothing to do"]
    else:
        lines = [
            f"{result.db}: migrated {result.from_version:03d} → {result.to_version:03d} "
            f"(applied {_versions(result.applied)}, one transaction)"
        ]
        if result.baseline is not None:
            lines.append(f"  baseline recorded: {result.baseline:03d}")
        if result.backup:
            lines.append(f"  backup: {result.backup.path}")
        lines.append(f"  verification: {result.verdict} (before COMMIT)")
        if result.lock_seconds is not None:
            lines.append(
                f"  write lock held {result.lock_seconds:.1f} s "
                f"(journal mode {result.journal_mode}); the service's writes waited"
            )
    lines += [f"  note: {n}" for n in result.notes]
    return "\n".join(lines)


def render_backup(result: BackupResult) -> str:
    """What ``wfhist backup`` prints: the file, what proved it, its manifest, notes."""
    total = sum(result.rows.values())
    lines = [
        f"backup {result.path} verified ({total} rows, sha256 {result.sha256})",
        f"  proof: {result.proof}",
        f"manifest {result.manifest_path}",
    ]
    lines += [f"  note: {n}" for n in result.notes]
    return "\n".join(lines)


def render_rollback(result: RollbackResult) -> str:
    """What ``wfhist rollback`` prints: what was restored, where the old content is kept."""
    lines = [
        f"restored {result.db} from {result.backup} ({result.proof})",
        f"previous content kept in {result.kept_aside}",
    ]
    lines += [f"  note: {n}" for n in result.notes]
    return "\n".join(lines)


#: Result type -> renderer (keyword options such as ``width`` are passed through).
RENDERERS: dict[type, Renderer] = {
    VerifyResult: render_verify,
    MigrateResult: render_migrate,
    BackupResult: render_backup,
    RollbackResult: render_rollback,
}


def render(result: Any, **options: Any) -> str:
    """The text of any registered result (a subclass uses its base's renderer)."""
    for cls in type(result).__mro__:
        renderer = RENDERERS.get(cls)
        if renderer is not None:
            return renderer(result, **options)
    raise TypeError(f"no renderer for {type(result).__name__}: add one to wfhist.render.RENDERERS")
