"""Report notebooks run by papermill into shareable, self-contained HTML.

* :mod:`~wfhist.report.params` -- the notebooks, their parameters, and the
  checks made before a kernel starts;
* :mod:`~wfhist.report.run` -- one atomic run (``render_report``);
* :mod:`~wfhist.report.index` -- ``--all``: the analytics reports and an index.
"""

from wfhist.report.index import index_html, render_all
from wfhist.report.params import (
    ANALYTICS_REPORTS,
    NOTEBOOK_DIR,
    REPORTS,
    STATUSES,
    Parameter,
    ReportInfo,
    coerce_parameter,
    format_report_list,
    list_reports,
    notebook_path,
    prepare_parameters,
    report_parameters,
    title_of,
    validate_values,
)
from wfhist.report.run import (
    DEFAULT_KERNEL,
    DEFAULT_OUT_DIR,
    ReportResult,
    describe_failed_cell,
    notebook_to_html,
    render_report,
)

__all__ = [
    "ANALYTICS_REPORTS",
    "DEFAULT_KERNEL",
    "DEFAULT_OUT_DIR",
    "NOTEBOOK_DIR",
    "REPORTS",
    "STATUSES",
    "Parameter",
    "ReportInfo",
    "ReportResult",
    "coerce_parameter",
    "describe_failed_cell",
    "format_report_list",
    "index_html",
    "list_reports",
    "notebook_path",
    "notebook_to_html",
    "prepare_parameters",
    "render_all",
    "render_report",
    "report_parameters",
    "title_of",
    "validate_values",
]
