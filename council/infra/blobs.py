"""Evidence files as content-addressed blobs: root/ab/cd/<sha256>, written to a temp file, fsynced, renamed."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from domain.errors import EvidenceTooLargeError, NotFoundError, UnsupportedMediaTypeError

CHUNK = 64 * 1024
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    media_type: str


class BlobStore:
    """Blobs named by their sha256 only: a client's file name never becomes a path.

    A malformed sha256 (anything but 64 lowercase hex digits) is answered with NotFoundError before the
    filesystem is touched, exactly like a well-formed one that is absent: a caller learns nothing more.
    """

    def __init__(self, root: Path, max_bytes: int, allowed_types: frozenset[str]) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.allowed_types = allowed_types

    def put(self, stream: BinaryIO, media_type: str) -> StoredBlob:
        """Store the stream's bytes; the same bytes twice give the same blob, written once."""
        media_type = media_type.split(";", 1)[0].strip().lower()
        if media_type not in self.allowed_types:
            raise UnsupportedMediaTypeError(f"evidence of type {media_type!r} is not accepted",
                                            media_type=media_type, allowed=sorted(self.allowed_types))
        self._ensure_dir(self.root / "tmp")
        handle, name = tempfile.mkstemp(dir=self.root / "tmp", prefix="upload-")
        temp = Path(name)
        try:
            with os.fdopen(handle, "wb") as out:
                sha256, size = self._copy(stream, out)
                out.flush()
                os.fsync(out.fileno())
            self._install(temp, self._path(sha256))
        finally:
            temp.unlink(missing_ok=True)
        return StoredBlob(sha256=sha256, size=size, media_type=media_type)

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
