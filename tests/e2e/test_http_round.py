"""One whole round over HTTP against a real gunicorn (2 workers) on PostgreSQL, and a same-score race.

The server runs on the real clock, so the round's windows are set relative to now: the self-assessment
window closes SELF_ASSESSMENT_SECONDS after the round opens and the explanation window opens right then.
Principals are registered with the `council` command, as an administrator on the server would.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import sql

from council import bootstrap
from council.infra import ddl
from tests.e2e.server import Answer, Client, Server, round_windows

D = Decimal
PROBLEM = "application/problem+json"
FRAMEWORK = "province-876-2022"
# The self-assessment part (2 uploads, 6 downloads, 2 whole forms, 2 submissions) measured 1.7 s on the 2-core box;
# the window leaves about 5x that. Proposals and the adjustment run while it closes.
SELF_ASSESSMENT_SECONDS = 8
UNITS = [
    {"code": "01", "name": "Hà Nội", "region": "Red River Delta"},
    {"code": "79", "name": "Thành phố Hồ Chí Minh", "region": "South-East"},
    {"code": "48", "name": "Đà Nẵng", "region": "North Central and Central Coast"},
]
PEOPLE = {
    "admin@moha": ["--role", "admin"],
    "thuky@moha": ["--role", "secretariat"],
    "officer@01": ["--role", "unit", "--unit", "01"],
    "officer@79": ["--role", "unit", "--unit", "79"],
    "member@moj": ["--role", "council", "--fields", "2", "--ministry", "MOJ"],
    "member@moha": ["--role", "council", "--fields", "1,3,4,5,6,7,8", "--ministry", "MOHA"],
    "member@mof": ["--role", "council", "--fields", "2,6", "--ministry", "MOF"],
    "inspector@gov": ["--role", "inspector"],
}
PDF_01 = b"%PDF-1.7\n" + "Quyết định 12/QĐ-UBND ban hành kế hoạch CCHC năm 2024".encode() * 40
PDF_01_LATE = b"%PDF-1.7\n" + "Công văn 345/UBND-NC: kế hoạch ban hành đúng hạn".encode() * 40
PDF_79 = b"%PDF-1.7\n" + "Báo cáo tự đánh giá của UBND TP Hồ Chí Minh".encode() * 40
DISPUTED = "2.1.1"

pytestmark = pytest.mark.postgres


# The server, its principals, and its log on failure


@dataclass
class Running:
    server: Server
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def gunicorn(postgres_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """`council db init`, gunicorn with 2 workers on a fresh schema, principals from `council principals add`."""
    server = Server(f"{postgres_database}?schema=e2e_{uuid.uuid4().hex[:10]}", tmp_path_factory.mktemp("http"))
    try:
        started = time.monotonic()
        tokens = server.start(PEOPLE)
        print(f"server and principals ready in {time.monotonic() - started:.1f} s")
        yield Running(server, tokens)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def people(gunicorn: Running) -> dict[str, Client]:
    assert set(gunicorn.tokens) == set(PEOPLE) and all(len(t) >= 40 for t in gunicorn.tokens.values())
    return {name: gunicorn.server.client(token, name) for name, token in gunicorn.tokens.items()}


@pytest.fixture
def server(gunicorn: Running) -> Iterator[Server]:
    """pytest shows what a test printed only when it fails: then this is the server's log during the test."""
    start = gunicorn.server.log_size()
    yield gunicorn.server
    print(f"----- gunicorn log during this test -----\n{gunicorn.server.log(start)}")


# Helpers


def written(answer: Answer, status: int = 201, type_: str | None = None) -> Any:
    """A write's answer: the status, and every receipt carries stream, version and event_hash."""
    assert answer.status == status, str(answer)
    body = answer.json
    for receipt in body if isinstance(body, list) else [body]:
        assert {"stream", "version", "event_hash"} <= receipt.keys(), receipt
        assert isinstance(receipt["version"], int) and len(receipt["event_hash"]) == 64, receipt
        uuid.UUID(receipt["stream"])
    if type_ is not None:
        assert body["type"] == type_, body
    return body


def ok(answer: Answer, status: int = 200) -> Any:
    assert answer.status == status, str(answer)
    return answer.json


