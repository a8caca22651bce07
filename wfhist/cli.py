"""The ``wfhist`` command: a thin argparse layer over the library.

Each command is a pair: ``_add_<name>`` declares its arguments and
``_cmd_<name>`` calls one library function and prints its result. Expected
mistakes arrive as :class:`~wfhist.exceptions.WfhistError` and become one line on
stderr plus the error's exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from wfhist import __version__
from wfhist.cli_errors import last_resort, subject
from wfhist.exceptions import UsageError, WfhistError


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage mistakes as WfhistError (one line, exit 2)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=2, default=str))


def _print_result(result: object, as_json: bool) -> None:
    """A command's result: its JSON document (wfhist.serialize) or its text (wfhist.render)."""
    from wfhist.render import render
    from wfhist.serialize import to_json

    if as_json:
        _print_json(to_json(result))
    else:
        print(render(result))


# --- demo --------------------------------------------------------------------


def _add_demo(sub: argparse._SubParsersAction) -> None:
    from wfhist.schema import STATES

    p = sub.add_parser("demo", help="write a realistic sample database (the real file's shape)")
    p.add_argument("--rows", type=int, default=458, help="number of workflow runs (default 458)")
    p.add_argument("--seed", type=int, default=20251121, help="random seed (default 20251121)")
    p.add_argument("--out", default="demo/workflow_history.db", help="output SQLite file")
    p.add_argument(
        "--state",
        choices=STATES,
        default="pre-006",
        help="which state of the real file to write (default pre-006)",
    )
    p.add_argument("--wal", action="store_true", help="WAL journal mode (the real file: DELETE)")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from wfhist.demo import create_sample_db

    path = create_sample_db(
        args.out,
        rows=args.rows,
        seed=args.seed,
        state=args.state,
        wal=args.wal,
        force=args.force,
    )
    print(f"wrote {path} ({args.rows} rows, seed {args.seed}, state {args.state})")
    return 0


# --- summary -----------------------------------------------------------------


