"""Evidence files on disk: content-addressed, size-limited, typed by their bytes, and never reached through a
client's name; every Document built from the store, its name normalized."""

from __future__ import annotations

import builtins
import hashlib
import io
import os
import struct
import unicodedata
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest

from council import bootstrap
from council.infra.blobs import DOCX, XLSX, ZIP, BlobStore, EmptyEvidenceError
from council.infra.settings import DEFAULT_EVIDENCE_TYPES, Settings
from domain.errors import EvidenceTooLargeError, NotFoundError, UnsupportedMediaTypeError, WrongUnitError
from domain.ids import dossier_id
from domain.values import Document, ScoreAddress
from tests.builders import full_self_assessment, officer, open_round, stored_document

PDF = "application/pdf"
LIMIT = 200_000  # over three 64 KiB chunks, so a refusal happens mid-stream


def png_bytes() -> bytes:
    """A real 1×1 grey PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b""))


def zip_bytes(parts: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


def docx_bytes() -> bytes:
    """The parts of a minimal Word document, its main part named in [Content_Types].xml as Word writes it."""
    return zip_bytes({
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        "_rels/.rels": "<Relationships/>", "word/document.xml": "<w:document/>"})


def xlsx_bytes() -> bytes:
    out = io.BytesIO()
    openpyxl.Workbook().save(out)
    return out.getvalue()


PDF_BYTES = b"%PDF-1.7\n% Quyet dinh 876/QD-BNV\n"
# Content that must never be accepted as the PDF it is sent as.
NOT_PDF = {
    "text": "Quyết định 12/QĐ-UBND: đây là văn bản thuần, không phải PDF\n".encode(),
    "png": png_bytes(),
    "html": b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
}


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
    content = png_bytes() + os.urandom(3 * 64 * 1024 + 17)
    blob = store.put(io.BytesIO(content), "image/png")
    assert store.exists(blob.sha256)
    assert store.size(blob.sha256) == len(content)
    with store.open(blob.sha256) as stored:
        assert stored.read() == content


def test_a_file_exactly_at_the_limit_is_accepted(store):
    blob = store.put(io.BytesIO(PDF_BYTES + b"x" * (LIMIT - len(PDF_BYTES))), PDF)
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


# The type is what the bytes are (puremagic on the stored temp file), never what the client says.

@pytest.mark.parametrize("kind", sorted(NOT_PDF))
def test_content_that_is_not_a_pdf_is_refused_when_sent_as_one_and_leaves_nothing_behind(store, kind):
    with pytest.raises(UnsupportedMediaTypeError) as refused:
        store.put(io.BytesIO(NOT_PDF[kind]), PDF)
    assert (refused.value.type, refused.value.status) == ("unsupported-media-type", 415)
    assert refused.value.details["detected"] == {"text": "unknown", "png": "image/png", "html": "text/html"}[kind]
    assert files_under(store.root) == []


def test_html_or_text_sent_without_a_type_is_refused_too(store):
    for content in (NOT_PDF["html"], NOT_PDF["text"]):
        for declared in ("", "application/octet-stream", None):
            with pytest.raises(UnsupportedMediaTypeError):
                store.put(io.BytesIO(content), declared)
    assert files_under(store.root) == []


def test_a_zero_byte_file_is_refused_and_leaves_nothing_behind(store):
    with pytest.raises(EmptyEvidenceError) as refused:
        store.put(io.BytesIO(b""), PDF)
    assert (refused.value.type, refused.value.status) == ("empty-evidence", 422)
    assert files_under(store.root) == []


@pytest.mark.parametrize("declared", ["application/pdf", "Application/PDF; charset=binary", "application/x-pdf",
                                      "application/octet-stream", "", None])
def test_a_pdf_is_stored_as_a_pdf_whatever_agreeing_or_generic_type_it_is_sent_as(store, declared):
    assert store.put(io.BytesIO(PDF_BYTES), declared).media_type == PDF


def test_a_png_sent_as_image_png_is_stored_as_one(store):
    assert store.put(io.BytesIO(png_bytes()), "image/png").media_type == "image/png"


@pytest.fixture
def office(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "office", LIMIT, DEFAULT_EVIDENCE_TYPES)


@pytest.mark.parametrize(("content", "declared", "stored"), [
    (docx_bytes, DOCX, DOCX),
    (docx_bytes, ZIP, DOCX),  # a DOCX is a ZIP container: saying so is true, and it is kept as the DOCX it is
    (docx_bytes, "application/x-zip-compressed", DOCX),
    (xlsx_bytes, XLSX, XLSX),
    (xlsx_bytes, ZIP, XLSX),
    (lambda: zip_bytes({"bien-ban.pdf": "x"}), ZIP, ZIP),
    (lambda: zip_bytes({"bien-ban.pdf": "x"}), "", ZIP),
])
def test_zip_containers_are_told_apart_by_their_content_types_part(office, content, declared, stored):
    assert office.put(io.BytesIO(content()), declared).media_type == stored


@pytest.mark.parametrize(("content", "declared"), [
    (lambda: zip_bytes({"bien-ban.pdf": "x"}), DOCX),  # a ZIP is no DOCX
    (xlsx_bytes, DOCX),
    (docx_bytes, XLSX),
    (docx_bytes, PDF),
    (lambda: docx_bytes()[:200], DOCX),  # a ZIP signature with no readable archive behind it
])
def test_a_zip_container_is_refused_as_what_its_content_is_not(office, content, declared):
    with pytest.raises(UnsupportedMediaTypeError):
        office.put(io.BytesIO(content()), declared)
    assert files_under(office.root) == []


def test_a_detected_type_off_the_allow_list_is_refused_even_unclaimed(store):
    with pytest.raises(UnsupportedMediaTypeError) as refused:
        store.put(io.BytesIO(docx_bytes()), None)  # this store takes PDF and PNG only
    assert refused.value.details["detected"] == DOCX


def test_the_store_detects_the_type_of_a_stored_file_again(store):
    blob = store.put(io.BytesIO(png_bytes()), "image/png")
    assert store.content_type(blob.sha256) == "image/png"
    with pytest.raises(NotFoundError):
        store.content_type(hashlib.sha256(b"never stored").hexdigest())


# File names: normalized in one place, Document.clean_name, when a document is built.

@pytest.mark.parametrize(("raw", "kept"), [
    ("../../x.pdf", "x.pdf"),
    ("..\\..\\Windows\\x.pdf", "x.pdf"),
    ("C:\\Users\\thuky\\Desktop\\QĐ-12.pdf", "QĐ-12.pdf"),
    ("bao\x00cao.pdf", "baocao.pdf"),
    ("hoa-don-\u202efdp.exe", "hoa-don-fdp.exe"),  # the right-to-left override that shows "exe.pdf"
    ("a\u2066b\u2069\u200b\u200e.pdf", "ab.pdf"),  # isolates, zero-width space, direction marks
    ("  Kế\thoạch\n\n2024 .pdf. ", "Kế hoạch 2024 .pdf"),
    ('bao"cao<1>:2|3?*.pdf', "bao_cao_1__2_3__.pdf"),
    (".htaccess", "htaccess"),
    ("../..", "evidence"),
    ("\u202e\x00", "evidence"),
    ("", "evidence"),
    ("\ud800.pdf", "pdf"),  # a lone surrogate is dropped, and the leading dot with it
])
def test_file_names_are_normalized(raw, kept):
    assert Document.clean_name(raw) == kept


def test_names_are_kept_in_nfc():
    decomposed = unicodedata.normalize("NFD", "Quyết định.pdf")
    assert decomposed != "Quyết định.pdf"
    assert Document.clean_name(decomposed) == "Quyết định.pdf"


@pytest.mark.parametrize("raw", ["a" * 10_000 + ".pdf", "ệ" * 10_000 + ".docx", "x" * 10_000,
                                 "y" * 300 + "." + "z" * 40])
def test_long_names_are_cut_to_255_bytes_keeping_a_short_extension(raw):
    kept = Document.clean_name(raw)
    assert 0 < len(kept.encode("utf-8")) <= 255
    assert kept.endswith(raw[-5:]) if raw.endswith((".pdf", ".docx")) else kept == raw[: len(kept)]
    assert unicodedata.is_normalized("NFC", kept)


# Every Document is built from the store: the service paths below take nothing about a file from the client.

def test_a_form_or_a_submission_takes_size_and_type_from_the_store(council):
    key = open_round(council)
    report = stored_document(council, "01", "bao-cao")
    council.self_assess(key, "01", [{"leaf": "2.1.1", "points": "0.50",
                                     "evidence": [{**report, "size": 1, "media_type": PDF}]}], officer("01"))
    attached = council.score(ScoreAddress(key, "01", "2.1.1"))["evidence"][0]
    content_size = council.blobs.size(report["sha256"])
    assert (attached["size"], attached["media_type"], attached["name"]) == (content_size, PDF, "bao-cao.pdf")
    full_self_assessment(council, key, "01")
    head = council.recorder.max_notification_id()
    with pytest.raises(UnsupportedMediaTypeError):
        council.submit(key, "01", "Chủ tịch UBND", {**report, "media_type": "image/png"}, officer("01"))
    assert council.recorder.max_notification_id() == head
    council.submit(key, "01", "Chủ tịch UBND", {**report, "name": "../../bao\u202ecao.pdf", "size": 9}, officer("01"))
    submitted = council.repository.get(dossier_id(key, "01")).report
    assert (submitted.size, submitted.media_type, submitted.name) == (content_size, PDF, "baocao.pdf")


def test_a_reference_to_a_file_the_unit_never_stored_is_not_found_and_records_nothing(council):
    key = open_round(council)
    others = stored_document(council, "79", "cua-tinh-khac")
    made_up = {"sha256": hashlib.sha256(b"never stored").hexdigest(), "name": "x.pdf"}
    head = council.recorder.max_notification_id()
    for reference in (others, made_up):
        with pytest.raises(NotFoundError):
            council.self_assess(key, "01", [{"leaf": "2.1.1", "points": "0.50", "evidence": [reference]}],
                                officer("01"))
        with pytest.raises(NotFoundError):
            council.attach_evidence(ScoreAddress(key, "01", "2.1.1"), reference, officer("01"))
    with pytest.raises(WrongUnitError):  # the writer is checked before the file is looked up
        council.attach_evidence(ScoreAddress(key, "79", "2.1.1"), others, officer("01"))
    assert council.recorder.max_notification_id() == head
