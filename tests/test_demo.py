"""The sample database must look like the real file, in each of its states, in every way
the tools rely on (``../shared/reference/workflow_history.md``)."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from wfhist import demo
from wfhist.cli import main
from wfhist.demo import create_sample_db, make_temporal_conflict, related, rows
from wfhist.exceptions import UsageError
from wfhist.schema import (
    COLUMNS_PRE_006,
    INDEXES_PRE_006,
    RELATED_TABLES,
    STATES,
    TABLE,
    classify_columns,
    column_names,
)

LOCAL_FMT = "%Y-%m-%dT%H:%M:%S.%f"
UTC_FMT = "%Y-%m-%d %H:%M:%S"


@pytest.fixture
def con(sample_db: Path) -> Iterator[sqlite3.Connection]:
    c = sqlite3.connect(sample_db)
    c.row_factory = sqlite3.Row
    yield c
    c.close()


def _rows(con: sqlite3.Connection, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    return con.execute(sql, params).fetchall()


def _all_rows(path: Path) -> list[tuple]:
    with closing(sqlite3.connect(path)) as c:
        return c.execute(f"SELECT * FROM {TABLE} ORDER BY id").fetchall()


def _scalar(path: Path, sql: str) -> object:
    with closing(sqlite3.connect(path)) as c:
        return c.execute(sql).fetchone()[0]


# --- schema -------------------------------------------------------------------------


def test_columns_order_types_and_defaults_match_the_real_table(con: sqlite3.Connection) -> None:
    info = _rows(con, f"PRAGMA table_info({TABLE})")
    assert [(r["name"], r["type"]) for r in info] == [(c.name, c.type) for c in COLUMNS_PRE_006]
    defaults = {r["name"]: r["dflt_value"] for r in info}
    assert defaults["workflow_type"] == "'planning'"
    assert defaults["created_at"] == "CURRENT_TIMESTAMP"
    assert defaults["retry_count"] == "0"
    assert "scoring_version" not in defaults
    assert classify_columns(column_names(con)) == "pre-006"


def test_indexes_are_the_16_named_plus_sqlite_autoindex(con: sqlite3.Connection) -> None:
    indexes = _rows(con, f"PRAGMA index_list({TABLE})")
    names = {r["name"] for r in indexes}
    named = {name for name, _, _ in INDEXES_PRE_006}
    assert len(indexes) == 17
    assert named <= names
    (auto,) = names - named
    assert auto.startswith("sqlite_autoindex_")
    assert [r["name"] for r in _rows(con, f"PRAGMA index_info({auto})")] == ["adw_id"]
    for name, column, _ in INDEXES_PRE_006:
        assert [r["name"] for r in _rows(con, f"PRAGMA index_info({name})")] == [column]


def test_file_is_delete_journal_with_user_version_zero_and_no_leftovers(tmp_path: Path) -> None:
    path = create_sample_db(tmp_path / "wh.db", rows=30)
    # closed: no -journal/-wal/-shm, no temp file left in the directory
    assert [p.name for p in tmp_path.iterdir()] == ["wh.db"]
    assert _scalar(path, "PRAGMA journal_mode") == "delete"  # the real file's mode
    assert _scalar(path, "PRAGMA user_version") == 0


@pytest.mark.parametrize("state", STATES)
def test_wal_on_request_is_checkpointed(tmp_path: Path, state: str) -> None:
    path = create_sample_db(tmp_path / "wh.db", rows=30, wal=True, state=state)
    assert [p.name for p in tmp_path.iterdir()] == ["wh.db"]
    assert _scalar(path, "PRAGMA journal_mode") == "wal"
    assert _scalar(path, f"SELECT count(*) FROM {TABLE}") == 30


# --- rows ---------------------------------------------------------------------------


def test_default_row_count_and_id_order(con: sqlite3.Connection) -> None:
    ids = [r[0] for r in _rows(con, f"SELECT id FROM {TABLE} ORDER BY rowid")]
    assert ids == list(range(1, demo.DEFAULT_ROWS + 1))
    assert demo.DEFAULT_ROWS == 458


def _instant(created_at: str) -> datetime:
    """The UTC instant of a created_at in either real format."""
    if "T" in created_at:
        local = datetime.strptime(created_at, LOCAL_FMT)
        return local.replace(tzinfo=ZoneInfo(demo.SOURCE_TZ)).astimezone(UTC)
    return datetime.strptime(created_at, UTC_FMT).replace(tzinfo=UTC)


def test_created_at_mixes_both_formats_oldest_first(con: sqlite3.Connection) -> None:
    rows = _rows(con, f"SELECT created_at FROM {TABLE} ORDER BY id")
    kinds = ["local" if "T" in r[0] else "utc" for r in rows]
    n_utc = kinds.count("utc")
    assert 0 < n_utc < len(kinds)
    assert kinds == ["utc"] * n_utc + ["local"] * (len(kinds) - n_utc)
    instants = [_instant(r[0]) for r in rows]
    assert instants == sorted(instants)
    assert instants[0] >= datetime(2025, 10, 10, tzinfo=UTC)
    assert instants[-1] < datetime(2025, 11, 22, tzinfo=UTC)


def test_start_time_null_only_on_oldest_rows_and_same_instant_as_created(
    con: sqlite3.Connection,
) -> None:
    rows = _rows(con, f"SELECT start_time, created_at, updated_at FROM {TABLE} ORDER BY id")
    nulls = [r["start_time"] is None for r in rows]
    n_null = nulls.count(True)
    assert 0 < n_null < len(rows) // 4
    assert nulls == [True] * n_null + [False] * (len(rows) - n_null)
    zone = ZoneInfo(demo.SOURCE_TZ)
    for r in rows[n_null:]:
        if "T" in r["created_at"]:
            assert r["created_at"] == r["start_time"]
        else:  # UTC seconds: the same instant, truncated to the second
            start = datetime.strptime(r["start_time"], LOCAL_FMT).replace(tzinfo=zone)
            # a naive stamp in the repeated DST hour is either occurrence (fold 0 or 1)
            candidates = {
                start.replace(fold=fold).astimezone(UTC).replace(microsecond=0) for fold in (0, 1)
            }
            assert _instant(r["created_at"]) in candidates
    for r in rows:
        assert datetime.strptime(r["updated_at"], UTC_FMT).replace(tzinfo=UTC) >= _instant(
            r["created_at"]
        ).replace(microsecond=0)


def test_utc_conversion_is_dst_correct_around_november_2(con: sqlite3.Connection) -> None:
    """UTC created_at is 7 h ahead of the naive start_time before the 2025-11-02 DST end
    and 8 h after it; rows on both sides exist."""
    rows = _rows(
        con,
        f"SELECT start_time, created_at FROM {TABLE} WHERE start_time IS NOT NULL"
        " AND created_at NOT LIKE '%T%'",
    )
    offsets = set()
    for r in rows:
        local = datetime.strptime(r["start_time"], LOCAL_FMT).replace(microsecond=0)
        offset = (datetime.strptime(r["created_at"], UTC_FMT) - local).total_seconds() / 3600
        offsets.add(offset)
        if not datetime(2025, 11, 2, 1) <= local < datetime(2025, 11, 2, 2):  # repeated hour
            assert offset == (8 if local >= datetime(2025, 11, 2, 2) else 7), r["start_time"]
    assert offsets == {7.0, 8.0}


def test_office_hours_and_weekdays_dominate(con: sqlite3.Connection) -> None:
    rows = _rows(con, f"SELECT start_time FROM {TABLE} WHERE start_time IS NOT NULL")
    local = [datetime.strptime(r[0], LOCAL_FMT) for r in rows]
    office = sum(1 for t in local if t.weekday() < 5 and 9 <= t.hour < 18)
    weekend = sum(1 for t in local if t.weekday() >= 5)
    assert office > len(local) / 2
    assert weekend < len(local) / 8


def test_stored_temporal_values_are_few_include_zero_and_match_start_time(
    con: sqlite3.Connection,
) -> None:
    rows = _rows(
        con,
        f"SELECT start_time, submission_hour AS h, submission_day_of_week AS d FROM {TABLE}"
        " WHERE submission_hour IS NOT NULL OR submission_day_of_week IS NOT NULL",
    )
    assert len(rows) == demo.STORED_TEMPORAL_ROWS
    for r in rows:
        local = datetime.strptime(r["start_time"], LOCAL_FMT)
        assert (r["h"], r["d"]) == (local.hour, local.weekday())
    assert 0 in {r["h"] for r in rows}
    assert 0 in {r["d"] for r in rows}


def test_identifiers_are_well_formed_and_unique(con: sqlite3.Connection) -> None:
    rows = _rows(con, f"SELECT adw_id, workflow_id, issue_number, github_url FROM {TABLE}")
    adw = [r["adw_id"] for r in rows]
    wf = [r["workflow_id"] for r in rows]
    assert len(set(adw)) == len(set(wf)) == len(rows)
    for r in rows:
        assert len(r["adw_id"]) == 8 and int(r["adw_id"], 16) >= 0
        assert r["workflow_id"].startswith("wf-") and len(r["workflow_id"]) == 35
        int(r["workflow_id"][3:], 16)
        assert r["issue_number"] > 0
        assert r["github_url"].startswith("https://github.com/")
        assert r["github_url"].endswith(f"/issues/{r['issue_number']}")


def test_similar_and_parent_ids_point_to_earlier_runs(con: sqlite3.Connection) -> None:
    rows = _rows(
        con,
        f"SELECT id, adw_id, workflow_id, similar_workflow_ids, parent_workflow_id FROM {TABLE}",
    )
    adw_id = {r["adw_id"]: r["id"] for r in rows}
    workflow_id = {r["workflow_id"]: r["id"] for r in rows}
    similar = parents = 0
    for r in rows:
        for other in json.loads(r["similar_workflow_ids"]):
            assert adw_id[other] < r["id"]
            similar += 1
        if r["parent_workflow_id"] is not None:
            assert workflow_id[r["parent_workflow_id"]] < r["id"]
            parents += 1
    assert similar > 0 and 0 < parents < len(rows) / 10


def test_categorical_values_come_from_the_facts(con: sqlite3.Connection) -> None:
    def values(col: str) -> set:
        return {r[0] for r in _rows(con, f"SELECT DISTINCT {col} FROM {TABLE}")}

    assert values("workflow_template") <= set(demo.TEMPLATES)
    assert values("model_used") <= set(demo.MODELS)
    assert values("workflow_type") <= {"planning", "building", "testing"}
    assert values("gh_issue_state") <= {"open", "closed", None}
    assert values("error_category") <= {*demo.ERRORS, None}
    assert values("end_time") == {None}
    statuses = {
        r[0]: r[1] for r in _rows(con, f"SELECT status, count(*) FROM {TABLE} GROUP BY status")
    }
    assert statuses["completed"] > sum(statuses.values()) * 0.75
    assert statuses.get("failed", 0) > 0 and statuses.get("running", 0) > 0
    ports = _rows(con, f"SELECT min(backend_port), max(backend_port) FROM {TABLE}")[0]
    assert 9100 <= ports[0] <= ports[1] <= 9114
    ports = _rows(con, f"SELECT min(frontend_port), max(frontend_port) FROM {TABLE}")[0]
    assert 9200 <= ports[0] <= ports[1] <= 9214


def test_tokens_and_costs_are_real_sized_and_consistent(con: sqlite3.Connection) -> None:
    rows = _rows(con, f"SELECT * FROM {TABLE}")
    lo_c, hi_c = demo.COMPLETED_COST_RANGE
    lo_t, hi_t = demo.COMPLETED_TOKENS_RANGE
    for r in rows:
        inp, write, read, out = (
            r["input_tokens"],
            r["cached_tokens"],
            r["cache_hit_tokens"],
            r["output_tokens"],
        )
        assert r["total_tokens"] == inp + write + read + out
        assert r["cache_miss_tokens"] == inp + write
        cost = r["actual_cost_total"]
        assert cost == pytest.approx(demo.token_cost(inp, write, read, out), abs=1e-6)
        if r["total_tokens"]:
            assert r["cost_per_token"] == pytest.approx(cost / r["total_tokens"])
            eff = read / (inp + write + read) * 100
            assert r["cache_efficiency_percent"] == pytest.approx(eff, abs=0.01)
        steps = r["steps_total"]
        assert r["actual_cost_per_step"] == pytest.approx(cost / steps, abs=1e-6)
        assert r["estimated_cost_per_step"] == pytest.approx(
            r["estimated_cost_total"] / steps, abs=1e-6
        )
        if r["estimated_cost_total"] == 0:
            assert r["cost_efficiency_score"] == 0
        if r["status"] == "completed":
            assert lo_t <= r["total_tokens"] <= hi_t
            assert lo_c <= cost <= hi_c
            assert 90 <= r["cache_efficiency_percent"] <= 96
            assert r["steps_completed"] == steps
        for score in ("cost_efficiency_score", "performance_score", "quality_score"):
            assert 0 <= r[score] <= 100
    quality = [r["quality_score"] for r in rows if r["status"] == "completed"]
    assert 93 <= sum(quality) / len(quality) <= 97


def test_json_columns_are_valid_and_cost_breakdown_sums(con: sqlite3.Connection) -> None:
    json_cols = [
        "structured_input",
        "cost_breakdown",
        "token_breakdown",
        "similar_workflow_ids",
        "anomaly_flags",
        "optimization_recommendations",
        "retry_reasons",
        "error_phase_distribution",
    ]
    rows = _rows(con, f"SELECT actual_cost_total, {', '.join(json_cols)} FROM {TABLE}")
    empty_flags = 0
    for r in rows:
        parsed = {c: json.loads(r[c]) for c in json_cols}
        by_phase = parsed["cost_breakdown"]["by_phase"]
        assert set(by_phase) == set(demo.PHASES)
        assert sum(by_phase.values()) == pytest.approx(r["actual_cost_total"], abs=1e-6)
        assert parsed["cost_breakdown"]["actual_total"] == r["actual_cost_total"]
        assert isinstance(parsed["anomaly_flags"], list)
        empty_flags += parsed["anomaly_flags"] == []
    assert empty_flags > len(rows) * 0.8


def test_nl_input_long_texts_and_word_counts(con: sqlite3.Connection) -> None:
    rows = _rows(con, f"SELECT id, nl_input, nl_input_word_count FROM {TABLE} ORDER BY id")
    for r in rows:
        assert len(r["nl_input"]) <= 500
        assert r["nl_input_word_count"] == len(r["nl_input"].split())
    empty_ids = [r["id"] for r in rows if r["nl_input"] == ""]
    assert empty_ids and max(empty_ids) <= len(rows) // 4
    assert max(len(r["nl_input"]) for r in rows) > 400


def test_dirty_values_sit_in_numeric_columns(con: sqlite3.Connection) -> None:
    found = []
    for col, value in set(demo.DIRTY_VALUES):
        hits = _rows(
            con,
            f"SELECT count(*) FROM {TABLE} WHERE typeof({col}) = 'text' AND {col} = ?",
            (value,),
        )
        found.extend([(col, value)] * hits[0][0])
    assert sorted(found) == sorted(demo.DIRTY_VALUES)
    types = {c.name: c.type for c in COLUMNS_PRE_006}
    assert all(types[col] in ("INTEGER", "REAL") for col, _ in demo.DIRTY_VALUES)


# --- determinism and arguments ---------------------------------------------------------


def test_same_seed_gives_identical_rows_other_seed_differs(
    tmp_path: Path, sample_db_template: Path
) -> None:
    again = create_sample_db(tmp_path / "again.db")
    other = create_sample_db(tmp_path / "other.db", seed=demo.DEFAULT_SEED + 1)
    assert _all_rows(again) == _all_rows(sample_db_template)
    assert _all_rows(other) != _all_rows(sample_db_template)


def test_rows_argument_and_small_files(tmp_path: Path) -> None:
    for n in (1, 25):
        path = create_sample_db(tmp_path / f"n{n}.db", rows=n)
        assert _scalar(path, f"SELECT count(*) FROM {TABLE}") == n
        with closing(sqlite3.connect(path)) as c:
            assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_returns_resolved_path_and_creates_missing_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = create_sample_db(Path("new") / "dir" / "wh.db", rows=3)
    assert path == (tmp_path / "new" / "dir" / "wh.db")
    assert path.is_absolute() and path.exists()


def test_existing_file_needs_force(tmp_path: Path) -> None:
    path = create_sample_db(tmp_path / "wh.db", rows=2)
    before = path.read_bytes()
    with pytest.raises(UsageError, match=r"wh\.db exists; pass --force to replace it"):
        create_sample_db(path, rows=5)
    assert path.read_bytes() == before
    create_sample_db(path, rows=5, force=True)
    assert _scalar(path, f"SELECT count(*) FROM {TABLE}") == 5


@pytest.mark.parametrize("rows", [0, -1])
def test_rows_below_one_is_a_usage_error(tmp_path: Path, rows: int) -> None:
    with pytest.raises(UsageError, match="rows"):
        create_sample_db(tmp_path / "wh.db", rows=rows)
    assert list(tmp_path.iterdir()) == []


def test_failure_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash mid-build (here: in the related tables) leaves neither target nor temp file."""

    def boom(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(related, "insert_related", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        create_sample_db(tmp_path / "wh.db", rows=10)
    assert list(tmp_path.iterdir()) == []


def test_progress_goes_to_the_logger(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="wfhist.demo"):
        create_sample_db(tmp_path / "wh.db", rows=10)
    assert "10/10 rows" in caplog.text


def test_parallel_build_gives_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Large files are made by two processes; the merged rows equal a one-process build."""
    monkeypatch.setattr(rows, "CHUNK", 100)
    one = create_sample_db(tmp_path / "one.db", rows=1000, seed=7, state="2025-11-27")
    monkeypatch.setattr(rows, "PARALLEL_MIN_ROWS", 1)
    with caplog.at_level(logging.INFO, logger="wfhist.demo"):
        two = create_sample_db(tmp_path / "two.db", rows=1000, seed=7, state="2025-11-27")
    assert "helper process" in caplog.text
    assert _all_rows(two) == _all_rows(one)
    for table in RELATED_TABLES:
        sql = f"SELECT * FROM {table} ORDER BY id"
        with closing(sqlite3.connect(one)) as a, closing(sqlite3.connect(two)) as b:
            assert a.execute(sql).fetchall() == b.execute(sql).fetchall()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.db", "two.db"]


def test_parent_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("not a directory")
    with pytest.raises(UsageError, match="cannot create directory"):
        create_sample_db(tmp_path / "plain" / "wh.db", rows=2)


def test_directory_as_output_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a directory"):
        create_sample_db(tmp_path, rows=2, force=True)


# --- the whole real file, in every state -------------------------------------------------

#: Tables of the real file besides workflow_history, with (columns, named indexes).
OTHER_TABLES = {
    "schema_migrations": (4, 0),
    "tool_calls": (16, 4),
    "operation_patterns": (23, 4),
    "pattern_occurrences": (6, 3),
    "hook_events": (13, 6),
    "adw_tools": (16, 2),
    "cost_savings_log": (11, 3),
}
VIEWS = {
    "v_high_value_patterns",
    "v_tool_performance",
    "v_cost_savings_summary",
    "v_hook_events_daily",
}
TRIGGERS = {
    "trigger_update_pattern_timestamp",
    "trigger_update_tool_timestamp",
    "trigger_increment_tool_invocations",
    "trigger_update_tool_success_rate",
}
HISTORY_COLUMNS = {"pre-006": 69, "post-006": 70, "2025-11-27": 73, "renamed": 70}


@pytest.fixture(scope="module")
def state_dbs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One default-sized sample per state (do not write to them)."""
    base = tmp_path_factory.mktemp("states")
    return {s: create_sample_db(base / f"{s}.db", state=s) for s in STATES}


def _names(c: sqlite3.Connection, kind: str) -> set[str]:
    sql = "SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%'"
    return {r[0] for r in c.execute(sql, (kind,))}


def _named_indexes(c: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in c.execute(f"PRAGMA index_list({table})") if r[3] == "c"]


@pytest.mark.parametrize("state", STATES)
def test_every_table_view_and_trigger_of_the_real_file(
    state_dbs: dict[str, Path], state: str
) -> None:
    with closing(sqlite3.connect(state_dbs[state])) as c:
        tables = _names(c, "table")
        expected = {TABLE, *OTHER_TABLES}
        if state == "2025-11-27":  # the archive table came after the migration day
            expected.add("workflow_history_archive")
        assert tables == expected
        assert len(column_names(c)) == HISTORY_COLUMNS[state]
        assert classify_columns(column_names(c)) == state
        for table, (n_columns, n_indexes) in OTHER_TABLES.items():
            assert len(column_names(c, table)) == n_columns, table
            assert len(_named_indexes(c, table)) == n_indexes, table
        if state == "2025-11-27":
            assert len(column_names(c, "workflow_history_archive")) == 52
            assert len(_named_indexes(c, "workflow_history_archive")) == 3
        assert _names(c, "view") == VIEWS
        assert _names(c, "trigger") == TRIGGERS
        assert "wfhist_migrations" not in tables  # every state predates wfhist's runner
        assert c.execute("PRAGMA user_version").fetchone()[0] == 0
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_foreign_keys_are_the_real_ones(con: sqlite3.Connection) -> None:
    def fks(table: str) -> set[tuple[str, str, str]]:
        return {
            (r["table"], r["from"], r["to"])
            for r in _rows(con, f"PRAGMA foreign_key_list({table})")
        }

    wf = (TABLE, "workflow_id", "workflow_id")
    assert fks("tool_calls") == {wf}
    assert fks("hook_events") == {wf}
    assert fks("pattern_occurrences") == {wf, ("operation_patterns", "pattern_id", "id")}
    assert fks("cost_savings_log") == {
        wf,
        ("tool_calls", "tool_call_id", "tool_call_id"),
        ("operation_patterns", "pattern_id", "id"),
    }


def test_workflow_id_index_is_plain_so_foreign_key_check_raises_mismatch(
    con: sqlite3.Connection,
) -> None:
    unique = {r["name"]: r["unique"] for r in _rows(con, f"PRAGMA index_list({TABLE})")}
    assert unique["idx_workflow_history_workflow_id"] == 0
    sql = con.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'idx_workflow_history_workflow_id'"
    ).fetchone()[0]
    assert sql.startswith("CREATE INDEX")
    with pytest.raises(sqlite3.DatabaseError, match=r'foreign key mismatch - ".*" referencing'):
        con.execute("PRAGMA foreign_key_check").fetchall()
    # per table too, as a checker that handles the error table by table sees it
    for table in RELATED_TABLES:
        with pytest.raises(sqlite3.DatabaseError, match=f'mismatch - "{table}" referencing'):
            con.execute(f"PRAGMA foreign_key_check({table})").fetchall()


def test_child_writes_fail_while_foreign_keys_are_on(sample_db: Path) -> None:
    """Like the service's own writes on the real file: why the sample is filled with FKs off."""
    with closing(sqlite3.connect(sample_db)) as c:
        wf = c.execute(f"SELECT workflow_id FROM {TABLE} LIMIT 1").fetchone()[0]
        c.execute("PRAGMA foreign_keys = ON")
        with pytest.raises(sqlite3.DatabaseError, match="foreign key mismatch"):
            c.execute(
                "INSERT INTO tool_calls (tool_call_id, workflow_id, tool_name) VALUES (?, ?, ?)",
                ("tc-new", wf, "Read"),
            )


def test_child_rows_reference_existing_rows(con: sqlite3.Connection) -> None:
    workflows = {r[0] for r in _rows(con, f"SELECT workflow_id FROM {TABLE}")}
    for table in RELATED_TABLES:
        refs = [r[0] for r in _rows(con, f"SELECT workflow_id FROM {table}")]
        linked = [w for w in refs if w is not None]
        assert linked and set(linked) <= workflows, table
    assert _rows(con, "SELECT count(*) FROM hook_events WHERE workflow_id IS NULL")[0][0] > 0
    calls = {r[0] for r in _rows(con, "SELECT tool_call_id FROM tool_calls")}
    patterns = {r[0] for r in _rows(con, "SELECT id FROM operation_patterns")}
    savings = _rows(con, "SELECT tool_call_id, pattern_id FROM cost_savings_log")
    assert savings and {s[0] for s in savings} <= calls
    assert {s[1] for s in savings if s[1] is not None} <= patterns
    assert {r[0] for r in _rows(con, "SELECT pattern_id FROM pattern_occurrences")} <= patterns
    tools = {r[0] for r in _rows(con, "SELECT tool_name FROM adw_tools")}
    assert {r[0] for r in _rows(con, "SELECT DISTINCT tool_name FROM tool_calls")} <= tools


def test_checks_reject_values_outside_the_real_lists(sample_db: Path) -> None:
    bad = {
        "hook_events": "INSERT INTO hook_events (event_id, event_type, payload)"
        " VALUES ('e', 'Boom', '{}')",
        "cost_savings_log": "INSERT INTO cost_savings_log (optimization_type, workflow_id)"
        " VALUES ('magic', 'wf-x')",
        "adw_tools": "INSERT INTO adw_tools (tool_name, description, tool_schema, script_path,"
        " status) VALUES ('T', 'd', '{}', 'p', 'retired')",
        "operation_patterns": "INSERT INTO operation_patterns (pattern_signature, pattern_type,"
        " automation_status) VALUES ('s', 't', 'maybe')",
        TABLE: f"INSERT INTO {TABLE} (adw_id, status) VALUES ('x', 'lost')",
    }
    with closing(sqlite3.connect(sample_db)) as c:
        for sql in bad.values():
            with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
                c.execute(sql)


def test_the_statistics_kept_by_triggers_match_the_rows(con: sqlite3.Connection) -> None:
    for r in _rows(con, "SELECT * FROM adw_tools"):
        calls = _rows(con, "SELECT success FROM tool_calls WHERE tool_name = ?", (r["tool_name"],))
        assert r["total_invocations"] == len(calls)
        if calls:
            assert r["success_rate"] == pytest.approx(sum(c[0] for c in calls) / len(calls))
    for r in _rows(con, "SELECT id, occurrence_count FROM operation_patterns"):
        n = _rows(con, "SELECT count(*) FROM pattern_occurrences WHERE pattern_id = ?", (r["id"],))
        assert r["occurrence_count"] == max(1, n[0][0])


def test_each_trigger_fires(sample_db: Path) -> None:
    with closing(sqlite3.connect(sample_db)) as c:
        old = "2000-01-01 00:00:00"
        c.execute("UPDATE operation_patterns SET updated_at = ? WHERE id = 1", (old,))
        assert (
            c.execute("SELECT updated_at FROM operation_patterns WHERE id = 1").fetchone()[0] != old
        )
        c.execute("UPDATE adw_tools SET updated_at = ? WHERE tool_name = 'Read'", (old,))
        assert (
            c.execute("SELECT updated_at FROM adw_tools WHERE tool_name = 'Read'").fetchone()[0]
            != old
        )
        before = c.execute(
            "SELECT total_invocations, last_invoked FROM adw_tools WHERE tool_name = 'Read'"
        ).fetchone()
        wf = c.execute(f"SELECT workflow_id FROM {TABLE} LIMIT 1").fetchone()[0]
        c.execute(  # foreign keys are off: the write itself works, the trigger fires
            "INSERT INTO tool_calls (tool_call_id, workflow_id, tool_name, success)"
            " VALUES ('tc-new', ?, 'Read', 0)",
            (wf,),
        )
        after = c.execute(
            "SELECT total_invocations, last_invoked FROM adw_tools WHERE tool_name = 'Read'"
        ).fetchone()
        assert after[0] == before[0] + 1 and after[1] != before[1]
        c.execute("UPDATE tool_calls SET success = 0 WHERE tool_name = 'Read'")
        assert (
            c.execute("SELECT success_rate FROM adw_tools WHERE tool_name = 'Read'").fetchone()[0]
            == 0
        )


def test_views_answer_from_the_sample_rows(con: sqlite3.Connection) -> None:
    high = _rows(con, "SELECT * FROM v_high_value_patterns")
    assert high and all(
        r["confidence_score"] >= 70 and r["potential_monthly_savings"] >= 0.5 for r in high
    )
    perf = _rows(con, "SELECT tool_name, successful_calls, failed_calls FROM v_tool_performance")
    total = _rows(con, "SELECT count(*) FROM tool_calls")[0][0]
    assert perf and sum(r[1] + r[2] for r in perf) == total
    saved = _rows(con, "SELECT sum(optimization_count) FROM v_cost_savings_summary")[0][0]
    assert saved == _rows(con, "SELECT count(*) FROM cost_savings_log")[0][0] > 0
    daily = _rows(con, "SELECT sum(event_count) FROM v_hook_events_daily")[0][0]
    assert daily == _rows(con, "SELECT count(*) FROM hook_events")[0][0] > 0


@pytest.mark.parametrize(
    ("state", "files"),
    [
        ("pre-006", ["002", "003", "004"]),
        ("post-006", ["002", "003", "004", "006"]),
        ("2025-11-27", ["002", "003", "004", "006"]),  # 005 failed: never recorded
        ("renamed", ["002", "003", "004", "006"]),
    ],
)
def test_service_migration_records(
    state_dbs: dict[str, Path], state: str, files: list[str]
) -> None:
    with closing(sqlite3.connect(state_dbs[state])) as c:
        rows_ = c.execute(
            "SELECT migration_file, applied_at, checksum FROM schema_migrations ORDER BY id"
        ).fetchall()
    assert [r[0][:3] for r in rows_] == files
    assert rows_[0][0] == "002_add_performance_metrics.sql"
    assert rows_[1][0] == "003_add_analytics_metrics.sql"
    assert all(r[2] is None for r in rows_)
    assert all(datetime.strptime(r[1], UTC_FMT) for r in rows_)


def test_post_006_adds_scoring_version_at_position_70(state_dbs: dict[str, Path]) -> None:
    with closing(sqlite3.connect(state_dbs["post-006"])) as c:
        info = c.execute(f"PRAGMA table_info({TABLE})").fetchall()
        assert (info[69][1], info[69][2], info[69][4]) == ("scoring_version", "TEXT", "'1.0'")
        assert c.execute(f"SELECT DISTINCT scoring_version FROM {TABLE}").fetchall() == [("1.0",)]
        sql = c.execute("SELECT sql FROM sqlite_master WHERE name = ?", (TABLE,)).fetchone()[0]
    assert sql.rstrip().endswith(", scoring_version TEXT DEFAULT '1.0')")  # as ADD COLUMN wrote it
    pre = [r[:68] for r in _all_rows(state_dbs["pre-006"])]
    assert [r[:68] for r in _all_rows(state_dbs["post-006"])] == pre


def test_renamed_holds_the_post_006_values_under_the_canonical_names(
    state_dbs: dict[str, Path],
) -> None:
    with closing(sqlite3.connect(state_dbs["renamed"])) as c:
        names = column_names(c)
        indexes = set(_named_indexes(c, TABLE))
    assert names[43:45] == ["hour_of_day", "day_of_week"]
    assert {"idx_hour_of_day", "idx_day_of_week"} <= indexes
    assert not {"idx_submission_hour", "idx_submission_day_of_week"} & indexes
    assert len(indexes) == 16
    assert _all_rows(state_dbs["renamed"]) == _all_rows(state_dbs["post-006"])


# --- the file as it stood on 2025-11-27 ---------------------------------------------------


def test_2025_11_27_columns_and_indexes(state_dbs: dict[str, Path]) -> None:
    with closing(sqlite3.connect(state_dbs["2025-11-27"])) as c:
        info = c.execute(f"PRAGMA table_info({TABLE})").fetchall()
        indexes = {r[0]: r[1] for r in c.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (TABLE,)
        )}  # fmt: skip
    assert [(r[1], r[2], r[4]) for r in info[69:]] == [
        ("scoring_version", "TEXT", "'1.0'"),
        ("phase_number", "INTEGER", None),
        ("is_multi_phase", "BOOLEAN", "0"),
        ("day_of_week", "INTEGER", None),
    ]
    names = [r[1] for r in info]
    assert "submission_day_of_week" in names and "hour_of_day" not in names
    assert "idx_submission_day_of_week" not in indexes
    assert "idx_submission_hour" in indexes
    assert "(day_of_week)" in indexes["idx_day_of_week"]
    assert "(workflow_type)" in indexes["idx_workflow_type"]
    assert len([n for n in indexes if not n.startswith("sqlite_")]) == 17


