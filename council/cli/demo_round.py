"""A realistic provincial round played through the services, on a simulated 2025 timeline."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from council.services import Council
from council.services.appraisal_service import Decision, ExplanationReport
from council.services.evidence_service import Upload
from council.services.principal_service import Scope
from council.services.publication_service import Approval, Meeting
from council.services.round_service import RoundPlan
from domain.framework import Node
from domain.values import Actor, Role, ScoreAddress

ICT = timezone(timedelta(hours=7))
CUT_COMMENT = "Tài liệu kiểm chứng chưa chứng minh đủ mức độ hoàn thành."
ACCEPTED = "Tài liệu bổ sung chứng minh đạt yêu cầu."
REJECTED = "Tài liệu bổ sung ban hành sau thời điểm đánh giá."
YEAR = 2024
SECRETARIAT = Actor(id="tothuky.vu-cchc@moha.gov.vn", role=Role.SECRETARIAT)
# Council seats: the ministry that leads each field appraises it (never its own ministry).
COUNCIL = {
    "1": Actor(id="hdtd.noivu@moha.gov.vn", role=Role.COUNCIL, fields=("1", "3", "4", "5", "8"), ministry="MOHA"),
    "2": Actor(id="hdtd.tuphap@moj.gov.vn", role=Role.COUNCIL, fields=("2",), ministry="MOJ"),
    "6": Actor(id="hdtd.taichinh@mof.gov.vn", role=Role.COUNCIL, fields=("6",), ministry="MOF"),
    "7": Actor(id="hdtd.thongtin@mic.gov.vn", role=Role.COUNCIL, fields=("7",), ministry="MIC"),
}
# The end of the round: the Appraisal Council's meeting agrees the results, the Ministry approves, then announces.
MEETING = Meeting(date(2025, 3, 26), ("Nguyễn Văn Hùng", "Trần Thị Thu Hà", "Lê Minh Tuấn", "Phạm Thị Hồng Nhung",
                                      "Đỗ Quang Vinh", "Vũ Thị Mai Anh", "Hoàng Đức Thắng"),
                  "Biên bản số 12/BB-HĐTĐ")
APPROVAL = Approval("268/QĐ-BNV", date(2025, 3, 28))
ANNOUNCED_ON = date(2025, 4, 6)


@dataclass
class SimulatedClock:
    """Server time for the demo: each call moves a little; `jump` moves to the next stage."""

    now: datetime = datetime(2025, 1, 6, 8, 0, tzinfo=ICT)
    tick: timedelta = field(default=timedelta(seconds=7))

    def __call__(self) -> datetime:
        self.now += self.tick
        return self.now.astimezone(UTC)

    def jump(self, to: datetime) -> None:
        self.now = to


def officer(unit: str) -> Actor:
    return Actor(id=f"cchc.sonoivu.{unit}@gov.vn", role=Role.UNIT, unit=unit)


def document(council: Council, unit: str, criterion: str, number: int) -> dict[str, Any]:
    """A small PDF-like file stored as the unit's evidence, with the metadata of a provincial decision."""
    content = f"%PDF-1.4\n% Quyết định số {number}/QĐ-UBND, tỉnh {unit}, tiêu chí {criterion}\n".encode()
    stored = council.store_evidence(Upload(io.BytesIO(content), "application/pdf"), officer(unit))
    return {**stored, "name": f"QD-{number}-UBND-{unit}.pdf", "number": f"{number}/QĐ-UBND",
            "issued_on": f"{YEAR}-{1 + number % 12:02d}-{1 + number % 27:02d}", "issuer": f"UBND tỉnh {unit}"}


def grid_points(rng: random.Random, leaf: Node, low: float) -> Decimal:
    """A plausible score on the leaf's grid: between `low` and 1 of its maximum."""
    steps = int(leaf.max_points / leaf.step)
    return leaf.step * round(steps * rng.uniform(low, 1.0))


