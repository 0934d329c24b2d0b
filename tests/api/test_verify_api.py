"""GET /api/v1/verify with ?sample= and ?views=true; a principal forged with SQL gets 401 and is reported."""

from __future__ import annotations

from pathlib import Path

from domain.ids import principal_id
from tests.builders import stored_document
from tests.integration.test_verify_record import blob_path
from tests.tampering import FORGED_TOKEN, forge_principal


def test_verify_reports_views_and_a_replaced_evidence_file(app, callers, env):
    council = app.extensions["par-council"].get().council
    sha256 = stored_document(council, "01", "a")["sha256"]
    answer = callers["inspector"].get("/api/v1/verify?views=true&sample=5")
    assert answer.status_code == 200, answer.json
    assert answer.json["valid"] is True and answer.json["views"]["first_problem"] is None
    assert answer.json["evidence"]["checked"] == 1
    assert callers["inspector"].get("/api/v1/verify").json["views"] is None
    path: Path = blob_path(env, sha256)
    path.chmod(0o644)
    path.write_bytes(b"%PDF-1.4\n% not what was uploaded\n")
    answer = callers["inspector"].get("/api/v1/verify")
    assert answer.json["valid"] is False and answer.json["evidence"]["first_problem"]["sha256"] == sha256
    assert callers["inspector"].get("/api/v1/verify?sample=0").status_code == 422


def test_a_forged_principal_gets_401_and_verify_names_its_stream(app, callers, env):
    council = app.extensions["par-council"].get().council
    forge_principal(council, env)
    forged = app.test_client().get("/api/v1/verify", headers={"Authorization": f"Bearer {FORGED_TOKEN}"})
    assert forged.status_code == 401
    answer = callers["inspector"].get("/api/v1/verify")
    assert answer.status_code == 200
    assert answer.json["valid"] is False
    assert answer.json["first_broken"]["stream"] == str(principal_id("mallory@forged"))
