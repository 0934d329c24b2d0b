"""What the browser tests and scripts/screenshots.py share: a prepared provincial round played through the services,
the real server (`council serve`, gunicorn, on the SQLite default in a data folder of its own), Debian's Chromium
driven by Playwright, and the login by token."""

from __future__ import annotations

import http.client
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from council import bootstrap
from council.cli.demo_round import (
    ACCEPTED,
    ADJUSTED,
    COUNCIL,
    CUT_COMMENT,
    EXPLAINED,
    SECRETARIAT,
    TREE,
    document,
    officer,
)
from council.infra import unit_lists
from council.services import Council
from council.services.appraisal_service import Decision, ExplanationReport
from council.services.principal_service import Scope
from council.services.round_service import RoundPlan
from domain.values import Actor, Role, ScoreAddress

ROOT = Path(__file__).resolve().parents[2]
ICT = timezone(timedelta(hours=7))
# Debian's Chromium (apt-get install chromium; `make test` installs it as root): never a browser download.
CHROMIUM = os.environ.get("COUNCIL_TEST_CHROMIUM", "/usr/bin/chromium")
START_TIMEOUT = 30.0  # seconds `council serve` may take to answer /api/v1/health
YEAR = 2024
KEY = f"{YEAR}-province"
UNIT_CODES = ("01", "79", "48", "31", "92", "22")  # Hà Nội, TP HCM, Đà Nẵng, Hải Phòng, Cần Thơ, Quảng Ninh
MEMBER = COUNCIL["1"]  # hdtd.noivu@moha.gov.vn: fields 1, 3, 4, 5 and 8, ministry MOHA
INSPECTOR = "thanhtra@moha.gov.vn"
OPEN_REASON = "Tài liệu bổ sung chứng minh đạt yêu cầu một phần."


@dataclass
class SimulatedClock:
    """The events' server time: each call moves seven seconds; `jump` sets the next stage (ICT wall time)."""

    now: datetime = datetime(YEAR + 1, 1, 6, 8, 0, tzinfo=ICT)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=7)
        return self.now.astimezone(UTC)

    def jump(self, *args: int) -> None:
        self.now = datetime(*args, tzinfo=ICT)


@dataclass(frozen=True)
class Dispute:
    """A leaf of a unit the round's story disputed, with what the pages should show of it."""

    unit: str
    leaf: str
    field: str
    self_points: str
    proposed: str
    adjusted: str
    final: str = ""  # after the council's decision; empty while the explanation is open
    explanation: str = ""
    decided_at: datetime | None = None  # ICT

    def timeline(self, key: str = KEY) -> str:
        return f"/rounds/{key}/units/{self.unit}/scores/{self.leaf}/timeline"


@dataclass
class PreparedRound:
    """The round's key, the people's tokens (by role) and the scores the tests look at."""

    data_dir: Path
    key: str
    tokens: dict[str, str]
    decided: Dispute  # self-scored, proposed, adjusted with a reason, explained and decided by the council
    open: Dispute  # explained by the unit, in MEMBER's field, left for the queue
    waiting: Dispute  # another explanation in MEMBER's fields, left open (stays in the queue)
    other_field: Dispute  # explained, open, in a field MEMBER is not assigned (never in MEMBER's queue)
    units: dict[str, str] = field(default_factory=dict)  # code → name


# The round's disputes: self-scored, cut by the Secretariat's proposal (and the first by the council), explained.
DECIDED = Dispute("01", "1.1.2", "1", "1.25", "1.00", "0.75", final="1.00")
OPEN = Dispute("79", "1.2.1", "1", "0.75", "0.50", "0.50")
WAITING = Dispute("92", "3.2.2", "3", "1.25", "1.00", "1.00")
OTHER_FIELD = Dispute("48", "2.1.1", "2", "1.00", "0.80", "0.80")
DISPUTES = (DECIDED, OPEN, WAITING, OTHER_FIELD)
# Each unit's share of the maxima, so the ranking spreads over the groups.
LEVELS = {"01": 0.90, "79": 0.96, "48": 0.80, "31": 0.86, "92": 0.74, "22": 0.93}


def units() -> list[dict[str, Any]]:
    shipped = {unit["code"]: unit for unit in unit_lists.load("provinces-2012-2025")}
    return [shipped[code] for code in UNIT_CODES]


