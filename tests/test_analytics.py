"""wfhist.analytics and wfhist.figures on real sample files, without a notebook kernel."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import duckdb
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
from wfhist.analytics import dryrun as wd
from wfhist.analytics import scoring as ws
from wfhist.analytics import temporal as wt
from wfhist.analytics import verification as wv
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
def tokyo(files: dict[str, Path]) -> duckdb.DuckDBPyConnection:
    """The pre-006 sample opened in Asia/Tokyo, every run selected."""
    con = wfhist.connect(files["pre"], tz="Asia/Tokyo")
    wt.select_runs(con)
    return con


def _selected(frame: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection whose ``selected`` table is ``frame``: hand-made edge cases."""
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute("CREATE TABLE selected AS SELECT * FROM frame")
    return con


# --- parameters and JSON -----------------------------------------------------------


def test_renames_parameter_uses_the_verify_parser() -> None:
    assert wv.renames_parameter("") is None and wv.renames_parameter(None) is None
    assert wv.renames_parameter("a=b, c:d") == {"a": "b", "c": "d"}
    assert wv.renames_parameter({"x": "y"}) == {"x": "y"}
    with pytest.raises(UsageError, match="OLD=NEW"):
        wv.renames_parameter("a=b,oops")


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


def test_report_zone_default_is_the_library_default() -> None:
    from wfhist import read

    assert wa.common.report_zone("") == getattr(read, "DEFAULT_TZ", "UTC")
    assert wa.common.report_zone("Asia/Tokyo") == "Asia/Tokyo"
    with pytest.raises(UsageError, match="tz="):
        wa.common.report_zone("Mars/Olympus_Mons")


# --- temporal -----------------------------------------------------------------------


def test_heatmap_monday_first_and_equal_to_independent_derivation(
    files: dict[str, Path], tokyo: duckdb.DuckDBPyConnection
) -> None:
    counts = wt.hour_weekday_counts(tokyo)
    assert list(counts.index) == list(wa.WEEKDAYS) and list(counts.columns) == list(range(24))
    assert counts.to_numpy().tolist() == expected_heatmap(files["pre"], "Asia/Tokyo", None)
    assert int(counts.to_numpy().sum()) == ROWS


def test_headline_on_hand_made_runs() -> None:
    when = pd.Timestamp("2025-11-03 23:30", tz="UTC")  # Tuesday 08:30 in Tokyo
    con = _selected(
        pd.DataFrame(
            {
                "status": ["completed", "failed", "running", "completed"],
                "start_ts": [when, when + pd.Timedelta(days=2), pd.NaT, pd.NaT],
                "created_ts": [when, when, when + pd.Timedelta(days=5), when],
                "actual_cost_total": [2.0, 4.0, 0.0, None],  # 0.0: unpriced placeholder
                "temporal_source": ["stored", "derived", "derived", "missing"],
            }
        )
    )
    h = wa.headline(con, "Asia/Tokyo", read_at="now")
    assert (h.runs, h.completed, h.failed) == (4, 2, 1)
    assert h.success_rate == pytest.approx(2 / 3)
    assert (h.first_day, h.last_day) == ("2025-11-04", "2025-11-09")
    assert (h.cost_total, h.cost_median, h.runs_with_cost) == (6.0, 3.0, 2)
    assert (h.hours_stored, h.hours_derived, h.hours_missing) == (1, 2, 1)
    assert h.newest_run == "2025-11-09 08:30"
    block = wf.headline_block(h)
    assert "66.7%" in block and "$6.00" in block and "2025-11-04 – 2025-11-09" in block
    empty = wa.headline(
        _selected(
            pd.DataFrame(
                {
                    "status": pd.Series([], dtype=str),
                    "start_ts": pd.Series([], dtype="datetime64[ns, UTC]"),
                    "created_ts": pd.Series([], dtype="datetime64[ns, UTC]"),
                    "actual_cost_total": pd.Series([], dtype=float),
                    "temporal_source": pd.Series([], dtype=str),
                }
            )
        ),
        "UTC",
    )
    assert empty.runs == 0 and empty.success_rate is None and empty.cost_median is None
    assert "no runs" in wf.headline_block(empty)


