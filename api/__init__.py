"""The HTTP API (v1): Flask app factory, flask-smorest blueprints, problem+json errors."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from api import evidence, frameworks, health, integrity, problems, readmodels, rounds, schemas, scores
from api.services import Services
from council import bootstrap
from council.application import utcnow

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
    """One app per process; the Council application behind it is built on the first request."""
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS, COUNCIL_ENV=None, COUNCIL_CLOCK=utcnow)
    if test_config:
        app.config.from_mapping(test_config)
    env = app.config["COUNCIL_ENV"] or dict(os.environ)
    settings = bootstrap.settings(env)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Vietnamese names stay readable
    api = problems.ProblemApi(app)
    api.register_field(schemas.Points, "string", "decimal")
    api.register_field(schemas.Percent, "string", "decimal")
    problems.register(app)
    for blueprint in (health.blp, frameworks.blp, rounds.blp, scores.blp, evidence.blp, readmodels.blp,
                      integrity.blp):
        api.register_blueprint(blueprint)
    # Uploads beyond the evidence limit (plus room for form fields) are refused before they are read.
    app.config.setdefault("MAX_CONTENT_LENGTH", settings.evidence_max_bytes + 2**16)
    app.extensions["par-council"] = Services(env, app.config["COUNCIL_CLOCK"])
    return app