def settings_env(data_dir: Path) -> dict[str, str]:
    """The server's environment: the SQLite default in `data_dir`, nothing inherited from COUNCIL_* settings."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("COUNCIL_")}
    return inherited | {"COUNCIL_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}


def prepare_round(data_dir: Path) -> PreparedRound:
    """`council db init`'s tables in `data_dir`, then a provincial round of six units played through the services
    on a simulated 2025 timeline up to the council's review (every unit self-scored with evidence and submitted,
    the Secretariat's proposals, a council adjustment, four explanations, one of them decided), then the people
    registered on the real clock."""
    config = bootstrap.settings(settings_env(data_dir))
    bootstrap.init_db(config)
    clock = SimulatedClock()
    parts = bootstrap.build(config, clock=clock)
    try:
        decided, open_, waiting, other = _play(parts.council, clock)
    finally:
        parts.close()
    parts = bootstrap.build(config)
    try:
        tokens = _principals(parts.council)
    finally:
        parts.close()
    return PreparedRound(data_dir, KEY, tokens, decided, open_, waiting, other,
                         {unit["code"]: unit["name"] for unit in units()})


def _share(rng: random.Random, leaf: Any, level: float) -> Decimal:
    """Points on the leaf's grid near `level` of its maximum."""
    steps = int(leaf.max_points / leaf.step)
    return leaf.step * round(steps * rng.uniform(level - 0.06, min(1.0, level + 0.06)))


def _play(council: Council, clock: SimulatedClock) -> tuple[Dispute, ...]:
    rng = random.Random(2024)
    windows = {"self_assessment": {"opens_at": datetime(YEAR + 1, 1, 1, tzinfo=ICT),
                                   "closes_at": datetime(YEAR + 1, 2, 1, tzinfo=ICT)},
               "explanation": {"opens_at": datetime(YEAR + 1, 3, 10, tzinfo=ICT),
                               "closes_at": datetime(YEAR + 1, 3, 20, tzinfo=ICT)}}
    council.open_round(RoundPlan(YEAR, TREE, units(), windows), SECRETARIAT)
    framework = council.framework(KEY)
    leaves = framework.leaves("appraisal")
    disputed = {(d.unit, d.leaf): d for d in DISPUTES}
    points: dict[str, dict[str, Decimal]] = {}
    for day, code in enumerate(UNIT_CODES):  # self-assessment in January, one unit a day
        clock.jump(YEAR + 1, 1, 13 + day, 9, 0)
        mine = points[code] = {}
        entries, documents = [], {}
        for leaf in leaves:
            dispute = disputed.get((code, leaf.code))
            mine[leaf.code] = Decimal(dispute.self_points) if dispute else _share(rng, leaf, LEVELS[code])
            field_code = leaf.code.split(".")[0]
            if field_code not in documents:  # one decision of the province backs every leaf of its field
                documents[field_code] = document(council, code, f"lĩnh vực {field_code}", len(documents) + 1)
            entries.append({"leaf": leaf.code, "points": mine[leaf.code], "evidence": [documents[field_code]]})
        council.self_assess(KEY, code, entries, officer(code))
        council.submit(KEY, code, approved_by=f"Chủ tịch UBND ({code})",
                       report=document(council, code, "báo cáo", 100), actor=officer(code))
    clock.jump(YEAR + 1, 2, 10, 8, 0)
    council.advance_phase(KEY, "appraisal", SECRETARIAT, reason=f"kế hoạch thẩm định {YEAR}: appraisal")
    for day, code in enumerate(UNIT_CODES):  # the Secretariat's preliminary points, cut where evidence falls short
        clock.jump(YEAR + 1, 2, 11 + day, 14, 0)
        versions = {state["leaf"]: state["version"] for state in council.unit_scores(KEY, code)}
        proposals = []
        for leaf in leaves:
            dispute = disputed.get((code, leaf.code))
            value = Decimal(dispute.proposed) if dispute else points[code][leaf.code]
            proposals.append({"leaf": leaf.code, "points": value, "expected_version": versions[leaf.code],
                              "comment": CUT_COMMENT if dispute else ""})
        council.propose_many(KEY, code, proposals, SECRETARIAT)
    clock.jump(YEAR + 1, 2, 20, 9, 30)  # the council cuts the first disputed score further, with its reason
    at = ScoreAddress(KEY, DECIDED.unit, DECIDED.leaf)
    council.adjust(at, DECIDED.adjusted, ADJUSTED, council.score(at)["version"], MEMBER)
    clock.jump(YEAR + 1, 3, 10, 8, 0)
    council.advance_phase(KEY, "explanation", SECRETARIAT, reason=f"kế hoạch thẩm định {YEAR}: explanation")
    filed = {}
    for day, dispute in enumerate(DISPUTES):  # the units explain, asking for their own points back
        clock.jump(YEAR + 1, 3, 12 + day, 10, 15)
        at = ScoreAddress(KEY, dispute.unit, dispute.leaf)
        extra = document(council, dispute.unit, dispute.leaf, 900 + day)
        council.attach_evidence(at, extra, officer(dispute.unit))
        report = ExplanationReport(EXPLAINED, dispute.self_points, [extra["sha256"]])
        filed[dispute], _ = council.file_explanation(at, report, officer(dispute.unit))
    clock.jump(YEAR + 1, 3, 21, 8, 0)
    council.advance_phase(KEY, "council_review", SECRETARIAT, reason=f"kế hoạch thẩm định {YEAR}: council_review")
    _measured(council, framework, rng)
    clock.jump(YEAR + 1, 3, 24, 10, 0)  # the council accepts the first explanation in part
    at = ScoreAddress(KEY, DECIDED.unit, DECIDED.leaf)
    decided_at = clock.now + timedelta(seconds=7)
    council.decide_explanation(at, filed[DECIDED], Decision(True, ACCEPTED, DECIDED.final),
                               council.score(at)["version"], MEMBER)
    return tuple(replace(d, explanation=filed[d], decided_at=decided_at if d is DECIDED else None)
                 for d in DISPUTES)


