"""The demo: the 2023 and 2024 provincial rounds of the PAR INDEX played through the services on simulated
timelines, with the published figures where they are public (council/cli/demo_years.py)."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from council.cli.demo_years import YEARS, LeafStory, PublishedYear, leaf_points, story, target_indices
from council.services import Council
from council.services.appraisal_service import Decision, ExplanationReport
from council.services.evidence_service import Upload
from council.services.principal_service import Scope
from council.services.publication_service import Approval, Meeting
from council.services.round_service import RoundPlan
from domain.errors import NotFoundError
from domain.framework import Framework, Node
from domain.values import Actor, Role, ScoreAddress

ICT = timezone(timedelta(hours=7))
CUT_COMMENT = "Tài liệu kiểm chứng chưa chứng minh đủ mức độ hoàn thành."
ACCEPTED = "Tài liệu bổ sung chứng minh đạt yêu cầu."
REJECTED = "Tài liệu bổ sung ban hành sau thời điểm đánh giá."
ADJUSTED = "Hội đồng thẩm định: kết quả thực hiện chưa đạt chỉ tiêu kế hoạch năm."
EXPLAINED = "Tỉnh đã hoàn thành 100% nhiệm vụ; xin bổ sung báo cáo kết quả kèm theo."
TREE = "province-876-2022-v2"  # the published field maxima (docs/decisions/0013)
YEAR = 2024
SECRETARIAT = Actor(id="tothuky.vu-cchc@moha.gov.vn", role=Role.SECRETARIAT)
# Council seats: the ministry that leads each field appraises it (never its own ministry).
COUNCIL = {
    "1": Actor(id="hdtd.noivu@moha.gov.vn", role=Role.COUNCIL, fields=("1", "3", "4", "5", "8"), ministry="MOHA"),
    "2": Actor(id="hdtd.tuphap@moj.gov.vn", role=Role.COUNCIL, fields=("2",), ministry="MOJ"),
    "6": Actor(id="hdtd.taichinh@mof.gov.vn", role=Role.COUNCIL, fields=("6",), ministry="MOF"),
    "7": Actor(id="hdtd.thongtin@mic.gov.vn", role=Role.COUNCIL, fields=("7",), ministry="MIC"),
}
# The Appraisal Council's members present when it agrees a round's results (illustrative names).
MEMBERS = ("Nguyễn Văn Hùng", "Trần Thị Thu Hà", "Lê Minh Tuấn", "Phạm Thị Hồng Nhung", "Đỗ Quang Vinh",
           "Vũ Thị Mai Anh", "Hoàng Đức Thắng")


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
    """The published years (council/cli/demo_years.py), each a whole provincial round of the published tree played
    through the services on its own simulated timeline: self-assessment with evidence and submission in January,
    the Secretariat's proposals, the Council's adjustments (about one appraised leaf in seven), explanations and
    decisions in March, targets and survey points, finalization, the Council's meeting, the Ministry's approval and
    the announcement. Each unit's final points add up to the index chosen for it."""

    council: Council
    clock: SimulatedClock
    seed: int = 2024
    stories: dict[str, dict[str, list[LeafStory]]] = field(default_factory=dict)
    indices: dict[int, dict[str, Decimal]] = field(default_factory=dict)  # year → the index chosen per unit

    def play(self, units: list[dict[str, Any]]) -> str:
        """Both years, the earlier first; the key of the later."""
        key = ""
        for year in sorted(YEARS):
            key = f"{year}-province"
            try:
                self.council.round(key)
            except NotFoundError:
                self.play_year(YEARS[year], units)
        return key

    def play_year(self, spec: PublishedYear, units: list[dict[str, Any]]) -> str:
        year, after = spec.year, spec.year + 1
        self.clock.jump(datetime(after, 1, 6, 8, 0, tzinfo=ICT))
        key = self.open_round(year, units)
        framework = self.council.framework(key)
        finals = self.finals(spec, framework, units)
        plans = self.stories.setdefault(key, {})
        for unit in units:
            rng = random.Random(f"{self.seed}/{year}/story/{unit['code']}")
            plans[unit["code"]] = [story(leaf.code, finals[unit["code"]][leaf.code], leaf.max_points, rng)
                                   for leaf in framework.leaves("appraisal")]
            self.self_assess(key, unit["code"], year)
        self.stage(key, "appraisal", datetime(after, 2, 10, 8, 0, tzinfo=ICT))
        for unit in units:
            self.appraise(key, unit["code"])
        self.adjust(key)
        self.stage(key, "explanation", datetime(after, 3, 10, 8, 0, tzinfo=ICT))
        filed = self.explain(key)
        self.stage(key, "council_review", datetime(after, 3, 21, 8, 0, tzinfo=ICT))
        self.decide(key, filed)
        self.measured(key, framework, units, finals, year)
        self.stage(key, "finalized", datetime(after, 3, 25, 8, 0, tzinfo=ICT))
        self.publish(key, spec)
        return key

    def finals(self, spec: PublishedYear, framework: Framework,
               units: list[dict[str, Any]]) -> dict[str, dict[str, Decimal]]:
        previous = self.indices.get(spec.year - 1)
        indices = self.indices[spec.year] = target_indices(spec, units, self.seed, previous)
        return {code: leaf_points(framework, index, random.Random(f"{self.seed}/{spec.year}/leaves/{code}"))
                for code, index in indices.items()}

    def open_round(self, year: int, units: list[dict[str, Any]]) -> str:
        after = year + 1
        windows = {
            "self_assessment": {"opens_at": datetime(after, 1, 1, tzinfo=ICT),
                                "closes_at": datetime(after, 2, 1, tzinfo=ICT)},
            "explanation": {"opens_at": datetime(after, 3, 10, tzinfo=ICT),
                            "closes_at": datetime(after, 3, 20, tzinfo=ICT)},
        }
        self.council.open_round(RoundPlan(year, TREE, units, windows), SECRETARIAT)
        return f"{year}-province"

    def stage(self, key: str, phase: str, at: datetime) -> None:
        self.clock.jump(at)
        self.council.advance_phase(key, phase, SECRETARIAT, reason=f"kế hoạch thẩm định {key[:4]}: {phase}")

    def publish(self, key: str, spec: PublishedYear) -> None:
        """The Council meets, the Ministry approves, the results are announced: each recorded on its own day."""
        after = spec.year + 1
        self.clock.jump(datetime(after, 3, 26, 16, 30, tzinfo=ICT))
        self.council.record_council_meeting(key, Meeting(date(after, 3, 26), MEMBERS, spec.minutes), SECRETARIAT)
        self.clock.jump(datetime(spec.decided_on.year, spec.decided_on.month, spec.decided_on.day, 15, tzinfo=ICT))
        self.council.record_approval(key, Approval(spec.decision, spec.decided_on), SECRETARIAT)
        self.clock.jump(datetime(spec.announced_on.year, spec.announced_on.month, spec.announced_on.day, 9,
                                 tzinfo=ICT))
        self.council.announce(key, spec.announced_on, SECRETARIAT)

    def self_assess(self, key: str, unit: str, year: int) -> None:
        rng = random.Random(f"{self.seed}/{year}/{unit}")
        entries: list[dict[str, Any]] = []
        documents: dict[str, dict[str, Any]] = {}
        for plan in self.stories[key][unit]:
            entry: dict[str, Any] = {"leaf": plan.leaf, "points": plan.self_points}
            field_code = plan.leaf.split(".")[0]
            if rng.random() < 0.06:
                entry["missing_evidence"] = "Tài liệu kiểm chứng đang chờ UBND tỉnh ký ban hành; gửi bổ sung sau."
            else:
                if field_code not in documents:  # one report backs every leaf of its field
                    documents[field_code] = document(self.council, unit, f"lĩnh vực {field_code}",
                                                     len(documents) + 1)
                entry["evidence"] = [documents[field_code]]
            entries.append(entry)
        self.council.self_assess(key, unit, entries, officer(unit))
        self.council.submit(key, unit, approved_by=f"Chủ tịch UBND tỉnh ({unit})",
                            report=document(self.council, unit, "báo cáo", 100), actor=officer(unit))

    def appraise(self, key: str, unit: str) -> None:
        versions = {state["leaf"]: state["version"] for state in self.council.unit_scores(key, unit)}
        proposals = [{"leaf": plan.leaf, "points": plan.proposed,
                      "comment": "" if plan.proposed == plan.self_points else CUT_COMMENT,
                      "expected_version": versions[plan.leaf]} for plan in self.stories[key][unit]]
        self.council.propose_many(key, unit, proposals, SECRETARIAT)

    def adjust(self, key: str) -> None:
        for unit, plans in self.stories[key].items():
            for plan in plans:
                if plan.adjusted is None:
                    continue
                at = ScoreAddress(key, unit, plan.leaf)
                state = self.council.score(at)
                member = COUNCIL.get(state["field"], COUNCIL["1"])
                self.council.adjust(at, plan.adjusted, ADJUSTED, state["version"], member)

    def explain(self, key: str) -> dict[tuple[str, str], str]:
        filed = {}
        for unit, plans in self.stories[key].items():
            for plan in plans:
                if not plan.explained:
                    continue
                at, extra = ScoreAddress(key, unit, plan.leaf), document(self.council, unit, plan.leaf, 900)
                self.council.attach_evidence(at, extra, officer(unit))
                report = ExplanationReport(EXPLAINED, plan.self_points, [extra["sha256"]])
                filed[(unit, plan.leaf)], _ = self.council.file_explanation(at, report, officer(unit))
        return filed

    def decide(self, key: str, filed: dict[tuple[str, str], str]) -> None:
        for (unit, leaf), explanation in filed.items():
            plan = next(p for p in self.stories[key][unit] if p.leaf == leaf)
            at = ScoreAddress(key, unit, leaf)
            state = self.council.score(at)
            member = COUNCIL.get(state["field"], COUNCIL["1"])
            decision = Decision(plan.accepted, ACCEPTED if plan.accepted else REJECTED,
                                plan.self_points if plan.accepted else None)
            self.council.decide_explanation(at, explanation, decision, state["version"], member)

    def measured(self, key: str, framework: Framework, units: list[dict[str, Any]],
                 finals: dict[str, dict[str, Decimal]], year: int) -> None:
        """The socio-economic targets (from the statistics office) and the survey, per unit."""
        targets = [leaf.code for leaf in framework.leaves("targets")]
        survey = [leaf.code for leaf in framework.leaves("survey")]
        for unit in units:
            code = unit["code"]
            if targets:
                self.council.record_targets(key, code, {leaf: finals[code][leaf] for leaf in targets}, SECRETARIAT,
                                            source=f"Niên giám thống kê {year}, Cục Thống kê tỉnh ({code})")
            self.council.record_survey(key, code, {leaf: finals[code][leaf] for leaf in survey}, SECRETARIAT,
                                       source=f"Điều tra xã hội học {year} (86.000 phiếu)")


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
