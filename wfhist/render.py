"""The one module that turns results into text for people.

Each result type (verify, plan, migrate, backup, rollback, status, rewrite,
report) has one renderer, registered in :data:`RENDERERS`. Adding a result kind
is one function here and one line in the registry; :func:`render` finds it by
the result's type, so the CLI, notebooks and other modules never format a
result themselves.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable
from typing import Any

from wfhist.backup import BackupResult
from wfhist.migrations import MigrateResult
from wfhist.plan import DESTRUCTIVE, PlanResult
from wfhist.report.run import ReportResult
from wfhist.rewrite import RewriteResult
from wfhist.rollback import RollbackResult
from wfhist.status import StatusResult
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


def describe_changes(result: VerifyResult) -> list[str]:
    """What a verified state differs in, one short line per kind (empty when nothing)."""
    lines = []
    for t in (t for t, i in result.tables.items() if i.get("status") == "dropped"):
        lines.append(f"table {t} dropped ({result.tables[t]['rows_before']} rows)")
    missing = {t: i["rows_missing"] for t, i in result.tables.items() if i.get("rows_missing")}
    if missing:
        lines.append(
            "rows lost: "
            + ", ".join(f"{t} {n} of {result.tables[t]['rows_before']}" for t, n in missing.items())
        )
    if result.columns_dropped:
        with_values = [d for d in result.columns_dropped if d["non_null"]]
        lines.append(
            f"{len(result.columns_dropped)} columns dropped ({len(with_values)} holding values): "
            + _short(f"{d['table']}.{d['column']}" for d in result.columns_dropped)
        )
    if result.columns_added:
        lines.append(
            "columns added: " + _short(f"{a['table']}.{a['column']}" for a in result.columns_added)
        )
    if result.columns_renamed:
        lines.append(
            "columns renamed: "
            + _short(f"{r['table']}.{r['old']} -> {r['new']}" for r in result.columns_renamed)
        )
    changed = [v for v in result.values_changed if v["changed"]]
    if changed:
        lines.append(
            "values changed: "
            + _short(f"{v['table']}.{v['column']} {v['changed']}" for v in changed)
        )
    if result.indexes_dropped:
        lines.append("indexes dropped: " + _short(i["name"] for i in result.indexes_dropped))
    if result.indexes_added:
        lines.append("indexes added: " + _short(i["name"] for i in result.indexes_added))
    added_tables = [t for t, i in result.tables.items() if i.get("status") == "added"]
    if added_tables:
        lines.append("tables added: " + _short(added_tables))
    return lines


def _short(items: Iterable[str], limit: int = 8) -> str:
    shown = list(items)
    return ", ".join(shown[:limit]) + (
        f" (+{len(shown) - limit} more)" if len(shown) > limit else ""
    )


def _plan_error(result: PlanResult) -> list[str]:
    """The failing statement, then what a runner without a transaction would have left."""
    err = result.error or {}
    stmt = " ".join(str(err["statement"]).split())
    lines = [
        "",
        f"ERROR at statement {err['statement_number']} of {result.statements}: {err['message']}",
        f"  {stmt[:200]}{'…' if len(stmt) > 200 else ''}",
        "In one transaction (wfhist migrate) nothing is changed: it rolls back.",
    ]
    done = (err["statement_number"] or 1) - 1
    if result.partial is not None:
        lines.append(
            f"Without a transaction, statements 1-{done} would have stuck "
            f"(verdict of that state: {result.partial.verdict}):"
        )
        lines += [f"  {c}" for c in describe_changes(result.partial) or ["nothing"]]
    else:
        lines.append("The failing statement is the first: nothing would have stuck.")
    if result.keep_going:
        kg = result.keep_going
        lines.append(
            f"A runner that ignores errors ({len(kg['errors'])} failing statements) "
            f"would leave (verdict {kg['verification'].verdict}):"
        )
        lines += [f"  {c}" for c in describe_changes(kg["verification"]) or ["nothing"]]
    return lines


def render_plan(result: PlanResult, *, width: int = 100, max_lines: int = 4) -> str:
    """The dry run's report: what it drops or rewrites, error or verification, the verdict."""
    lines = [f"plan: {result.migration} ({result.statements} statements) on a copy of {result.db}"]
    destructive = [a for a in result.actions if a["action"] in DESTRUCTIVE]
    if destructive:
        lines.append(
            "drops/rewrites: "
            + _short((f"#{a['statement']} {a['action']} {a['object']}" for a in destructive), 10)
        )
    if result.error:
        lines += _plan_error(result)
    elif result.verification is not None:
        lines += ["", render_verify(result.verification, width=width, max_lines=max_lines)]
    lines += ["", f"plan verdict: {result.verdict}  ({result.seconds:.2f} s)"]
    return "\n".join(lines)


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


