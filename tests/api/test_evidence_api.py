"""Evidence over HTTP: upload, reuse by hash, scoped download, size and type limits (the type detected from the
bytes), normalized names, safe downloads, idempotent retries."""

from __future__ import annotations

import hashlib
import io

import pytest

from domain.blob import Blob
from tests.api.test_scores_api import PROBLEM, SCORE, open_round
from tests.builders import full_self_assessment, officer
from tests.integration.test_evidence import docx_bytes, png_bytes

PDF = b"%PDF-1.7\n" + "Quyết định ban hành kế hoạch CCHC".encode() * 50
PNG = png_bytes()
DOCX = docx_bytes()
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


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


# Hostile input: each refusal is a 4xx problem and records nothing (the log's length, read by /health).

def events(app) -> int:
    return app.test_client().get("/api/v1/health").json["events"]


@pytest.mark.parametrize(("content", "sent_as", "detected"), [
    ("Quyết định 12/QĐ-UBND, văn bản thuần\n".encode(), "application/pdf", "unknown"),
    (PNG, "application/pdf", "image/png"),
    (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "application/pdf", "text/html"),
    (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "application/octet-stream", "text/html"),
])
def test_content_that_is_not_what_it_is_sent_as_is_refused_with_415_and_nothing_is_recorded(app, round_open, content,
                                                                                            sent_as, detected):
    officer, before = round_open["officer01"], events(app)
    for url in (f"{SCORE}/evidence", "/api/v1/evidence"):
        answer = upload(officer, content, mimetype=sent_as, name="QD-12.pdf", url=url)
        assert (answer.status_code, answer.mimetype, answer.json["type"]) == (415, PROBLEM, "unsupported-media-type")
        assert answer.json["detected"] == detected
    assert events(app) == before
    assert officer.get(SCORE).status_code == 404
    assert officer.get(f"/api/v1/evidence/{hashlib.sha256(content).hexdigest()}").status_code == 404


def test_a_zero_byte_file_is_refused_with_422_and_nothing_is_recorded(app, round_open):
    officer, before = round_open["officer01"], events(app)
    for url in (f"{SCORE}/evidence", "/api/v1/evidence"):
        answer = upload(officer, b"", url=url)
        assert (answer.status_code, answer.mimetype, answer.json["type"]) == (422, PROBLEM, "empty-evidence")
    assert events(app) == before


def test_a_submission_report_declared_as_another_type_is_refused_and_records_nothing(app, round_open):
    council = app.extensions["par-council"].get().council
    full_self_assessment(council, "2024-province", "01")
    sha = upload(round_open["officer01"], url="/api/v1/evidence").json["sha256"]
    report = {"sha256": sha, "name": "bao-cao.pdf", "media_type": "image/png", "size": len(PDF)}
    before = events(app)
    answer = round_open["officer01"].post("/api/v1/rounds/2024-province/units/01/submission",
                                          json={"approved_by": "UBND tỉnh", "report": report})
    assert (answer.status_code, answer.mimetype, answer.json["type"]) == (415, PROBLEM, "unsupported-media-type")
    assert events(app) == before
    answer = round_open["officer01"].post("/api/v1/rounds/2024-province/units/01/submission", json={
        "approved_by": "UBND tỉnh", "report": {**report, "media_type": "application/pdf", "size": 1}})
    assert answer.status_code == 201, answer.json


@pytest.mark.parametrize(("sent", "kept"), [
    ("../../x.pdf", "x.pdf"),
    ("bao\x00cao.pdf", "baocao.pdf"),
    ("hoa-don-\u202efdp.exe", "hoa-don-fdp.exe"),
    ("a" * 10_000 + ".pdf", "a" * 251 + ".pdf"),
])
def test_hostile_file_names_are_kept_normalized_on_upload(round_open, sent, kept):
    officer = round_open["officer01"]
    answer = upload(officer, name=sent)
    assert answer.status_code == 201, answer.json
    assert officer.get(SCORE).json["evidence"][0]["name"] == kept


