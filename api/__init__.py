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
    "OPENAPI_SWAGGER_UI_URL": "https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
    "API_SPEC_OPTIONS": {
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "info": {"description": "Appraisal of the PAR INDEX: self-assessment, council appraisal, explanations."},
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
    # Uploads beyond the evidence limit (plus room for form fields) are refused before they are read.
    app.config.setdefault("MAX_CONTENT_LENGTH", settings.evidence_max_bytes + 2**16)
    app.extensions[wiring.EXTENSION] = wiring.Wiring(settings, app.config["COUNCIL_CLOCK"])
    return app