def render_rewrite(result: RewriteResult) -> str:
    """What ``plan --rewrite`` prints after the original's report."""
    lines = [f"rewrite: wrote {result.target} (its own dry run: {result.verdict})"]
    lines += [f"  does: {k}" for k in result.kept]
    lines += [f"  leaves out: {k}" for k in result.left_out]
    return "\n".join(lines)


def render_status(result: StatusResult) -> str:
    """The report ``wfhist status`` prints: state, versions, each migration, the way forward."""
    version = (
        f"{result.current_version:03d}" if result.current_version is not None else "none recorded"
    )
    state = (
        f"{result.nearest} (a known state)"
        if result.known
        else f"unknown; nearest known state {result.nearest}"
    )
    lines = [
        f"{result.db}",
        f"  state: {state}",
        f"  version: {version} (user_version {result.user_version}, shape {result.shape})",
    ]
    lines += [f"  {p}" for p in result.partial]
    if not result.known:
        for kind, diff in result.differences.items():
            for side in ("missing", "extra"):
                if diff[side]:
                    lines.append(f"  {side} {kind}: {', '.join(diff[side])}")
    if result.service_migrations:
        lines.append(
            "  service's schema_migrations: "
            + ", ".join(
                f"{r['migration_file']} ({r['applied_at']})" for r in result.service_migrations
            )
        )
    lines += [f"  service code: {s}" for s in result.service_code]
    lines.append(f"  migrations: {result.migrations_dir}")
    for m in result.migrations:
        extra = ", ".join(
            ([f"checksum {m.checksum}"] if m.state == "applied" else [])
            + ([f"applied {m.applied_at}"] if m.applied_at else [])
        )
        if m.opt_in and m.state == "pending":
            extra = f"opt-in, run with --to {m.version}: {m.opt_in}"
        lines.append(f"  {m.version:03d}  {m.state:<8} {m.name}  {extra}".rstrip())
    lines += [f"  note: {n}" for n in result.notes]
    lines += [f"  way forward: {w}" for w in result.way_forward]
    return "\n".join(lines)


def render_report_result(result: ReportResult) -> str:
    """The files ``wfhist report`` left (a failure's line goes to stderr, from the CLI)."""
    lines = [f"notebook {result.ipynb}", f"html     {result.html}"]
    if result.json:
        lines.append(f"json     {result.json}")
    return "\n".join(lines)


#: Result type -> renderer (keyword options such as ``width`` are passed through).
RENDERERS: dict[type, Renderer] = {
    VerifyResult: render_verify,
    MigrateResult: render_migrate,
    PlanResult: render_plan,
    BackupResult: render_backup,
    RollbackResult: render_rollback,
    RewriteResult: render_rewrite,
    StatusResult: render_status,
    ReportResult: render_report_result,
}


def render(result: Any, **options: Any) -> str:
    """The text of any registered result (a subclass uses its base's renderer)."""
    for cls in type(result).__mro__:
        renderer = RENDERERS.get(cls)
        if renderer is not None:
            return renderer(result, **options)
    raise TypeError(f"no renderer for {type(result).__name__}: add one to wfhist.render.RENDERERS")
