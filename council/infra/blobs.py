"""Evidence files as content-addressed blobs: root/ab/cd/<sha256>, written to a temp file, fsynced, renamed.

A file's media type is what its bytes are, never what the client says: it is detected (puremagic, plus a look
into ZIP containers for DOCX and XLSX) on the temp file as stored, before the blob is installed.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import zipfile
import zlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import puremagic

from domain.errors import DomainError, EvidenceTooLargeError, NotFoundError, UnsupportedMediaTypeError

CHUNK = 64 * 1024
SHA256 = re.compile(r"[0-9a-f]{64}")

PDF, PNG, JPEG, ZIP = "application/pdf", "image/png", "image/jpeg", "application/zip"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OCTET_STREAM = "application/octet-stream"
# An Office Open XML file is a ZIP container whose [Content_Types].xml names its main part with one of these.
OOXML_MAIN_PARTS = {DOCX: b"wordprocessingml.document.main+xml", XLSX: b"spreadsheetml.sheet.main+xml"}
CONTENT_TYPES_LIMIT = 256 * 1024  # bytes of [Content_Types].xml read at most, however much it claims to inflate to
# What clients (browsers on Windows, old libraries) send for the types above; a generic type declares nothing.
ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG, "image/x-png": PNG, "application/x-pdf": PDF,
           "application/x-zip-compressed": ZIP, "application/x-zip": ZIP}
GENERIC = frozenset({"", OCTET_STREAM, "binary/octet-stream", "application/unknown"})
EXTENSIONS = {PDF: ".pdf", PNG: ".png", JPEG: ".jpg", ZIP: ".zip", DOCX: ".docx", XLSX: ".xlsx",
              "image/gif": ".gif", "image/tiff": ".tif", "image/webp": ".webp", "text/csv": ".csv"}


class EmptyEvidenceError(DomainError):
    """A zero-byte evidence file: nothing to appraise, and nothing of it is kept."""

    type = "empty-evidence"
    status = 422


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    media_type: str


def claimed_type(declared: str | None) -> str | None:
    """The media type a client declared, lower case, without parameters, aliases resolved; None when it
    declared nothing specific (no type, application/octet-stream): the content then decides alone."""
    claim = (declared or "").split(";", 1)[0].strip().lower()
    return None if claim in GENERIC else ALIASES.get(claim, claim)


def claim_agrees(claim: str | None, detected: str) -> bool:
    """A claim agrees with the content when it names the detected type, or when it says ZIP of an Office Open
    XML file (DOCX and XLSX are ZIP containers); a claim of DOCX or XLSX for any other ZIP does not agree."""
    return claim is None or claim == detected or (claim == ZIP and detected in OOXML_MAIN_PARTS)


def extension_for(media_type: str) -> str:
    """The file name extension of a media type, `.bin` for one without a known extension."""
    return EXTENSIONS.get(media_type, ".bin")


def detect_media_type(path: Path, prefer: Collection[str] = ()) -> str | None:
    """What the file's bytes are, or None when nothing recognisable (plain text, truncated files, empty files).

    puremagic matches the head and the tail of the file (about 37 KB, whatever its size) against its signatures;
    of the most confident matches one in `prefer` wins (a PDF header also matches FDF). A ZIP container is
    opened (its central directory, and at most CONTENT_TYPES_LIMIT inflated bytes of [Content_Types].xml) to
    tell DOCX and XLSX from other ZIP files, which puremagic cannot.
    """
    try:
        candidates = puremagic.magic_file(path)
    except (puremagic.PureError, ValueError, OSError):
        return None
    if not candidates:
        return None
    best = [c for c in candidates if c.confidence == candidates[0].confidence]
    if any(bytes(c.byte_match).startswith(b"PK") for c in best):
        return _zip_kind(path)
    return next((c.mime_type for c in best if c.mime_type in prefer), best[0].mime_type) or None


def _zip_kind(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                info = archive.getinfo("[Content_Types].xml")
            except KeyError:
                return ZIP
            with archive.open(info) as part:
                content_types = part.read(CONTENT_TYPES_LIMIT).lower()
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError):
        return None  # not a readable ZIP (truncated, encrypted, an unknown compression): not recognised
    kinds = [kind for kind, marker in OOXML_MAIN_PARTS.items() if marker in content_types]
    return kinds[0] if len(kinds) == 1 else ZIP


class BlobStore:
    """Blobs named by their sha256 only: a client's file name never becomes a path.

    A malformed sha256 (anything but 64 lowercase hex digits) is answered with NotFoundError before the
    filesystem is touched, exactly like a well-formed one that is absent: a caller learns nothing more.
    """

    def __init__(self, root: Path, max_bytes: int, allowed_types: frozenset[str]) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.allowed_types = allowed_types

    def put(self, stream: BinaryIO, media_type: str | None = None) -> StoredBlob:
        """Store the stream's bytes, typed by their content; the same bytes twice give the same blob, written once.

        `media_type` is the client's claim: a specific type off the allow-list is refused before a byte is read;
        otherwise the bytes are streamed to a temp file (hashed and counted, cut off one byte past the limit),
        and refused, leaving nothing behind, when empty, when their detected type is not on the allow-list, or
        when it disagrees with the claim (see `claim_agrees`).
        """
        claim = claimed_type(media_type)
        if claim is not None and not self._may_be_allowed(claim):
            raise UnsupportedMediaTypeError(f"evidence of type {claim!r} is not accepted",
                                            media_type=claim, allowed=sorted(self.allowed_types))
        self._ensure_dir(self.root / "tmp")
        handle, name = tempfile.mkstemp(dir=self.root / "tmp", prefix="upload-")
        temp = Path(name)
        try:
            with os.fdopen(handle, "wb") as out:
                sha256, size = self._copy(stream, out)
                out.flush()
                os.fsync(out.fileno())
            detected = self._checked_type(temp, size, claim)
            self._install(temp, self._path(sha256))
        finally:
            temp.unlink(missing_ok=True)
        return StoredBlob(sha256=sha256, size=size, media_type=detected)

    def content_type(self, sha256: str) -> str | None:
        """The media type the stored bytes are detected as now (None when unrecognised)."""
        path = self._checked(sha256)
        if not path.is_file():
            raise _not_found(sha256)
        return detect_media_type(path, self.allowed_types)

    def exists(self, sha256: str) -> bool:
        return SHA256.fullmatch(sha256) is not None and self._path(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self._checked(sha256).open("rb")
        except FileNotFoundError:
            raise _not_found(sha256) from None

    def size(self, sha256: str) -> int:
        try:
            return self._checked(sha256).stat().st_size
        except FileNotFoundError:
            raise _not_found(sha256) from None

    def _may_be_allowed(self, claim: str) -> bool:
        return claim in self.allowed_types or (claim == ZIP and not self.allowed_types.isdisjoint(OOXML_MAIN_PARTS))

    def _checked_type(self, temp: Path, size: int, claim: str | None) -> str:
        """The detected type of the bytes as stored, refused unless allowed and in agreement with the claim."""
        if size == 0:
            raise EmptyEvidenceError("an evidence file cannot be empty")
        detected = detect_media_type(temp, self.allowed_types)
        if detected is None or detected not in self.allowed_types:
            raise UnsupportedMediaTypeError(
                f"the file's content is {detected or 'of no recognised type'}, which is not accepted as evidence",
                media_type=claim or "", detected=detected or "unknown", allowed=sorted(self.allowed_types))
        if not claim_agrees(claim, detected):
            raise UnsupportedMediaTypeError(f"the file was sent as {claim} but its content is {detected}",
                                            media_type=claim or "", detected=detected,
                                            allowed=sorted(self.allowed_types))
        return detected

    def _copy(self, stream: BinaryIO, out: BinaryIO) -> tuple[str, int]:
        """Hash and count while copying; read at most one byte past the limit, then stop."""
        digest, size = hashlib.sha256(), 0
        while chunk := stream.read(min(CHUNK, self.max_bytes + 1 - size)):
            size += len(chunk)
            if size > self.max_bytes:
                raise EvidenceTooLargeError(f"evidence files are at most {self.max_bytes} bytes",
                                            max_bytes=self.max_bytes)
            digest.update(chunk)
            out.write(chunk)
        return digest.hexdigest(), size

    def _install(self, temp: Path, target: Path) -> None:
        if target.exists():
            return  # same name, same content: the temp file is dropped by the caller
        self._ensure_dir(target.parent)
        os.replace(temp, target)
        _fsync_dir(target.parent)

    def _ensure_dir(self, directory: Path) -> None:
        """mkdir -p, fsyncing each parent that gains an entry so a new directory survives a crash."""
        if directory.is_dir():
            return
        if directory != self.root:
            self._ensure_dir(directory.parent)
        directory.mkdir(parents=True, exist_ok=True)
        _fsync_dir(directory.parent)

    def _checked(self, sha256: str) -> Path:
        if SHA256.fullmatch(sha256) is None:
            raise _not_found(sha256)
        return self._path(sha256)

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256


def _not_found(sha256: str) -> NotFoundError:
    return NotFoundError("no evidence file with this sha256", sha256=sha256[:64])


def _fsync_dir(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
