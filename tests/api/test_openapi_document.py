"""The OpenAPI document and the docs page (issue 14).

The document is valid OpenAPI 3 (openapi-spec-validator), every operation has a summary and says who may call it,
and the headers each operation takes are declared. Which operations take them is read from the code, not from a
list here: If-Match where the view calls `expected_version()` (api/scores.py), Idempotency-Key on every POST and
PUT of a blueprint that api/auth.py protects (api/idempotency_keys.py keys them), X-Request-ID everywhere. The docs
page at /api/v1/docs loads nothing from another host: every asset it names is ours and answers 200.
"""

from __future__ import annotations

import inspect
import tempfile
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from flask_smorest import Blueprint as ApiBlueprint
from flask_smorest.spec.plugins import FlaskPlugin
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from api import auth, create_app, idempotency_keys, scores

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
DOCS = "/api/v1/docs"


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    """An app that never touches its database: the document and the docs page need none."""
    with tempfile.TemporaryDirectory() as scratch:
        yield create_app({"TESTING": True, "COUNCIL_ENV": {"COUNCIL_DATABASE_URL": f"sqlite:///{scratch}/x.db",
                                                          "COUNCIL_EVIDENCE_DIR": scratch}})


@pytest.fixture(scope="module")
def document(app: Flask) -> dict[str, Any]:
    answer = app.test_client().get("/api/v1/openapi.json")
    assert answer.status_code == 200
    return answer.json


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, operation


def header(operation: dict[str, Any], name: str) -> dict[str, Any] | None:
    found = [p for p in operation.get("parameters", []) if p["in"] == "header" and p["name"].lower() == name.lower()]
    assert len(found) <= 1, f"{name} is declared twice"
    return found[0] if found else None


def served(app: Flask) -> Iterator[tuple[str, str, str, Callable[..., Any], Callable[..., Any]]]:
    """Every (method, document path, blueprint, view as served, method's function) of the API's blueprints."""
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".", 1)[0]
        if not isinstance(app.blueprints.get(blueprint), ApiBlueprint):
            continue  # the documents themselves, the pages, the docs' assets
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            function = getattr(getattr(view, "view_class", None), method.lower(), view)
            yield method, FlaskPlugin.flaskpath2openapi(rule.rule), blueprint, view, function


def calls(function: Callable[..., Any], name: str) -> bool:
    """Whether the function's own code (under its decorators) refers to a module-level `name`."""
    return name in inspect.unwrap(function).__code__.co_names


def test_the_document_is_valid_openapi_3(document):
    assert document["openapi"].startswith("3.")
    try:
        validate(document)
    except OpenAPIValidationError as error:  # the message names the place; the whole document is too long to show
        pytest.fail(f"invalid OpenAPI document: {error.message} at {'/'.join(map(str, error.absolute_path))}")


def test_every_served_operation_is_documented(app, document):
    documented = {(method, path) for method, path, _ in operations(document)}
    missing = {(method, path) for method, path, *_ in served(app)} - documented
    assert not missing, f"operations the API serves but the document lacks: {sorted(missing)}"


def test_every_operation_has_a_one_line_summary(document):
    lacking = [f"{method} {path}" for method, path, operation in operations(document)
               if not operation.get("summary", "").strip() or "\n" in operation["summary"]]
    assert not lacking, f"operations without a one-line summary (the docstring's first line): {lacking}"


def test_every_operation_says_who_may_call_it(document):
    lacking = [f"{method} {path}" for method, path, operation in operations(document)
               if not operation.get("x-roles") or "Who may call it" not in operation.get("description", "")]
    assert not lacking, f"operations without their roles (declare them with api.openapi_docs.access): {lacking}"


def test_the_writes_that_read_if_match_declare_it_required(app, document):
    assert calls(scores.Appraisals.post, "expected_version")  # the probe sees through the decorators
    taking = {(method, path) for method, path, _, _, function in served(app) if calls(function, "expected_version")}
    assert len(taking) >= 3, "the appraisal, the adjustment and the decision take If-Match"
    for method, path, operation in operations(document):
        declared = header(operation, "If-Match")
        if (method, path) in taking:
            assert declared is not None, f"{method} {path} answers 428 without If-Match but does not declare it"
            assert declared["required"] is True, f"{method} {path}: If-Match is required there"
            assert {"412", "428", "409"} <= set(operation["responses"]), f"{method} {path}: If-Match's answers"
        else:
            assert declared is None, f"{method} {path} declares If-Match, which its view never reads"


