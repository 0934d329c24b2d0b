"""Evidence services: upload a file to a score, reuse a stored file by its hash, download within scope."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from eventsourcing.application import AggregateNotFoundError

from council.services.application import CouncilBase, Receipt
from domain.blob import Blob
from domain.errors import NotFoundError
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


class EvidenceServices(CouncilBase):
    def upload_evidence(self, at: ScoreAddress, upload: Upload, metadata: Mapping[str, str],
                        actor: Actor) -> Receipt:
        """Store the file (sha256-addressed) and attach it to the score; the writer is checked before storing."""
        rnd, ctx = self._round(at.round_key), self.context(actor)
        score = self._score(rnd, at.unit, at.leaf, ctx)
        score.require_evidence_writer(rnd, ctx)
        stored = self.blobs.put(upload.stream, upload.media_type)
        blob = self._blob_for_upload(stored.sha256, stored.media_type, stored.size, ctx)
        document = Document(sha256=stored.sha256, name=upload.name, media_type=stored.media_type, size=stored.size,
                            **{k: metadata.get(k, "") for k in META})
        score.attach_evidence(document, rnd, ctx)
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
        blob = self._readable_blob(sha256, actor)
        document = Document(sha256=sha256, name=name, media_type=blob.media_type, size=blob.size,
                            **{k: metadata.get(k, "") for k in META})
        score.attach_evidence(document, rnd, ctx)
        return self._score_receipt(score, self._save(score))

    def evidence_file(self, sha256: str, actor: Actor) -> tuple[BinaryIO, str, int]:
        """The bytes of a stored file, for those allowed to read it; others get not-found."""
        blob = self._readable_blob(sha256, actor)
        return self.blobs.open(sha256), blob.media_type, blob.size

    def document_for(self, document: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
        """A document given by hash in a form: it must be a file the actor may read; size and type come
        from the store, never from the client."""
        blob = self._readable_blob(str(document["sha256"]), actor)
        return {**document, "media_type": blob.media_type, "size": blob.size}

    def _readable_blob(self, sha256: str, actor: Actor) -> Blob:
        try:
            blob: Blob = self.repository.get(blob_id(sha256), deepcopy_from_cache=False)
        except AggregateNotFoundError:
            raise NotFoundError(f"no evidence {sha256}") from None
        blob.require_reader(actor)
        return blob

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