def test_success_rate_masks_thin_cells_instead_of_zero() -> None:
    # Monday 9h: 4 failed -> 0 %, shown; Tuesday 10h: 1 failed -> too thin, masked;
    # running runs are not finished and do not count.
    con = _selected(
        pd.DataFrame(
            {
                "day_of_week": [0] * 4 + [1] + [2] * 5,
                "hour_of_day": [9] * 4 + [10] + [11] * 5,
                "status": ["failed"] * 4 + ["failed"] + ["completed"] * 3 + ["running"] * 2,
            }
        )
    )
    rate, runs = wt.success_rate_matrix(con, min_runs=3)
    assert rate.loc["Mon", 9] == 0.0 and runs.loc["Mon", 9] == 4
    assert np.isnan(rate.loc["Tue", 10]) and runs.loc["Tue", 10] == 1
    assert rate.loc["Wed", 11] == 100.0 and runs.loc["Wed", 11] == 3
    assert int(rate.notna().to_numpy().sum()) == 2
    with pytest.raises(UsageError):
        wt.success_rate_matrix(con, min_runs=0)
    fig = wf.success_heatmap(rate, runs, "UTC", min_runs=3, overall=42.0)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "n=1" in texts  # too few: grey with its n
    assert texts.count("·") == 7 * 24 - 3  # no runs: a dot, not a colour
    assert "centred on the overall 42 %" in fig.axes[0].get_title()


def test_median_by_hour_units_filters_and_thin_hours() -> None:
    con = _selected(
        pd.DataFrame(
            {
                "hour_of_day": [1, 1, 1, 2],
                "status": ["completed", "completed", "failed", "completed"],
                "actual_cost_total": [2.0, 4.0, 0.0, 1.0],
                "duration_seconds": pd.array([600, 1200, 60, None], dtype="Int64"),
            }
        )
    )
    table = wt.median_by_hour(con, min_runs=2)
    assert table.loc[1, "median cost (USD)"] == 3.0  # the 0.0-cost run has no cost
    assert table.loc[1, "median duration (min)"] == 15.0  # failed run's duration left out
    assert np.isnan(table.loc[2, "median duration (min)"])
    assert table["runs"].sum() == 4 and len(table) == 24
    assert table.loc[2, "thin"] and not table.loc[1, "thin"]
    fig = wf.by_hour_figure(table, "UTC", min_runs=2)
    cost_bars = fig.axes[0].patches
    assert cost_bars[1].get_facecolor() != cost_bars[2].get_facecolor()  # hour 2 greyed
    assert "n=2" in [t.get_text() for t in fig.axes[0].texts]  # priced runs at 1 h


def test_runs_per_day_fills_gaps_mondays_and_integer_ticks(
    tokyo: duckdb.DuckDBPyConnection,
) -> None:
    daily = wt.runs_per_day(tokyo, "Asia/Tokyo")
    assert int(daily.to_numpy().sum()) == ROWS
    assert (daily.index[1:] - daily.index[:-1] == pd.Timedelta(days=1)).all()
    assert daily.columns[0] == "completed"
    fig = wf.runs_per_day_figure(daily, "Asia/Tokyo")
    ax = fig.axes[0]
    fig.canvas.draw() if hasattr(fig.canvas, "draw") else None
    from matplotlib.dates import num2date

    ticks = [num2date(t) for t in ax.get_xticks()]
    assert ticks and all(t.weekday() == 0 for t in ticks)
    assert all(float(t).is_integer() for t in ax.get_yticks())


def test_empty_selection(files: dict[str, Path]) -> None:
    con = wfhist.connect(files["pre"])
    assert wt.select_runs(con, since="2031-01-01") == 0
    assert wt.hour_weekday_counts(con).to_numpy().sum() == 0
    assert wt.runs_per_day(con, "UTC").empty
    assert wa.headline(con, "UTC").runs == 0


# --- scoring versions -------------------------------------------------------------------


