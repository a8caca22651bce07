"""How the report notebooks look: matplotlib figures and styled tables.

Every figure is a bare :class:`matplotlib.figure.Figure` (not a pyplot one), so
a notebook cell that returns it shows it exactly once and nothing leaks between
cells. Each has a title, axis labels with units, a labelled colour bar where
colour carries a number, and -- where runs are placed in time -- the time zone
in its title, because "3 p.m." means nothing without one.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from wfhist.analytics import HOURS, SCORE_RANGE, WEEKDAYS, _version_order, version_labels

#: Status colours shared by banner, tables and bar charts.
STATUS_COLORS = {"PASS": "#1a7f37", "WARN": "#9a6700", "FAIL": "#cf222e"}
RUN_STATUS_COLORS = {
    "completed": "#2da44e",
    "failed": "#cf222e",
    "running": "#0969da",
    "pending": "#8c959f",
}
MASKED_COLOR = "#d0d7de"


# --- HTML pieces --------------------------------------------------------------------------


def verdict_banner(verdict: str, text: str, detail: str = "") -> str:
    """A large coloured block with the verdict; ``id="wfhist-verdict"`` for checks."""
    color = STATUS_COLORS.get(verdict, STATUS_COLORS["FAIL"])
    sub = (
        '<div style="font-size:0.55em;font-weight:400;margin-top:0.4em">'
        f"{html.escape(detail)}</div>"
        if detail
        else ""
    )
    return (
        f'<div id="wfhist-verdict" class="wfhist-verdict" data-verdict="{html.escape(verdict)}" '
        f'style="background:{color};color:#fff;font-size:1.6em;font-weight:600;'
        'padding:0.8em 1em;border-radius:6px;margin:0.5em 0;line-height:1.3">'
        f"{html.escape(text)}{sub}</div>"
    )


def note(text: str, kind: str = "info") -> str:
    """A short coloured note (info / warn) for messages that replace an empty table or plot."""
    border = {"info": "#0969da", "warn": STATUS_COLORS["WARN"]}.get(kind, "#0969da")
    return (
        f'<div class="wfhist-note" style="border-left:4px solid {border};padding:0.4em 0.8em;'
        f'margin:0.4em 0;background:#f6f8fa">{html.escape(text)}</div>'
    )


def heading(title: str, subtitle: str = "") -> str:
    """The report's own title (a parameter, so not a markdown cell; may be empty) and a line."""
    sub = f'<p style="color:#57606a;margin-top:0">{html.escape(subtitle)}</p>' if subtitle else ""
    head = f'<h2 class="wfhist-title">{html.escape(title)}</h2>' if title else ""
    return head + sub


def _status_css(value: Any) -> str:
    color = STATUS_COLORS.get(str(value))
    return f"color:{color};font-weight:600" if color else ""


def styled(
    df: pd.DataFrame,
    *,
    status_columns: Sequence[str] = ("status", "verdict"),
    formats: Mapping[str, str] | None = None,
    caption: str | None = None,
    hide_index: bool = True,
) -> Any:
    """A compact pandas Styler: PASS/WARN/FAIL coloured, numbers formatted, left-aligned text."""
    styler = df.style
    cols = [c for c in status_columns if c in df.columns]
    if cols:
        styler = styler.map(_status_css, subset=cols)
    if formats:
        styler = styler.format({k: v for k, v in formats.items() if k in df.columns}, na_rep="—")
    else:
        styler = styler.format(na_rep="—")
    if hide_index:
        styler = styler.hide(axis="index")
    if caption:
        styler = styler.set_caption(caption)
    return styler.set_properties(**{"text-align": "left"}).set_table_styles(
        [
            {"selector": "caption", "props": "caption-side: top; font-weight: 600"},
            {"selector": "th", "props": "text-align: left"},
        ]
    )


def table_or_note(
    df: pd.DataFrame, empty: str, *, fold_over: int | None = None, summary: str = "", **kwargs: Any
) -> Any:
    """A styled table, or a one-line note saying why there is none (never an empty grid).

    A table longer than ``fold_over`` rows is folded into a ``<details>`` block
    titled ``summary``, so it does not bury the sections after it.
    """
    from IPython.display import HTML

    if df is None or df.empty:
        return HTML(note(empty))
    table = styled(df, **kwargs)
    if fold_over is not None and len(df) > fold_over:
        return HTML(details(f"{summary or 'Show the table'} ({len(df)} rows)", table.to_html()))
    return table


