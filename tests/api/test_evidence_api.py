"""Evidence over HTTP: upload, reuse by hash, scoped download, size and type limits, idempotent retries."""

from __future__ import annotations

import hashlib
import io

import pytest

from tests.api.test_scores_api import PROBLEM, SCORE, open_round

PDF = b"%PDF-1.7\n" + "Quyết định ban hành kế hoạch CCHC".encode() * 50


def upload(caller, content=PDF, mimetype="application/pdf", name="QD-12.pdf", url=f"{SCORE}/evidence", **kw):
    data = {"file": (io.BytesIO(content), name, mimetype), "number": "12/QĐ-UBND", "issued_on": "2024-03-01"}
    return caller.post(url, data=data, content_type="multipart/form-data", **kw)


@pytest.fixture
def round_open(callers):
    open_round(callers)
    return callers


def test_an_uploaded_file_is_attached_by_hash_and_downloads_to_the_same_bytes(round_open):
    officer = round_open["officer01"]
    answer = upload(officer)
    assert (answer.status_code, answer.json["type"]) == (201, "evidence-attached")
    sha = hashlib.sha256(PDF).hexdigest()
    assert officer.get(SCORE).json["evidence"][0] == {
        "sha256": sha, "name": "QD-12.pdf", "media_type": "application/pdf", "size": len(PDF),
        "number": "12/QĐ-UBND", "issued_on": "2024-03-01", "issuer": ""}
    for reader in ("officer01", "secretariat", "moj", "inspector"):
        download = round_open[reader].get(f"/api/v1/evidence/{sha}")
        assert (download.status_code, download.data, download.mimetype) == (200, PDF, "application/pdf")
        download.close()


def test_another_unit_cannot_download_or_reuse_a_units_file(round_open):
    upload(round_open["officer01"])
    sha = hashlib.sha256(PDF).hexdigest()
    stranger = round_open["officer79"]
    assert stranger.get(f"/api/v1/evidence/{sha}").json["type"] == "not-found"
    reuse = stranger.post("/api/v1/rounds/2024-province/units/79/scores/2.1.1/evidence/by-hash",
                          json={"sha256": sha, "name": "copy.pdf"})
    assert (reuse.status_code, reuse.json["type"]) == (404, "not-found")


def test_a_unit_reuses_its_own_file_on_another_leaf_by_hash(round_open):
    officer = round_open["officer01"]
    upload(officer)
    sha = hashlib.sha256(PDF).hexdigest()
    reuse = officer.post("/api/v1/rounds/2024-province/units/01/scores/2.1.3/evidence/by-hash",
                         json={"sha256": sha, "name": "QD-12.pdf", "issuer": "UBND"})
    assert reuse.status_code == 201
    assert officer.get("/api/v1/rounds/2024-province/units/01/scores/2.1.3").json["evidence"][0]["size"] == len(PDF)


def test_wrong_types_and_oversized_files_are_refused_and_nothing_is_recorded(app, round_open):
    officer = round_open["officer01"]
    wrong = upload(officer, b"MZ\x90\x00", mimetype="application/x-msdownload", name="virus.exe")
    assert (wrong.status_code, wrong.mimetype, wrong.json["type"]) == (415, PROBLEM, "unsupported-media-type")
    app.config["MAX_CONTENT_LENGTH"] = 4096
    big = upload(officer, b"%PDF" + b"0" * 8192)
    assert (big.status_code, big.mimetype, big.json["type"]) == (413, PROBLEM, "payload-too-large")
    assert officer.get(SCORE).status_code == 404


def test_an_upload_into_another_units_dossier_is_refused_before_the_file_is_stored(app, round_open):
    answer = upload(round_open["officer79"])
    assert (answer.status_code, answer.json["type"]) == (403, "forbidden-scope")
    store = app.extensions["par-council"].get().council.blobs
    assert not store.exists(hashlib.sha256(PDF).hexdigest())


def test_a_retry_with_the_same_idempotency_key_replays_the_first_answer_and_records_once(round_open):
    officer = round_open["officer01"]
    key = {"Idempotency-Key": "self-score-2.1.1-a"}
    first = officer.put(f"{SCORE}/self-assessment", json={"points": "0.50"}, headers=key)
    again = officer.put(f"{SCORE}/self-assessment", json={"points": "0.50"}, headers=key)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    other = officer.put(f"{SCORE}/self-assessment", json={"points": "0.25"}, headers=key)
    assert (other.status_code, other.json["type"]) == (422, "idempotency-key-reused")
    history = round_open["inspector"].get(f"{SCORE}/history").json
    assert [e["type"] for e in history["events"]] == ["opened", "self-scored"]
    assert history["state"]["points"] == "0.50"


def test_the_same_key_from_another_principal_is_a_different_request(round_open):
    key = {"Idempotency-Key": "k1"}
    first = round_open["officer01"].put(f"{SCORE}/self-assessment", json={"points": "0.50"}, headers=key)
    assert first.status_code == 200
    other = round_open["officer79"].put("/api/v1/rounds/2024-province/units/79/scores/2.1.1/self-assessment",
                                        json={"points": "0.50"}, headers=key)
    assert other.status_code == 200 and "Idempotent-Replayed" not in other.headers