def _add_summary(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("summary", help="describe a history database (shape, mapping, counts)")
    p.add_argument(
        "db",
        nargs="+",
        help="SQLite file(s), glob(s) such as 'histories/*.db', or a postgresql:// DSN",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--tz", default="UTC", help="time zone for derived hours (default UTC)")
    p.add_argument(
        "--source-tz",
        default="America/Los_Angeles",
        help="zone of naive local timestamps in the file (default America/Los_Angeles)",
    )
    p.set_defaults(func=_cmd_summary)


def _cmd_summary(args: argparse.Namespace) -> int:
    from wfhist.read import format_summary, summarize

    info = summarize(args.db, tz=args.tz, source_tz=args.source_tz)  # several: one view
    if args.json:
        _print_json(info)
    else:
        print(format_summary(info))
    return 0


# --- migrate / status / backup / rollback ------------------------------------


def _progress(message: str) -> None:
    """Progress of long work goes to stderr, so stdout stays the result."""
    print(message, file=sys.stderr, flush=True)


def _add_migrate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "migrate", help="back up, apply pending migrations, verify; restore on data loss"
    )
    p.add_argument("db", help="SQLite file to migrate (the service may keep writing)")
    p.add_argument("--to", type=int, help="target version (needed for opt-in migrations, e.g. 8)")
    p.add_argument(
        "--baseline",
        type=int,
        metavar="N",
        help="adopt a file wfhist never migrated: a known shape plus extra columns, at version N",
    )
    p.add_argument("--migrations", help="migrations directory (default: wfhist's migrations/)")
    p.add_argument("--backup-dir", help="verified backup directory (default: <db dir>/backups/)")
    p.add_argument(
        "--max-lock-seconds",
        type=float,
        metavar="S",
        help="roll back if the write lock would be held longer (writers wait meanwhile)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON (migrate/1)")
    p.set_defaults(func=_cmd_migrate)


def _cmd_migrate(args: argparse.Namespace) -> int:
    from wfhist.migrate import MigrationFailed, migrate
    from wfhist.serialize import to_json

    if args.baseline is not None:
        from wfhist.adopt import record_baseline

        print(f"{args.db}: recorded {record_baseline(args.db, args.baseline)}")
    try:
        result = migrate(
            args.db,
            to=args.to,
            migrations_dir=args.migrations,
            backup_dir=args.backup_dir,
            max_lock_seconds=args.max_lock_seconds,
        )
    except MigrationFailed as exc:
        if args.json:  # the rolled-back run as a document too; the error line follows
            _print_json(to_json(exc.result))
        raise
    _print_result(result, args.json)
    return 0


def _add_status(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="current version, applied (checksums), pending migrations")
    p.add_argument("db", help="SQLite file (opened read-only)")
    p.add_argument("--migrations", help="migrations directory (default: wfhist's migrations/)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=_cmd_status)


def _cmd_status(args: argparse.Namespace) -> int:
    from wfhist.status import status

    result = status(args.db, migrations_dir=args.migrations)
    _print_result(result, args.json)
    return 0


def _add_backup(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backup", help="verified online backup (+ JSON manifest) of a live file")
    p.add_argument("db", help="SQLite file (opened read-only; writers may continue)")
    p.add_argument("--out", help="backup directory (default: <db dir>/backups)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=_cmd_backup)


def _cmd_backup(args: argparse.Namespace) -> int:
    from wfhist.backup import backup

    result = backup(args.db, args.out)
    _print_result(result, args.json)
    return 0


def _add_rollback(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rollback", help="restore a file from a wfhist backup (stop writers first)")
    p.add_argument("db", help="SQLite file to restore")
    p.add_argument("--backup", required=True, help="backup file made by 'wfhist backup/migrate'")
    p.add_argument("--json", action="store_true", help="print the result as JSON (rollback/1)")
    p.set_defaults(func=_cmd_rollback)


def _cmd_rollback(args: argparse.Namespace) -> int:
    from wfhist.rollback import rollback

    result = rollback(args.db, args.backup)
    _print_result(result, args.json)
    return 0


# --- verify / plan -------------------------------------------------------------


def _write_json(data: object, path: str) -> None:
    """``--json PATH`` writes the full result there; ``--json -`` prints it instead."""
    if path == "-":
        _print_json(data)
        return
    try:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, default=str)
    except OSError as exc:
        raise UsageError(
            f"--json {path}: cannot write ({exc.strerror}); pick another path"
        ) from exc


def _add_rename_and_json(p: argparse.ArgumentParser, rename_help: str) -> None:
    p.add_argument("--rename", action="append", default=[], metavar="OLD=NEW", help=rename_help)
    p.add_argument("--json", metavar="PATH", help="write the full result as JSON ('-': stdout)")


def _verdict_out(data: dict, text: str, json_path: str | None) -> int:
    """Write ``--json``, print the human report (unless JSON went to stdout); exit 0/1."""
    if json_path:
        _write_json(data, json_path)
    if json_path != "-":
        print(text)
    return 0 if data["verdict"] == "PASS" else 1


def _add_verify(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify", help="prove value by value that AFTER kept every value of BEFORE (read-only)"
    )
    p.add_argument("before", help="the reference file (e.g. the backup taken before migrating)")
    p.add_argument("after", help="the migrated file")
    _add_rename_and_json(p, "declare a column rename (OLD=NEW or TABLE.OLD=NEW); repeatable")
    p.add_argument(
        "--no-recorded-renames",
        action="store_true",
        help="ignore renames recorded in AFTER's wfhist_migrations (only --rename counts)",
    )
    p.add_argument("--table", action="append", metavar="T", help="compare only table T")
    p.add_argument(
        "--integrity",
        choices=["auto", "full", "quick"],
        default="auto",
        help="integrity_check (full), quick_check (quick), or full up to 512 MiB (auto)",
    )
    p.set_defaults(func=_cmd_verify)


def _cmd_verify(args: argparse.Namespace) -> int:
    from wfhist.render import render
    from wfhist.serialize import to_json
    from wfhist.verify import parse_renames, verify

    given = parse_renames(args.rename)
    # None: read the renames from AFTER's migration history
    renames = given if given or args.no_recorded_renames else None
    result = verify(
        args.before, args.after, renames=renames, tables=args.table, integrity=args.integrity
    )
    return _verdict_out(to_json(result), render(result), args.json)


def _add_plan(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan", help="dry-run a migration on a temporary copy and verify it (DB never written)"
    )
    p.add_argument("db", help="SQLite file (opened read-only; writers may continue)")
    p.add_argument("migration", help="SQL migration file")
    _add_rename_and_json(p, "declare a rename the script does not spell as RENAME COLUMN")
    p.add_argument("--workdir", help="directory for the temporary copies (default: system tmp)")
    p.add_argument(
        "--max-seconds",
        type=_seconds,
        default=600.0,
        metavar="S",
        help="stop a migration whose statements run longer (default 600; exit 1, nothing kept)",
    )
    p.add_argument(
        "--rewrite",
        metavar="SAFE.sql",
        help="when the migration loses data, write one with its intent that keeps every value "
        "(proven by its own dry run; never overwrites)",
    )
    p.set_defaults(func=_cmd_plan)


def _cmd_plan(args: argparse.Namespace) -> int:
    from pathlib import Path

    from wfhist.plan import plan_migration
    from wfhist.render import render
    from wfhist.serialize import to_json
    from wfhist.verify import parse_renames

    if args.rewrite and Path(args.rewrite).exists():
        raise UsageError(f"--rewrite {args.rewrite}: exists; give a new file name")
    result = plan_migration(
        args.db,
        args.migration,
        renames=parse_renames(args.rename),
        workdir=args.workdir,
        max_seconds=args.max_seconds,
    )
    code = _verdict_out(to_json(result), render(result), args.json)
    if code == 0 and args.rewrite:
        print(f"rewrite: not needed, {args.migration} passes as written; nothing written")
    if code == 0 or args.json == "-":
        return code
    from wfhist.rewrite import rebuilds, rewrite

    if args.rewrite:
        print(render(rewrite(args.db, args.migration, args.rewrite, workdir=args.workdir)))
    elif rebuilds(Path(args.migration).read_text(encoding="utf-8"), _table_names(args.db)):
        print(
            "hint: it rebuilds an existing table; "
            f"'wfhist plan {args.db} {args.migration} --rewrite SAFE.sql' writes a migration "
            "with the same intent that keeps every value"
        )
    return code


def _table_names(db: str) -> set[str]:
    from wfhist.files import open_readonly

    con = open_readonly(db)
    try:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    finally:
        con.close()


# --- export --------------------------------------------------------------------


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="write the mapped history as Hive-partitioned Parquet (year=/month=)"
    )
    p.add_argument(
        "source",
        nargs="+",
        help="SQLite file(s), glob(s) such as 'histories/*.db', or a postgresql:// DSN",
    )
    p.add_argument("--parquet", required=True, metavar="DIR", help="output folder (new or empty)")
    p.add_argument("--tz", default="UTC", help="zone of derived hours and partitions (default UTC)")
    p.add_argument(
        "--source-tz",
        default="America/Los_Angeles",
        help="zone of naive local timestamps in the file (default America/Los_Angeles)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an earlier export in DIR")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=_cmd_export)


def _cmd_export(args: argparse.Namespace) -> int:
    from wfhist.export import export_parquet

    result = export_parquet(
        args.source,
        args.parquet,
        tz=args.tz,
        source_tz=args.source_tz,
        overwrite=args.overwrite,
        progress=True,
    )
    if args.json:
        _print_json(result.to_dict())
    else:
        print(f"exported {result.rows} rows in {result.files} Parquet file(s) to {result.out_dir}")
    return 0


# --- report ------------------------------------------------------------------


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="run a report notebook (papermill) and write .ipynb, .html and .json"
    )
    p.add_argument(
        "name", nargs="?", help="verify_migration | temporal_analytics | scoring_versions"
    )
    p.add_argument("--db", help="history database the report reads (its db_path)")
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("KEY", "VALUE"),
        help="notebook parameter, converted to its annotated type (see --list); repeatable",
    )
    p.add_argument("--out", default="reports", help="output directory (default ./reports)")
    p.add_argument("--stem", help="base name of the output files (default: NAME)")
    p.add_argument("--no-input", action="store_true", help="hide the code in the HTML")
    p.add_argument("--list", action="store_true", help="list the reports and their parameters")
    p.add_argument("--json", action="store_true", help="print the result as JSON (report/1)")
    p.add_argument(
        "--all", action="store_true", help="render every analytics report and OUT/index.html"
    )
    p.set_defaults(func=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    from wfhist.report import format_report_list, list_reports, render_all, render_report

    if args.list:
        print(format_report_list(list_reports()))
        return 0
    if args.all:
        if not args.db or args.name:
            raise UsageError("wfhist report --all: give --db PATH (and --out DIR), no NAME")
        results, index = render_all(args.db, args.out, no_input=True)
        for r in results:
            print(f"html     {r.html}")
            if r.failed_cell:
                print(f"wfhist: report {r.name} failed at {r.failed_cell}", file=sys.stderr)
        print(f"index    {index}")
        return 0 if all(r.ok for r in results) else 1
    if not args.name or not args.db:
        raise UsageError("wfhist report: give NAME and --db PATH, or --list")
    result = render_report(
        args.name,
        args.db,
        dict(args.parameter),
        out_dir=args.out,
        no_input=args.no_input,
        stem=args.stem,
        progress_bar=sys.stderr.isatty(),
    )

    _print_result(result, args.json)
    if result.failed_cell:
        print(
            f"wfhist: report {result.name} failed at {result.failed_cell}; "
            f"previous report kept, failure page {result.html}",
            file=sys.stderr,
        )
    elif result.verdict == "FAIL":
        print(f"wfhist: report {result.name}: verdict FAIL", file=sys.stderr)
    return 0 if result.ok else 1


# --- entry point -------------------------------------------------------------

_COMMANDS = [
    _add_demo,
    _add_summary,
    _add_migrate,
    _add_status,
    _add_backup,
    _add_rollback,
    _add_verify,
    _add_plan,
    _add_export,
    _add_report,
]


def _seconds(text: str) -> float:
    """``--busy-timeout`` value: a finite number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds, 0 or more")
    return value


def _add_busy_timeout(p: argparse.ArgumentParser) -> None:
    """``--busy-timeout S`` on every command: main() sets :data:`wfhist.files.BUSY_TIMEOUT_S`."""
    from wfhist import files

    p.add_argument(
        "--busy-timeout",
        type=_seconds,
        default=None,
        metavar="S",
        help="seconds to wait for a lock held by another process "
        f"(default {files.BUSY_TIMEOUT_S:g}), then exit with one line naming it",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="wfhist",
        description="Read, migrate, back up and verify the workflow_history SQLite database.",
    )
    parser.add_argument("--version", action="version", version=f"wfhist {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in _COMMANDS:
        add(sub)
    for command in sub.choices.values():  # one definition, accepted after every command
        _add_busy_timeout(command)
    return parser


class _StderrHandler(logging.Handler):
    """Prints each progress record as one plain line on the current ``sys.stderr``."""

    def emit(self, record: logging.LogRecord) -> None:
        print(self.format(record), file=sys.stderr, flush=True)


def _install_progress_handler() -> None:
    """Show wfhist's INFO log records (progress of long work) on stderr; stdout stays the result."""
    logger = logging.getLogger("wfhist")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler())
    logger.setLevel(logging.INFO)