def details(summary: str, body_html: str, *, open_: bool = False) -> str:
    """A collapsible block, so long tables do not bury the report."""
    return (
        f"<details{' open' if open_ else ''}><summary>{html.escape(summary)}</summary>"
        f"{body_html}</details>"
    )


# --- temporal figures -----------------------------------------------------------------------


def _annotate(ax: Any, values: np.ndarray, fmt: str, *, skip_zero: bool) -> None:
    finite = values[np.isfinite(values)]
    top = finite.max() if finite.size else 0
    for (r, c), v in np.ndenumerate(values):
        if not np.isfinite(v) or (skip_zero and v == 0):
            continue
        color = "white" if top and v > 0.6 * top else "black"
        ax.text(c, r, format(v, fmt), ha="center", va="center", fontsize=7, color=color)


def _weekday_hour_axes(ax: Any, tz: str) -> None:
    ax.set_xticks(range(24), [str(h) for h in HOURS])
    ax.set_yticks(range(7), list(WEEKDAYS))
    ax.set_xlabel(f"hour of day (h, {tz})")
    ax.set_ylabel("weekday")


def count_heatmap(counts: pd.DataFrame, tz: str, *, subtitle: str = "") -> Figure:
    """Runs per weekday (Monday on top) and hour, every non-empty cell annotated."""
    fig = Figure(figsize=(12, 4.2), layout="constrained")
    ax = fig.add_subplot()
    values = counts.to_numpy(dtype=float)
    im = ax.imshow(values, aspect="auto", cmap="Blues", vmin=0)
    _annotate(ax, values, ".0f", skip_zero=True)
    _weekday_hour_axes(ax, tz)
    title = f"Runs by weekday and hour — {tz} ({int(values.sum())} runs)"
    ax.set_title(title + (f"\n{subtitle}" if subtitle else ""))
    fig.colorbar(im, ax=ax, label="runs", pad=0.01)
    return fig


def success_heatmap(
    rate: pd.DataFrame, runs: pd.DataFrame, tz: str, *, min_runs: int, subtitle: str = ""
) -> Figure:
    """Success rate (%) per weekday x hour; cells with < ``min_runs`` finished runs grey."""
    fig = Figure(figsize=(12, 4.6), layout="constrained")
    ax = fig.add_subplot()
    values = rate.to_numpy(dtype=float)
    cmap = colormaps["RdYlGn"].with_extremes(bad=MASKED_COLOR)
    im = ax.imshow(np.ma.masked_invalid(values), aspect="auto", cmap=cmap, vmin=0, vmax=100)
    _annotate(ax, values, ".0f", skip_zero=False)
    _weekday_hour_axes(ax, tz)
    shown = int(np.isfinite(values).sum())
    ax.set_title(
        f"Success rate of finished runs by weekday and hour — {tz}"
        f" ({shown} cells with ≥ {min_runs} finished runs)" + (f"\n{subtitle}" if subtitle else "")
    )
    fig.colorbar(im, ax=ax, label="success rate (% of finished runs)", pad=0.01)
    thin = int(((runs.to_numpy() > 0) & ~np.isfinite(values)).sum())
    ax.legend(
        handles=[
            Patch(
                facecolor=MASKED_COLOR,
                edgecolor="#8c959f",
                label=f"fewer than {min_runs} finished runs (not 0 %): {thin} cells with runs",
            )
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14),
        frameon=False,
        fontsize=8,
    )
    return fig


def by_hour_figure(table: pd.DataFrame, tz: str) -> Figure:
    """Median cost (USD) and median duration (minutes) per hour of day."""
    fig = Figure(figsize=(12, 5.5), layout="constrained")
    ax_cost, ax_dur = fig.subplots(2, 1, sharex=True)
    hours = np.array(HOURS)
    ax_cost.bar(hours, table["median cost (USD)"].to_numpy(dtype=float), color="#0969da")
    ax_cost.set_ylabel("median cost (USD)")
    ax_cost.set_title(f"Median cost per run by hour — {tz} (runs with a cost > 0)")
    ax_dur.bar(hours, table["median duration (min)"].to_numpy(dtype=float), color="#8250df")
    ax_dur.set_ylabel("median duration (minutes)")
    ax_dur.set_title(f"Median duration of completed runs by hour — {tz}")
    ax_dur.set_xlabel(f"hour of day (h, {tz})")
    ax_dur.set_xticks(hours, [str(h) for h in hours])
    for ax in (ax_cost, ax_dur):
        ax.grid(axis="y", alpha=0.3)
    return fig


