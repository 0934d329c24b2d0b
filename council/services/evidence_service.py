"""Evidence services: upload a file to a score, reuse a stored file by its hash, download within scope.

Every `Document` is built by `evidence_document`, from what the store knows of the file (its sha256, its size and
the media type detected from its bytes), never from what a client declares; `document_from_store` finds the
stored file a reference names (a unit's own upload) and hands it over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from eventsourcing.application import AggregateNotFoundError

from council.infra.blobs import OCTET_STREAM, claim_agrees, claimed_type
from council.services.application import CouncilBase, Receipt
from domain.blob import Blob
from domain.errors import NotFoundError, UnsupportedMediaTypeError, WrongUnitError
from domain.ids import blob_id
from domain.score import Score
from domain.values import Actor, Context, Document, Role, ScoreAddress

META = ("number", "issued_on", "issuer")


@dataclass(frozen=True)
class Upload:
    """A file as it arrives: its bytes, the media type the client declared, its name (a label only)."""

    stream: BinaryIO
    media_type: str
    name: str = "evidence"


class StoredFile(Protocol):
    """What the store knows of a file: a `Blob` aggregate, or the `StoredBlob` the store has just written."""

    @property
    def sha256(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def media_type(self) -> str: ...


def evidence_document(stored: StoredFile, reference: Mapping[str, Any]) -> Document:
    """The one way a Document is built: sha256, size and media type from the stored file; the name normalized
    (`Document.clean_name`); number, issued_on and issuer as given. A media type the reference declares must
    agree with the stored one (415 otherwise); a declared size is ignored."""
    declared = reference.get("media_type")
    if declared is not None and not claim_agrees(claimed_type(str(declared)), stored.media_type):
        raise UnsupportedMediaTypeError(f"the document is declared as {declared} but the stored file is "
                                        f"{stored.media_type}", media_type=str(declared), detected=stored.media_type)
    return Document(sha256=stored.sha256, name=Document.clean_name(str(reference.get("name") or "")),
                    media_type=stored.media_type, size=stored.size,
                    **{k: str(reference.get(k) or "") for k in META})


def document_from_store(app: CouncilBase, reference: Mapping[str, Any], unit: str, actor: Actor,
                        found: dict[str, Blob] | None = None) -> Document:
    """The Document for a unit's dossier from a reference (`sha256`, `name`, metadata) to a file that unit's
    officers uploaded. Only the unit's own officers attach evidence: others are refused (403) before the file is
    looked up, so they learn nothing of the unit's files; a file the unit never uploaded does not exist (404).
    `found` keeps the files one command has looked up already (a form cites one report on many leaves)."""
    actor.require_role(Role.UNIT)
    if actor.unit != unit:
        raise WrongUnitError(f"an officer of unit {actor.unit} may not write the dossier of unit {unit}")
    sha256 = str(reference.get("sha256") or "")
    found = {} if found is None else found
    if sha256 not in found:
        found[sha256] = readable_blob(app, sha256, actor)
    return evidence_document(found[sha256], reference)


def readable_blob(app: CouncilBase, sha256: str, actor: Actor) -> Blob:
    try:
        blob: Blob = app.repository.get(blob_id(sha256), deepcopy_from_cache=False)
    except AggregateNotFoundError:
        raise NotFoundError(f"no evidence {sha256[:64]}") from None
    blob.require_reader(actor)
    return blob


class EvidenceServices(CouncilBase):
    def upload_evidence(self, at: ScoreAddress, upload: Upload, metadata: Mapping[str, str],
                        actor: Actor) -> Receipt:
        """Store the file (sha256-addressed) and attach it to the score; the writer is checked before storing."""
        rnd, ctx = self._round(at.round_key), self.context(actor)
        score = self._score(rnd, at.unit, at.leaf, ctx)
        score.require_evidence_writer(rnd, ctx)
        stored = self.blobs.put(upload.stream, upload.media_type)
        blob = self._blob_for_upload(stored.sha256, stored.media_type, stored.size, ctx)
        score.attach_evidence(evidence_document(stored, {**metadata, "name": upload.name}), rnd, ctx)
        return self._score_receipt(score, self._save(score, blob))

    def store_evidence(self, upload: Upload, actor: Actor) -> dict[str, Any]:
        """Store a unit's file without attaching it yet (one document often backs several leaves of a form)."""
        actor.require_role(Role.UNIT)
        ctx = self.context(actor)
        stored = self.blobs.put(upload.stream, upload.media_type)
        self._save(self._blob_for_upload(stored.sha256, stored.media_type, stored.size, ctx))
        return {"sha256": stored.sha256, "size": stored.size, "media_type": stored.media_type}

    def attach_stored_evidence(self, at: ScoreAddress, sha256: str, name: str, metadata: Mapping[str, str],
                               actor: Actor) -> Receipt:
        """Reuse a file the unit already uploaded (one document often supports several leaves)."""
        rnd, ctx = self._round(at.round_key), self.context(actor)
        score = self._score(rnd, at.unit, at.leaf, ctx)
        score.require_evidence_writer(rnd, ctx)
        document = document_from_store(self, {**metadata, "sha256": sha256, "name": name}, at.unit, actor)
        score.attach_evidence(document, rnd, ctx)
        return self._score_receipt(score, self._save(score))

    def evidence_file(self, sha256: str, actor: Actor) -> tuple[BinaryIO, str, int]:
        """The bytes of a stored file, for those allowed to read it; others get not-found. Its media type is
        the recorded one when the bytes are still detected as that type, application/octet-stream otherwise
        (a file recorded before types were detected, under the type its uploader declared)."""
        blob = self._readable_blob(sha256, actor)
        media_type = blob.media_type if self.blobs.content_type(sha256) == blob.media_type else OCTET_STREAM
        return self.blobs.open(sha256), media_type, blob.size

    def _readable_blob(self, sha256: str, actor: Actor) -> Blob:
        return readable_blob(self, sha256, actor)

    def _blob_for_upload(self, sha256: str, media_type: str, size: int, ctx: Context) -> Blob:
        try:
            blob: Blob = self.repository.get(blob_id(sha256))
        except AggregateNotFoundError:
            return Blob.upload(sha256, media_type, size, ctx)
        blob.upload_again(ctx)
        return blob

    @staticmethod
    def _score_receipt(score: Score, receipts: list[Receipt]) -> Receipt:
        return next(r for r in reversed(receipts) if r.stream == str(score.id))