def _scores(path: Path, columns: list[str]) -> duckdb.DuckDBPyConnection:
    con = wfhist.connect(path)
    ws.select_scores(con, columns)
    return con


def test_version_counts_null_is_before_006(files: dict[str, Path]) -> None:
    con = _scores(files["pre"], ["quality_score"])
    counts = ws.version_counts(con, "UTC")
    assert list(counts.index) == [ws.BEFORE_006] and counts["rows"].tolist() == [ROWS]
    note = ws.comparison_note(counts, "1.0")
    assert note and "one scoring version only" in note
    assert ws.median_shifts(con, counts, ["quality_score"], "1.0", tz="UTC").empty


def test_two_versions_shift_problems_and_populations(files: dict[str, Path]) -> None:
    columns = ["quality_score", "performance_score", "cost_efficiency_score"]
    con = _scores(files["two"], columns)
    counts = ws.version_counts(con, "UTC")
    assert list(counts.index) == ["1.0", "2.0"] and counts["rows"].sum() == ROWS
    assert ws.comparison_note(counts, "1.0") is None
    assert "not in this file" in ws.comparison_note(counts, "3.0")
    shifts = ws.median_shifts(con, counts, columns[:2], "1.0", tz="UTC", samples=300)
    quality = shifts.set_index("score").loc["quality_score"]
    assert quality["ci low"] <= quality["shift"] <= quality["ci high"] < 0
    perf = shifts.set_index("score").loc["performance_score"]
    assert perf["ci low"] <= 0 <= perf["ci high"]  # unchanged by version 2.0
    problems = ws.score_problems(con, ["quality_score"])
    assert sorted(problems["id"]) == [OUT_OF_RANGE_ID, MISSING_ID]
    assert "adw_id" not in problems.columns  # a million unique strings are not loaded for it
    assert set(problems["problem"]) == {"missing", "out of range"}
    summary = ws.score_summary(con, columns)
    assert summary.loc[("quality_score", "2.0"), "out of range"] == 1
    counts_table = ws.problem_counts(summary)
    assert counts_table.loc["quality_score"].tolist() == [1, 0, 1]
    assert counts_table.loc["performance_score"].tolist() == [0, 0, 0]
    with sqlite3.connect(files["two"]) as raw:
        zeros = raw.execute(
            "SELECT count(*) FROM workflow_history WHERE cost_efficiency_score = 0 "
            "AND coalesce(estimated_cost_total, 0) = 0"
        ).fetchone()[0]
    assert counts_table.loc["cost_efficiency_score", "placeholder"] == zeros
    population = ws.population_table(con, counts, "1.0", "UTC")
    assert population["version"].tolist() == ["1.0", "2.0"]


def test_placeholder_zero_is_not_a_score() -> None:
    con = _selected(
        pd.DataFrame(
            {
                "id": [1, 2, 3],
                "adw_id": ["a", "b", "c"],
                "status": ["completed"] * 3,
                "scoring_version": ["1.0"] * 3,
                "cost_efficiency_score": [0.0, 0.0, 80.0],
                "estimated_cost_total": [0.0, 3.0, 3.0],  # run 1 had no estimate
            }
        )
    )
    summary = ws.score_summary(con, ["cost_efficiency_score"])
    row = summary.loc[("cost_efficiency_score", "1.0")]
    assert (row["placeholder"], row["valid"]) == (1, 2)
    assert row["median"] == 40.0  # 0 (a real zero with an estimate) and 80


