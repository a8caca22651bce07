"""The ``wfhist`` command: a thin argparse layer over the library.

Each command is a pair: ``_add_<name>`` declares its arguments and
``_cmd_<name>`` calls one library function and prints its result. Expected
mistakes arrive as :class:`~wfhist.exceptions.WfhistError` and become one line on
stderr plus the error's exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from wfhist import __version__
from wfhist.exceptions import UsageError, WfhistError


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage mistakes as WfhistError (one line, exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=2, default=str))


# --- demo --------------------------------------------------------------------


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="write a realistic sample database (pre-006 schema)")
    p.add_argument("--rows", type=int, default=458, help="number of workflow runs (default 458)")
    p.add_argument("--seed", type=int, default=20251121, help="random seed (default 20251121)")
    p.add_argument("--out", default="demo/workflow_history.db", help="output SQLite file")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from wfhist.demo import create_sample_db

    path = create_sample_db(args.out, rows=args.rows, seed=args.seed, force=args.force)
    print(f"wrote {path} ({args.rows} rows, seed {args.seed})")
    return 0


# --- summary -----------------------------------------------------------------


def _add_summary(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("summary", help="describe a history database (shape, mapping, counts)")
    p.add_argument("db", help="SQLite file")
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

    info = summarize(args.db, tz=args.tz, source_tz=args.source_tz)
    if args.json:
        _print_json(info)
    else:
        print(format_summary(info))
    return 0


# --- entry point -------------------------------------------------------------

_COMMANDS = [_add_demo, _add_summary]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="wfhist",
        description="Read, migrate, back up and verify the workflow_history SQLite database.",
    )
    parser.add_argument("--version", action="version", version=f"wfhist {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args))
    except WfhistError as exc:
        print(f"wfhist: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("wfhist: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