def test_2025_11_27_rows_follow_the_service_code_that_wrote_them(
    state_dbs: dict[str, Path],
) -> None:
    with closing(sqlite3.connect(state_dbs["2025-11-27"])) as c:
        c.row_factory = sqlite3.Row
        rows_ = c.execute(f"SELECT * FROM {TABLE} ORDER BY id").fetchall()
    cutoff = datetime(2025, 11, 21, 10, 5)
    new = [
        r
        for r in rows_
        if r["start_time"] and datetime.strptime(r["start_time"], LOCAL_FMT) >= cutoff
    ]
    old = [r for r in rows_ if r not in new]
    assert len(new) > 20 and max(r["start_time"] for r in new) > "2025-11-26"
    for r in new:  # weekday in day_of_week, no hour anywhere
        assert r["submission_hour"] is None and r["submission_day_of_week"] is None
        assert r["day_of_week"] == datetime.strptime(r["start_time"], LOCAL_FMT).weekday()
    both = [r for r in old if r["submission_day_of_week"] is not None]
    assert len(both) == demo.STORED_TEMPORAL_ROWS
    for r in old:  # the partial 005 copied the few stored weekdays: equal, never conflicting
        assert r["day_of_week"] == r["submission_day_of_week"]
        assert r["phase_number"] is None and r["is_multi_phase"] == 0
    assert 0 in {r["day_of_week"] for r in both}
    multi = [r for r in new if r["is_multi_phase"]]
    assert multi and all(1 <= r["phase_number"] <= 3 for r in multi)
    assert all(r["phase_number"] is None for r in new if not r["is_multi_phase"])


