"""The report notebooks, their parameters, and the checks made before any kernel starts.

A mistyped zone, a date that is not one, a database that is not there (or not
SQLite, or without the history table), a ``status`` outside its closed set or
a ``model``/``template`` the data never mentions: each is one line and exit 2
within a second, instead of a kernel start, a traceback in a cell and a
half-made report. String values (as the command line gives them) are
converted to the parameter's annotated type; relative ``*_path`` values are
taken from the caller's working directory, since the kernel runs in the
notebooks' folder.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wfhist.exceptions import UsageError
from wfhist.resources import notebooks_dir

#: Where the report notebooks live (package data in a wheel, else a checkout's ``notebooks/``).
NOTEBOOK_DIR = notebooks_dir()
REPORTS = ("verify_migration", "temporal_analytics", "scoring_versions")
#: The reports ``wfhist report --all`` renders (the verification needs a backup or a migration).
ANALYTICS_REPORTS = ("temporal_analytics", "scoring_versions")

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@dataclass(frozen=True)
class Parameter:
    """One line of a notebook's ``parameters`` cell: ``name: type = default  # help``."""

    name: str
    type: str
    default: str
    help: str


@dataclass(frozen=True)
class ReportInfo:
    """A report notebook: its name, file, title, one-line description and parameters."""

    name: str
    path: Path
    title: str
    description: str
    parameters: dict[str, Parameter]


# --- the notebooks and their parameters -------------------------------------------------


def notebook_path(name: str) -> Path:
    """The notebook for report ``name`` (``.ipynb`` optional); a clear error otherwise."""
    stem = name.removesuffix(".ipynb")
    if stem not in REPORTS:
        raise UsageError(f"report {name!r} does not exist; reports are {', '.join(REPORTS)}")
    path = NOTEBOOK_DIR / f"{stem}.ipynb"
    if not path.is_file():
        raise UsageError(
            f"{path}: report notebook missing; the notebooks ship with the wfhist source "
            "checkout (run from a clone, installed with 'pip install -e .')"
        )
    return path


def _cells(path: Path) -> list[dict[str, Any]]:
    """A notebook's cells as ``cell_type``, ``source`` (one string) and ``tags``.

    Plain JSON: nbformat's import (jsonschema) alone costs over a second, and
    these reads happen before a bad parameter is refused.
    """
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [
        {
            "cell_type": c.get("cell_type"),
            "source": "".join(c.get("source") or [])
            if isinstance(c.get("source"), list)
            else str(c.get("source") or ""),
            "tags": list((c.get("metadata") or {}).get("tags") or []),
        }
        for c in nb.get("cells", [])
    ]


def report_parameters(name: str) -> dict[str, Parameter]:
    """The parameters cell of report ``name``: ``name: type = default  # help`` per line.

    Read with :mod:`ast` rather than ``papermill.inspect_notebook`` (which reads
    the same lines the same way; ``tests/test_notebooks.py`` checks they agree)
    because importing papermill takes seconds, and a mistyped parameter must be
    refused within about a second.
    """
    cell = next((c for c in _cells(notebook_path(name)) if "parameters" in c["tags"]), None)
    if cell is None:
        return {}
    source = cell["source"]
    lines = source.splitlines()
    out: dict[str, Parameter] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        line = lines[node.lineno - 1]
        default = ast.get_source_segment(source, node.value) if node.value else None
        out[node.target.id] = Parameter(
            name=node.target.id,
            type=ast.unparse(node.annotation),
            default=str(default),
            help=line[node.end_col_offset :].partition("#")[2].strip(),  # after the value
        )
    return out


def title_and_description(path: Path) -> tuple[str, str]:
    """The notebook's first heading, and the first sentence of prose under a heading."""
    title, body = path.stem, ""
    for cell in _cells(path):
        if cell["cell_type"] != "markdown" or not cell["source"].lstrip().startswith("#"):
            continue
        lines = [line.strip() for line in cell["source"].strip().splitlines()]
        if title == path.stem:
            title = lines[0].lstrip("#").strip()
        body = " ".join(line for line in lines[1:] if line).split(". ")[0]
        if body:
            break
    return title, (body.rstrip(".") + ".") if body else ""


def title_of(name: str) -> str:
    """The report's title: the first heading of its notebook (the HTML page's ``<title>``)."""
    return title_and_description(notebook_path(name))[0]


def list_reports() -> list[ReportInfo]:
    """Every report notebook with its title, description and parameters."""
    out = []
    for name in REPORTS:
        path = notebook_path(name)
        title, description = title_and_description(path)
        out.append(ReportInfo(name, path, title, description, report_parameters(name)))
    return out


def format_report_list(reports: list[ReportInfo]) -> str:
    """The ``wfhist report --list`` text: each report and its parameters with help."""
    lines = []
    for r in reports:
        lines += [f"{r.name} — {r.title}", f"  {r.description}"]
        for p in r.parameters.values():
            how = "--db PATH" if p.name == "db_path" else f"-p {p.name} VALUE"
            lines.append(f"  {how}  ({p.type}, default {p.default})")
            lines.append(f"      {p.help}")
        lines.append("")
    lines += [
        "usage: wfhist report NAME --db PATH [-p KEY VALUE ...] [--out DIR] [--stem STEM] "
        "[--no-input]",
        "json_path defaults to OUT/STEM.json; relative paths are taken from the current directory.",
    ]
    return "\n".join(lines)


# --- parameter values ----------------------------------------------------------------------