@dataclass
class Demo:
    council: Council
    clock: SimulatedClock
    seed: int = 2024
    disputed: list[tuple[str, str]] = field(default_factory=list)

    def play(self, units: list[dict[str, Any]]) -> str:
        key = self.open_round(units)
        for unit in units:
            self.self_assess(key, unit["code"])
        self.stage(key, "appraisal", datetime(2025, 2, 10, 8, 0, tzinfo=ICT))
        for unit in units:
            self.appraise(key, unit["code"])
        self.adjust(key, units)
        self.stage(key, "explanation", datetime(2025, 3, 10, 8, 0, tzinfo=ICT))
        self.explain(key, units)
        self.stage(key, "council_review", datetime(2025, 3, 21, 8, 0, tzinfo=ICT))
        self.decide(key)
        self.survey(key, units)
        self.stage(key, "finalized", datetime(2025, 3, 25, 8, 0, tzinfo=ICT))
        self.publish(key)
        return key

    def open_round(self, units: list[dict[str, Any]]) -> str:
        windows = {
            "self_assessment": {"opens_at": datetime(2025, 1, 1, tzinfo=ICT),
                                "closes_at": datetime(2025, 2, 1, tzinfo=ICT)},
            "explanation": {"opens_at": datetime(2025, 3, 10, tzinfo=ICT),
                            "closes_at": datetime(2025, 3, 20, tzinfo=ICT)},
        }
        self.council.open_round(RoundPlan(YEAR, "province-876-2022", units, windows), SECRETARIAT)
        return f"{YEAR}-province"

    def stage(self, key: str, phase: str, at: datetime) -> None:
        self.clock.jump(at)
        self.council.advance_phase(key, phase, SECRETARIAT, reason=f"kế hoạch thẩm định {YEAR}: {phase}")

    def publish(self, key: str) -> None:
        """The Council meets, the Ministry approves, the results are announced: each recorded on its own day."""
        self.clock.jump(datetime(2025, 3, 26, 16, 30, tzinfo=ICT))
        self.council.record_council_meeting(key, MEETING, SECRETARIAT)
        self.clock.jump(datetime(2025, 3, 28, 15, 0, tzinfo=ICT))
        self.council.record_approval(key, APPROVAL, SECRETARIAT)
        self.clock.jump(datetime(2025, 4, 6, 9, 0, tzinfo=ICT))
        self.council.announce(key, ANNOUNCED_ON, SECRETARIAT)

    def self_assess(self, key: str, unit: str) -> None:
        rng = random.Random(f"{self.seed}/{unit}")
        entries: list[dict[str, Any]] = []
        documents: dict[str, dict[str, Any]] = {}
        for leaf in self.council.framework(key).leaves("appraisal"):
            entry: dict[str, Any] = {"leaf": leaf.code, "points": grid_points(rng, leaf, 0.55)}
            if rng.random() < 0.06:
                entry["missing_evidence"] = "Tài liệu kiểm chứng đang chờ UBND tỉnh ký ban hành; gửi bổ sung sau."
            else:
                if leaf.field not in documents:  # one report backs every leaf of its field
                    documents[leaf.field] = document(self.council, unit, f"lĩnh vực {leaf.field}", len(documents) + 1)
                entry["evidence"] = [documents[leaf.field]]
            entries.append(entry)
        self.council.self_assess(key, unit, entries, officer(unit))
        self.council.submit(key, unit, approved_by=f"Chủ tịch UBND tỉnh ({unit})",
                            report=document(self.council, unit, "báo cáo", 100), actor=officer(unit))

    def appraise(self, key: str, unit: str) -> None:
        rng = random.Random(f"{self.seed}/appraise/{unit}")
        proposals = []
        for state in self.council.unit_scores(key, unit):
            if state["method"] != "appraisal":
                continue
            cut = Decimal("0.25") if rng.random() < 0.15 else Decimal(0)
            points = max(Decimal("0.00"), state["self_points"] - cut) if state["self_points"] else Decimal("0.00")
            points -= points % _step(self.council, key, state["leaf"])
            comment = "" if points == state["self_points"] else CUT_COMMENT
            proposals.append({"leaf": state["leaf"], "points": points, "comment": comment,
                              "expected_version": state["version"]})
        self.council.propose_many(key, unit, proposals, SECRETARIAT)

    def disputes(self, key: str, units: list[dict[str, Any]]) -> list[tuple[str, str]]:
        """The (unit, leaf) pairs the council adjusts and the units then dispute: fixed by the seed."""
        rng = random.Random(f"{self.seed}/adjust")
        leaves = [leaf.code for leaf in self.council.framework(key).leaves("appraisal")]
        return [(unit, rng.choice(leaves)) for unit in rng.sample([u["code"] for u in units], 12)]

    def adjust(self, key: str, units: list[dict[str, Any]]) -> None:
        self.disputed = self.disputes(key, units)
        for unit, leaf in self.disputed:
            at = ScoreAddress(key, unit, leaf)
            state = self.council.score(at)
            member = COUNCIL.get(state["field"], COUNCIL["1"])
            step = _step(self.council, key, leaf)
            points = max(state["points"] - step * max(1, int(Decimal("0.25") / step)), Decimal("0.00"))
            self.council.adjust(at, points, "Hội đồng thẩm định: kết quả thực hiện chưa đạt chỉ tiêu kế hoạch năm.",
                                state["version"], member)

    def explain(self, key: str, units: list[dict[str, Any]]) -> None:
        for unit, leaf in self.disputed:
            at, extra = ScoreAddress(key, unit, leaf), document(self.council, unit, leaf, 900)
            self.council.attach_evidence(at, extra, officer(unit))
            report = ExplanationReport("Tỉnh đã hoàn thành 100% nhiệm vụ; xin bổ sung báo cáo kết quả kèm theo.",
                                       self.council.score(at)["self_points"], [extra["sha256"]])
            self.council.file_explanation(at, report, officer(unit))

    def decide(self, key: str) -> None:
        for number, (unit, leaf) in enumerate(self.disputed):
            at = ScoreAddress(key, unit, leaf)
            state = self.council.score(at)
            member = COUNCIL.get(state["field"], COUNCIL["1"])
            accept = number % 2 == 0
            decision = Decision(accept, ACCEPTED if accept else REJECTED, state["self_points"] if accept else None)
            self.council.decide_explanation(at, "1", decision, state["version"], member)

    def survey(self, key: str, units: list[dict[str, Any]]) -> None:
        leaves = self.council.framework(key).leaves("survey")
        for unit in units:
            rng = random.Random(f"{self.seed}/survey/{unit['code']}")
            points = {leaf.code: grid_points(rng, leaf, 0.6) for leaf in leaves}
            self.council.record_survey(key, unit["code"], points, SECRETARIAT,
                                       source=f"Điều tra xã hội học {YEAR} (86.000 phiếu)")


