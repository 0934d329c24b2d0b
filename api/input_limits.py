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
MAX_BODY_BYTES = 4 * 2**20  # a JSON body: 4 MiB (a form of 100 entries with 4,000-character notes is ~1.3 MB)
MAX_JSON_DEPTH = 8  # arrays and objects; the deepest body (a form: entries > entry > evidence > document) has 5

_INVALID_TEXT = re.compile("[\x00\ud800-\udfff]")
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
    request.max_content_length = MAX_BODY_BYTES  # a body without Content-Length is read no further (413)
    if request.is_json:
        _check_json(request.get_data(cache=True))


def _check_json(body: bytes) -> None:
    if not body:
        return  # no body: the schema says which fields are missing
    try:
        document = json.loads(body.decode("utf-8"))
    except RecursionError:
        abort(400, message=f"JSON nests arrays and objects at most {MAX_JSON_DEPTH} deep", type="json-too-deep")
    except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError, bad UTF-8, an integer of 4,300+ digits
        abort(400, message=f"the body is not valid JSON: {error}"[:300], type="malformed-json")
    _check_document(document)


def _check_document(document: Any) -> None:
    """One pass over the parsed body, without recursion: its depth, and every key and string in it."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _check_string(value, "the body")
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_JSON_DEPTH:
            abort(400, message=f"JSON nests arrays and objects at most {MAX_JSON_DEPTH} deep", type="json-too-deep")
        if isinstance(value, dict):
            for key in value:
                _check_string(key, "the body")
            items = value.values()
        else:
            items = value
        pending.extend((item, depth + 1) for item in items if isinstance(item, (str, dict, list)))


def _check_text(pairs: Any, where: str) -> None:
    for name, value in pairs:
        _check_string(str(name), where)
        if isinstance(value, str):
            _check_string(value, where)


def _check_string(text: str, where: str) -> None:
    if _INVALID_TEXT.search(text):
        abort(400, message=f"text in {where} holds an unpaired UTF-16 surrogate or U+0000, which cannot be stored",
              type="invalid-characters")


def register(app: Flask) -> None:
    app.before_request(check)
