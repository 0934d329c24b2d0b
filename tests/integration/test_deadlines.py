"""Deadlines that act by themselves (issue 11), on SQLite and on PostgreSQL, with the tests' clock: the scheduler
records each unit's close (its own extension counted), accepts silence at the explanation close once even with
two schedulers and the job run twice, acts at start on deadlines it missed, reminds only units with missing work,
and delivers each reminder to a webhook exactly once, however often the webhook fails first or however long it
hangs. No test sleeps until a deadline: the clock is set past it."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from council import bootstrap
from council.infra.settings import SchedulerSettings
from council.scheduler import DeadlineScheduler, read_status
from council.services.appraisal_service import ExplanationReport
from council.services.round_service import Extension
from domain.base import event_type
from domain.errors import WindowClosedError
from domain.ids import dossier_id, score_id
from domain.values import SYSTEM, Actor, Role, ScoreAddress
from tests.builders import ICT, SECRETARIAT, full_self_assessment, officer, open_round, stored_document

LEAF = "2.1.1"
CLOSE = datetime(2025, 2, 1, tzinfo=ICT)  # the self-assessment close of tests.builders.WINDOWS
INSPECTOR = Actor(id="thanhtra@moha", role=Role.INSPECTOR)
DAY = 86400


STARTED: list[DeadlineScheduler] = []


def scheduler(components, tmp_path, monotonic=time.monotonic, **settings) -> DeadlineScheduler:
    config = SchedulerSettings(**{"reminder_offsets": (7 * DAY, 3 * DAY, DAY), "poll": 1, **settings})
    made = DeadlineScheduler(components, config, tmp_path, monotonic=monotonic)
    STARTED.append(made)
    return made


@pytest.fixture(autouse=True)
def stopped() -> Iterator[None]:
    """Every scheduler a test made is stopped after it (its lock released, its connection closed)."""
    yield
    while STARTED:
        STARTED.pop().stop()


@pytest.fixture
def second(settings, clock) -> Iterator[bootstrap.Components]:
    """Another process's components on the same database (its own pool, leadership and caches)."""
    parts = bootstrap.build(settings, clock=clock)
    yield parts
    parts.close()


def kinds(council, stream) -> list[str]:
    return [event_type(event) for event in council.events.get(stream)]


def accepted(council, key: str, unit: str) -> int:
    return sum(kinds(council, score_id(key, unit, leaf.code)).count("preliminary-accepted")
               for leaf in council.framework(key).leaves("appraisal"))


def test_a_write_after_the_close_is_refused_an_extended_unit_writes_and_the_audit_shows_who_closed(
        council, read_models, components, clock, tmp_path):
    key = open_round(council)
    extended = CLOSE + timedelta(days=3)
    council.extend_window(key, Extension("self_assessment", extended, "Bão số 3", unit="79"), SECRETARIAT)
    work = scheduler(components, tmp_path)
    clock.set(2025, 1, 31, 23, 59)
    assert work.tick()["closed"] == 0
    clock.now = CLOSE + timedelta(seconds=1)
    with pytest.raises(WindowClosedError):
        council.self_score(ScoreAddress(key, "01", LEAF), "0.50", officer("01"))
    council.self_score(ScoreAddress(key, "79", LEAF), "0.50", officer("79"))
    done = work.tick()
    assert sorted(unit for _, window, unit in done["closed_units"] if window == "self_assessment") == ["01", "48"]
    assert work.tick()["closed"] == 0  # run twice, recorded once
    audit = read_models.audit({"round_key": key}, INSPECTOR, limit=1000)["items"]
    closes = [row for row in audit if row["type"] == "window-closed"]
    assert {row["unit"] for row in closes} == {"01", "48"}
    assert {row["actor"] for row in closes} == {SYSTEM.id}
    assert all(row["request_id"].startswith("scheduler-") for row in closes)
    extension = next(row for row in audit if row["type"] == "window-extended")
    assert extension["reason"] == "Bão số 3" and extension["actor"] == SECRETARIAT.id
    clock.now = extended + timedelta(seconds=1)
    with pytest.raises(WindowClosedError):
        council.self_score(ScoreAddress(key, "79", LEAF), "0.75", officer("79"))
    assert [unit for _, window, unit in work.tick()["closed_units"] if window == "self_assessment"] == ["79"]
    dossier = council.dossier(key, "79", officer("79"))
    assert dossier["closed"]["self_assessment"] == extended and dossier["countdown"]["self_assessment"]["closed"]


