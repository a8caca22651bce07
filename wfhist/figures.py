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
from matplotlib.colors import TwoSlopeNorm
from matplotlib.dates import MO, DateFormatter, WeekdayLocator
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from wfhist.analytics.common import HOURS, WEEKDAYS, Headline

#: Status colours shared by banner, tables and bar charts.
STATUS_COLORS = {"PASS": "#1a7f37", "WARN": "#9a6700", "FAIL": "#cf222e"}
RUN_STATUS_COLORS = {
    "completed": "#0072B2",
    "failed": "#D55E00",
    "running": "#E69F00",
    "pending": "#999999",
}
#: "Too few runs to show a rate" (grey) and "no runs at all" (white, dotted) differ.
MASKED_COLOR = "#bdbdbd"
EMPTY_COLOR = "#ffffff"
#: Colour-blind-safe palettes (Okabe-Ito for categories, viridis/cividis for amounts).
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")


# --- HTML pieces --------------------------------------------------------------------------


def verdict_banner(verdict: str, text: str, detail: Sequence[str] = ()) -> str:
    """A large coloured block with the verdict and every finding in full, one per line."""
    color = STATUS_COLORS.get(verdict, STATUS_COLORS["FAIL"])
    sub = "".join(
        '<div style="font-size:0.55em;font-weight:400;margin-top:0.4em;'
        f'overflow-wrap:anywhere">{html.escape(line)}</div>'
        for line in detail
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


def headline_block(h: Headline) -> str:
    """The figures a reader looks for first, as one compact HTML block (``wfhist-headline``)."""
    rate = "—" if h.success_rate is None else f"{h.success_rate:.1%}"
    median = "—" if h.cost_median is None else f"${h.cost_median:,.2f}"
    placed = h.hours_stored + h.hours_derived + h.hours_missing
    stored = f"{h.hours_stored / placed:.0%}" if placed else "—"
    derived = f"{h.hours_derived / placed:.0%}" if placed else "—"
    days = f"{h.first_day} – {h.last_day}" if h.first_day else "no runs"
    items = [
        ("runs", f"{h.runs:,}"),
        (f"dates ({h.tz})", days),
        ("success rate", f"{rate} ({h.completed:,} of {h.completed + h.failed:,} finished)"),
        ("total cost", f"${h.cost_total:,.2f} ({h.runs_with_cost:,} priced runs)"),
        ("median cost per priced run", median),
        ("hour/weekday stored / derived", f"{stored} / {derived}"),
        ("data as of", f"{h.newest_run or '—'} ({h.tz}) — newest run; file read {h.read_at}"),
    ]
    cells = "".join(
        f'<div class="wfhist-figure"><div style="color:#57606a;font-size:0.8em">'
        f'{html.escape(k)}</div><div style="font-size:1.15em;font-weight:600">'
        f"{html.escape(v)}</div></div>"
        for k, v in items
    )
    return (
        '<div id="wfhist-headline" class="wfhist-headline" style="display:grid;'
        "grid-template-columns:repeat(auto-fit,minmax(14em,1fr));gap:0.6em 1.2em;"
        'padding:0.8em 1em;border:1px solid #d0d7de;border-radius:6px;margin:0.5em 0">'
        f"{cells}</div>"
    )


# --- temporal figures -----------------------------------------------------------------------


def _weekday_hour_axes(ax: Any, tz: str) -> None:
    ax.set_xticks(range(24), [str(h) for h in HOURS])
    ax.set_yticks(range(7), list(WEEKDAYS))
    ax.set_xlabel(f"hour of day (h, {tz})")
    ax.set_ylabel("weekday")


def _text_color(rgba: Any) -> str:
    r, g, b = rgba[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def count_heatmap(counts: pd.DataFrame, tz: str, *, subtitle: str = "") -> Figure:
    """Runs per weekday (Monday on top) and hour; cells without runs white, others annotated."""
    fig = Figure(figsize=(12, 4.2), layout="constrained")
    ax = fig.add_subplot()
    values = counts.to_numpy(dtype=float)
    cmap = colormaps["viridis_r"].with_extremes(bad=EMPTY_COLOR)
    top = max(float(values.max()), 1.0)
    im = ax.imshow(np.ma.masked_equal(values, 0), aspect="auto", cmap=cmap, vmin=0, vmax=top)
    for (r, c), v in np.ndenumerate(values):
        if v:
            color = _text_color(cmap(v / top))
            ax.text(c, r, f"{v:.0f}", ha="center", va="center", fontsize=7, color=color)
    _weekday_hour_axes(ax, tz)
    title = f"Runs by weekday and hour — {tz} ({int(values.sum())} runs; white: no runs)"
    ax.set_title(title + (f"\n{subtitle}" if subtitle else ""))
    bar = fig.colorbar(im, ax=ax, label="runs", pad=0.01)
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    return fig


def success_heatmap(
    rate: pd.DataFrame,
    runs: pd.DataFrame,
    tz: str,
    *,
    min_runs: int,
    overall: float | None,
    subtitle: str = "",
) -> Figure:
    """Success rate (%) per weekday x hour, centred on the overall rate ``overall`` (%).

    Cells with no finished run are white with a dot; cells with fewer than
    ``min_runs`` are grey and show their n, so "no runs" and "too few" differ.
    """
    fig = Figure(figsize=(12, 4.6), layout="constrained")
    ax = fig.add_subplot()
    values = rate.to_numpy(dtype=float)
    n = runs.to_numpy()
    centre = 50.0 if overall is None else min(max(overall, 0.5), 99.5)
    norm = TwoSlopeNorm(vcenter=centre, vmin=0, vmax=100)
    cmap = colormaps["PuOr"]
    shown = np.ma.masked_invalid(values)
    im = ax.imshow(shown, aspect="auto", cmap=cmap, norm=norm)
    grey = np.where((n > 0) & ~np.isfinite(values), 1.0, np.nan)
    ax.imshow(np.ma.masked_invalid(grey), aspect="auto", cmap="Greys", vmin=0, vmax=4)
    for (r, c), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(
                c,
                r,
                f"{v:.0f}",
                ha="center",
                va="center",
                fontsize=7,
                color=_text_color(cmap(norm(v))),
            )
        elif n[r, c] > 0:
            ax.text(c, r, f"n={n[r, c]}", ha="center", va="center", fontsize=6, color="black")
        else:
            ax.text(c, r, "·", ha="center", va="center", fontsize=8, color="#8c959f")
    _weekday_hour_axes(ax, tz)
    centred = f"centred on the overall {overall:.0f} %" if overall is not None else "no runs"
    ax.set_title(
        f"Success rate of finished runs by weekday and hour — {tz} ({centred})"
        + (f"\n{subtitle}" if subtitle else "")
    )
    fig.colorbar(im, ax=ax, label="success rate (% of finished runs)", pad=0.01)
    ax.legend(
        handles=[
            Patch(
                facecolor=MASKED_COLOR,
                edgecolor="#8c959f",
                label=f"grey with n: fewer than {min_runs} finished runs (too few for a rate)",
            ),
            Patch(facecolor=EMPTY_COLOR, edgecolor="#8c959f", label="white with a dot: no runs"),
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14),
        ncols=2,
        frameon=False,
        fontsize=8,
    )
    return fig


def by_hour_figure(table: pd.DataFrame, tz: str, *, min_runs: int) -> Figure:
    """Median cost (USD) and duration (minutes) per hour; n above each bar, thin hours grey."""
    fig = Figure(figsize=(12, 6), layout="constrained")
    ax_cost, ax_dur = fig.subplots(2, 1, sharex=True)
    hours = np.array(HOURS)
    panels = (
        (
            ax_cost,
            "median cost (USD)",
            "runs with cost",
            "median cost (USD)",
            OKABE_ITO[0],
            f"Median cost per priced run by hour — {tz}",
        ),
        (
            ax_dur,
            "median duration (min)",
            "completed with duration",
            "median duration (minutes)",
            OKABE_ITO[1],
            f"Median duration of completed runs by hour — {tz}",
        ),
    )
    for ax, column, count, label, color, title in panels:
        heights = table[column].to_numpy(dtype=float)
        ns = table[count].to_numpy()
        colors = [color if k >= min_runs else MASKED_COLOR for k in ns]
        ax.bar(hours, np.nan_to_num(heights), color=colors)
        for h, y, k in zip(hours, np.nan_to_num(heights), ns, strict=True):
            ax.text(h, y, f"n={k}", ha="center", va="bottom", fontsize=6)
        ax.set_ylabel(label)
        ax.set_title(f"{title} (grey: fewer than {min_runs} runs)")
        ax.grid(axis="y", alpha=0.3)
    ax_dur.set_xlabel(f"hour of day (h, {tz})")
    ax_dur.set_xticks(hours, [str(h) for h in hours])
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
    """One bar per row of ``table`` (dates), stacked by column; Monday ticks, whole counts."""
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
    ax.xaxis.set_major_locator(WeekdayLocator(byweekday=MO))
    ax.xaxis.set_major_formatter(DateFormatter("%a %Y-%m-%d"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(title=legend, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    for label in ax.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")
    return fig


def runs_per_day_figure(daily: pd.DataFrame, tz: str) -> Figure:
    """Stacked bars: runs per calendar day, coloured by status."""
    return _stacked_bars(
        daily,
        {s: RUN_STATUS_COLORS.get(s, "#666666") for s in daily.columns},
        title=f"Runs per day — {tz} ({{total}} runs; ticks on Mondays)",
        xlabel=f"day ({tz})",
        ylabel="runs per day",
        legend="status",
        width=0.85,
    )


# --- scoring figures ------------------------------------------------------------------------


def version_colors(versions: Sequence[str]) -> dict[str, Any]:
    """One Okabe-Ito colour per scoring version, in order."""
    return {v: OKABE_ITO[i % len(OKABE_ITO)] for i, v in enumerate(versions)}


def versions_over_time_figure(weekly: pd.DataFrame, tz: str) -> Figure:
    """Stacked bars: runs per week (Monday start) by scoring version."""
    return _stacked_bars(
        weekly,
        version_colors(list(weekly.columns)),
        title=f"Runs per week by scoring version — weeks start Monday, {tz} ({{total}} runs)",
        xlabel=f"week starting Monday ({tz})",
        ylabel="runs per week",
        legend="scoring_version",
        width=6,
        align="edge",
    )


def score_distribution_figure(summary: pd.DataFrame) -> Figure:
    """One box per score and version from precomputed quantiles (whiskers: 5th-95th pct)."""
    columns = list(dict.fromkeys(summary.index.get_level_values("score")))
    versions = list(dict.fromkeys(summary.index.get_level_values("version")))
    colors = version_colors(versions)
    ncols = min(2, len(columns))
    nrows = int(np.ceil(len(columns) / ncols))
    fig = Figure(figsize=(12, 3.6 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, column in zip(axes, columns, strict=False):
        part = summary.loc[column]
        stats = [
            {
                "label": f"{v}\n(n={int(r['valid'])})",
                "whislo": r["p5"],
                "q1": r["p25"],
                "med": r["median"],
                "q3": r["p75"],
                "whishi": r["p95"],
                "fliers": [],
            }
            for v, r in part.iterrows()
            if int(r["valid"])
        ]
        if stats:
            box = ax.bxp(stats, patch_artist=True, widths=0.5, showfliers=False)
            shown = [v for v, r in part.iterrows() if int(r["valid"])]
            for patch, v in zip(box["boxes"], shown, strict=True):
                patch.set_facecolor(colors[v])
                patch.set_alpha(0.7)
        else:
            ax.text(0.5, 0.5, "no valid score", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(column)
        ax.set_ylabel("score (points, 0–100)")
        ax.set_xlabel("scoring_version")
        ax.set_ylim(-5, 105)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[len(columns) :]:
        ax.set_visible(False)
    fig.suptitle(
        "Score distributions per scoring version (valid scores; box: quartiles, "
        "whiskers: 5th–95th percentile)"
    )
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
        color = OKABE_ITO[5] if sig else "#57606a"
        ax.errorbar([x], [yi], xerr=[[lo], [hi]], fmt="o", color=color, capsize=4, lw=1.5)
    ax.axvline(0, color="#8c959f", lw=1, ls="--")
    ax.set_yticks(
        y, [f"{s} — {v}" for s, v in zip(shifts["score"], shifts["version"], strict=True)]
    )
    ax.set_xlabel(f"shift of median vs scoring_version {baseline_version} (score points)")
    ax.set_ylabel("score — scoring_version")
    ax.set_title(
        f"Median shift vs {baseline_version} over the period both scored, with {level:.0%} "
        "bootstrap intervals (orange: interval excludes 0)"
    )
    ax.grid(axis="x", alpha=0.3)
    return fig