def test_data_quality_lists_placeholders_empty_columns_and_aliases(
    files: dict[str, Path], tmp_path: Path
) -> None:
    db = tmp_path / "aliases.db"
    shutil.copyfile(files["pre"], db)
    with sqlite3.connect(db) as raw:
        models = dict(raw.execute("SELECT model_used, count(*) FROM workflow_history GROUP BY 1"))
        raw.execute("UPDATE workflow_history SET end_time = NULL")
        ends = raw.execute("SELECT count(end_time) FROM workflow_history").fetchone()[0]
    con = _scores(db, ["cost_efficiency_score"])
    found = ws.data_quality(con)
    assert ends == 0
    assert "end_time" in found.loc[found["finding"] == "no value in any row", "column"].tolist()
    alias = found[found["finding"] == "model aliases"]
    sonnets = sorted((m, n) for m, n in models.items() if m and "sonnet" in m)
    assert len(sonnets) > 1, "the sample is expected to hold sonnet under two names"
    expected = " = ".join(f"{m} ({n})" for m, n in sonnets)
    assert any(note.startswith(expected) for note in alias["note"])
    assert "placeholder zero" in set(found["finding"])


def test_bootstrap_is_seeded_and_covers_a_known_shift() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(80, 5, 300)
    other = base + 10
    first = ws.bootstrap_median_shift(base, other, samples=500, seed=7)
    assert first == ws.bootstrap_median_shift(base, other, samples=500, seed=7)
    shift, low, high = first
    assert shift == pytest.approx(10) and low <= 10 <= high and low > 0
    _, low, high = ws.bootstrap_median_shift(base, base.copy(), samples=500, seed=7)
    assert low <= 0 <= high
    with pytest.raises(UsageError):
        ws.bootstrap_median_shift(base, np.array([]))


def test_check_score_columns(files: dict[str, Path]) -> None:
    con = wfhist.connect(files["pre"])
    assert ws.check_score_columns(con, ["quality_score"]) == ["quality_score"]
    with pytest.raises(UsageError, match="quality_scor "):
        ws.check_score_columns(con, ["quality_scor"])


# --- verification tables -------------------------------------------------------------------


def test_done_migration_tables(files: dict[str, Path]) -> None:
    doc = wv.run_verification(files["migrated"], backup_path=files["backup"])
    assert doc["mode"] == "verify" and doc["verdict"] == "PASS"
    state, _ = wv.shown_state(doc)
    assert wv.verdict_text(doc) == "PASS — no value lost"
    added = wv.added_columns_table(state)
    assert added.loc[0, "summary"] == f"{ROWS}/{ROWS} = '1.0'"
    columns = wv.value_preservation_table(state, wv.reference_path(doc))
    assert len(columns) == 69 and set(columns["status"]) == {"PASS"}
    assert columns.loc[0, "note"] == f"identical in {ROWS}/{ROWS} rows"
    counts = wv.index_counts_table(state)
    with sqlite3.connect(files["backup"]) as raw:
        indexes, automatic = raw.execute(
            "SELECT count(*), count(*) FILTER (WHERE name LIKE 'sqlite_autoindex%') "
            "FROM sqlite_schema WHERE type = 'index'"
        ).fetchone()
    assert counts.loc["all indexes"].tolist() == [indexes, indexes]
    assert counts.loc["of which automatic (UNIQUE / PRIMARY KEY)"].tolist() == [
        automatic,
        automatic,
    ]
    files_ = wv.files_table(doc)
    assert files_["role"].tolist() == ["BEFORE", "AFTER"]
    assert files_.loc[1, "user_version"] == 7
    integrity = wv.integrity_table(state)["status"].tolist()
    engine = next(c["status"] for c in state["checks"] if c["name"] == "integrity")
    assert integrity[0] == "PASS" and integrity[1] in ("PASS", engine)  # tables agree with checks
    assert wd.plan_outcomes_table(doc).empty