def explanation_phase(council, clock) -> str:
    """Every unit self-assessed (half marks), the Secretariat proposed the self-scores, except one leaf of unit 01
    proposed lower; preliminary results released on 12 March; the window closes on 20 March."""
    key = open_round(council)
    for unit in ("01", "79", "48"):
        full_self_assessment(council, key, unit)
    clock.set(2025, 2, 10, 9)
    council.advance_phase(key, "appraisal", SECRETARIAT)
    at = ScoreAddress(key, "01", LEAF)
    council.propose(at, "0.25", council.score(at)["version"], SECRETARIAT, comment="Thiếu văn bản")
    clock.set(2025, 3, 12, 9)
    council.advance_phase(key, "explanation", SECRETARIAT)
    return key


def test_silence_is_accepted_once_for_exactly_the_unexplained_leaves_with_two_schedulers_and_two_runs(
        council, components, second, clock, tmp_path):
    key = explanation_phase(council, clock)
    council.file_explanation(ScoreAddress(key, "01", LEAF), ExplanationReport("Đã ban hành đúng hạn"), officer("01"))
    leaves = len(council.framework(key).leaves("appraisal"))
    one, two = scheduler(components, tmp_path), scheduler(second, tmp_path / "other")
    clock.set(2025, 3, 20, 0, 0)
    results: list = []
    both = [threading.Thread(target=lambda s=s: results.append(s.tick())) for s in (one, two)]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join()
    assert sorted(r is None for r in results) == [False, True]  # one leads, the other stands by
    assert one.tick() is not None or two.tick() is not None  # the job run again by whichever leads
    assert (accepted(council, key, "01"), accepted(council, key, "79"), accepted(council, key, "48")) == (
        leaves - 1, leaves, leaves)
    assert "preliminary-accepted" not in kinds(council, score_id(key, "01", LEAF))
    for unit in ("01", "79", "48"):
        assert kinds(council, dossier_id(key, unit)).count("window-closed") == 2  # self-assessment, explanation
    one.stop()
    assert two.tick() is not None  # the standby takes over once the leader stopped, and finds nothing to do
    assert accepted(council, key, "79") == leaves


def test_a_scheduler_started_after_a_missed_deadline_acts_on_it_at_start(council, components, clock, tmp_path):
    key = explanation_phase(council, clock)
    down = scheduler(components, tmp_path)
    assert down.tick()["accepted"] == 0  # 12 March: nothing is due yet
    down.stop()
    clock.set(2025, 3, 25, 9)  # the close of 20 March passed while no scheduler ran
    up = scheduler(components, tmp_path)
    up.start()
    try:
        deadline = time.monotonic() + 10
        while accepted(council, key, "79") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert accepted(council, key, "79") == len(council.framework(key).leaves("appraisal"))
        while time.monotonic() < deadline and \
                ((read_status(tmp_path) or {}).get("last_run") or {}).get("at", "") < "2025-03-25":
            time.sleep(0.05)  # the status is written once the run that recorded them is over
        status = read_status(tmp_path)
        assert status["leader"] is True and status["last_run"]["at"] >= "2025-03-25"
    finally:
        up.stop()


