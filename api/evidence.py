"""Evidence: upload a file to a score (multipart), reuse a stored file by hash, withdraw, download in scope."""

from __future__ import annotations

from typing import Any

from flask import send_file
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import actor, protect
from api.schemas import (
    EvidenceByHashSchema,
    EvidenceFileSchema,
    EvidenceFormSchema,
    ReceiptSchema,
    StoredFileSchema,
    WithdrawalSchema,
)
from api.wiring import council
from council.infra.blobs import extension_for
from council.services.application import Receipt
from council.services.evidence_service import Upload as FileUpload
from domain.values import Document, ScoreAddress

blp = protect(Blueprint("evidence", __name__, url_prefix="/api/v1", description="Evidence files"))
SCORE = "/rounds/<round_key>/units/<unit>/scores/<leaf>/evidence"


def metadata(form: dict[str, Any]) -> dict[str, str]:
    return {"number": form["number"], "issuer": form["issuer"],
            "issued_on": form["issued_on"].isoformat() if form["issued_on"] else ""}


@blp.route(SCORE)
class Upload(MethodView):
    @blp.arguments(EvidenceFormSchema, location="form")
    @blp.arguments(EvidenceFileSchema, location="files")
    @blp.response(201, ReceiptSchema)
    def post(self, form: dict[str, Any], files: dict[str, Any], round_key: str, unit: str, leaf: str) -> Receipt:
        upload = files["file"]
        # The client's file name is a label only (normalized by Document.clean_name); the blob is stored under
        # its sha256, typed by its content: the declared type must agree with it (415 otherwise).
        arrived = FileUpload(upload.stream, upload.mimetype or "", upload.filename or "evidence")
        return council().upload_evidence(ScoreAddress(round_key, unit, leaf), arrived, metadata(form), actor())


@blp.route(f"{SCORE}/by-hash")
class ByHash(MethodView):
    @blp.arguments(EvidenceByHashSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str, unit: str, leaf: str) -> Receipt:
        return council().attach_stored_evidence(ScoreAddress(round_key, unit, leaf), data["sha256"], data["name"],
                                                metadata(data), actor())


@blp.route(f"{SCORE}/<sha256>")
class Withdrawal(MethodView):
    @blp.arguments(WithdrawalSchema, location="query")
    @blp.response(200, ReceiptSchema)
    def delete(self, query: dict[str, Any], round_key: str, unit: str, leaf: str, sha256: str) -> Receipt:
        return council().withdraw_evidence(ScoreAddress(round_key, unit, leaf), sha256, query["reason"], actor())


@blp.route("/evidence")
class Store(MethodView):
    @blp.arguments(EvidenceFileSchema, location="files")
    @blp.response(201, StoredFileSchema)
    def post(self, files: dict[str, Any]) -> dict[str, Any]:
        """Store a unit's file; attach it to leaves later by its hash (form entries, or …/evidence/by-hash)."""
        upload = files["file"]
        return council().store_evidence(FileUpload(upload.stream, upload.mimetype or ""), actor())


@blp.route("/evidence/<sha256>")
class Download(MethodView):
    @blp.response(200, content_type="application/octet-stream")
    def get(self, sha256: str) -> Any:
        """The file's bytes as an attachment named `<sha256>.<extension of its detected type>`; browsers are told
        not to second-guess its type (nosniff)."""
        stream, media_type, size = council().evidence_file(sha256, actor())
        name = Document.clean_name(f"{sha256}{extension_for(media_type)}")
        response = send_file(stream, mimetype=media_type, as_attachment=True, download_name=name,
                             etag=sha256, max_age=0)
        response.headers["Content-Length"] = str(size)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
