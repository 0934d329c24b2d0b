"""Set up round states through the services, the way users reach them."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from council.services import Council
from council.services.evidence_service import Upload
from council.services.round_service import RoundPlan
from domain.values import Actor, Role

ICT = timezone(timedelta(hours=7))
SECRETARIAT = Actor(id="thuky@moha", role=Role.SECRETARIAT)
MOJ_MEMBER = Actor(id="member@moj", role=Role.COUNCIL, fields=("2",), ministry="MOJ")
MOHA_MEMBER = Actor(id="member@moha", role=Role.COUNCIL, fields=("1", "3", "4", "5", "8"), ministry="MOHA")
UNITS = [
    {"code": "01", "name": "Hà Nội", "region": "Red River Delta"},
    {"code": "79", "name": "Thành phố Hồ Chí Minh", "region": "South-East"},
    {"code": "48", "name": "Đà Nẵng", "region": "North Central and Central Coast"},
]
WINDOWS = {
    "self_assessment": {"opens_at": datetime(2025, 1, 1, tzinfo=ICT), "closes_at": datetime(2025, 2, 1, tzinfo=ICT)},
    "explanation": {"opens_at": datetime(2025, 3, 10, tzinfo=ICT), "closes_at": datetime(2025, 3, 20, tzinfo=ICT)},
}
KEY = "2024-province"


def officer(unit: str) -> Actor:
    return Actor(id=f"officer@{unit}", role=Role.UNIT, unit=unit)


def document(label: str) -> dict[str, Any]:
    """A Document's fields with a made-up sha256, for the domain's rules (nothing is stored)."""
    return {"sha256": hashlib.sha256(label.encode()).hexdigest(), "name": f"{label}.pdf",
            "media_type": "application/pdf", "size": 1024, "number": "12/QĐ-UBND", "issued_on": "2024-03-01",
            "issuer": "UBND"}


def stored_document(council: Council, unit: str, label: str) -> dict[str, Any]:
    """A small PDF stored as the unit's evidence, referenced the way forms and submissions reference one."""
    content = f"%PDF-1.4\n% {label}, UBND {unit}\n".encode()
    stored = council.store_evidence(Upload(io.BytesIO(content), "application/pdf"), officer(unit))
    return {"sha256": stored["sha256"], "name": f"{label}.pdf", "number": "12/QĐ-UBND", "issued_on": "2024-03-01",
            "issuer": "UBND"}


def open_round(council: Council, framework_id: str = "province-876-2022", units: list[dict] | None = None) -> str:
    council.open_round(RoundPlan(2024, framework_id, units or UNITS, WINDOWS), SECRETARIAT)
    return f"2024-{framework_id.split('-')[0]}"


def full_self_assessment(council: Council, key: str, unit: str, fraction: Decimal = Decimal("0.5")) -> dict:
    """Score every appraisal leaf at `fraction` of its maximum (on its grid), each with evidence: one stored
    report of the unit's backs every leaf."""
    points = {}
    entries = []
    report = stored_document(council, unit, f"bao-cao-{unit}")
    for leaf in council.framework(key).leaves("appraisal"):
        value = leaf.max_points * fraction
        value -= value % leaf.step
        points[leaf.code] = value
        entries.append({"leaf": leaf.code, "points": value, "evidence": [report]})
    council.self_assess(key, unit, entries, officer(unit))
    return points
