"""Input limits, in one place: the sizes the schemas document (maxLength, maximum) and the request-level checks
that run before any work (before authentication, before a view parses anything, before the database).

Request level (`check`, an app-wide before_request):

- a body that is not multipart/form-data holds at most MAX_BODY_BYTES: a larger Content-Length is refused
  (413 `payload-too-large`) before a byte is read, and a body without one is read no further than the limit.
  Multipart bodies (evidence uploads) keep MAX_CONTENT_LENGTH, the evidence limit plus room for form fields;
- a JSON body nests arrays and objects at most MAX_JSON_DEPTH deep (400 `json-too-deep`);
- no text in a JSON body (keys included), the query or the path holds an unpaired UTF-16 surrogate
  (`"\\ud800"`) or U+0000 (400 `invalid-characters`): neither can be stored or answered as UTF-8, and
  PostgreSQL text refuses U+0000;
- an If-Match on a write names a version in ASCII digits (412 otherwise, as the score endpoints say).

Field level (api/schemas.py): the sizes below, checked by marshmallow and published in the OpenAPI document.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, request
from flask_smorest import abort

# Sizes of text fields, in characters (Unicode code points, as JSON Schema's maxLength counts them).
CODE_MAX = 64  # identifiers: leaf codes, framework ids, phase and window names, threshold groups, query filters
NAME_MAX = 255  # names and short labels: unit and document names, approved_by, document number and issuer, source
REASON_MAX = 4_000  # reasons, comments and notes: a long paragraph
EXPLANATION_MAX = 20_000  # an explanation report's argument, a missing-evidence explanation: several pages
UNIT_CODE_MAX = 16

# Sizes of lists, in items.
UNITS_MAX = 200  # units in a round (63 provinces, ~30 ministries)
FORM_ENTRIES_MAX = 500  # entries of one self-assessment form (a tree has ~100 leaves)
DOCUMENTS_MAX = 100  # documents of one form entry, or of one explanation
SURVEY_ROWS_MAX = 20_000  # rows of one survey import (63 units x 32 survey leaves = 2,016)
THRESHOLDS_MAX = 26  # ranking groups

# Integers: versions, notification ids, cursors, sizes. 2**53 - 1 is the largest integer every JSON reader holds
# exactly, and it fits SQLite's and PostgreSQL's 64-bit integers.
INTEGER_MAX = 2**53 - 1
INTEGER_DIGITS_MAX = 16

# Bodies.
# A JSON body: 8 MiB. A form of 100 entries with every note and missing-evidence explanation at its limit, in
# Vietnamese sent as \u escapes, is ~5.3 MB; stored, such a form held PostgreSQL's events table for 0.6 s.
MAX_BODY_BYTES = 8 * 2**20
MAX_JSON_DEPTH = 8  # arrays and objects; the deepest body (a form: entries > entry > evidence > document) has 5

_INVALID_TEXT = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_VERSION = re.compile(rf'(?:W/)?"?[0-9]{{1,{INTEGER_DIGITS_MAX}}}"?')
_WRITES = ("POST", "PUT", "PATCH", "DELETE")


def check() -> None:
    """Refuse what no view should see: 413 for a body beyond the limit, 400 for a body too deep or text that
    cannot be stored, 412 for a malformed If-Match. Runs after the request id is set, before authentication."""
    _check_text(request.args.items(multi=True), "the query")
    _check_text((request.view_args or {}).items(), "the path")
    if_match = request.headers.get("If-Match")
    if if_match is not None and request.method in _WRITES and not _VERSION.fullmatch(if_match.strip()):
        abort(412, message="If-Match holds the score's version, as its ETag gives it")
    if request.mimetype == "multipart/form-data":
        return  # evidence uploads: MAX_CONTENT_LENGTH, the evidence limit
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        abort(413, message=f"a request body holds at most {MAX_BODY_BYTES} bytes, not {length}")
    # A body without Content-Length (chunked) is read one byte past the limit at most: Werkzeug stops a read
    # at max_content_length without an error, so the extra byte is what tells a body that is too large.
    request.max_content_length = MAX_BODY_BYTES + 1
    body = request.get_data(cache=True)
    if len(body) > MAX_BODY_BYTES:
        abort(413, message=f"a request body holds at most {MAX_BODY_BYTES} bytes")
    if request.is_json:
        _check_json(body)


def _check_json(body: bytes) -> None:
    """Parse once (as webargs will), then check depth and text with whole-body operations in C: a body of two
    million empty objects is judged in tenths of a second, not seconds of Python loops."""
    if not body:
        return  # no body: the schema says which fields are missing
    try:
        document = json.loads(body.decode("utf-8"))
    except RecursionError:
        abort(400, message=f"JSON nests arrays and objects at most {MAX_JSON_DEPTH} deep", type="json-too-deep")
    except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError, bad UTF-8, an integer of 4,300+ digits
        abort(400, message=f"the body is not valid JSON: {error}"[:300], type="malformed-json")
    if json_depth_exceeds(body, MAX_JSON_DEPTH):
        abort(400, message=f"JSON nests arrays and objects at most {MAX_JSON_DEPTH} deep", type="json-too-deep")
    if not json_text_storable(body, document):
        _refuse_text("the body")


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether valid JSON nests arrays and objects deeper than `limit`. Text inside strings is dropped (escaped
    backslashes, then escaped quotes, then every other stretch between quotes), the brackets kept, and each pass
    removes the innermost level: every "[]" left is an empty container."""
    outside = b"".join(body.replace(b"\\\\", b"").replace(b'\\"', b"").split(b'"')[::2])
    brackets = outside.translate(_BRACKETS, _NOT_BRACKETS)
    for _ in range(limit):
        if not brackets:
            return False
        brackets = brackets.replace(b"[]", b"")
    return bool(brackets)


def json_text_storable(body: bytes, document: Any) -> bool:
    """Whether no key or string of a parsed JSON body holds U+0000 or an unpaired surrogate. Raw ones are not
    UTF-8 or not JSON, so both can only come from a \\u escape: U+0000 is "\\u0000" after an even run of
    backslashes; a surrogate escape sends the parsed document through json.dumps (C), which keeps a lone
    surrogate as it is and a pair as the one character it stands for."""
    if b"\\u0000" in body and _NUL_ESCAPE.search(body):  # `in` first: the regex alone scans at Python speed
        return False
    return not (_SURROGATE_ESCAPE.search(body) and _SURROGATE.search(json.dumps(document, ensure_ascii=False)))


def _check_text(pairs: Any, where: str) -> None:
    for name, value in pairs:
        _check_string(str(name), where)
        if isinstance(value, str):
            _check_string(value, where)


def unstorable(text: str) -> bool:
    """Whether text holds U+0000 or an unpaired surrogate (a pair is never left in a Python str by JSON)."""
    return _INVALID_TEXT.search(text) is not None


def _check_string(text: str, where: str) -> None:
    if unstorable(text):
        _refuse_text(where)


def _refuse_text(where: str) -> None:
    abort(400, message=f"text in {where} holds an unpaired UTF-16 surrogate or U+0000, which cannot be stored",
          type="invalid-characters")


def register(app: Flask) -> None:
    app.before_request(check)
