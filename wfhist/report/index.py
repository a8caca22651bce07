"""``wfhist report --all``: every analytics report of one database, and an index page.

The index links each report with its headline figures (from the report's JSON
sidecar) and its verdict, so one file answers "what do the reports say" and
leads to the detail. A report that failed is listed with its failure page.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

from wfhist.report.params import ANALYTICS_REPORTS, title_of
from wfhist.report.run import ReportResult, render_report


def render_all(
    db: Any, out_dir: str | os.PathLike[str], *, no_input: bool = True
) -> tuple[list[ReportResult], Path]:
    """Render every analytics report on ``db`` into ``out_dir`` and write ``index.html``."""
    results = [render_report(n, db, {}, out_dir, no_input) for n in ANALYTICS_REPORTS]
    index = Path(out_dir).expanduser().resolve() / "index.html"
    tmp = index.with_name(f".index.html.{os.getpid()}.tmp")
    tmp.write_text(index_html(results, Path(str(db)).name), encoding="utf-8")
    os.replace(tmp, index)
    return results, index


def _figures(result: ReportResult) -> dict[str, Any]:
    if result.json is None or not result.json.exists():
        return {}
    data = json.loads(result.json.read_text(encoding="utf-8"))
    return data.get("headline") or {} if isinstance(data, dict) else {}


def index_html(results: list[ReportResult], db_name: str) -> str:
    """The index page: one row per report with its headline figures and status."""
    rows = []
    for r in results:
        h = _figures(r)
        rate = h.get("success_rate")
        status = "FAILED to render" if r.failed_cell else (r.verdict or "rendered")
        cells = [
            f'<a href="{html.escape(r.html.name)}">{html.escape(title_of(r.name))}</a>',
            html.escape(status),
            f"{h.get('runs', '—')}",
            html.escape(
                f"{h.get('first_day') or '—'} – {h.get('last_day') or '—'} ({h.get('tz', '')})"
            ),
            "—" if rate is None else f"{rate:.1%}",
            "—" if not h else f"${h.get('cost_total', 0):,.2f}",
            "—" if h.get("cost_median") is None else f"${h['cost_median']:,.2f}",
        ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = ["report", "status", "runs", "dates", "success rate", "total cost", "median cost"]
    title = f"Reports on {html.escape(db_name)}"
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #d0d7de;padding:0.3em 0.7em;text-align:left}</style>"
        f"</head><body><h1>{title}</h1><table><thead><tr>"
        + "".join(f"<th>{h}</th>" for h in head)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></body></html>\n"
    )
