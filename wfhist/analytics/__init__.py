"""The numbers behind the report notebooks, one module per report.

Notebooks hold narrative, tables and figures; everything they compute comes
from here, so it is tested like any other code and a notebook cell stays one
readable line:

* :mod:`~wfhist.analytics.common` -- parameters, JSON sidecars, headline figures;
* :mod:`~wfhist.analytics.verification` -- a verify/plan result as the tables
  a reader scans;
* :mod:`~wfhist.analytics.dryrun` -- a dry run's statements and runner outcomes;
* :mod:`~wfhist.analytics.temporal` -- runs by weekday x hour, success rates,
  cost and duration by hour, runs per day (aggregated in DuckDB);
* :mod:`~wfhist.analytics.scoring` -- scoring versions compared honestly
  (placeholders, overlapping periods, populations).
"""

from wfhist.analytics import common, dryrun, scoring, temporal, verification
from wfhist.analytics.common import (
    FINISHED,
    HOURS,
    WEEKDAYS,
    Headline,
    filter_text,
    headline,
    optional,
    parse_list,
    snapshot_time,
    source_table,
    write_json,
)

__all__ = [
    "FINISHED",
    "HOURS",
    "WEEKDAYS",
    "Headline",
    "common",
    "dryrun",
    "filter_text",
    "headline",
    "optional",
    "parse_list",
    "scoring",
    "snapshot_time",
    "source_table",
    "temporal",
    "verification",
    "write_json",
]