def test_dry_run_of_restricted_005_tables(files: dict[str, Path]) -> None:
    doc = wv.run_verification(
        files["pre"], migration_path=FIXTURES / "005_restricted_to_existing_columns.sql"
    )
    assert doc["mode"] == "plan" and doc["verdict"] == "FAIL"
    state, label = wv.shown_state(doc)
    assert "temporary copy" in label
    n = next(c["numbers"] for c in state["checks"] if c["name"] == "columns_dropped")
    held = f"FAIL — {n['with_values']} columns dropped holding {n['non_null_values']} values"
    assert wv.verdict_text(doc).startswith(held)
    diff = wv.schema_diff_table(state)
    dropped = diff[diff["change"] == "column dropped"]
    held = dropped["note"].str.endswith("non-NULL values lost")
    assert len(dropped) == 49 and set(dropped.loc[held, "status"]) == {"FAIL"}
    assert set(dropped.loc[~held, "status"]) <= {"WARN"}  # all-NULL columns (end_time)
    summary = wv.schema_diff_summary(state)
    assert summary.loc[summary["change"] == "column dropped", "count"].sum() == 49
    columns = wv.value_preservation_table(state, wv.reference_path(doc)).set_index("column")
    changed = {v["column"] for v in state.get("values_changed", [])}
    assert (
        set(columns.index[columns["status"] == "FAIL"])
        == set(dropped.loc[held, "column"]) | changed
    )
    assert columns.loc["created_at", "lost"] == ROWS
    assert columns.loc["status", "status"] == "PASS"
    counts = wv.index_counts_table(state)
    before, after = counts.loc["all indexes"].tolist()
    assert after < before  # the rebuilt table lost its named indexes
    destructive = wd.destructive_statements(doc)
    assert destructive["actions"].str.contains("DROP TABLE workflow_history").any()
    assert len(destructive) < len(wd.statements_table(doc))
    outcomes = wd.plan_outcomes_table(doc)
    assert outcomes["verdict"].tolist() == ["FAIL"]


def test_dry_run_of_historic_005_shows_what_would_stick(files: dict[str, Path]) -> None:
    doc = wv.run_verification(
        files["pre"], migration_path=FIXTURES / "005_rename_temporal_columns.sql"
    )
    assert doc["error"]["statement_number"] == 6
    assert wv.verdict_text(doc).startswith("FAIL — the migration errors at statement 6")
    state, label = wv.shown_state(doc)
    assert "statements 1-5 committed without a transaction" in label
    assert len(wv.added_columns_table(state)) == 2  # hour_of_day, day_of_week would stick
    columns = wv.value_preservation_table(state, wv.reference_path(doc))
    assert len(columns) == 69 and set(columns["status"]) == {"PASS"}
    paths = wv.files_table(doc)["path"].tolist()
    name = files["pre"].name  # file names only: a report is mailed around
    assert paths[:2] == [f"{name} (snapshot)", f"{name} + statements 1-5 (temporary copy)"]
    outcomes = wd.plan_outcomes_table(doc)
    assert outcomes.loc[0, "verdict"] == "unchanged" and len(outcomes) == 3


def test_changed_values_reported_per_column(files: dict[str, Path], tmp_path: Path) -> None:
    after = tmp_path / "after.db"
    shutil.copyfile(files["migrated"], after)
    with sqlite3.connect(after) as con:
        con.execute("UPDATE workflow_history SET quality_score = quality_score + 1 WHERE id <= 3")
    con.close()
    doc = wv.run_verification(after, backup_path=files["backup"])
    state, _ = wv.shown_state(doc)
    columns = wv.value_preservation_table(state, wv.reference_path(doc)).set_index("column")
    assert columns.loc["quality_score", "status"] == "FAIL"
    assert columns.loc["quality_score", "changed"] == 3
    assert "(real)" in columns.loc["quality_score", "note"]
    assert wv.verdict_text(doc) == "FAIL — 3 values changed or lost"


def test_run_verification_needs_one_mode(files: dict[str, Path]) -> None:
    with pytest.raises(UsageError, match="backup_path"):
        wv.run_verification(files["pre"])


def test_checks_agree_when_columns_were_dropped(files: dict[str, Path]) -> None:
    doc = wv.run_verification(
        files["pre"], migration_path=FIXTURES / "005_restricted_to_existing_columns.sql"
    )
    state, _ = wv.shown_state(doc)
    checks = wv.checks_table(state).set_index("check")
    if checks.loc["values", "status"] == "PASS":
        assert "columns dropped holding" in checks.loc["values", "detail"]
    assert not wv.values_intact(state)
    assert wv.verdict_detail(doc)[0].startswith("columns_dropped: ")


# --- figures -------------------------------------------------------------------------------


