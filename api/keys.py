"""The council's public keys, current and retired: anyone may check a receipt's signature with them."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.openapi_docs import access
from api.schemas import KeysSchema
from api.wiring import components

blp = Blueprint("keys", __name__, url_prefix="/api/v1/keys", description="Signing keys")


@blp.route("")
class Keys(MethodView):
    @access()
    @blp.doc(security=[])
    @blp.response(200, KeysSchema)
    def get(self) -> dict[str, Any]:
        """List the council's public signing keys, current and retired.

        Every Ed25519 public key the council signs receipts with or ever did (public keys are public: no token).
        A retired key has `valid_until`; its signatures stay valid."""
        keyring = components().keyring
        return {"current": keyring.current_id(), "keys": [key.as_json() for key in keyring.keys()]}