def test_make_temporal_conflict_creates_exactly_one(
    tmp_path: Path, state_dbs: dict[str, Path]
) -> None:
    path = create_sample_db(tmp_path / "wh.db", state="2025-11-27")
    conflicts = (
        f"SELECT id FROM {TABLE} WHERE submission_day_of_week IS NOT NULL"
        " AND day_of_week IS NOT NULL AND submission_day_of_week != day_of_week"
    )
    assert _rows_of(path, conflicts) == []
    row_id = make_temporal_conflict(str(path))
    assert _rows_of(path, conflicts) == [(row_id,)]
    with pytest.raises(UsageError, match="not a 2025-11-27 file"):
        make_temporal_conflict(str(state_dbs["pre-006"]))


def _rows_of(path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(path)) as c:
        return c.execute(sql).fetchall()


def test_same_seed_same_file_in_every_state(tmp_path: Path, state_dbs: dict[str, Path]) -> None:
    again = create_sample_db(tmp_path / "again.db", state="2025-11-27")
    for table in (TABLE, *RELATED_TABLES, "adw_tools", "operation_patterns", "schema_migrations"):
        sql = f"SELECT * FROM {table} ORDER BY id"
        assert _rows_of(again, sql) == _rows_of(state_dbs["2025-11-27"], sql), table
    other = create_sample_db(tmp_path / "other.db", seed=1, state="2025-11-27")
    assert _rows_of(other, f"SELECT * FROM {TABLE}") != _rows_of(again, f"SELECT * FROM {TABLE}")