#: Commands that only read ``args.db``: main() waits for a lock on it before they start.
_READ_ONLY = ("status", "backup", "plan")


def _run(args: argparse.Namespace) -> int:
    """Run one command with its ``--busy-timeout``, restoring the default afterwards.

    ``main`` is also called in-process (tests, notebooks): the bound of one call
    must not leak into the next.
    """
    from wfhist import files

    default = files.BUSY_TIMEOUT_S
    if args.busy_timeout is not None:
        files.BUSY_TIMEOUT_S = args.busy_timeout
    try:
        _install_progress_handler()
        if args.command in _READ_ONLY and getattr(args, "db", None):
            # SQLite's own busy wait is silent and ignores Ctrl-C: wait here, saying so
            files.check_readable(files.validate_db_path(args.db))
        return int(args.func(args))
    finally:
        files.BUSY_TIMEOUT_S = default


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args: argparse.Namespace | None = None
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return _run(args)
    except WfhistError as exc:
        if os.environ.get("WFHIST_DEBUG") == "1":
            raise
        print(f"wfhist: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        if args is not None and args.command in ("migrate", "rollback"):  # they write the file
            done = "any unfinished transaction was rolled back; 'wfhist status DB' shows the state"
        else:
            done = "nothing was changed"
        print(f"wfhist: interrupted; {done}", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("WFHIST_DEBUG") == "1":
            raise
        err = last_resort(exc, subject(args) if args is not None else None)
        if err is None:
            raise
        print(f"wfhist: error: {err}", file=sys.stderr)
        return err.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