def _measured(council: Council, framework: Any, rng: random.Random) -> None:
    """The statistics office's target points and the survey's, per unit, recorded by the Secretariat."""
    for code in UNIT_CODES:
        targets = {leaf.code: _share(rng, leaf, LEVELS[code]) for leaf in framework.leaves("targets")}
        if targets:
            council.record_targets(KEY, code, targets, SECRETARIAT, source=f"Niên giám thống kê {YEAR} ({code})")
        survey = {leaf.code: _share(rng, leaf, LEVELS[code] - 0.05) for leaf in framework.leaves("survey")}
        council.record_survey(KEY, code, survey, SECRETARIAT, source=f"Điều tra xã hội học {YEAR} (86.000 phiếu)")


def _principals(council: Council) -> dict[str, str]:
    """The people the pages are tried with, named as the round's events name them; role → token."""
    admin = Actor(id="cli:browser-tests", role=Role.ADMIN)
    people = {
        "secretariat": (SECRETARIAT.id, "secretariat", Scope()),
        "inspector": (INSPECTOR, "inspector", Scope()),
        "council": (MEMBER.id, "council", Scope(fields=MEMBER.fields, ministry=MEMBER.ministry)),
        "officer_01": (officer("01").id, "unit", Scope(unit="01")),
        "officer_79": (officer("79").id, "unit", Scope(unit="79")),
    }
    return {who: council.add_principal(name, role, admin, scope)[1] for who, (name, role, scope) in people.items()}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def council_command() -> list[str]:
    """The installed `council` beside this Python (the project's own entry point), else its module."""
    script = Path(sys.executable).parent / "council"
    return [str(script)] if script.exists() else [sys.executable, "-m", "council.cli.main"]


@dataclass
class Server:
    """`council serve` (gunicorn with the installed settings) on a port of its own; its output in a log file."""

    data_dir: Path
    workers: int = 2
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> Server:
        env = settings_env(self.data_dir) | {"COUNCIL_BIND": f"127.0.0.1:{self.port}",
                                             "COUNCIL_WORKERS": str(self.workers)}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([*council_command(), "serve"], cwd=ROOT, env=env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"council serve exited with {self.process.returncode}:\n{self.log()}")
            if self._healthy():
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"council serve did not answer /api/v1/health within {START_TIMEOUT} s:\n"
                                   f"{self.log()}")
            time.sleep(0.1)

    def _healthy(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", "/api/v1/health")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # gunicorn's graceful stop (it was exec'd by `council serve`)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:  # its own session: the master and its workers, by the group's id
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)


def missing_chromium() -> str | None:
    """Why the browser cannot run, or None."""
    if Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK):
        return None
    return (f"Chromium is not installed at {CHROMIUM}. The browser tests never skip and never download a browser: "
            "run `make test` as root (it installs Debian's package), or `apt-get install chromium` "
            "(after `apt-get update`), or point COUNCIL_TEST_CHROMIUM at a Chromium binary.")


# Nothing but this machine: a page that reaches for a CDN finds no host (the docs page must work offline).
OFFLINE_ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


@contextmanager
def browser() -> Iterator[Any]:
    """One headless Debian Chromium driven by Playwright (its own browser builds are never downloaded)."""
    from playwright.sync_api import sync_playwright

    reason = missing_chromium()
    if reason:
        raise RuntimeError(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=OFFLINE_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def new_context(chromium: Any, server: Server, **options: Any) -> Any:
    """A fresh browser profile as an official in Vietnam has it: Vietnamese, Asia/Ho_Chi_Minh."""
    options.setdefault("viewport", {"width": 1280, "height": 900})
    return chromium.new_context(base_url=server.url, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", **options)


def login(page: Any, token: str, next_path: str = "/") -> Any:
    """The login form: paste the token, sign in, land on `next_path` signed in (the name shown as `whoami`)."""
    page.goto(f"/login?{urlencode({'next': next_path})}")
    page.get_by_test_id("login-token").fill(token)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("whoami").wait_for()
    return page


def shown_points(value: str) -> str:
    """A regular expression for points as a page may print them: two decimals, a point or a Vietnamese comma."""
    whole, _, cents = f"{Decimal(value):.2f}".partition(".")
    return rf"(?<![0-9]){whole}[.,]{cents}(?![0-9])"


def shown_change(before: str, after: str) -> str:
    """`before → after`, as the timeline's `event-points` shows a change."""
    return rf"{shown_points(before)}\s*→\s*{shown_points(after)}"