def test_unknown_state_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown state 'post-005'; pass --state one of"):
        create_sample_db(tmp_path / "wh.db", state="post-005")
    assert list(tmp_path.iterdir()) == []


def test_cli_writes_the_state_and_journal_mode_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "wh.db"
    assert main(["demo", "--rows", "40", "--state", "2025-11-27", "--wal", "--out", str(out)]) == 0
    assert "state 2025-11-27" in capsys.readouterr().out
    assert _scalar(out, "PRAGMA journal_mode") == "wal"
    with closing(sqlite3.connect(out)) as c:
        assert classify_columns(column_names(c)) == "2025-11-27"


def _schema_and_rows(path: Path) -> tuple[dict[str, str], dict[str, list[tuple]]]:
    with closing(sqlite3.connect(path)) as c:
        sql = "SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        objects = dict(c.execute(sql).fetchall())
        tables = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        data = {t: c.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables}
    return objects, data


def test_wfhist_migrations_take_pre_006_to_post_006_to_renamed(tmp_path: Path) -> None:
    """The states are the ones wfhist's own runner produces: same schema objects (plus
    its own record and 007's view), same rows, in every table."""
    db = create_sample_db(tmp_path / "wh.db", rows=60)
    post = create_sample_db(tmp_path / "post.db", rows=60, state="post-006")
    renamed = create_sample_db(tmp_path / "renamed.db", rows=60, state="renamed")
    own = {"wfhist_migrations", "schema_version"}
    assert main(["migrate", str(db), "--to", "6"]) == 0
    objects, data = _schema_and_rows(db)
    want_objects, want_data = _schema_and_rows(post)
    assert set(objects) - set(want_objects) <= own and set(want_objects) <= set(objects)
    assert data[TABLE] == want_data[TABLE]
    assert main(["migrate", str(db), "--to", "8"]) == 0
    objects, data = _schema_and_rows(db)
    want_objects, want_data = _schema_and_rows(renamed)
    assert set(objects) - set(want_objects) == own
    for name, sql in want_objects.items():
        assert objects[name] == sql, name
    # The one difference: the real file got 006 from the service's own runner, which
    # recorded it in schema_migrations; wfhist records its runs in wfhist_migrations.
    service = [r for r in want_data.pop("schema_migrations") if not r[1].startswith("006")]
    assert data.pop("schema_migrations") == service
    sequences = [r for r in want_data.pop("sqlite_sequence") if r[0] != "schema_migrations"]
    assert [r for r in data.pop("sqlite_sequence") if r[0] != "schema_migrations"] == sequences
    for table, rows_ in want_data.items():
        assert data[table] == rows_, table


def test_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    """Nothing depends on the clock or the process: two builds are byte-identical files."""
    a = create_sample_db(tmp_path / "a.db", rows=120, seed=3, state="2025-11-27")
    b = create_sample_db(tmp_path / "b.db", rows=120, seed=3, state="2025-11-27")
    assert a.read_bytes() == b.read_bytes()
