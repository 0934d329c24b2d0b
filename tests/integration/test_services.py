"""Service behaviour a user notices, on SQLite and on PostgreSQL: refusals record nothing, conflicts lose no update."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from decimal import Decimal

import psycopg
import pytest

from council import bootstrap
from council.services.appraisal_service import ExplanationReport
from council.services.round_service import Extension, RoundPlan
from domain.errors import (
    AlreadyExistsError,
    DomainError,
    IncompleteSubmissionError,
    PointsOffGridError,
    VersionConflictError,
    WindowClosedError,
    WrongUnitError,
)
from domain.ids import score_id
from domain.values import ScoreAddress
from tests.builders import (
    ICT,
    MOJ_MEMBER,
    SECRETARIAT,
    full_self_assessment,
    officer,
    open_round,
    stored_document,
)


def log_size(council) -> int:
    return council.recorder.max_notification_id() or 0


def test_a_refused_command_records_nothing(council):
    key = open_round(council)
    before = log_size(council)
    refusals = [
        lambda: council.self_score(ScoreAddress(key, "01", "1.1.1"), "0.125", officer("01")),
        lambda: council.self_score(ScoreAddress(key, "01", "1.1.1"), "0.50", officer("79")),
        lambda: council.self_assess(key, "01", [{"leaf": "1.1.1", "points": "0.50"},
                                                {"leaf": "1.1.2", "points": "99.00"}], officer("01")),
        lambda: council.open_round(RoundPlan(2024, "province-876-2022", units=[], windows={}), SECRETARIAT),
    ]
    for refuse in refusals:
        with pytest.raises(DomainError):
            refuse()
    assert log_size(council) == before
    with pytest.raises(Exception, match="no score recorded"):
        council.history(ScoreAddress(key, "01", "1.1.1"))


def test_opening_the_same_round_twice_is_refused(council):
    open_round(council)
    with pytest.raises(AlreadyExistsError):
        open_round(council)


def test_a_batch_with_one_bad_entry_is_refused_whole_naming_the_leaf(council):
    key = open_round(council)
    with pytest.raises(PointsOffGridError, match=r"1\.1\.2"):
        council.self_assess(key, "01", [{"leaf": "1.1.1", "points": "0.50"}, {"leaf": "1.1.2", "points": "0.10"}],
                            officer("01"))
    assert council.unit_scores(key, "01") == []


def test_submission_names_the_leaves_still_missing_and_succeeds_once_all_are_backed(council):
    key = open_round(council)
    council.self_score(ScoreAddress(key, "01", "1.1.1"), "0.50", officer("01"))
    with pytest.raises(IncompleteSubmissionError) as refused:
        council.submit(key, "01", "Chủ tịch UBND", stored_document(council, "01", "report"), officer("01"))
    appraisal = [leaf.code for leaf in council.framework(key).leaves("appraisal")]
    assert refused.value.details["leaves"] == appraisal
    full_self_assessment(council, key, "01")
    receipt = council.submit(key, "01", "Chủ tịch UBND", stored_document(council, "01", "report"), officer("01"))
    assert receipt.type == "submitted"


def test_a_unit_extension_lets_that_unit_write_after_the_close(council, clock):
    key = open_round(council)
    clock.set(2025, 2, 2, 9)
    with pytest.raises(WindowClosedError):
        council.self_score(ScoreAddress(key, "01", "1.1.1"), "0.50", officer("01"))
    extension = Extension("self_assessment", datetime(2025, 2, 6, tzinfo=ICT), "Bão số 3", unit="01")
    council.extend_window(key, extension, SECRETARIAT)
    assert council.self_score(ScoreAddress(key, "01", "1.1.1"), "0.50", officer("01")).version == 2
    with pytest.raises(WindowClosedError):
        council.self_score(ScoreAddress(key, "79", "1.1.1"), "0.50", officer("79"))
    assert council.round(key)["extensions"][0]["unit"] == "01"


def test_a_receipt_names_the_stream_version_and_hash_of_what_was_recorded(council):
    key = open_round(council)
    receipt = council.self_score(ScoreAddress(key, "01", "1.1.1"), "0.50", officer("01"))
    event = list(council.events.get(score_id(key, "01", "1.1.1")))[-1]
    assert (receipt.stream, receipt.version, receipt.event_hash) == (str(event.originator_id), 2, event.hash)
    assert receipt.notification_id == log_size(council)


def appraisal_ready(council, clock) -> str:
    key = open_round(council)
    council.self_score(ScoreAddress(key, "01", "2.1.1"), "0.75", officer("01"))
    clock.set(2025, 2, 10, 9)
    council.advance_phase(key, "appraisal", SECRETARIAT)
    return key


def test_two_council_members_adjusting_at_once_lose_no_update(council, settings, clock):
    """Two applications (two workers) race on one score: one wins, the other gets a version conflict."""
    key = appraisal_ready(council, clock)
    parts = bootstrap.build(settings, clock=clock)
    other = parts.council
    version = council.score(ScoreAddress(key, "01", "2.1.1"))["version"]
    barrier, outcomes = threading.Barrier(2), []

    def adjust(app, points):
        barrier.wait()
        try:
            outcomes.append(app.adjust(ScoreAddress(key, "01", "2.1.1"), points, "thiếu minh chứng", version,
                                       MOJ_MEMBER))
        except VersionConflictError as conflict:
            outcomes.append(conflict)

    threads = [threading.Thread(target=adjust, args=(app, p)) for app, p in ((council, "0.25"), (other, "0.50"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    parts.close()
    assert sorted(type(o).__name__ for o in outcomes) == ["Receipt", "VersionConflictError"]
    winner = next(o for o in outcomes if not isinstance(o, Exception))
    history = council.history(ScoreAddress(key, "01", "2.1.1"))
    assert [e["type"] for e in history["events"]].count("council-adjusted") == 1
    assert history["state"]["version"] == winner.version


def test_an_officer_of_one_unit_cannot_touch_another_units_evidence(council):
    key = open_round(council)
    with pytest.raises(WrongUnitError):
        council.attach_evidence(ScoreAddress(key, "79", "1.1.1"), stored_document(council, "01", "x"), officer("01"))


def tamper(env, sql_text):
    url = env["COUNCIL_DATABASE_URL"]
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute(sql_text.format(table="stored_events"))
        return
    database, schema = url.split("?schema=")
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute(sql_text.format(table="council_events"))


def test_the_events_table_refuses_update_and_delete(council, env):
    key = open_round(council)
    council.self_score(ScoreAddress(key, "01", "1.1.1"), "0.50", officer("01"))
    for statement in ("UPDATE {table} SET originator_version = originator_version",
                      "DELETE FROM {table}"):
        with pytest.raises((sqlite3.DatabaseError, psycopg.Error), match="append-only"):
            tamper(env, statement)
    assert council.score(ScoreAddress(key, "01", "1.1.1"))["self_points"] == Decimal("0.50")


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_row_altered_by_a_superuser_breaks_the_chain_of_its_stream(council, env):
    key = open_round(council)
    council.self_score(ScoreAddress(key, "01", "1.1.1"), "0.50", officer("01"))
    tamper(env, "ALTER TABLE {table} DISABLE TRIGGER events_append_only; "
                "UPDATE {table} SET state = convert_to(replace(convert_from(state, 'UTF8'), '\"0.50\"', '\"0.75\"'), "
                "'UTF8') "
                "WHERE originator_version = 2; ALTER TABLE {table} ENABLE TRIGGER events_append_only")
    history = council.history(ScoreAddress(key, "01", "1.1.1"))
    assert history["verified"] is False
    assert history["broken"] == {"version": 2, "reason": "hash does not match the event's content"}
    assert [e["version"] for e in history["events"]] == [1]  # the altered content is never shown as the state
    assert history["state"]["self_points"] is None


def test_a_deleted_middle_event_is_named_by_the_history_not_a_crash(council, env):
    key = open_round(council)
    at = ScoreAddress(key, "01", "1.1.1")
    for points in ("0.25", "0.50"):
        council.self_score(at, points, officer("01"))
    if env["COUNCIL_DATABASE_URL"].startswith("sqlite"):
        statements = ["DROP TRIGGER stored_events_no_delete", "DELETE FROM {table} WHERE originator_version = 2 "
                      f"AND originator_id = '{score_id(key, '01', '1.1.1').hex}'"]
    else:
        statements = ["ALTER TABLE {table} DISABLE TRIGGER events_append_only",
                      f"DELETE FROM {{table}} WHERE originator_version = 2 AND originator_id = "
                      f"'{score_id(key, '01', '1.1.1')}'",
                      "ALTER TABLE {table} ENABLE TRIGGER events_append_only"]
    for statement in statements:
        tamper(env, statement)
    history = council.history(at)
    assert history["verified"] is False
    assert history["broken"]["version"] == 2 and "missing" in history["broken"]["reason"]
    assert [e["version"] for e in history["events"]] == [1]


def test_closing_the_explanation_window_accepts_every_silent_leaf_once(council, clock):
    key = appraisal_ready(council, clock)
    clock.set(2025, 3, 12, 9)
    council.advance_phase(key, "explanation", SECRETARIAT)
    council.file_explanation(ScoreAddress(key, "01", "2.1.1"), ExplanationReport("Đã ban hành đúng hạn"), officer("01"))
    appraisal_leaves = len(council.framework(key).leaves("appraisal"))
    clock.set(2025, 3, 20, 9)
    assert council.close_explanation_window(key, SECRETARIAT) == 3 * appraisal_leaves - 1
    assert council.close_explanation_window(key, SECRETARIAT) == 0
    assert council.score(ScoreAddress(key, "01", "2.1.1"))["preliminary_accepted"] is False
    assert council.score(ScoreAddress(key, "79", "2.1.1"))["status"] == "preliminary_accepted"