def test_every_keyed_write_declares_idempotency_key(app, document):
    keyed = {(method, path) for method, path, blueprint, _, _ in served(app)
             if blueprint in auth.PROTECTED and method in idempotency_keys.METHODS}
    assert keyed, "the protected blueprints have writes"
    assert all(idempotency_keys.keyed(view, method) for method, path, blueprint, view, _ in served(app)
               if (method, path) in keyed), "every protected write is served under the Idempotency-Key guard"
    for method, path, operation in operations(document):
        declared = header(operation, idempotency_keys.HEADER)
        if (method, path) in keyed:
            assert declared is not None, f"{method} {path} takes {idempotency_keys.HEADER} but does not declare it"
            assert declared["required"] is False
            assert declared["schema"]["maxLength"] == idempotency_keys.LONGEST_KEY
        else:
            assert declared is None, f"{method} {path} declares {idempotency_keys.HEADER}, which it ignores"


def test_every_operation_declares_x_request_id_and_its_error_answers(document):
    problem = "#/components/schemas/Problem"
    for method, path, operation in operations(document):
        declared = header(operation, "X-Request-ID")
        assert declared is not None and declared["required"] is False, f"{method} {path}: X-Request-ID"
        answers = operation["responses"]
        assert {"400", "503"} <= set(answers), f"{method} {path}: the input limits' 400 and the database's 503"
        if operation.get("security", document["security"]):
            assert "401" in answers, f"{method} {path} needs a token: 401"
        if "{" in path:
            assert "404" in answers, f"{method} {path} names something that may not exist: 404"
        if "requestBody" in operation:
            assert {"413", "422"} <= set(answers), f"{method} {path} takes a body: 413 and 422"
        for status, answer in answers.items():
            if status[0] in "45":
                if "$ref" in answer:
                    answer = document["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
                    assert answer["content"]["application/problem+json"]["schema"] == {"$ref": problem}
                assert list(answer["content"]) == ["application/problem+json"], f"{method} {path} {status}"


def test_open_operations_need_no_token_and_say_so(document):
    for path in ("/api/v1/health", "/api/v1/keys"):
        operation = document["paths"][path]["get"]
        assert operation["security"] == [] and operation["x-roles"] == ["anyone"]
        assert "401" not in operation["responses"]


def test_the_evidence_upload_is_one_multipart_body(document):
    """Its form fields and its file in one multipart/form-data schema: no `formData` parameter (OpenAPI 2 only)."""
    for path in ("/api/v1/rounds/{round_key}/units/{unit}/scores/{leaf}/evidence", "/api/v1/evidence"):
        operation = document["paths"][path]["post"]
        assert all(p["in"] in ("path", "query", "header", "cookie") for p in operation.get("parameters", []))
        content = operation["requestBody"]["content"]
        assert list(content) == ["multipart/form-data"]
        name = content["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
        file = schema["properties"]["file"]
        assert (file["type"], file["format"]) == ("string", "binary")
        assert "file" in schema["required"]
    upload = document["paths"]["/api/v1/rounds/{round_key}/units/{unit}/scores/{leaf}/evidence"]["post"]
    fields = document["components"]["schemas"]["EvidenceUpload"]["properties"]
    assert {"file", "number", "issuer", "issued_on"} <= set(fields)
    assert "415" in upload["responses"]


class Assets(HTMLParser):
    """The URLs a page makes a browser load: scripts, styles, images, frames, icons."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            if found.get(name) and (tag != "a" or name != "href"):
                self.urls.append(found[name] or "")


def test_the_docs_page_loads_nothing_from_another_host(app):
    client = app.test_client()
    page = client.get(DOCS)
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    parser = Assets()
    parser.feed(html)
    assert len(parser.urls) >= 3, "Swagger UI's script, preset and style"
    base = f"http://localhost{DOCS}"
    for url in parser.urls:
        absolute = urlsplit(urljoin(base, url))
        assert absolute.netloc == "localhost", f"{url} is loaded from another host"
        with client.get(absolute.path) as asset:  # a file answer: closed, not left to the garbage collector
            assert asset.status_code == 200, f"{url} answers {asset.status_code}"
            assert asset.mimetype in ("text/css", "text/javascript", "application/javascript"), url
            assert len(asset.data) > 1000, f"{url} is empty"
    assert '"validatorUrl": null' in html, "Swagger UI's online validator (another host) is off"
    assert client.get("/api/v1/openapi.json").status_code == 200  # the document the page loads


def test_the_docs_assets_serve_only_swagger_ui(app):
    client = app.test_client()
    with client.get(f"{DOCS}/assets/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200
    for escape in ("../../openapi.json", "%2e%2e/%2e%2e/openapi.json", "nothing.js"):
        with client.get(f"{DOCS}/assets/{escape}") as refused:
            assert refused.status_code == 404
