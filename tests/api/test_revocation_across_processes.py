"""A principal revoked by another process (the CLI, another worker): a worker that last read the principal before
the revocation records nothing for its token, answers its reads 401, and replays no answer for it."""

from __future__ import annotations

from council import bootstrap
from domain.values import Actor, Role
from tests.api.test_scores_api import SCORE, open_round

ADMIN = Actor(id="cli:admin", role=Role.ADMIN)


def revoke_elsewhere(settings, name: str, clock) -> None:
    """The revocation as `council principals revoke` records it: another Council, with caches of its own."""
    other = bootstrap.build(settings, clock=clock)
    try:
        other.council.revoke_principal(name, "left the province's office", ADMIN)
    finally:
        other.close()


def test_a_write_after_a_revocation_elsewhere_is_refused_and_records_nothing(app, callers, settings, clock):
    open_round(callers)
    officer, secretariat = callers["officer01"], callers["secretariat"]
    first = officer.put(f"{SCORE}/self-assessment", json={"points": "0.50"})  # this worker reads the principal
    assert first.status_code == 200, first.json
    revoke_elsewhere(settings, "officer01", clock)

    refused = officer.put(f"{SCORE}/self-assessment", json={"points": "0.00"})
    assert (refused.status_code, refused.json["type"]) == (409, "principal-revoked")
    score = secretariat.get(SCORE).json
    assert (score["self_points"], score["version"]) == ("0.50", first.json["version"])
    assert officer.get(SCORE).status_code == 401  # a read asks the log: the revocation is seen at once


def test_a_replay_after_a_revocation_elsewhere_is_refused(app, callers, settings, clock):
    open_round(callers)
    officer = callers["officer01"]
    key = {"Idempotency-Key": "form-2.1.1-first"}
    first = officer.put(f"{SCORE}/self-assessment", json={"points": "0.50"}, headers=key)
    assert first.status_code == 200, first.json
    revoke_elsewhere(settings, "officer01", clock)

    again = officer.put(f"{SCORE}/self-assessment", json={"points": "0.50"}, headers=key)
    assert again.status_code == 401 and "Idempotent-Replayed" not in again.headers