def test_reminders_go_only_to_units_with_missing_work_and_only_the_latest_offset(council, components, clock,
                                                                                 tmp_path):
    key = open_round(council)
    full_self_assessment(council, key, "79")
    council.submit(key, "79", "Chủ tịch UBND", stored_document(council, "79", "to-trinh"), officer("79"))
    council.self_score(ScoreAddress(key, "01", LEAF), "0.50", officer("01"))  # no evidence, most leaves unscored
    work = scheduler(components, tmp_path)
    clock.now = CLOSE - timedelta(days=2, hours=1)  # the 7-day and the 3-day offsets have both passed
    done = work.tick()
    assert done["reminded"] == 2  # 01 and 48, once each (the 3-day reminder; the 7-day one is no longer useful)
    assert work.tick()["reminded"] == 0
    outbox = council.reminders(SECRETARIAT)
    assert sorted(row["unit"] for row in outbox) == ["01", "48"]
    first = next(row for row in outbox if row["unit"] == "01")
    assert first["before"] == 3 * DAY and first["delivered_at"] is None
    assert LEAF in first["missing"]["without_evidence"] and "1.1.1" in first["missing"]["unscored"]
    assert first["missing"]["dossier_unsubmitted"] == ["01"]
    assert [row["unit"] for row in council.reminders(officer("01"))] == ["01"]  # a unit sees its own only
    clock.now = CLOSE - timedelta(hours=20)
    assert work.tick()["reminded"] == 2  # the 1-day reminder


class Webhook:
    """A local HTTP endpoint that fails its first `failures` requests with 500, or hangs `hang` seconds."""

    def __init__(self, failures: int = 0, hang: float = 0.0) -> None:
        self.failures, self.hang = failures, hang
        self.requests: list[tuple[int, str]] = []  # (status answered, Idempotency-Key)
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                if hook.hang:
                    time.sleep(hook.hang)
                status = 500 if hook.failures > 0 else 200
                hook.failures -= 1
                hook.requests.append((status, self.headers["Idempotency-Key"]))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/reminders"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_webhook_that_fails_three_times_then_succeeds_receives_each_reminder_once(council, components, clock,
                                                                                     tmp_path):
    open_round(council)
    hook = Webhook(failures=3)
    ticks = [0.0]
    work = scheduler(components, tmp_path, monotonic=lambda: ticks[0], reminder_offsets=(DAY,),
                     webhook_url=hook.url, webhook_timeout=5)
    try:
        clock.now = CLOSE - timedelta(hours=12)
        assert work.tick()["reminded"] == 3
        assert work.deliver() == 0 and [status for status, _ in hook.requests] == [500, 500, 500]
        assert work.deliver() == 0 and len(hook.requests) == 3  # each waits out its backoff (1 s after 1 failure)
        ticks[0] += 1.5
        assert work.deliver() == 3
        assert [status for status, _ in hook.requests] == [500, 500, 500, 200, 200, 200]
        assert sorted(key for status, key in hook.requests if status == 200) == sorted({
            key for _, key in hook.requests})  # the three failures were retries of reminders later delivered
        assert len(hook.requests) == 6
        assert council.reminders(SECRETARIAT, pending=True) == []
        assert work.deliver() == 0 and len(hook.requests) == 6
        # each reminder failed once (the first three requests), then went through on its second attempt
        assert sorted(row["attempts"] for row in council.reminders(SECRETARIAT)) == [2, 2, 2]
    finally:
        hook.close()
        work.stop()


def test_a_webhook_that_hangs_does_not_delay_a_close(council, components, clock, tmp_path):
    key = open_round(council)
    hook = Webhook(hang=6)
    work = scheduler(components, tmp_path, reminder_offsets=(DAY,), webhook_url=hook.url, webhook_timeout=3)
    clock.now = CLOSE - timedelta(hours=12)
    work.tick()
    work.start()
    try:
        deadline = time.monotonic() + 5
        while not work.attempts and time.monotonic() < deadline:  # a delivery has begun, and hangs
            time.sleep(0.05)
        assert work.attempts
        clock.now = CLOSE + timedelta(seconds=1)  # while it hangs, the close comes
        started = time.monotonic()
        while "window-closed" not in kinds(council, dossier_id(key, "01")) and time.monotonic() - started < 5:
            time.sleep(0.05)
        assert "window-closed" in kinds(council, dossier_id(key, "01"))
        assert time.monotonic() - started < 5
    finally:
        work.stop()
        hook.close()
