"""The HTTP API (v1): Flask app factory, flask-smorest blueprints, problem+json errors."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from api import (
    appraisal_sheets,
    checkpoints,
    deadlines,
    evidence,
    frameworks,
    health,
    idempotency_keys,
    input_limits,
    keys,
    openapi_docs,
    pages,
    problems,
    read_endpoints,
    request_ids,
    rescoring,
    rounds,
    schemas,
    scores,
    verification,
    wiring,
)
from council import bootstrap
from council.infra.clock import utcnow

DEFAULTS: dict[str, Any] = {
    "API_TITLE": "par-council",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": openapi_docs.ASSETS_URL,  # Swagger UI from our own server: the page works offline
    "OPENAPI_SWAGGER_UI_CONFIG": openapi_docs.SWAGGER_UI_CONFIG,
    "API_SPEC_OPTIONS": {
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "info": {"description": (
            "Appraisal of the PAR INDEX: self-assessment, council appraisal, explanations.\n\n"
            "Every operation but health, keys and this document needs `Authorization: Bearer <token>`; its "
            "description and its `x-roles` say which roles may call it (`anyone`: no token). Errors are RFC 9457 "
            "`application/problem+json` with a stable `type`. Every operation takes `X-Request-ID`, every POST and "
            "PUT `Idempotency-Key`; the score writes that take `If-Match` need it (428 without it).")},
    },
}


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """One app per process; its components are built by the composition root on the first request
    (after gunicorn forked the worker). `COUNCIL_ENV` (a mapping) replaces os.environ, for tests."""
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS, COUNCIL_ENV=None, COUNCIL_CLOCK=utcnow)
    if test_config:
        app.config.from_mapping(test_config)
    settings = bootstrap.settings(app.config["COUNCIL_ENV"] or os.environ)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Vietnamese names stay readable
    request_ids.register(app)
    input_limits.register(app)  # before authentication and any body parsing
    api = problems.ProblemApi(app)
    api.register_field(schemas.Points, "string", "decimal")
    api.register_field(schemas.Percent, "string", "decimal")
    problems.register(app)
    for blueprint in (health.blp, frameworks.blp, rounds.blp, scores.blp, evidence.blp, read_endpoints.blp,
                      verification.blp, keys.blp, checkpoints.blp, deadlines.blp, rescoring.blp, appraisal_sheets.blp):
        api.register_blueprint(blueprint)
    pages.register(app)
    idempotency_keys.install(app)
    openapi_docs.register(app, api)  # after every view is registered and guarded: Swagger UI's assets, the spec's pass
    # Uploads beyond the evidence limit (plus room for form fields) are refused before they are read.
    app.config.setdefault("MAX_CONTENT_LENGTH", settings.evidence_max_bytes + 2**16)
    app.extensions[wiring.EXTENSION] = wiring.Wiring(settings, app.config["COUNCIL_CLOCK"])
    return app
