"""Run a report notebook with papermill and leave a shareable, self-contained HTML.

``render_report("temporal_analytics", "history.db", {"tz": "Asia/Tokyo"})``
executes the notebook with those parameters in a kernel of the current
interpreter and leaves, under ``out_dir``, ``<stem>.ipynb`` (executed),
``<stem>.html`` (offline, images embedded, print-friendly) and ``<stem>.json``
(what the notebook found; its ``verdict`` decides the exit code).

A run is atomic: everything is written under temporary names and renamed into
place only when the notebook ran to its end, so a failed run never replaces
or deletes the last good report. A failed run leaves its own page beside it,
``<stem>.failed.html``, naming the cell that failed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wfhist.exceptions import UsageError
from wfhist.report.params import notebook_path, prepare_parameters, title_of, validate_values

log = logging.getLogger("wfhist.report")

DEFAULT_OUT_DIR = "reports"
#: The kernel papermill starts: ``python3`` is ipykernel's own spec, which
#: jupyter_client runs with this process's interpreter (``sys.executable``).
DEFAULT_KERNEL = "python3"

# The lab template minus everything it would fetch from a CDN.
_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style>
@media print {
  .jp-OutputArea-output, .jp-RenderedHTMLCommon, pre, table { overflow: visible !important;
    max-height: none !important; }
  .jp-RenderedHTMLCommon table { font-size: 8pt; }
  details > summary { list-style: none; }
  details:not([open]) > *:not(summary) { display: block !important; }
  img { max-width: 100% !important; page-break-inside: avoid; }
}
</style>
<script>window.addEventListener("beforeprint",
  () => document.querySelectorAll("details").forEach(d => d.open = true));</script>
{%- endblock extra_css -%}
"""


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
    """Execute report ``name`` on ``db``; swap in ``<stem>.ipynb/.html/.json`` only on success.

    Parameters are checked (:func:`~wfhist.report.params.prepare_parameters`)
    before a kernel starts. ``ok`` is False when a cell failed (then only
    ``<stem>.failed.html`` is written and the previous report is untouched) or
    when the recorded verdict is FAIL (the report itself is complete).
    """
    started = time.perf_counter()
    src = notebook_path(name)
    name = src.stem
    stem = stem or name
    if not re.fullmatch(r"[\w.-]+", stem):
        raise UsageError(f"stem {stem!r}: use letters, digits, '.', '-' or '_' only")
    values = prepare_parameters(name, db, params)
    validate_values(name, values)  # before any kernel starts: a bad value is one line, exit 2
    out = Path(out_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    final = {ext: out / f"{stem}{ext}" for ext in (".ipynb", ".html", ".json")}
    tag = f".{stem}.{os.getpid()}.tmp"
    temp = {ext: out / f"{tag}{ext}" for ext in final}
    own_json = not str(values.get("json_path") or "").strip()
    if own_json:
        values["json_path"] = str(temp[".json"])
    title = str(values.get("title") or "").strip() or title_of(name)
    try:
        failure = _execute(src, temp[".ipynb"], values, kernel_name, progress_bar)
        failed_cell = (describe_failed_cell(temp[".ipynb"]) or failure) if failure else None
        if failed_cell:
            failed = out / f"{stem}.failed.html"
            notebook_to_html(temp[".ipynb"], failed, no_input=no_input, title=f"FAILED: {title}")
            log.info("report %s failed at %s; previous report kept", name, failed_cell)
            return ReportResult(
                name,
                failed,
                failed,
                None,
                False,
                failed_cell,
                None,
                round(time.perf_counter() - started, 2),
                values,
            )
        notebook_to_html(temp[".ipynb"], temp[".html"], no_input=no_input, title=title)
        sidecar = temp[".json"] if own_json else Path(values["json_path"])
        verdict = _verdict(sidecar)
        for ext in (".ipynb", ".html", ".json"):  # the JSON last: it says the set is complete
            if (ext != ".json" or own_json) and temp[ext].exists():
                os.replace(temp[ext], final[ext])
        (out / f"{stem}.failed.html").unlink(missing_ok=True)
    finally:
        for path in temp.values():
            path.unlink(missing_ok=True)
    json_final = final[".json"] if own_json else Path(values["json_path"])
    return ReportResult(
        name=name,
        ipynb=final[".ipynb"],
        html=final[".html"],
        json=json_final if json_final.exists() else None,
        ok=verdict != "FAIL",
        failed_cell=None,
        verdict=verdict,
        seconds=round(time.perf_counter() - started, 2),
        parameters=values,
    )


def _execute(
    src: Path, target: Path, values: dict[str, Any], kernel_name: str, progress_bar: bool
) -> str | None:
    """Run the notebook into ``target``; the error text when a cell failed, else None."""
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(src),
            str(target),
            parameters=values,
            kernel_name=kernel_name,
            progress_bar=progress_bar,
            log_output=False,
            cwd=str(src.parent),
            # ipykernel warns on every start that local TCP is unencrypted (Jupyter's
            # default); a report run would print it on each call.
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
        )
    except PapermillExecutionError as exc:
        return f"{exc.ename}: {exc.evalue}"
    except (DeadKernelError, CellTimeoutError) as exc:
        if not target.exists():
            raise
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


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


def _without_empty_sections(cells: list[Any]) -> list[Any]:
    """Drop each markdown section (``## ...``) whose code cells all have no output."""
    keep: list[Any] = []
    section: list[Any] = []

    def flush() -> None:
        codes = [c for c in section if c.cell_type == "code"]
        if not section[0].source.lstrip().startswith("## ") or any(c.outputs for c in codes):
            keep.extend(section)

    for cell in cells:
        if cell.cell_type == "markdown" and section:
            flush()
            section = []
        section.append(cell)
    if section:
        flush()
    return keep


def notebook_to_html(
    ipynb: str | os.PathLike[str],
    html: str | os.PathLike[str],
    *,
    no_input: bool = False,
    title: str | None = None,
) -> Path:
    """Convert an (executed) notebook to one offline HTML file, written atomically.

    ``title`` is the page title (default: the file name). Without code
    (``no_input``), a section whose cell showed nothing -- a chart skipped
    because no run was selected -- is left out with its heading, so an empty
    selection is a short page and not a row of headings over nothing.
    """
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = nbformat.read(ipynb, as_version=4)
    if no_input:
        nb.cells = _without_empty_sections(nb.cells)
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