def leaves_of(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """The leaves of a criteria tree as GET /frameworks/{id} gives it, in tree order."""
    found: list[dict[str, Any]] = []

    def walk(node: dict[str, Any], field: str) -> None:
        if not node.get("children"):
            found.append({"code": node["code"], "field": field, "method": node["method"],
                          "max": D(node["max_points"]), "step": D(node.get("step", "0.01"))})
        for child in node.get("children") or ():
            walk(child, field)

    for field in tree["fields"]:
        walk(field, field["code"])
    return found


def on_grid(value: Decimal, step: Decimal) -> Decimal:
    return (value - value % step).quantize(D("0.01"))


def windows(self_assessment_closes: datetime) -> dict[str, dict[str, str]]:
    return round_windows(self_assessment_closes)


def document(score: dict[str, Any]) -> dict[str, Any]:
    """A score's first evidence document as a form or a submission names it."""
    doc = score["evidence"][0]
    return {k: doc[k] for k in ("sha256", "name", "media_type", "size", "number", "issued_on", "issuer")}


# 1. A whole round


def test_a_whole_round_over_http_from_opening_to_finalized_results(server: Server, people: dict[str, Client]):
    started = time.monotonic()
    sec, inspector = people["thuky@moha"], people["inspector@gov"]
    officers = {"01": people["officer@01"], "79": people["officer@79"]}
    moj = people["member@moj"]

    tree = ok(people["admin@moha"].get(f"/api/v1/frameworks/{FRAMEWORK}"))["data"]
    leaves = leaves_of(tree)
    appraisal = [leaf for leaf in leaves if leaf["method"] == "appraisal"]
    survey = [leaf for leaf in leaves if leaf["method"] == "survey"]
    assert (len(leaves), sum(leaf["max"] for leaf in leaves)) == (92, D("100.00"))

    # What each unit will claim: 01 nearly full marks (one grid step off every third leaf, the disputed one full),
    # 79 half marks; 48 never self-assesses.
    claimed = {
        "01": {leaf["code"]: leaf["max"] if i % 3 or leaf["code"] == DISPUTED else leaf["max"] - leaf["step"]
               for i, leaf in enumerate(appraisal)},
        "79": {leaf["code"]: on_grid(leaf["max"] / 2, leaf["step"]) for leaf in appraisal},
    }

    # Opening: the self-assessment window closes SELF_ASSESSMENT_SECONDS from now.
    opened_at = time.monotonic()
    closes = datetime.now(UTC) + timedelta(seconds=SELF_ASSESSMENT_SECONDS)
    written(sec.post("/api/v1/rounds", {"year": 2024, "framework": FRAMEWORK, "units": UNITS,
                                        "windows": windows(closes)}), type_="opened")
    key = "2024-province"
    rnd = ok(sec.get(f"/api/v1/rounds/{key}"))
    assert (rnd["phase"], [u["code"] for u in rnd["units"]]) == ("self_assessment", ["01", "79", "48"])
    base = f"/api/v1/rounds/{key}/units"

    # Self-assessment: one upload per unit, then the whole form by the file's hash, then submission.
    uploads = {"01": (DISPUTED, PDF_01, "QD-12.pdf"), "79": ("1.1.1", PDF_79, "BC-79.pdf")}
    for unit, officer in officers.items():
        leaf, content, name = uploads[unit]
        written(officer.upload(f"{base}/{unit}/scores/{leaf}/evidence", content, name, "application/pdf",
                               {"number": "12/QĐ-UBND", "issued_on": "2024-03-01", "issuer": "UBND"}),
                type_="evidence-attached")
        sha = hashlib.sha256(content).hexdigest()
        for reader in (officer, sec, inspector):
            download = reader.get(f"/api/v1/evidence/{sha}")
            assert (download.status, download.body, download.media_type) == (200, content, "application/pdf"), (
                reader.name, str(download))
        entries = [{"leaf": code, "points": str(points), "note": f"tự chấm {code}",
                    "evidence": [] if code == leaf else [{"sha256": sha, "name": name, "number": "12/QĐ-UBND",
                                                          "issued_on": "2024-03-01", "issuer": "UBND"}]}
                   for code, points in claimed[unit].items()]
        receipts = written(officer.post(f"{base}/{unit}/self-assessment", {"entries": entries}))
        assert {r["type"] for r in receipts} >= {"self-scored", "evidence-attached"}
        report = document(ok(officer.get(f"{base}/{unit}/scores/{leaf}")))
        assert report["size"] == len(content)
        written(officer.post(f"{base}/{unit}/submission",
                             {"approved_by": f"Chủ tịch UBND {unit}", "report": report}), type_="submitted")
    self_assessment_took = time.monotonic() - opened_at
    print(f"self-assessment part took {self_assessment_took:.2f} s of the {SELF_ASSESSMENT_SECONDS} s window")
    assert datetime.now(UTC) < closes, "the self-assessment part outran its window: raise SELF_ASSESSMENT_SECONDS"

    # Appraisal: the Secretariat proposes every leaf (If-Match from the listing), 79 loses one leaf with a comment.
    written(sec.post(f"/api/v1/rounds/{key}/phase", {"phase": "appraisal", "reason": "hết hạn tự đánh giá"}),
            type_="phase-advanced")
    decided = {unit: dict(points) for unit, points in claimed.items()}
    decided["79"]["3.1.1"] = D("0.00")
    for unit in officers:
        states = {s["leaf"]: s for s in ok(sec.get(f"{base}/{unit}/scores"))}
        assert {code for code, s in states.items() if s["method"] == "appraisal"} == set(claimed[unit])
        for code in claimed[unit]:
            assert D(states[code]["self_points"]) == claimed[unit][code]
            body = {"points": str(decided[unit][code])}
            if decided[unit][code] != claimed[unit][code]:
                body["comment"] = "Không có văn bản chứng minh"
            written(sec.post(f"{base}/{unit}/scores/{code}/appraisals", body,
                             headers={"If-Match": f'"{states[code]["version"]}"'}), type_="appraisal-proposed")

    # The Council cuts 01's disputed leaf, with If-Match from the ETag of a fresh read.
    disputed = f"{base}/01/scores/{DISPUTED}"
    read = moj.get(disputed)
    assert read.status == 200 and read.headers["etag"] == f'"{read.json["version"]}"', str(read)
    cut = written(moj.post(f"{disputed}/adjustments", {"points": "0.25", "reason": "Văn bản ban hành chậm"},
                           headers={"If-Match": read.headers["etag"]}), type_="council-adjusted")
    assert cut["version"] == read.json["version"] + 1

    # Explanation: wait for the self-assessment window to close (the explanation window opens then).
    wait = (closes - datetime.now(UTC)).total_seconds() + 0.5
    print(f"waiting {max(wait, 0):.1f} s for the explanation window")
    time.sleep(max(wait, 0))
    late = officers["01"].upload(f"{base}/01/scores/1.1.1/evidence", PDF_01_LATE, "late.pdf", "application/pdf")
    assert (late.status, late.json["type"]) == (409, "wrong-phase"), str(late)
    written(sec.post(f"/api/v1/rounds/{key}/phase", {"phase": "explanation"}), type_="phase-advanced")
    written(officers["01"].upload(f"{disputed}/evidence", PDF_01_LATE, "CV-345.pdf", "application/pdf",
                                  {"number": "345/UBND-NC"}), type_="evidence-attached")
    late_sha = hashlib.sha256(PDF_01_LATE).hexdigest()
    filed = written(officers["01"].post(f"{disputed}/explanations", {
        "argument": "Kế hoạch ban hành đúng hạn theo công văn 345", "requested_points": "0.75",
        "evidence": [late_sha]}), type_="explanation-filed")
    assert filed["explanation_id"] == "1"

    # Survey points for every unit; 01 misses 0.30 of 1.3.3, 79 gets half.
    surveyed = {"01": {leaf["code"]: leaf["max"] for leaf in survey},
                "79": {leaf["code"]: on_grid(leaf["max"] / 2, D("0.01")) for leaf in survey},
                "48": {leaf["code"]: leaf["max"] for leaf in survey}}
    surveyed["01"]["1.3.3"] = D("0.20")
    rows = [{"unit": unit, "leaf": code, "points": str(points)}
            for unit, by_leaf in surveyed.items() for code, points in by_leaf.items()]
    receipts = written(sec.post(f"/api/v1/rounds/{key}/survey-results",
                                {"source": "Điều tra xã hội học 2024", "results": rows}))
    assert sum(r["type"] == "survey-scored" for r in receipts) == len(rows)

    # Council review: the explanation window stays open for hours, so the Secretariat closes it early, saying why
    # (without a reason the move is refused: 409 window-open).
    early = sec.post(f"/api/v1/rounds/{key}/phase", {"phase": "council_review"})
    assert (early.status, early.json["type"]) == (409, "window-open"), str(early)
    written(sec.post(f"/api/v1/rounds/{key}/phase", {"phase": "council_review",
                                                     "reason": "Các tỉnh đã gửi đủ báo cáo giải trình"}),
            type_="phase-advanced")

    # The Council's decision, in council review, again with If-Match from the ETag.
    read = moj.get(disputed)
    assert read.json["status"] == "disputed", str(read)
    written(moj.post(f"{disputed}/explanations/{filed['explanation_id']}/decision",
                     {"accept": True, "points": "0.50", "reason": "Chấp nhận một phần"},
                     headers={"If-Match": read.headers["etag"]}), type_="explanation-accepted")
    decided["01"][DISPUTED] = D("0.50")
    written(sec.post(f"/api/v1/rounds/{key}/phase", {"phase": "finalized"}), type_="phase-advanced")

    # Results: each index is the sum of the points sent and decided.
    results = ok(inspector.get(f"/api/v1/rounds/{key}/results"))
    assert results["phase"] == "finalized"
    by_unit = {r["unit"]["code"]: r for r in results["units"]}
    expected = {unit: sum(decided.get(unit, {}).values(), D("0.00")) + sum(surveyed[unit].values(), D("0.00"))
                for unit in ("01", "79", "48")}
    assert {unit: D(r["index"]) for unit, r in by_unit.items()} == expected
    assert expected["01"] == D("68.00") - D("0.25") - sum(
        leaf["step"] for i, leaf in enumerate(appraisal) if not i % 3 and leaf["code"] != DISPUTED) + D("31.70")
    assert D(by_unit["01"]["fields"]["2"]) == sum(
        (p for code, p in decided["01"].items() if code.startswith("2.")), D("0.00")) + D("2.00")
    assert [r["unit"]["code"] for r in results["units"]] == ["01", "79", "48"]
    assert [r["rank"] for r in results["units"]] == [1, 2, 3]
    final = ok(officers["01"].get(disputed))
    assert (final["status"], final["final_points"]) == ("final", "0.50")

    # The disputed score's history: every step, who took it, and why.
    history = ok(inspector.get(f"{disputed}/history"))
    events = history["events"]
    assert [e["type"] for e in events] == [
        "opened", "evidence-attached", "self-scored", "appraisal-proposed", "council-adjusted",
        "evidence-attached", "explanation-filed", "explanation-accepted", "finalized"]
    assert [e["actor"]["id"] for e in events] == [
        "officer@01", "officer@01", "officer@01", "thuky@moha", "member@moj", "officer@01", "officer@01",
        "member@moj", "thuky@moha"]
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    adjusted, explained, accepted = events[4], events[6], events[7]
    assert (adjusted["reason"], adjusted["points_before"], adjusted["points_after"]) == (
        "Văn bản ban hành chậm", "0.75", "0.25")
    assert (adjusted["actor"]["role"], adjusted["actor"]["fields"], adjusted["actor"]["ministry"]) == (
        "council", ["2"], "MOJ")
    assert (events[1]["actor"]["role"], events[1]["actor"]["unit"]) == ("unit", "01")
    assert explained["reason"] == "Kế hoạch ban hành đúng hạn theo công văn 345"
    assert (accepted["reason"], accepted["points_after"]) == ("Chấp nhận một phần", "0.50")
    assert all(e["prev_hash"] == p["hash"] for p, e in itertools.pairwise(events))
    assert history["verified"] is True

    verdict = ok(inspector.get("/api/v1/verify"))
    assert verdict["valid"] is True and verdict["first_broken"] is None, verdict
    print(f"whole round over HTTP took {time.monotonic() - started:.1f} s")


# 2. Two council members adjust the same score at the same moment


def race(url: str, etag: str, members: list[Client], offered: dict[str, str]) -> dict[str, Answer]:
    """Every member POSTs an adjustment to `url` with the same If-Match, released together by a barrier."""
    barrier = threading.Barrier(len(members))
    answers: dict[str, Answer] = {}

    def adjust(member: Client) -> None:
        body = {"points": offered[member.name], "reason": f"điều chỉnh bởi {member.name}"}
        barrier.wait(timeout=10)
        answers[member.name] = member.post(url, body, headers={"If-Match": etag})

    threads = [threading.Thread(target=adjust, args=(member,)) for member in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


RACED = ["2.1.1", "2.1.2", "2.1.3", "2.2.1", "2.2.2", "2.3.1", "2.3.2", "2.4.1"]  # field 2: both members may adjust
OFFERED = {"member@moj": "0.25", "member@mof": "0.50"}


@dataclass
class Race:
    leaf: str
    expected_version: int
    answers: dict[str, Answer]
    history: dict[str, Any]


def race_every_leaf(year: int, people: dict[str, Client]) -> list[Race]:
    """A round of its own in appraisal; on each raced leaf both members adjust at once with the same If-Match."""
    sec, officer = people["thuky@moha"], people["officer@01"]
    members = [people["member@moj"], people["member@mof"]]
    written(sec.post("/api/v1/rounds", {"year": year, "framework": FRAMEWORK, "units": UNITS[:2],
                                        "windows": windows(datetime.now(UTC) + timedelta(hours=1))}), type_="opened")
    base = f"/api/v1/rounds/{year}-province/units/01/scores"
    for leaf in RACED:
        written(officer.put(f"{base}/{leaf}/self-assessment", {"points": "0.75"}), 200, type_="self-scored")
    written(sec.post(f"/api/v1/rounds/{year}-province/phase", {"phase": "appraisal", "reason": "thử tranh chấp"}),
            type_="phase-advanced")
    races = []
    for leaf in RACED:
        read = members[0].get(f"{base}/{leaf}")
        assert read.status == 200, str(read)
        answers = race(f"{base}/{leaf}/adjustments", read.headers["etag"], members, OFFERED)
        races.append(Race(leaf, read.json["version"], answers, ok(members[1].get(f"{base}/{leaf}/history"))))
    return races


def test_concurrent_adjustments_of_one_score_record_exactly_one(server: Server, people: dict[str, Client]):
    for raced in race_every_leaf(2023, people):
        answers = raced.answers
        assert sorted(a.status for a in answers.values()) == [201, 409], (
            raced.leaf, {name: str(a) for name, a in answers.items()})
        winner = next(name for name, a in answers.items() if a.status == 201)
        loser = next(a for a in answers.values() if a.status == 409)
        receipt = written(answers[winner], type_="council-adjusted")
        assert receipt["version"] == raced.expected_version + 1
        problem = loser.json
        assert (loser.media_type, problem["type"], problem["status"]) == (PROBLEM, "version-conflict", 409), problem
        assert problem["current_version"] == raced.expected_version + 1, (raced.leaf, problem)
        adjustments = [e for e in raced.history["events"] if e["type"] == "council-adjusted"]
        assert len(adjustments) == 1, (raced.leaf, raced.history["events"])
        assert (adjustments[0]["actor"]["id"], adjustments[0]["points_after"]) == (winner, OFFERED[winner])
        assert raced.history["verified"] is True


def test_the_loser_of_a_race_is_always_told_the_current_version(server: Server, people: dict[str, Client]):
    for raced in race_every_leaf(2022, people):
        loser = next(a for a in raced.answers.values() if a.status == 409)
        assert loser.json.get("current_version") == raced.expected_version + 1, (raced.leaf, loser.json)


# 3. A request followed from its answer to the event, the audit trail and gunicorn's access log


def stored_event(server: Server, notification_id: int) -> bytes:
    """The event's row as PostgreSQL holds it, read past the API."""
    env = bootstrap.settings({"COUNCIL_DATABASE_URL": server.database_url}).persistence_env()
    with psycopg.connect(**ddl.pg_connect_kwargs(env)) as conn:
        row = conn.execute(sql.SQL("SELECT state FROM {}.council_events WHERE notification_id = %s").format(
            sql.Identifier(env["POSTGRES_SCHEMA"])), (notification_id,)).fetchone()
    assert row is not None, notification_id
    return bytes(row[0])


@pytest.mark.parametrize(("year", "sent"), [(2040, "abc-123"), (2041, None)])
def test_a_request_id_is_in_the_answer_the_event_the_audit_trail_and_the_access_log(
        server: Server, people: dict[str, Client], year: int, sent: str | None):
    log_start = server.log_size()
    answer = people["thuky@moha"].post("/api/v1/rounds", {"year": year, "framework": FRAMEWORK, "units": UNITS[:1],
                                                          "windows": windows(datetime.now(UTC) + timedelta(hours=1))},
                                       headers={"X-Request-ID": sent} if sent else {})
    receipt = written(answer, type_="opened")
    request_id = answer.headers["x-request-id"]
    assert request_id == sent if sent else len(request_id) == 32
    assert receipt["request_id"] == request_id
    stored = stored_event(server, receipt["notification_id"]).replace(b" ", b"")
    assert f'"request_id":"{request_id}"'.encode() in stored
    trail = ok(people["inspector@gov"].get(f"/api/v1/audit?request_id={request_id}&after={receipt['notification_id']}"))
    assert [(row["position"], row["type"], row["request_id"]) for row in trail["items"]] == [
        (receipt["notification_id"], "opened", request_id)]
    deadline = time.monotonic() + 10  # gunicorn writes the access line after the answer is sent
    while f" request_id={request_id}\n" not in server.log(log_start) and time.monotonic() < deadline:
        time.sleep(0.1)
    lines = [line for line in server.log(log_start).splitlines() if line.endswith(f" request_id={request_id}")]
    assert len(lines) == 1 and '"POST /api/v1/rounds HTTP/1.1" 201' in lines[0], server.log(log_start)
