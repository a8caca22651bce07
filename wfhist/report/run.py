"""Run a report notebook with papermill and leave a shareable, self-contained HTML.

``render_report("temporal_analytics", "history.db", {"tz": "Asia/Tokyo"})``
executes ``notebooks/temporal_analytics.ipynb`` with those parameters in a
kernel of the *current* interpreter and writes, under ``out_dir``:

* ``<stem>.ipynb`` -- the executed notebook (papermill injects the parameters
  in a cell after the one tagged ``parameters``);
* ``<stem>.html`` -- nbconvert's lab template, images embedded as data URIs and
  the template's CDN scripts (require.js, MathJax, mermaid) left out, so it
  opens offline and can be mailed around; ``no_input`` hides the code;
* ``<stem>.json`` -- what the notebook found (verification result or key
  figures), written by the notebook itself through its ``json_path`` parameter.

A cell that fails -- including the verification notebook's last cell, which
raises on a FAIL verdict after everything is rendered -- still leaves all three
files; the result says which cell failed, and ``ok`` is False.

Parameters are checked against the notebook's ``parameters`` cell before
anything runs: an unknown name is an error listing the known ones, and a
string value (as the command line gives) is converted to the parameter's
annotated type. Relative paths in ``db_path`` and ``*_path`` parameters are
taken relative to the caller's working directory, since the kernel runs in the
notebooks' folder (where the notebooks' own defaults, ``../demo/...``, resolve).
"""

from __future__ import annotations

import ast
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wfhist.exceptions import UsageError
from wfhist.resources import notebooks_dir

#: Where the report notebooks live (package data in a wheel, else a checkout's ``notebooks/``).
NOTEBOOK_DIR = notebooks_dir()
REPORTS = ("verify_migration", "temporal_analytics", "scoring_versions")
DEFAULT_OUT_DIR = "reports"
#: The kernel papermill starts: ``python3`` is ipykernel's own spec, which
#: jupyter_client runs with this process's interpreter (``sys.executable``).
DEFAULT_KERNEL = "python3"

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}

# The lab template minus everything it would fetch from a CDN.
_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


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


@dataclass
class ReportResult:
    """What :func:`render_report` wrote and whether the notebook ran to its end."""

    name: str
    ipynb: Path
    html: Path
    json: Path | None
    ok: bool
    failed_cell: str | None = None
    verdict: str | None = None
    seconds: float = 0.0
    parameters: dict[str, Any] = field(default_factory=dict)


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


def report_parameters(name: str) -> dict[str, Parameter]:
    """The parameters cell of report ``name``, as papermill reads it (``--help-notebook``)."""
    import papermill

    found = papermill.inspect_notebook(str(notebook_path(name)))
    return {
        k: Parameter(
            name=k,
            type=str(v.get("inferred_type_name") or "None"),
            default=str(v.get("default")),
            help=str(v.get("help") or ""),
        )
        for k, v in found.items()
    }


def _title_and_description(path: Path) -> tuple[str, str]:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("#"):
            lines = [line.strip() for line in cell.source.strip().splitlines()]
            title = lines[0].lstrip("#").strip()
            body = " ".join(line for line in lines[1:] if line).split(". ")[0]
            return title, body.rstrip(".") + "."
    return path.stem, ""


def list_reports() -> list[ReportInfo]:
    """Every report notebook with its title, description and parameters."""
    out = []
    for name in REPORTS:
        path = notebook_path(name)
        title, description = _title_and_description(path)
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


# --- running ---------------------------------------------------------------------------------


def render_report(
    name: str,
    db: Any,
    params: Mapping[str, Any] | None = None,
    out_dir: str | os.PathLike[str] = DEFAULT_OUT_DIR,
    no_input: bool = False,
    *,
    stem: str | None = None,
    progress_bar: bool = False,
    kernel_name: str = DEFAULT_KERNEL,
) -> ReportResult:
    """Execute report ``name`` on ``db`` and write ``<stem>.ipynb``, ``.html``, ``.json``.

    ``db`` is passed to the notebook's ``db_path`` as given (a path, or whatever
    :func:`wfhist.connect` accepts). Files are written under temporary names and
    renamed into place; a JSON left by an earlier run of the same stem is
    removed first, so the JSON present afterwards is this run's.
    """
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    started = time.perf_counter()
    src = notebook_path(name)
    name = src.stem
    stem = stem or name
    if not re.fullmatch(r"[\w.-]+", stem):
        raise UsageError(f"stem {stem!r}: use letters, digits, '.', '-' or '_' only")
    values = prepare_parameters(name, db, params)
    out = Path(out_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    ipynb, html, sidecar = (out / f"{stem}{ext}" for ext in (".ipynb", ".html", ".json"))
    values.setdefault("json_path", str(sidecar))
    json_target = Path(values["json_path"]) if values["json_path"] else None
    if json_target is not None:
        json_target.unlink(missing_ok=True)

    tmp = out / f".{stem}.{os.getpid()}.ipynb"
    failure: str | None = None
    try:
        papermill.execute_notebook(
            str(src),
            str(tmp),
            parameters=values,
            kernel_name=kernel_name,
            progress_bar=progress_bar,
            log_output=False,
            cwd=str(src.parent),
            # ipykernel warns on every start that local TCP is unencrypted (Jupyter's
            # default); a report run would print it on each call.
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    except PapermillExecutionError as exc:
        failure = f"{exc.ename}: {exc.evalue}"
    except (DeadKernelError, CellTimeoutError) as exc:
        if not tmp.exists():
            raise
        failure = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    os.replace(tmp, ipynb)

    failed_cell = describe_failed_cell(ipynb) if failure else None
    if failure and failed_cell is None:
        failed_cell = failure
    notebook_to_html(ipynb, html, no_input=no_input, title=str(values.get("title") or stem))
    verdict = _verdict(json_target)
    return ReportResult(
        name=name,
        ipynb=ipynb,
        html=html,
        json=json_target if json_target is not None and json_target.exists() else None,
        ok=failure is None and verdict != "FAIL",
        failed_cell=failed_cell,
        verdict=verdict,
        seconds=round(time.perf_counter() - started, 2),
        parameters=values,
    )


def _verdict(path: Path | None) -> str | None:
    if path is None or not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("verdict") if isinstance(data, dict) else None


def describe_failed_cell(path: str | os.PathLike[str]) -> str | None:
    """The first cell with an error output: index, ``In [n]``, its section and the error."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    section = None
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            heading = next(
                (line for line in cell.source.splitlines() if line.startswith("#")), None
            )
            if heading and "papermill-error-cell" not in cell.source:
                section = heading.lstrip("#").strip()
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                where = f"cell {index} (In [{cell.get('execution_count')}]"
                where += f', section "{section}")' if section else ")"
                return f"{where}: {output.get('ename')}: {output.get('evalue')}"
    return None


def notebook_to_html(
    ipynb: str | os.PathLike[str],
    html: str | os.PathLike[str],
    *,
    no_input: bool = False,
    title: str | None = None,
) -> Path:
    """Convert an (executed) notebook to one offline HTML file, written atomically.

    ``title`` is the page title (default: the file name).
    """
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = nbformat.read(ipynb, as_version=4)
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"wfhist_offline.html.j2": _OFFLINE_TEMPLATE})],
        template_file="wfhist_offline.html.j2",
        exclude_input=no_input,
        exclude_input_prompt=no_input,
        exclude_output_prompt=no_input,
        embed_images=True,
    )
    target = Path(html)
    body, _ = exporter.from_notebook_node(
        nb, resources={"metadata": {"name": title or target.stem}}
    )
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(body, encoding="utf-8")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
