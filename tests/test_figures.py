"""wfhist.figures: what a report reader sees -- escaped HTML pieces, heatmaps that tell
"no runs" from "too few runs", thin hours greyed, and figures that never leak into pyplot.

The figures drawn from real sample files inside the notebooks are tests/test_notebooks.py;
here each drawing rule is checked on a small table where the expected cells are known.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.colors import to_hex

from wfhist import figures
from wfhist.analytics.common import HOURS, WEEKDAYS

matplotlib.use("Agg")


def _grid(fill: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(fill, index=list(WEEKDAYS), columns=list(HOURS))


def _texts(fig: matplotlib.figure.Figure) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts]


def test_html_pieces_escape_what_they_show() -> None:
    banner = figures.verdict_banner("FAIL", "2 <b>columns</b> lost", ["t.a & t.b <script>"])
    assert "<b>" not in banner and "&lt;b&gt;columns&lt;/b&gt;" in banner
    assert "<script>" not in banner and "t.a &amp; t.b &lt;script&gt;" in banner
    assert 'data-verdict="FAIL"' in banner and figures.STATUS_COLORS["FAIL"] in banner
    unknown = figures.verdict_banner("MAYBE", "?")
    assert figures.STATUS_COLORS["FAIL"] in unknown  # an unknown verdict never looks green
    assert "&lt;x&gt;" in figures.note("<x>") and "&lt;x&gt;" in figures.heading("<x>", "s")
    assert figures.heading("") == ""  # an empty title adds nothing


def test_styled_tables_colour_verdicts_and_show_missing_values_as_a_dash() -> None:
    df = pd.DataFrame({"check": ["rows", "values"], "status": ["PASS", "FAIL"], "n": [1.0, None]})
    page = figures.styled(df, formats={"n": "{:.0f}"}).to_html()
    assert f"color:{figures.STATUS_COLORS['PASS']}" in page.replace(": ", ":")
    assert f"color:{figures.STATUS_COLORS['FAIL']}" in page.replace(": ", ":")
    assert "—" in page and "nan" not in page.lower()


def test_count_heatmap_annotates_runs_and_leaves_empty_cells_blank() -> None:
    counts = _grid()
    counts.loc["Mon", 0] = 3  # hour 0 on Monday stays hour 0 / Monday
    counts.loc["Sun", 23] = 12
    fig = figures.count_heatmap(counts, "Asia/Tokyo")
    assert sorted(_texts(fig)) == ["12", "3"]
    ax = fig.axes[0]
    assert "Asia/Tokyo" in ax.get_title() and "15 runs" in ax.get_title()
    assert "Asia/Tokyo" in ax.get_xlabel()
    assert ax.get_yticklabels()[0].get_text() == "Mon"  # Monday on top
    image = ax.get_images()[0].get_array()
    assert image.mask[0, 1] and not image.mask[0, 0]  # no runs: masked (white), not colour 0
    assert fig.axes[1].get_ylabel() == "runs"  # the colour bar says what colour means


def test_success_heatmap_tells_no_runs_from_too_few_runs() -> None:
    rate, runs = _grid(np.nan), _grid(0).astype(int)
    rate.loc["Tue", 9], runs.loc["Tue", 9] = 80.0, 10
    runs.loc["Wed", 10] = 2  # finished runs, but fewer than min_runs: no rate shown
    fig = figures.success_heatmap(rate, runs, "UTC", min_runs=5, overall=70.0)
    texts = _texts(fig)
    assert texts.count("80") == 1 and texts.count("n=2") == 1
    assert texts.count("·") == 7 * 24 - 2  # every cell without runs is marked as such
    assert "overall 70 %" in fig.axes[0].get_title()
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("fewer than 5" in t for t in legend) and any("no runs" in t for t in legend)


def test_by_hour_figure_greys_hours_with_too_few_runs() -> None:
    table = pd.DataFrame(
        {
            "median cost (USD)": [1.0] * 24,
            "runs with cost": [10] * 23 + [1],
            "median duration (min)": [np.nan] * 24,
            "completed with duration": [0] * 24,
        },
        index=list(HOURS),
    )
    fig = figures.by_hour_figure(table, "UTC", min_runs=3)
    cost_bars = fig.axes[0].patches
    assert to_hex(cost_bars[0].get_facecolor()) == figures.OKABE_ITO[0].lower()
    assert to_hex(cost_bars[23].get_facecolor()) == figures.MASKED_COLOR
    assert all(to_hex(b.get_facecolor()) == figures.MASKED_COLOR for b in fig.axes[1].patches)
    assert "n=1" in [t.get_text() for t in fig.axes[0].texts]


def test_figures_never_register_with_pyplot() -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    figures.count_heatmap(_grid(), "UTC")
    assert plt.get_fignums() == before  # a notebook cell shows the returned figure once