@pytest.mark.parametrize(("sent", "kept"), [
    ("../../x.pdf", "x.pdf"),
    ("..\\..\\x.pdf", "x.pdf"),
    ("hoa-don-\u202efdp.exe", "hoa-don-fdp.exe"),
    ("a\u2066b\u2069\u200b.pdf", "ab.pdf"),
])
def test_hostile_file_names_are_kept_normalized_by_hash_and_in_a_form(round_open, sent, kept):
    officer = round_open["officer01"]
    sha = upload(officer, url="/api/v1/evidence").json["sha256"]
    by_hash = officer.post(f"{SCORE}/evidence/by-hash", json={"sha256": sha, "name": sent})
    assert by_hash.status_code == 201, by_hash.json
    form = officer.post("/api/v1/rounds/2024-province/units/01/self-assessment", json={"entries": [
        {"leaf": "2.1.3", "points": "0.50", "evidence": [{"sha256": sha, "name": sent}]}]})
    assert form.status_code == 201, form.json
    for leaf in ("2.1.1", "2.1.3"):
        document = officer.get(f"/api/v1/rounds/2024-province/units/01/scores/{leaf}").json["evidence"][0]
        assert (document["name"], document["media_type"], document["size"]) == (kept, "application/pdf", len(PDF))


@pytest.mark.parametrize(("name", "status", "type_"), [
    ("a" * 10_000 + ".pdf", 422, "validation-error"),
    ("bao\x00cao.pdf", 400, "invalid-characters"),  # U+0000 in JSON text is refused for every field
])
def test_a_ten_kilobyte_or_nul_name_in_json_is_refused_and_records_nothing(app, round_open, name, status, type_):
    officer = round_open["officer01"]
    sha = upload(officer, url="/api/v1/evidence").json["sha256"]
    before = events(app)
    by_hash = officer.post(f"{SCORE}/evidence/by-hash", json={"sha256": sha, "name": name})
    form = officer.post("/api/v1/rounds/2024-province/units/01/self-assessment", json={"entries": [
        {"leaf": "2.1.3", "points": "0.50", "evidence": [{"sha256": sha, "name": name}]}]})
    for answer in (by_hash, form):
        assert (answer.status_code, answer.mimetype, answer.json["type"]) == (status, PROBLEM, type_)
    assert events(app) == before


@pytest.mark.parametrize(("content", "sent_as", "media_type", "extension"), [
    (PDF, "application/pdf", "application/pdf", "pdf"),
    (PNG, "image/png", "image/png", "png"),
    (DOCX, "application/zip", DOCX_TYPE, "docx"),  # a DOCX sent as the ZIP container it is
])
def test_a_download_is_an_attachment_named_by_its_hash_with_the_extension_of_its_detected_type(
        round_open, content, sent_as, media_type, extension):
    officer = round_open["officer01"]
    stored = upload(officer, content, mimetype=sent_as, name="../../bao\u202ecao.exe", url="/api/v1/evidence")
    assert (stored.status_code, stored.json["media_type"]) == (201, media_type)
    sha = stored.json["sha256"]
    download = round_open["inspector"].get(f"/api/v1/evidence/{sha}")
    data = download.data
    download.close()
    assert (download.status_code, data, download.mimetype) == (200, content, media_type)
    assert download.headers["Content-Disposition"] == f"attachment; filename={sha}.{extension}"
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_a_file_recorded_under_a_type_its_bytes_are_not_is_served_as_octet_stream(app, round_open):
    """Files recorded before types were detected kept the type their uploader declared."""
    council = app.extensions["par-council"].get().council
    text = b"not a PDF at all\n"
    sha = hashlib.sha256(text).hexdigest()
    path = council.blobs.root / sha[:2] / sha[2:4] / sha
    path.parent.mkdir(parents=True)
    path.write_bytes(text)
    council.save(Blob.upload(sha, "application/pdf", len(text), council.context(officer("01"))))
    download = round_open["officer01"].get(f"/api/v1/evidence/{sha}")
    data = download.data
    download.close()
    assert (download.status_code, data, download.mimetype) == (200, text, "application/octet-stream")
    assert download.headers["Content-Disposition"] == f"attachment; filename={sha}.bin"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
