"""wfhist.analytics and wfhist.figures on real sample files, without a notebook kernel."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import FIXTURES
from matplotlib.figure import Figure
from reportruns import (
    MISSING_ID,
    OUT_OF_RANGE_ID,
    expected_heatmap,
    make_two_version_db,
    migrated_with_backup,
)

import wfhist
from wfhist import analytics as wa
from wfhist import figures as wf
from wfhist.demo import create_sample_db
from wfhist.exceptions import UsageError

ROWS = 200


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("analytics")
    pre = create_sample_db(base / "pre006.db", rows=ROWS)
    migrated, backup = migrated_with_backup(pre, base / "migrated.db", base / "backups")
    two = make_two_version_db(pre, base / "two.db", base / "backups-two")
    return {"pre": pre, "migrated": migrated, "backup": backup, "two": two}


@pytest.fixture(scope="module")
def tokyo(files: dict[str, Path]) -> pd.DataFrame:
    con = wfhist.connect(files["pre"], tz="Asia/Tokyo")
    try:
        return wfhist.load_history(con)
    finally:
        con.close()


# --- parameters and JSON -----------------------------------------------------------


def test_parse_renames() -> None:
    assert wa.parse_renames("") is None and wa.parse_renames(None) is None
    assert wa.parse_renames("a=b, c:d") == {"a": "b", "c": "d"}
    assert wa.parse_renames({"x": "y"}) == {"x": "y"}
    with pytest.raises(UsageError, match="OLD=NEW"):
        wa.parse_renames("a=b,oops")


def test_parse_list_and_optional() -> None:
    assert wa.parse_list(" a, b ,,c") == ["a", "b", "c"]
    assert wa.parse_list(["a", " b"]) == ["a", "b"]
    assert wa.optional("  ") is None and wa.optional("x") == "x" and wa.optional(0) == 0


def test_write_json_atomic_and_strict(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "k.json"
    assert wa.write_json({"a": float("nan"), "b": np.int64(3), "c": [np.float64(1.5)]}, target)
    assert json.loads(target.read_text()) == {"a": None, "b": 3, "c": [1.5]}
    assert wa.write_json({"a": 1}, "") is None
    assert [p.name for p in target.parent.iterdir()] == ["k.json"]


# --- temporal -----------------------------------------------------------------------


def test_heatmap_monday_first_and_equal_to_independent_derivation(
    files: dict[str, Path], tokyo: pd.DataFrame
) -> None:
    counts = wa.hour_weekday_counts(tokyo)
    assert list(counts.index) == list(wa.WEEKDAYS) and list(counts.columns) == list(range(24))
    assert counts.to_numpy().tolist() == expected_heatmap(files["pre"], "Asia/Tokyo", None)
    assert int(counts.to_numpy().sum()) == ROWS


def test_success_rate_masks_thin_cells_instead_of_zero() -> None:
    # Monday 9h: 4 failed -> 0 %, shown; Tuesday 10h: 1 failed -> too thin, masked;
    # running runs are not finished and do not count.
    df = pd.DataFrame(
        {
            "day_of_week": [0] * 4 + [1] + [2] * 5,
            "hour_of_day": [9] * 4 + [10] + [11] * 5,
            "status": ["failed"] * 4 + ["failed"] + ["completed"] * 3 + ["running"] * 2,
        }
    )
    rate, runs = wa.success_rate_matrix(df, min_runs=3)
    assert rate.loc["Mon", 9] == 0.0 and runs.loc["Mon", 9] == 4
    assert np.isnan(rate.loc["Tue", 10]) and runs.loc["Tue", 10] == 1
    assert rate.loc["Wed", 11] == 100.0 and runs.loc["Wed", 11] == 3
    assert int(rate.notna().to_numpy().sum()) == 2
    with pytest.raises(UsageError):
        wa.success_rate_matrix(df, min_runs=0)


def test_median_by_hour_units_and_filters() -> None:
    df = pd.DataFrame(
        {
            "hour_of_day": [1, 1, 1, 2],
            "status": ["completed", "completed", "failed", "completed"],
            "actual_cost_total": [2.0, 4.0, 0.0, 1.0],
            "duration_seconds": pd.array([600, 1200, 60, None], dtype="Int64"),
        }
    )
    table = wa.median_by_hour(df)
    assert table.loc[1, "median cost (USD)"] == 3.0  # the 0.0-cost run has no cost
    assert table.loc[1, "median duration (min)"] == 15.0  # failed run's duration left out
    assert np.isnan(table.loc[2, "median duration (min)"])
    assert table["runs"].sum() == 4 and len(table) == 24


def test_runs_per_day_fills_gaps_and_keeps_every_run(tokyo: pd.DataFrame) -> None:
    daily = wa.runs_per_day(tokyo, "Asia/Tokyo")
    assert int(daily.to_numpy().sum()) == ROWS
    assert (daily.index[1:] - daily.index[:-1] == pd.Timedelta(days=1)).all()
    assert daily.columns[0] == "completed"


def test_temporal_key_figures_are_json(tokyo: pd.DataFrame, tmp_path: Path) -> None:
    counts = wa.hour_weekday_counts(tokyo)
    rate, _ = wa.success_rate_matrix(tokyo, 5)
    figures = wa.temporal_key_figures(
        tokyo,
        counts,
        rate,
        tz="Asia/Tokyo",
        filters={"status": None},
        rows_total=ROWS,
        min_runs=5,
    )
    path = wa.write_json(figures, tmp_path / "t.json")
    back = json.loads(path.read_text())
    assert back["heatmap"]["total"] == ROWS and back["filters"] == {}
    assert back["temporal_sources"]["stored"] + back["temporal_sources"]["derived"] == ROWS


# --- scoring versions -------------------------------------------------------------------


def _history(path: Path) -> pd.DataFrame:
    con = wfhist.connect(path)
    try:
        return wfhist.load_history(con)
    finally:
        con.close()


def test_version_counts_null_is_before_006(files: dict[str, Path]) -> None:
    counts = wa.version_counts(_history(files["pre"]))
    assert list(counts.index) == [wa.BEFORE_006] and counts["rows"].tolist() == [ROWS]
    note = wa.comparison_note(counts, "1.0")
    assert note and "one scoring version only" in note
    assert wa.median_shifts(_history(files["pre"]), ["quality_score"], "1.0").empty


def test_two_versions_shift_and_problems(files: dict[str, Path]) -> None:
    df = _history(files["two"])
    counts = wa.version_counts(df)
    assert list(counts.index) == ["1.0", "2.0"] and counts["rows"].sum() == ROWS
    assert wa.comparison_note(counts, "1.0") is None
    assert "not in this file" in wa.comparison_note(counts, "3.0")
    shifts = wa.median_shifts(df, ["quality_score", "performance_score"], "1.0", samples=300)
    quality = shifts.set_index("score").loc["quality_score"]
    assert quality["ci low"] <= quality["shift"] <= quality["ci high"] < 0
    perf = shifts.set_index("score").loc["performance_score"]
    assert perf["ci low"] <= 0 <= perf["ci high"]  # unchanged by version 2.0
    problems = wa.score_problems(df, ["quality_score"])
    assert sorted(problems["id"]) == [OUT_OF_RANGE_ID, MISSING_ID]
    assert set(problems["problem"]) == {"missing", "out of range"}
    summary = wa.score_summary(df, ["quality_score"])
    assert summary.loc[("quality_score", "2.0"), "out of range"] == 1
    counts_table = wa.problem_counts(problems, ["quality_score", "performance_score"])
    assert counts_table.loc["quality_score"].tolist() == [1, 1]
    assert counts_table.loc["performance_score"].tolist() == [0, 0]


def test_bootstrap_is_seeded_and_covers_a_known_shift() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(80, 5, 300)
    other = base + 10
    first = wa.bootstrap_median_shift(base, other, samples=500, seed=7)
    assert first == wa.bootstrap_median_shift(base, other, samples=500, seed=7)
    shift, low, high = first
    assert shift == pytest.approx(10) and low <= 10 <= high and low > 0
    _, low, high = wa.bootstrap_median_shift(base, base.copy(), samples=500, seed=7)
    assert low <= 0 <= high
    with pytest.raises(UsageError):
        wa.bootstrap_median_shift(base, np.array([]))


def test_check_score_columns(files: dict[str, Path]) -> None:
    df = _history(files["pre"])
    assert wa.check_score_columns(df, ["quality_score"]) == ["quality_score"]
    with pytest.raises(UsageError, match="quality_scor "):
        wa.check_score_columns(df, ["quality_scor"])


# --- verification tables -------------------------------------------------------------------


def test_done_migration_tables(files: dict[str, Path]) -> None:
    doc = wa.run_verification(files["migrated"], backup_path=files["backup"])
    assert doc["mode"] == "verify" and doc["verdict"] == "PASS"
    state, _ = wa.shown_state(doc)
    assert wa.verdict_text(doc) == "PASS — no value lost"
    added = wa.added_columns_table(state)
    assert added.loc[0, "summary"] == f"{ROWS}/{ROWS} = '1.0'"
    columns = wa.value_preservation_table(state, wa.reference_path(doc))
    assert len(columns) == 69 and set(columns["status"]) == {"PASS"}
    assert columns.loc[0, "note"] == f"identical in {ROWS}/{ROWS} rows"
    counts = wa.index_counts_table(state)
    assert counts.loc["all indexes"].tolist() == [17, 17]
    assert counts.loc["of which automatic (UNIQUE / PRIMARY KEY)"].tolist() == [1, 1]
    files_ = wa.files_table(doc)
    assert files_["role"].tolist() == ["BEFORE", "AFTER"]
    assert files_.loc[1, "user_version"] == 7
    assert wa.integrity_table(state)["status"].tolist() == ["PASS", "PASS"]
    assert wa.plan_outcomes_table(doc).empty


def test_dry_run_of_restricted_005_tables(files: dict[str, Path]) -> None:
    doc = wa.run_verification(
        files["pre"], migration_path=FIXTURES / "005_restricted_to_existing_columns.sql"
    )
    assert doc["mode"] == "plan" and doc["verdict"] == "FAIL"
    state, label = wa.shown_state(doc)
    assert "temporary copy" in label
    assert wa.verdict_text(doc).startswith("FAIL — 49 columns dropped holding")
    diff = wa.schema_diff_table(state)
    dropped = diff[diff["change"] == "column dropped"]
    assert len(dropped) == 49 and set(dropped["status"]) == {"FAIL"}
    summary = wa.schema_diff_summary(state).set_index("change")
    assert summary.loc["column dropped", "count"] == 49
    columns = wa.value_preservation_table(state, wa.reference_path(doc)).set_index("column")
    assert (columns["status"] == "FAIL").sum() == 49
    assert columns.loc["created_at", "lost"] == ROWS
    assert columns.loc["status", "status"] == "PASS"
    counts = wa.index_counts_table(state)
    assert counts.loc["all indexes"].tolist() == [17, 10]
    destructive = wa.destructive_statements(doc)
    assert destructive["actions"].str.contains("DROP TABLE workflow_history").any()
    assert len(destructive) < len(wa.statements_table(doc))
    outcomes = wa.plan_outcomes_table(doc)
    assert outcomes["verdict"].tolist() == ["FAIL"]


def test_dry_run_of_historic_005_shows_what_would_stick(files: dict[str, Path]) -> None:
    doc = wa.run_verification(
        files["pre"], migration_path=FIXTURES / "005_rename_temporal_columns.sql"
    )
    assert doc["error"]["statement_number"] == 6
    assert wa.verdict_text(doc).startswith("FAIL — the migration errors at statement 6")
    state, label = wa.shown_state(doc)
    assert "statements 1-5 committed without a transaction" in label
    assert len(wa.added_columns_table(state)) == 2  # hour_of_day, day_of_week would stick
    columns = wa.value_preservation_table(state, wa.reference_path(doc))
    assert len(columns) == 69 and set(columns["status"]) == {"PASS"}
    paths = wa.files_table(doc)["path"].tolist()
    assert paths[:2] == [
        f"{files['pre']} (snapshot)",
        f"{files['pre']} + statements 1-5 (temporary copy)",
    ]
    outcomes = wa.plan_outcomes_table(doc)
    assert outcomes.loc[0, "verdict"] == "unchanged" and len(outcomes) == 3


def test_changed_values_reported_per_column(files: dict[str, Path], tmp_path: Path) -> None:
    after = tmp_path / "after.db"
    shutil.copyfile(files["migrated"], after)
    with sqlite3.connect(after) as con:
        con.execute("UPDATE workflow_history SET quality_score = quality_score + 1 WHERE id <= 3")
    con.close()
    doc = wa.run_verification(after, backup_path=files["backup"])
    state, _ = wa.shown_state(doc)
    columns = wa.value_preservation_table(state, wa.reference_path(doc)).set_index("column")
    assert columns.loc["quality_score", "status"] == "FAIL"
    assert columns.loc["quality_score", "changed"] == 3
    assert "(real)" in columns.loc["quality_score", "note"]
    assert wa.verdict_text(doc) == "FAIL — 3 values changed or lost"


def test_run_verification_needs_one_mode(files: dict[str, Path]) -> None:
    with pytest.raises(UsageError, match="backup_path"):
        wa.run_verification(files["pre"])


# --- figures -------------------------------------------------------------------------------


def _texts(fig: Figure) -> list[str]:
    out = [fig._suptitle.get_text()] if fig._suptitle else []
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
    return [t for t in out if t]


def test_heatmaps_labelled_with_units_zone_and_masked_cells(tokyo: pd.DataFrame) -> None:
    counts = wa.hour_weekday_counts(tokyo)
    fig = wf.count_heatmap(counts, "Asia/Tokyo")
    main, bar = fig.axes
    assert "Asia/Tokyo" in main.get_title() and f"{ROWS} runs" in main.get_title()
    assert main.get_xlabel() == "hour of day (h, Asia/Tokyo)"
    assert main.get_yticklabels()[0].get_text() == "Mon"
    assert bar.get_ylabel() == "runs"
    assert len(main.texts) == int((counts.to_numpy() > 0).sum())  # every non-empty cell
    rate, runs = wa.success_rate_matrix(tokyo, 5)
    fig = wf.success_heatmap(rate, runs, "Asia/Tokyo", min_runs=5)
    main, bar = fig.axes
    shown = main.images[0].get_array()
    assert np.array_equal(np.ma.getmaskarray(shown), rate.isna().to_numpy())
    assert "%" in bar.get_ylabel()
    assert "fewer than 5 finished runs" in main.get_legend().get_texts()[0].get_text()


def test_line_and_bar_figures_have_titles_and_units(
    files: dict[str, Path], tokyo: pd.DataFrame
) -> None:
    df = _history(files["two"])
    shifts = wa.median_shifts(df, ["quality_score"], "1.0", samples=200)
    figs = {
        "by_hour": wf.by_hour_figure(wa.median_by_hour(tokyo), "Asia/Tokyo"),
        "daily": wf.runs_per_day_figure(wa.runs_per_day(tokyo, "Asia/Tokyo"), "Asia/Tokyo"),
        "weekly": wf.versions_over_time_figure(wa.versions_per_week(df, "UTC"), "UTC"),
        "dist": wf.score_distribution_figure(df, ["quality_score", "performance_score"]),
        "shift": wf.median_shift_figure(shifts, "1.0", 0.95),
    }
    for name, fig in figs.items():
        assert isinstance(fig, Figure)
        visible = [ax for ax in fig.axes if ax.get_visible()]
        assert all(ax.get_title() for ax in visible), name
        assert all(ax.get_ylabel() for ax in visible), name
    text = " ".join(_texts(figs["by_hour"]))
    assert "USD" in text and "minutes" in text and "Asia/Tokyo" in text
    assert "runs per day" in _texts(figs["daily"])
    assert "score points" in figs["shift"].axes[0].get_xlabel()
    assert "0–100" in figs["dist"].axes[0].get_ylabel()


def test_verdict_banner_and_table_helpers() -> None:
    banner = wf.verdict_banner("FAIL", "FAIL — <b>", "detail")
    assert 'id="wfhist-verdict"' in banner and "&lt;b&gt;" in banner
    assert wf.STATUS_COLORS["FAIL"] in banner
    empty = wf.table_or_note(pd.DataFrame(), "nothing here")
    assert "nothing here" in empty.data
    big = wf.table_or_note(pd.DataFrame({"a": range(20)}), "", fold_over=5, summary="All")
    assert big.data.startswith("<details><summary>All (20 rows)</summary>")
    html = wf.styled(pd.DataFrame({"status": ["PASS", "FAIL"]})).to_html()
    assert wf.STATUS_COLORS["PASS"] in html and wf.STATUS_COLORS["FAIL"] in html
