"""The ledger: signed checkpoints of the Merkle tree over the log, inclusion and consistency proofs
(docs/decisions/0010-ledger.md)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import actor, protect
from api.openapi_docs import access
from api.schemas import (
    CheckpointSchema,
    CheckpointsSchema,
    ConsistencyProofSchema,
    ConsistencyQuerySchema,
    InclusionProofSchema,
    InclusionQuerySchema,
)
from api.wiring import council, read_models
from domain.errors import InvalidQueryError, NotFoundError
from domain.values import Role
from projections.merkle import Tree

blp = protect(Blueprint("ledger", __name__, url_prefix="/api/v1", description="Signed checkpoints and proofs"))

READERS = (Role.SECRETARIAT, Role.INSPECTOR, Role.ADMIN, Role.COUNCIL)


@blp.route("/checkpoints")
class Checkpoints(MethodView):
    @access(*READERS)
    @blp.response(200, CheckpointsSchema)
    def get(self) -> dict[str, Any]:
        """List the signed checkpoints of the log, oldest first."""
        actor().require_role(*READERS)
        return {"checkpoints": council().checkpoints()}

    @access(Role.SECRETARIAT, Role.ADMIN)
    @blp.response(201, CheckpointSchema)
    def post(self) -> dict[str, Any]:
        """Sign a checkpoint of the whole log now.

        The Merkle tree head over the whole log (the ledger view, caught up), signed and recorded in the log."""
        who = actor()
        who.require_role(Role.SECRETARIAT, Role.ADMIN)
        head, receipt = council().sign_checkpoint(who, read_models().leaves())
        return {**head, "version": receipt.version}


@blp.route("/checkpoints/latest")
class LatestCheckpoint(MethodView):
    @access(*READERS, errors=(404,))
    @blp.response(200, CheckpointSchema)
    def get(self) -> dict[str, Any]:
        """Read the latest signed checkpoint (404 before the first)."""
        actor().require_role(*READERS)
        found = council().checkpoints()
        if not found:
            raise NotFoundError("no checkpoint has been signed yet")
        return found[-1]


@blp.route("/proofs/inclusion")
class InclusionProof(MethodView):
    @access(*READERS, errors=(404, 409))
    @blp.arguments(InclusionQuerySchema, location="query")
    @blp.response(200, InclusionProofSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Prove that an event is in a signed checkpoint's tree.

        The audit path of the event at `position` in the tree of a signed checkpoint of tree size `size`."""
        actor().require_role(*READERS)
        head = council().checkpoint(query["size"])
        leaves = read_models().leaves()[: head["tree_size"]]
        index = next((i for i, (at, _) in enumerate(leaves) if at == query["position"]), None)
        if index is None or len(leaves) < head["tree_size"]:
            raise NotFoundError(f"no event at position {query['position']} in the tree of size {head['tree_size']}")
        tree = Tree(leaf for _, leaf in leaves)
        return {"position": query["position"], "leaf_index": index, "leaf_hash": leaves[index][1].hex(),
                "audit_path": [node.hex() for node in tree.inclusion(index)], "checkpoint": head}


@blp.route("/proofs/consistency")
class ConsistencyProof(MethodView):
    @access(*READERS, errors=(404, 409))
    @blp.arguments(ConsistencyQuerySchema, location="query")
    @blp.response(200, ConsistencyProofSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Prove that one signed checkpoint's tree extends another's.

        The proof that the tree of checkpoint `from` is a prefix of the tree of checkpoint `to`."""
        actor().require_role(*READERS)
        first, second = council().checkpoint(query["first"]), council().checkpoint(query["second"])
        if first["tree_size"] > second["tree_size"]:
            raise InvalidQueryError("`from` must not be larger than `to`")
        leaves = read_models().leaves()[: second["tree_size"]]
        tree = Tree(leaf for _, leaf in leaves)
        return {"proof": [node.hex() for node in tree.consistency(first["tree_size"], second["tree_size"])],
                "first": first, "second": second}