def _texts(fig: Figure) -> list[str]:
    out = [fig._suptitle.get_text()] if fig._suptitle else []
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
    return [t for t in out if t]


def test_count_heatmap_labelled_empty_cells_white(tokyo: duckdb.DuckDBPyConnection) -> None:
    counts = wt.hour_weekday_counts(tokyo)
    fig = wf.count_heatmap(counts, "Asia/Tokyo")
    main, bar = fig.axes
    assert "Asia/Tokyo" in main.get_title() and f"{ROWS} runs" in main.get_title()
    assert main.get_xlabel() == "hour of day (h, Asia/Tokyo)"
    assert main.get_yticklabels()[0].get_text() == "Mon"
    assert bar.get_ylabel() == "runs"
    assert all(float(t).is_integer() for t in bar.get_yticks())
    assert len(main.texts) == int((counts.to_numpy() > 0).sum())  # every non-empty cell
    shown = main.images[0].get_array()
    assert np.array_equal(np.ma.getmaskarray(shown), counts.to_numpy() == 0)


def test_scoring_figures_have_titles_and_units(files: dict[str, Path]) -> None:
    con = _scores(files["two"], ["quality_score", "performance_score"])
    counts = ws.version_counts(con, "UTC")
    shifts = ws.median_shifts(con, counts, ["quality_score"], "1.0", tz="UTC", samples=200)
    weekly = ws.versions_per_week(con, "UTC")
    assert all(d.weekday() == 0 for d in weekly.index)
    figs = {
        "weekly": wf.versions_over_time_figure(weekly, "UTC"),
        "dist": wf.score_distribution_figure(
            ws.score_summary(con, ["quality_score", "performance_score"])
        ),
        "shift": wf.median_shift_figure(shifts, "1.0", 0.95),
    }
    for name, fig in figs.items():
        assert isinstance(fig, Figure)
        visible = [ax for ax in fig.axes if ax.get_visible()]
        assert all(ax.get_title() for ax in visible), name
        assert all(ax.get_ylabel() for ax in visible), name
    assert "score points" in figs["shift"].axes[0].get_xlabel()
    assert "0–100" in figs["dist"].axes[0].get_ylabel()


def test_verdict_banner_and_table_helpers() -> None:
    detail = "columns_dropped: " + "x" * 400  # shown in full, never clipped
    banner = wf.verdict_banner("FAIL", "FAIL — <b>", [detail, "second"])
    assert 'id="wfhist-verdict"' in banner and "&lt;b&gt;" in banner
    assert detail in banner and "second" in banner
    assert wf.STATUS_COLORS["FAIL"] in banner
    empty = wf.table_or_note(pd.DataFrame(), "nothing here")
    assert "nothing here" in empty.data
    big = wf.table_or_note(pd.DataFrame({"a": range(20)}), "", fold_over=5, summary="All")
    assert big.data.startswith("<details><summary>All (20 rows)</summary>")
    html = wf.styled(pd.DataFrame({"status": ["PASS", "FAIL"]})).to_html()
    assert wf.STATUS_COLORS["PASS"] in html and wf.STATUS_COLORS["FAIL"] in html


def test_scoring_on_a_file_without_runs(files: dict[str, Path], tmp_path: Path) -> None:
    """No runs: every table is empty, nothing raises or warns, there is nothing to compare."""
    db = tmp_path / "empty.db"
    shutil.copyfile(files["pre"], db)
    with sqlite3.connect(db) as raw:
        raw.execute("DELETE FROM workflow_history")
    raw.close()
    con = _scores(db, list(ws.SCORE_COLUMNS))
    counts = ws.version_counts(con, "UTC")
    summary = ws.score_summary(con, ws.SCORE_COLUMNS)
    assert counts.empty and summary.empty and ws.problem_counts(summary).empty
    assert ws.median_shifts(con, counts, ws.SCORE_COLUMNS, "1.0", tz="UTC").empty
    assert "no rows" in (ws.comparison_note(counts, "1.0") or "")
    assert wa.headline(con, "UTC").runs == 0