def coerce_parameter(param: Parameter, value: str) -> Any:
    """A command-line string as the parameter's annotated type.

    ``int``/``float`` parse numbers, ``bool`` takes true/false/yes/no/1/0,
    ``list``/``dict`` take JSON or a Python literal (a list also takes
    ``a,b,c``); ``str`` keeps the text as given, so ``-p status 1`` stays ``'1'``.
    """
    kind = param.type.split("[")[0].strip().lower()
    text = value.strip()
    where = f"parameter {param.name} ({param.type})"
    try:
        if kind == "str":
            return value
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            if text.lower() in _TRUE | _FALSE:
                return text.lower() in _TRUE
            raise ValueError(text)
        if kind in ("list", "dict"):
            parsed = _literal(text)
            if kind == "list" and not isinstance(parsed, list):
                parsed = [part.strip() for part in text.split(",") if part.strip()]
            if not isinstance(parsed, list | dict) or type(parsed).__name__ != kind:
                raise ValueError(text)
            return parsed
    except ValueError as exc:
        raise UsageError(f"{where}: cannot read {value!r} as {param.type}") from exc
    literal = _literal(text)
    return value if literal is _NOT_LITERAL else literal


_NOT_LITERAL = object()


def _literal(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return _NOT_LITERAL


def _absolute(value: Any) -> Any:
    """Paths relative to the caller's directory, made absolute (lists element-wise).

    Globs keep their pattern characters and DSNs stay untouched, so the reader's
    own expansion of ``db_path`` still applies inside the notebook.
    """
    if isinstance(value, list | tuple):
        return [_absolute(v) for v in value]
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip() or "://" in value:
        return value
    return os.path.abspath(os.path.expanduser(value))


def prepare_parameters(
    name: str, db: Any, params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Check and convert the parameters for report ``name``; ``db`` becomes ``db_path``."""
    known = report_parameters(name)
    given = dict(params or {})
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise UsageError(
            f"unknown parameter(s) {', '.join(unknown)} for report {name}; its parameters are "
            f"{', '.join(known)} (see 'wfhist report --list')"
        )
    if "db_path" in given:
        raise UsageError(f"report {name}: give the database with --db, not -p db_path")
    values = {
        k: coerce_parameter(known[k], v) if isinstance(v, str) else v for k, v in given.items()
    }
    if (
        str(values.get("backup_path") or "").strip()
        and str(values.get("migration_path") or "").strip()
    ):
        raise UsageError(
            "give backup_path (verify a done migration) or migration_path (dry run), not both"
        )
    values["db_path"] = db
    return {k: _absolute(v) if k.endswith("_path") else v for k, v in values.items()}


#: ``status`` values the service writes.
STATUSES = ("completed", "failed", "running", "pending")


def validate_values(name: str, values: Mapping[str, Any]) -> None:
    """Check a report's parameter values against their meaning and the data, before any kernel.

    Raises :class:`UsageError` (one line, exit 2) for the first bad value.
    """
    for key in ("tz", "source_tz"):
        if str(values.get(key) or "").strip():
            from wfhist.read import validate_tz  # DuckDB's zone list: imported only when needed

            validate_tz(str(values[key]), key)
    for key in ("since", "until"):
        text = str(values.get(key) or "").strip()
        if text:
            _check_date(key, text)
    status = str(values.get("status") or "").strip()
    if status and status not in STATUSES:
        raise UsageError(f"status={status!r} is not one of {', '.join(STATUSES)}")
    for key in ("min_runs", "bootstrap_samples"):
        if key in values and int(values[key]) < (1 if key == "min_runs" else 100):
            raise UsageError(f"{key}={values[key]!r} is too small (at least 1; samples 100)")
    if "confidence" in values and not 0 < float(values["confidence"]) < 1:
        raise UsageError(f"confidence={values['confidence']!r} must be between 0 and 1")
    db = values.get("db_path")
    if isinstance(db, str) and "://" not in db and not any(ch in db for ch in "*?["):
        _check_database(db, name, values)


def _check_date(key: str, text: str) -> None:
    from datetime import date, datetime

    try:
        (date.fromisoformat if len(text) == 10 else datetime.fromisoformat)(text)
    except ValueError as exc:
        raise UsageError(
            f"{key}={text!r} is not a date (YYYY-MM-DD) or an ISO instant (YYYY-MM-DDTHH:MM)"
        ) from exc


def _check_database(db: str, name: str, values: Mapping[str, Any]) -> None:
    """The file exists, is SQLite, has the history table, and knows ``model``/``template``."""
    from contextlib import closing

    from wfhist.files import open_readonly, validate_db_path
    from wfhist.schema import TABLE, quote_ident

    if Path(db).is_dir():
        return  # a Parquet export folder: the reader checks it
    validate_db_path(db)
    if name == "verify_migration":
        return  # a dry run or a backup comparison reads the file its own way
    with closing(open_readonly(db)) as con:
        found = con.execute(
            "SELECT 1 FROM sqlite_schema WHERE type IN ('table', 'view') AND name = ?", (TABLE,)
        ).fetchone()
        if not found:
            raise UsageError(f"{Path(db).name}: no table {TABLE}; is this a workflow history file?")
        for key, column in (("model", "model_used"), ("template", "workflow_template")):
            wanted = str(values.get(key) or "").strip()
            if not wanted:
                continue
            col = quote_ident(column)
            sql = f"SELECT 1 FROM {quote_ident(TABLE)} WHERE {col} = ? LIMIT 1"
            if con.execute(sql, (wanted,)).fetchone() is None:
                known = [
                    str(r[0])
                    for r in con.execute(
                        f"SELECT DISTINCT {col} FROM {quote_ident(TABLE)} "
                        f"WHERE {col} IS NOT NULL ORDER BY 1 LIMIT 12"
                    )
                ]
                raise UsageError(
                    f"{key}={wanted!r}: no run in {Path(db).name} has {column} = {wanted!r}; "
                    f"values there: {', '.join(known) or 'none'}"
                )
