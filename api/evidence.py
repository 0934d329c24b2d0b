"""Evidence: upload a file to a score (multipart), reuse a stored file by hash, withdraw, download in scope."""

from __future__ import annotations

from typing import Any

from flask import send_file
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import actor, protect
from api.openapi_docs import access
from api.schemas import (
    EvidenceByHashSchema,
    EvidenceFileSchema,
    EvidenceFormSchema,
    EvidenceUploadSchema,
    ReceiptSchema,
    StoredFileSchema,
    WithdrawalSchema,
)
from api.wiring import council
from council.infra.blobs import extension_for
from council.services.application import Receipt
from council.services.evidence_service import Upload as FileUpload
from domain.values import Document, Role, ScoreAddress

blp = protect(Blueprint("evidence", __name__, url_prefix="/api/v1", description="Evidence files"))
SCORE = "/rounds/<round_key>/units/<unit>/scores/<leaf>/evidence"
OWN_UNIT = "an officer of the unit in the path, in the unit's open self-assessment or explanation window"
# The upload's form fields and its file arrive in one multipart/form-data body. flask-smorest documents two
# @blp.arguments as a body and a "formData" parameter (not OpenAPI 3), so they are read by the same parser without
# documentation, and the body is documented once, whole.
parse = Blueprint.ARGUMENTS_PARSER.use_args
UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": EvidenceUploadSchema}}}


def metadata(form: dict[str, Any]) -> dict[str, str]:
    return {"number": form["number"], "issuer": form["issuer"],
            "issued_on": form["issued_on"].isoformat() if form["issued_on"] else ""}


@blp.route(SCORE)
class Upload(MethodView):
    @access(Role.UNIT, scope=OWN_UNIT, errors=(415,))
    @blp.doc(requestBody=UPLOAD_BODY)
    @parse(EvidenceFormSchema, location="form")
    @parse(EvidenceFileSchema, location="files")
    @blp.response(201, ReceiptSchema)
    def post(self, form: dict[str, Any], files: dict[str, Any], round_key: str, unit: str, leaf: str) -> Receipt:
        """Upload an evidence file to a score.

        A multipart/form-data body: the file and, optionally, the document's number, issuer and date. The file is
        stored under its sha256 and typed by its bytes (the declared type must agree: 415 otherwise); its name is a
        label only."""
        upload = files["file"]
        # The client's file name is a label only (normalized by Document.clean_name); the blob is stored under
        # its sha256, typed by its content: the declared type must agree with it (415 otherwise).
        arrived = FileUpload(upload.stream, upload.mimetype or "", upload.filename or "evidence")
        return council().upload_evidence(ScoreAddress(round_key, unit, leaf), arrived, metadata(form), actor())


@blp.route(f"{SCORE}/by-hash")
class ByHash(MethodView):
    @access(Role.UNIT, scope=OWN_UNIT)
    @blp.arguments(EvidenceByHashSchema)
    @blp.response(201, ReceiptSchema)
    def post(self, data: dict[str, Any], round_key: str, unit: str, leaf: str) -> Receipt:
        """Attach a stored file to a score by its hash.

        A file the unit stored before (POST /api/v1/evidence, or uploaded to another leaf) is attached without
        sending its bytes again, under the name and metadata given here."""
        return council().attach_stored_evidence(ScoreAddress(round_key, unit, leaf), data["sha256"], data["name"],
                                                metadata(data), actor())


@blp.route(f"{SCORE}/<sha256>")
class Withdrawal(MethodView):
    @access(Role.UNIT, scope=OWN_UNIT)
    @blp.arguments(WithdrawalSchema, location="query")
    @blp.response(200, ReceiptSchema)
    def delete(self, query: dict[str, Any], round_key: str, unit: str, leaf: str, sha256: str) -> Receipt:
        """Withdraw evidence from a score, with a reason.

        The file stays in the log's history and in the store; the score no longer counts it as evidence."""
        return council().withdraw_evidence(ScoreAddress(round_key, unit, leaf), sha256, query["reason"], actor())


@blp.route("/evidence")
class Store(MethodView):
    @access(Role.UNIT, scope="any unit officer; the file is stored as their unit's", errors=(415,))
    @blp.arguments(EvidenceFileSchema, location="files")
    @blp.response(201, StoredFileSchema)
    def post(self, files: dict[str, Any]) -> dict[str, Any]:
        """Store an evidence file, to attach it to leaves later by its hash.

        Attach it with a form's entries or with …/evidence/by-hash; the answer gives its sha256, size and type."""
        upload = files["file"]
        return council().store_evidence(FileUpload(upload.stream, upload.mimetype or ""), actor())


@blp.route("/evidence/<sha256>")
class Download(MethodView):
    @access(Role.SECRETARIAT, Role.COUNCIL, Role.INSPECTOR, Role.UNIT, refused=404,
            scope="a unit officer only the files their own unit uploaded; to anyone else a file is not found")
    @blp.response(200, content_type="application/octet-stream")
    def get(self, sha256: str) -> Any:
        """Download an evidence file.

        The file's bytes as an attachment named `<sha256>.<extension of its detected type>`; browsers are told
        not to second-guess its type (nosniff)."""
        stream, media_type, size = council().evidence_file(sha256, actor())
        name = Document.clean_name(f"{sha256}{extension_for(media_type)}")
        response = send_file(stream, mimetype=media_type, as_attachment=True, download_name=name,
                             etag=sha256, max_age=0)
        response.headers["Content-Length"] = str(size)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
