"""Evidence files on disk: content-addressed, size-limited, typed, and never reached through a client's name."""

from __future__ import annotations

import builtins
import hashlib
import io
import os
from pathlib import Path

import pytest

from council import bootstrap
from council.infra.blobs import BlobStore
from council.infra.settings import Settings
from domain.errors import EvidenceTooLargeError, NotFoundError, UnsupportedMediaTypeError

PDF = "application/pdf"
LIMIT = 200_000  # over three 64 KiB chunks, so a refusal happens mid-stream


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "evidence", LIMIT, frozenset({PDF, "image/png"}))


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def test_the_same_bytes_twice_give_one_blob_and_the_same_hash(store):
    content = b"%PDF-1.7 Quyet dinh 876/QD-BNV " * 1000
    first = store.put(io.BytesIO(content), PDF)
    second = store.put(io.BytesIO(content), "application/PDF; name=copy.pdf")
    assert first == second
    assert first.sha256 == hashlib.sha256(content).hexdigest()
    assert first.size == len(content)
    assert files_under(store.root) == [store.root / first.sha256[:2] / first.sha256[2:4] / first.sha256]


def test_the_stored_bytes_read_back_equal(store):
    content = os.urandom(3 * 64 * 1024 + 17)
    blob = store.put(io.BytesIO(content), "image/png")
    assert store.exists(blob.sha256)
    assert store.size(blob.sha256) == len(content)
    with store.open(blob.sha256) as stored:
        assert stored.read() == content


def test_a_file_exactly_at_the_limit_is_accepted(store):
    blob = store.put(io.BytesIO(b"x" * LIMIT), PDF)
    assert store.size(blob.sha256) == LIMIT


def test_a_file_one_byte_over_the_limit_is_refused_and_leaves_nothing_behind(store):
    with pytest.raises(EvidenceTooLargeError) as refused:
        store.put(io.BytesIO(b"x" * (LIMIT + 1)), PDF)
    assert (refused.value.type, refused.value.status) == ("payload-too-large", 413)
    assert files_under(store.root) == []
    assert not store.exists(hashlib.sha256(b"x" * LIMIT).hexdigest())


def test_an_endless_upload_is_cut_off_just_past_the_limit(store):
    class Endless(io.RawIOBase):
        read_so_far = 0

        def readinto(self, buffer):
            self.read_so_far += len(buffer)
            buffer[:] = b"y" * len(buffer)
            return len(buffer)

    upload = Endless()
    with pytest.raises(EvidenceTooLargeError):
        store.put(upload, PDF)
    assert upload.read_so_far == LIMIT + 1
    assert files_under(store.root) == []


def test_a_type_outside_the_allow_list_is_refused_before_reading(store):
    class Unreadable(io.RawIOBase):
        def readinto(self, buffer):
            raise AssertionError("the upload was read")

    with pytest.raises(UnsupportedMediaTypeError) as refused:
        store.put(Unreadable(), "text/html")
    assert (refused.value.type, refused.value.status) == ("unsupported-media-type", 415)
    assert files_under(store.root) == []


@pytest.mark.parametrize("name", ["../../etc/passwd", "A" * 64, "a" * 63, "a" * 65, "a" * 64 + "/", "", "é" * 64,
                                  "../" * 21 + "a"])
def test_a_malformed_sha256_never_touches_the_filesystem(store, monkeypatch, name):
    def touched(*args, **kwargs):
        raise AssertionError(f"the filesystem was touched: {args!r}")

    with monkeypatch.context() as patched:
        for module, function in [(os, "stat"), (os, "lstat"), (os, "open"), (io, "open"), (builtins, "open")]:
            patched.setattr(module, function, touched)
        assert store.exists(name) is False
        with pytest.raises(NotFoundError):
            store.open(name)
        with pytest.raises(NotFoundError):
            store.size(name)


def test_an_absent_blob_is_not_found(store):
    missing = hashlib.sha256(b"never stored").hexdigest()
    assert not store.exists(missing)
    with pytest.raises(NotFoundError):
        store.open(missing)
    with pytest.raises(NotFoundError):
        store.size(missing)


def test_the_composition_root_builds_the_store_from_the_environment(tmp_path):
    settings = Settings.from_env({"COUNCIL_DATA_DIR": str(tmp_path), "COUNCIL_EVIDENCE_DIR": str(tmp_path / "files"),
                                  "COUNCIL_EVIDENCE_MAX_BYTES": "10",
                                  "COUNCIL_EVIDENCE_TYPES": "application/pdf, Image/PNG"})
    bootstrap.init_db(settings)
    parts = bootstrap.build(settings)
    store = parts.blobs
    parts.close()
    assert parts.council.blobs is store
    assert (store.root, store.max_bytes, store.allowed_types) == (tmp_path / "files", 10, {PDF, "image/png"})
    defaults = Settings.from_env({"HOME": str(tmp_path)})
    assert defaults.evidence_max_bytes == 20 * 1024 * 1024
    assert "application/zip" in defaults.evidence_types
