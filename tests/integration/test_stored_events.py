"""Events recorded by an earlier version of the code stay readable (the start of the upcasting story)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.values import ScoreAddress

FIXTURE = Path(__file__).parent.parent / "fixtures" / "events-v1.json"


def load_fixture(council) -> None:
    """The fixture's events as version 1 stored them, each given the seal this database's key would have added
    (version 1 did not seal; the payloads and the hashes are untouched: what is tested is that they replay)."""
    rows = json.loads(FIXTURE.read_text(encoding="utf-8"))
    stored = []
    for r in rows:
        state = json.loads(r["state"])
        state["seal"] = council.keyring.seal(r["originator_id"], r["originator_version"], state["hash"])
        stored.append(StoredEvent(UUID(r["originator_id"]), r["originator_version"], r["topic"],
                                  json.dumps(state, ensure_ascii=False).encode("utf-8")))
    council.recorder.insert_events(stored)


def test_events_recorded_by_version_1_replay_to_the_same_round_and_scores(council):
    load_fixture(council)
    key = "2024-province"
    round_ = council.round(key)
    assert (round_["phase"], round_["extensions"][0]["unit"]) == ("appraisal", "01")
    score = council.score(ScoreAddress(key, "01", "2.1.1"))
    assert (score["self_points"], score["proposed_points"], score["points"]) == (
        Decimal("0.75"), Decimal("0.75"), Decimal("0.25"))
    assert score["evidence"][0]["number"] == "12/QĐ-UBND"
    history = council.history(ScoreAddress(key, "01", "2.1.1"))
    assert [e["type"] for e in history["events"]] == [
        "opened", "self-scored", "evidence-attached", "appraisal-proposed", "council-adjusted"]
    assert history["events"][-1]["actor"] == {"id": "member@moj", "role": "council", "unit": None,
                                              "fields": ["2"], "ministry": "MOJ"}
    assert history["verified"] is True
    assert council.score(ScoreAddress(key, "01", "2.1.3"))["missing_evidence_note"] == "Văn bản đang trình ký"