def _step(council: Council, key: str, leaf: str) -> Decimal:
    return council.framework(key).leaf(leaf).step


def demo_principals() -> dict[str, dict[str, Any]]:
    """The demo's people, named as the demo's events name them; the token file uses the keys."""
    people: dict[str, dict[str, Any]] = {
        "SECRETARIAT": {"name": SECRETARIAT.id, "role": "secretariat"},
        "OFFICER_01": {"name": officer("01").id, "role": "unit", "unit": "01"},
        "OFFICER_79": {"name": officer("79").id, "role": "unit", "unit": "79"},
        "INSPECTOR": {"name": "thanhtra@moha.gov.vn", "role": "inspector"},
    }
    for member in COUNCIL.values():
        people[f"COUNCIL_{member.ministry}"] = {"name": member.id, "role": "council", "fields": member.fields,
                                                "ministry": member.ministry}
    return people


def issue_demo_tokens(council: Council, path: Path) -> Path:
    """Fresh tokens for the demo's principals (registered on first use, rotated after), written as a
    shell file for the README's curl examples. Tokens are shown once; this file is the demo's copy."""
    admin = Actor(id="cli:demo", role=Role.ADMIN)
    known = {p["name"] for p in council.principals()}
    lines = []
    for variable, person in demo_principals().items():
        spec = {k: v for k, v in person.items() if k != "name"}
        if person["name"] in known:
            token = council.rotate_token(person["name"], admin)
        else:
            scope = Scope(spec.get("unit"), spec.get("fields", ()), spec.get("ministry"))
            token = council.add_principal(person["name"], spec["role"], admin, scope)[1]
        lines.append(f"export {variable}_TOKEN={token}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path