def _stacked_bars(
    table: pd.DataFrame,
    colors: Mapping[str, Any],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    legend: str,
    **bar: Any,
) -> Figure:
    """One bar per row of ``table`` (a date index), stacked by column, with a legend."""
    fig = Figure(figsize=(12, 4), layout="constrained")
    ax = fig.add_subplot()
    bottom = np.zeros(len(table))
    for column in table.columns:
        values = table[column].to_numpy(dtype=float)
        ax.bar(table.index, values, bottom=bottom, label=column, color=colors[column], **bar)
        bottom += values
    ax.set_title(title.format(total=int(bottom.sum())))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(title=legend, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.autofmt_xdate()
    return fig


def runs_per_day_figure(daily: pd.DataFrame, tz: str) -> Figure:
    """Stacked bars: runs per calendar day, coloured by status."""
    return _stacked_bars(
        daily,
        {s: RUN_STATUS_COLORS.get(s, "#6e7781") for s in daily.columns},
        title=f"Runs per day — {tz} ({{total}} runs)",
        xlabel=f"day ({tz})",
        ylabel="runs per day",
        legend="status",
        width=0.85,
    )


# --- scoring figures ------------------------------------------------------------------------


def versions_over_time_figure(weekly: pd.DataFrame, tz: str) -> Figure:
    """Stacked bars: runs per week (Monday start) by scoring version."""
    return _stacked_bars(
        weekly,
        _version_colors(weekly.columns),
        title=f"Runs per week by scoring version — weeks start Monday, {tz} ({{total}} runs)",
        xlabel=f"week starting ({tz})",
        ylabel="runs per week",
        legend="scoring_version",
        width=6,
        align="edge",
    )


def _version_colors(versions: Any) -> dict[str, Any]:
    palette = colormaps["tab10"]
    return {v: palette(i % 10) for i, v in enumerate(versions)}


def score_distribution_figure(df: pd.DataFrame, columns: Sequence[str]) -> Figure:
    """One box plot per score, one box per version (valid 0-100 values; n under each box)."""
    labels = version_labels(df)
    versions = _version_order(labels)
    colors = _version_colors(versions)
    ncols = min(2, len(columns))
    nrows = int(np.ceil(len(columns) / ncols))
    fig = Figure(figsize=(12, 3.6 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, column in zip(axes, columns, strict=False):
        values = pd.to_numeric(df[column], errors="coerce").astype(float)
        data = [values[(labels == v) & values.between(*SCORE_RANGE)].to_numpy() for v in versions]
        box = ax.boxplot(
            [d if len(d) else [np.nan] for d in data],
            tick_labels=[f"{v}\n(n={len(d)})" for v, d in zip(versions, data, strict=True)],
            patch_artist=True,
            widths=0.5,
        )
        for patch, v in zip(box["boxes"], versions, strict=True):
            patch.set_facecolor(colors[v])
            patch.set_alpha(0.6)
        ax.set_title(column)
        ax.set_ylabel("score (points, 0–100)")
        ax.set_xlabel("scoring_version")
        ax.set_ylim(-5, 105)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[len(columns) :]:
        ax.set_visible(False)
    fig.suptitle("Score distributions per scoring version (valid scores only)")
    return fig


def median_shift_figure(shifts: pd.DataFrame, baseline_version: str, level: float) -> Figure:
    """Median shift of each score vs the baseline with its bootstrap CI, one row per pair."""
    fig = Figure(figsize=(10, 0.6 * len(shifts) + 1.8), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(shifts))[::-1]
    shift = shifts["shift"].to_numpy(dtype=float)
    low = shift - shifts["ci low"].to_numpy(dtype=float)
    high = shifts["ci high"].to_numpy(dtype=float) - shift
    for yi, x, lo, hi, sig in zip(y, shift, low, high, shifts["significant"], strict=True):
        color = STATUS_COLORS["FAIL"] if sig else "#57606a"
        ax.errorbar([x], [yi], xerr=[[lo], [hi]], fmt="o", color=color, capsize=4, lw=1.5)
    ax.axvline(0, color="#8c959f", lw=1, ls="--")
    ax.set_yticks(
        y, [f"{s} — {v}" for s, v in zip(shifts["score"], shifts["version"], strict=True)]
    )
    ax.set_xlabel(f"shift of median vs scoring_version {baseline_version} (score points)")
    ax.set_ylabel("score — scoring_version")
    ax.set_title(
        f"Median shift vs {baseline_version} with {level:.0%} bootstrap confidence intervals"
        " (red: interval excludes 0)"
    )
    ax.grid(axis="x", alpha=0.3)
    return fig
